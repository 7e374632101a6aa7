/* Placement: which worker runs what, and COMPUTE.
 *
 * A ready task goes to the free worker holding most of its input bytes
 * (an input still computing counted at the average result's size), among
 * equals the least loaded, or to a full one holding more of them than
 * any free one (up to twice its queue) when that holds a MiB more, or
 * has no thread idle either: moving them would cost more than the wait. Tasks
 * without inputs go to the workers in runs where that costs no parallelism, and
 * in one block per worker when more are ready than the workers have room for
 * (roots.c), so that what takes their results keeps a neighbourhood of the
 * graph on one worker (a stencil's columns, a tree's subtrees). A worker is
 * free while it has fewer tasks outstanding than about 2 ms of work per thread,
 * and never once it said it is stopping (RETIRING). A task whose unfinished
 * inputs are all being computed goes at once ("ahead") to the worker with most
 * of its inputs if that one is free (else as soon as that one has room
 * again, if it waits on a task running there, or once they are done),
 * and starts when they are there, without a round trip through the
 * scheduler: a chain costs microseconds a link, and an input computed on
 * another worker is fetched as soon as it exists (its GET waits there). A
 * task that needs resources (resources.c) goes only to a worker that has
 * them free, and never ahead.
 */
#include <string.h>

#include "common/log.h"
#include "core_impl.h"

/* A task with more inputs than this is not sent ahead: it is looked at
 * as each input is placed, and a wide fan-in would cost the square of its
 * width; it is placed once its inputs are there. */
#define S_AHEAD_DEPS_MAX 64

/* Tasks waiting on a worker's running ones looked at per slot that frees
 * there, when some were refused for want of room (s_resume_ahead). */
#define S_RESUME_PER_SLOT 4

/* Input bytes that keep a task with the worker holding them when that one
 * is full and another is free: moving a MiB costs about a millisecond of
 * transfer, more than a worker's queue takes to move up a slot. */
#define S_STICKY_BYTES (1024 * 1024)

/* The results a worker's queue may be expected to make, beyond two tasks a
 * thread (s_worker_cap). */
#define S_QUEUE_BYTES (1024.0 * 1024.0)

/* Threads that run calls now: a call waiting for its children lent its
 * thread to others (SECEDE). */
static uint32_t
s_threads(const dvi_sworker *w)
{
    return (uint32_t)w->nthreads + w->nseceded;
}

static size_t
s_worker_cap(const dvi_core *c, const dvi_sworker *w)
{
    /* Enough tasks ahead that a worker never idles for a round trip, few
     * enough that a late worker still finds work (and STEAL gives it
     * more): about 2 ms of work per thread, at least queue_min (8) while
     * their results come to under S_QUEUE_BYTES, and never more than make
     * S_QUEUE_BYTES, or 2, so that a worker near its memory limit is not
     * handed more results than it can spill (it keeps running what it was
     * given when it pauses: 2 ms of quick 1 MiB tasks a thread grew one
     * past its limit by a third in spill_test). With 2, a
     * stencil's points and a tree's leaves were placed one at a time as
     * slots freed, in turn between workers, and each step waited on the
     * other worker; with 8 a worker holds the next rows while it waits
     * for an input, and roots queued together go to each worker in runs
     * (s_root_worker). */
    double by_bytes = S_QUEUE_BYTES / (c->avg_result_bytes + 1);
    double most = by_bytes < 2 ? 2 : by_bytes > 256 ? 256 : by_bytes;
    double least = most > c->queue_min ? c->queue_min : most;
    double per = 2000.0 / (c->avg_task_us > 1 ? c->avg_task_us : 1);
    per = per < least ? least : per > most ? most : per;
    return (size_t)(s_threads(w) * (1 + per));
}

/* Whether w takes work and has fewer than times its queue outstanding. */
static int
s_worker_under(const dvi_core *c, const dvi_sworker *w, size_t times)
{
    return !w->retiring && !w->paused &&
           w->nprocessing < times * s_worker_cap(c, w);
}

static int
s_worker_free(const dvi_core *c, const dvi_sworker *w)
{
    return s_worker_under(c, w, 1);
}

dvi_sworker *
dvi_core_worker_find(const dvi_core *c, const char *id)
{
    for (size_t i = 0; i < c->nworkers; i++) {
        if (strcmp(c->workers[i]->id, id) == 0) {
            return c->workers[i];
        }
    }
    return NULL;
}

dvi_sworker *
dvi_core_any_worker(dvi_core *c)
{
    for (size_t k = 0; k < c->nworkers; k++) {
        dvi_sworker *w = c->workers[c->rr++ % c->nworkers];
        if (!w->retiring) {
            return w;
        }
    }
    return NULL;
}

/* Scores (add) or clears each worker by the inputs of t it holds or is
 * computing: their bytes, plus one each. An input still computing weighs
 * as much as results do on average: counted as nothing, a stencil point's
 * one finished input outweighed its two still running on the other
 * worker, and its column moved there. A broadcast value counts nowhere:
 * every worker holds it, or is receiving it. */
static void
s_score(const dvi_core *c, dvi_task *t, int add)
{
    dvi_task **deps = dvi_task_deps(t);
    for (uint32_t i = 0; i < t->ndeps; i++) {
        dvi_task *d = deps[i];
        if (dvi_core_is_broadcast(c, d)) {
            continue;
        }
        uint64_t size = d->state == DVI_TASK_MEMORY || d->nbytes > 0
                            ? d->nbytes
                            : (uint64_t)c->avg_result_bytes;
        uint64_t weight = add ? size + 1 : 0;
        if (d->state == DVI_TASK_PROCESSING && d->where != NULL) {
            d->where->score = add ? d->where->score + weight : 0;
        }
        for (uint32_t j = 0; j < d->nwho; j++) {
            dvi_sworker *w = dvi_task_holder(d, j);
            w->score = add ? w->score + weight : 0;
        }
    }
}

static int
s_better(const dvi_sworker *w, const dvi_sworker *best)
{
    if (best == NULL || w->score > best->score) {
        return 1;
    }
    return w->score == best->score &&
           (uint64_t)w->nprocessing * (uint64_t)best->nthreads <
               (uint64_t)best->nprocessing * (uint64_t)w->nthreads;
}

/* Threads doing nothing on the free workers other than but. */
static uint64_t
s_idle_threads(const dvi_core *c, const dvi_sworker *but)
{
    uint64_t idle = 0;
    for (size_t i = 0; i < c->nworkers; i++) {
        const dvi_sworker *w = c->workers[i];
        if (w != but && s_worker_free(c, w) && w->nprocessing < s_threads(w)) {
            idle += s_threads(w) - w->nprocessing;
        }
    }
    return idle;
}

/* Tasks without inputs (roots) go in runs to each worker, not in turn,
 * when that costs no parallelism: the roots submitted together make
 * neighbourhoods (a stencil's first row), and what takes their results
 * then goes where most of them are, a column of the graph on each
 * worker, with no step waiting on another worker but for its edges. t
 * stays on the worker the last root went to while that has a thread
 * free, or while the tasks still queued (t among them) are more than the
 * other workers' free threads and its load is at most one task a thread
 * over the least loaded's (best). */
static dvi_sworker *
s_root_worker(dvi_core *c, const dvi_task *t, dvi_sworker *best)
{
    dvi_sworker *last = c->last_root;
    if (last != NULL && last != best && s_worker_free(c, last) &&
        dvi_core_res_fits(last, t)) {
        uint64_t lt = s_threads(last), bt = s_threads(best);
        if (last->nprocessing < lt ||
            (dvi_taskheap_len(&c->ready) > s_idle_threads(c, last) &&
             last->nprocessing * bt <= (best->nprocessing + bt) * lt)) {
            best = last;
        }
    }
    c->last_root = best;
    return best;
}

dvi_sworker *
dvi_core_pick(dvi_core *c, dvi_task *t)
{
    dvi_sworker *best = NULL, *holder = NULL;
    s_score(c, t, 1);
    for (size_t k = 0; k < c->nworkers; k++) {
        dvi_sworker *w = c->workers[(c->rr + k) % c->nworkers];
        if (!dvi_core_res_fits(w, t)) {
            continue;
        }
        if (s_worker_free(c, w) && s_better(w, best)) {
            best = w;
        }
        /* Full, it may still take a task whose inputs it holds: up to
         * twice its queue. */
        if (w->score > (holder ? holder->score : 0) &&
            s_worker_under(c, w, 2)) {
            holder = w;
        }
    }
    /* A full worker holding more of the inputs than the free one chosen
     * takes the task (up to twice its queue) when it holds far more (a
     * tree's adds followed their leaves to the free worker, 16 MB each),
     * or when the free one has no thread idle either: moving the task
     * would cost fetches and gain no parallelism (a stencil's column
     * moved for good, and one worker then ran three of its four). With
     * no free worker the task waits, as any does: a full worker is not
     * handed more (one near its memory limit, reading its spilled
     * results back, went 15% over it). */
    if (best != NULL && holder != NULL && holder->score > best->score &&
        (holder->score >= best->score + S_STICKY_BYTES ||
         best->nprocessing >= s_threads(best))) {
        best = holder;
    }
    s_score(c, t, 0);
    c->rr++;
    return best != NULL && t->ndeps == 0 ? s_root_worker(c, t, best) : best;
}

/* Packs t's inputs into COMPUTE: each as [key, where, size, coming].
 * where is nil for an input on this worker (held, or being computed here,
 * sent ahead), else the address of a holder, or of the worker computing
 * it (coming: its GET waits there for the result). */
static void
s_pack_inputs(msgpack_packer *pk, dvi_task *t, dvi_sworker *w, uint64_t *moved)
{
    dvi_task **deps = dvi_task_deps(t);
    msgpack_pack_array(pk, t->ndeps);
    for (uint32_t i = 0; i < t->ndeps; i++) {
        dvi_task *d = deps[i];
        const char *from = NULL;
        int coming = 0;
        if (dvi_task_holds(d, w)) {
            from = NULL;
        } else if (d->nwho > 0) {
            from = dvi_task_holder(d, 0)->addr;
            *moved += d->nbytes;
        } else if (d->state == DVI_TASK_PROCESSING && d->where != w) {
            from = d->where->addr;
            coming = 1;
        }
        msgpack_pack_array(pk, 4);
        dvi_pack_str(pk, d->key);
        dvi_pack_str(pk, from);
        msgpack_pack_uint64(pk, d->nbytes);
        coming ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
    }
}

/* Fusion: t goes to w, where its one input is being computed, which
 * nothing but t needs (no client, name or other task): the input is
 * handed to it in memory there and never stored. Both stay pure, so that
 * lineage can make the input again if t must run elsewhere. */
static int
s_fuses(const dvi_core *c, const dvi_task *t, const dvi_sworker *w)
{
    const dvi_task *d = t->ndeps == 1 ? t->deps.one : NULL;
    unsigned odd = DVI_TASK_IMPURE | DVI_TASK_CHUNK | DVI_TASKF_FORWARD |
                   DVI_TASKF_SCATTER | DVI_TASKF_PARENT;
    return c->fusion && d != NULL && (t->flags & DVI_TASKF_AHEAD) &&
           d->state == DVI_TASK_PROCESSING && d->where == w && d->nwants == 0 &&
           d->nwaiters == 1 && !(t->flags & odd) && !(d->flags & odd) &&
           !dvi_core_is_broadcast(c, d);
}

void
dvi_core_assign(dvi_core *c, dvi_task *t, dvi_sworker *w)
{
    t->where = w;
    dvi_core_set_state(c, t, DVI_TASK_PROCESSING);
    w->nprocessing++;
    DVI_LOG(DVI_LOG_DEBUG, "SCHED", "%s (%s) to worker %s%s", t->key,
            t->fn->name, w->id,
            (t->flags & DVI_TASKF_AHEAD) ? ", ahead of its inputs" : "");
    if (t->flags & DVI_TASKF_SCATTER) {
        return; /* its SCATTER went out already */
    }
    dvi_msg_compute m = {.key = t->key, .fn = t->fn->name};
    m.code = dvi_bytes_of(t->fn->code);
    m.args = (dvi_bytes){dvi_task_args(t), t->args_len, NULL};
    m.flags = (t->flags & DVI_TASK_WIRE_FLAGS) |
              (dvi_task_client_wanted(t) ? DVI_TASK_WANTED : 0) |
              ((t->flags & DVI_TASKF_FORWARD) ? DVI_TASK_FORWARD : 0) |
              (s_fuses(c, t, w) ? DVI_TASK_FUSE : 0) |
              ((t->flags & DVI_TASKF_PINNED) ? DVI_TASK_PINNED : 0);
    m.priority = t->priority;
    m.timeout_ms = t->timeout_ms;
    s_pack_inputs(dvi_msg_compute_pack(w->out, &m), t, w,
                  &c->stats.bytes_moved);
    dvi_msg_compute_pack_tail(w->out, &m);
}

/* The worker that a waiting task can go to now: every input not yet in
 * memory is being computed somewhere, and it is the free worker with
 * most of the inputs (held or computing), so a neighbourhood of the graph
 * stays together; the others are fetched ahead, their GETs waiting at the
 * workers computing them, with no round trip through the scheduler. */
static dvi_sworker *
s_ahead_worker(dvi_core *c, dvi_task *t)
{
    if (t->state != DVI_TASK_WAITING || t->nwaiting == 0 ||
        t->ndeps > S_AHEAD_DEPS_MAX || t->fn->res != NULL) {
        /* One that needs resources would hold them while it waits, and
         * its inputs might need the same: it goes once they are done. */
        return NULL;
    }
    dvi_task **deps = dvi_task_deps(t);
    for (uint32_t i = 0; i < t->ndeps; i++) {
        dvi_task *d = deps[i];
        if (d->state != DVI_TASK_MEMORY &&
            (d->state != DVI_TASK_PROCESSING || d->where == NULL ||
             (d->flags & DVI_TASKF_SCATTER))) {
            return NULL;
        }
    }
    if (t->flags & DVI_TASKF_PINNED) {
        return s_worker_free(c, t->pin) ? t->pin : NULL;
    }
    s_score(c, t, 1);
    dvi_sworker *best = NULL;
    for (size_t k = 0; k < c->nworkers; k++) {
        dvi_sworker *w = c->workers[k];
        if (w->score > 0 && !w->retiring && !w->paused && s_better(w, best)) {
            best = w;
        }
    }
    s_score(c, t, 0);
    /* Only where most of its inputs are: if that worker is full, t waits
     * until it has room (s_resume_ahead) or its inputs are done. */
    if (best != NULL && !s_worker_free(c, best)) {
        best->ahead_stalled = 1;
        return NULL;
    }
    return best;
}

int
dvi_core_send_ahead(dvi_core *c, dvi_task *t)
{
    dvi_sworker *w = s_ahead_worker(c, t);
    if (w == NULL) {
        return 0;
    }
    t->flags |= DVI_TASKF_AHEAD;
    dvi_core_assign(c, t, w);
    return 1;
}

/* Sends ahead what waits on t (which just went to a worker), and what
 * waits on those, as far as the worker has room. */
static void
s_send_ahead_after(dvi_core *c, dvi_task *t)
{
    if (t->dependents.len == 0) {
        return; /* most tasks: no list to make */
    }
    dvi_taskvec todo;
    dvi_taskvec_init(&todo);
    dvi_taskvec_push(&todo, t);
    while (todo.n > 0) {
        dvi_task *x = todo.v[--todo.n];
        dvi_task *d;
        for (size_t i = 0; (d = dvi_pset_next(&x->dependents, &i));) {
            if (dvi_core_send_ahead(c, d)) {
                dvi_taskvec_push(&todo, d);
            }
        }
    }
    dvi_taskvec_fini(&todo);
}

/* w has room again after refusing a task sent ahead: the tasks waiting on
 * its running ones go ahead now, as far as it has room, instead of when
 * their inputs are done (a round trip through the scheduler while the
 * worker idles: with a stencil's next rows beyond its queue, each step
 * waited for one). The candidates are gathered first, a few per free
 * slot (sending ahead adds to w->running, which must not change while it
 * is walked); one refused for another reason waits for its inputs. */
static void
s_resume_ahead(dvi_core *c, dvi_sworker *w)
{
    size_t want = S_RESUME_PER_SLOT * (s_worker_cap(c, w) - w->nprocessing);
    dvi_taskvec todo;
    dvi_taskvec_init(&todo);
    dvi_task *p;
    w->ahead_stalled = 0;
    for (size_t i = 0; todo.n < want && (p = dvi_pset_next(&w->running, &i));) {
        dvi_task *d;
        for (size_t k = 0;
             todo.n < want && (d = dvi_pset_next(&p->dependents, &k));) {
            if (d->state == DVI_TASK_WAITING) {
                dvi_taskvec_push(&todo, d);
            }
        }
    }
    for (size_t i = 0; i < todo.n && s_worker_free(c, w); i++) {
        if (dvi_core_send_ahead(c, todo.v[i])) {
            s_send_ahead_after(c, todo.v[i]);
        }
    }
    dvi_taskvec_fini(&todo);
}

/* A worker other than but with a thread doing nothing, and what t needs
 * free, or NULL. */
static dvi_sworker *
s_idle_worker(const dvi_core *c, const dvi_sworker *but, const dvi_task *t)
{
    for (size_t i = 0; i < c->nworkers; i++) {
        dvi_sworker *w = c->workers[i];
        if (w != but && !w->retiring && !w->paused &&
            w->nprocessing < s_threads(w) && dvi_core_res_fits(w, t)) {
            return w;
        }
    }
    return NULL;
}

/* Nothing is ready and a worker has idle threads: the worker with the most
 * tasks beyond its threads gives back half of them (rounded up), the ones it
 * would start last (STEAL), and they go to the idle workers. One long
 * task ahead of many short ones then leaves no worker idle. */
static void
s_steal(dvi_core *c)
{
    uint32_t idle = 0;
    dvi_sworker *victim = NULL;
    uint32_t most = 0; /* tasks queued behind its threads */
    for (size_t i = 0; i < c->nworkers; i++) {
        dvi_sworker *w = c->workers[i];
        uint32_t n = s_threads(w);
        if (!w->retiring && !w->paused && w->nprocessing < n) {
            idle += n - w->nprocessing;
        } else if (!w->stealing && w->nprocessing > n + most) {
            most = w->nprocessing - n;
            victim = w;
        }
    }
    if (idle == 0 || victim == NULL) {
        return;
    }
    uint32_t half = (most + 1) / 2;
    dvi_msg_steal m = {.count = half < idle ? half : idle};
    dvi_msg_steal_pack(victim->out, &m);
    victim->stealing = 1;
    DVI_LOG(DVI_LOG_DEBUG, "SCHED",
            "worker %s asked to give back %llu of its %u queued tasks: %u "
            "threads idle",
            victim->id, (unsigned long long)m.count, most, idle);
}

/* Places the tasks of queue q, first first, while a worker can take the
 * first. Returns 1 if one was left for want of a worker. */
static int
s_place_queue(dvi_core *c, dvi_taskheap *q)
{
    dvi_task *t;
    while ((t = dvi_taskheap_peek(q)) != NULL) {
        if (!dvi_core_inputs_held(c, t)) {
            continue; /* an input was lost since: it waits again */
        }
        dvi_sworker *w = dvi_core_pick(c, t);
        if (w == NULL) {
            return 1;
        }
        dvi_core_assign(c, t, w); /* leaves the heap */
        s_send_ahead_after(c, t);
    }
    return 0;
}

/* Free slots of the free workers. */
size_t
dvi_core_free_slots(const dvi_core *c)
{
    size_t n = 0;
    for (size_t i = 0; i < c->nworkers; i++) {
        const dvi_sworker *w = c->workers[i];
        if (s_worker_free(c, w)) {
            n += s_worker_cap(c, w) - w->nprocessing;
        }
    }
    return n;
}

/* Each free worker takes from its block of roots (roots.c); then, once
 * every worker had its own, from the others'. Returns 1 if a block still
 * holds tasks. */
static int
s_place_blocks(dvi_core *c)
{
    for (int steal = 0; steal <= 1; steal++) {
        for (size_t i = 0; i < c->nworkers; i++) {
            dvi_sworker *w = c->workers[i];
            dvi_task *t;
            while (s_worker_free(c, w) &&
                   (t = dvi_core_roots_next(c, w, steal))) {
                dvi_core_assign(c, t, w); /* leaves its block */
                s_send_ahead_after(c, t);
            }
        }
    }
    for (size_t i = 0; i < c->nworkers; i++) {
        if (dvi_taskheap_len(&c->workers[i]->block) > 0) {
            return 1;
        }
    }
    return 0;
}

void
dvi_core_schedule(dvi_core *c)
{
    for (size_t i = 0; i < c->nworkers; i++) {
        dvi_sworker *w = c->workers[i];
        dvi_task *t;
        while ((t = dvi_taskheap_peek(&w->pinned)) && s_worker_free(c, w) &&
               dvi_core_res_fits(w, t)) {
            if (!dvi_core_inputs_held(c, t)) {
                continue; /* waits again for a lost input */
            }
            dvi_core_assign(c, t, w); /* leaves the pinned queue */
            s_send_ahead_after(c, t);
        }
    }
    dvi_core_roots_split(c);
    s_place_blocks(c); /* before the ready queue's later tasks */
    int full = s_place_queue(c, &c->ready);
    full |= s_place_blocks(c); /* where its first went before them */
    /* Tasks that need resources, one queue per spec: one that no worker
     * can take now holds back only its own kind. */
    dvi_map_entry *e;
    for (size_t i = 0; dvi_map_next(&c->resreqs, &i, &e);) {
        s_place_queue(c, &((dvi_resreq *)e->val)->queued);
    }
    /* Ready tasks first: what goes ahead takes the room that is left. */
    for (size_t i = 0; i < c->nworkers; i++) {
        dvi_sworker *w = c->workers[i];
        if (w->ahead_stalled && s_worker_free(c, w)) {
            s_resume_ahead(c, w);
        }
    }
    if (!full) {
        s_steal(c);
    }
}

void
dvi_core_place_stolen(dvi_core *c, dvi_task *t, dvi_sworker *w)
{
    DVI_LOG(DVI_LOG_DEBUG, "SCHED", "%s (%s) given back by %s (state %d)",
            t->key, t->fn->name, w->id, (int)t->state);
    dvi_sworker *to = s_idle_worker(c, w, t);
    if (to != NULL && !(t->flags & DVI_TASKF_PINNED) &&
        dvi_core_inputs_held(c, t)) {
        dvi_core_set_state(c, t, DVI_TASK_QUEUED);
        dvi_core_assign(c, t, to); /* leaves the heap */
    } else if (t->state == DVI_TASK_PROCESSING) {
        dvi_core_make_ready(c, t);
    }
}
