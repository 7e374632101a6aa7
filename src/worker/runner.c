/* dvi_runner: where a worker's ready jobs run (see runner.h). */
#include "runner.h"

#include <stdio.h>
#include <stdlib.h>

#include "common/err.h"
#include "common/map.h"
#include "proto/msg.h"

/* A function is short once S_FAST_CALLS calls average under S_FAST_US
 * with none lately over S_FAST_MAX_US. The loop answers the scheduler's
 * heartbeats, and a call cannot be moved once it runs, so one that ever
 * takes S_BANNED_US never runs there again: a function may hold the
 * loop up that long once in the worker's life. */
#define S_FAST_CALLS 8
#define S_FAST_US 50.0
#define S_FAST_MAX_US 500.0
/* A worker alone on its loop with one thread (a process of
 * local:processes, a `drove worker --threads 1`) runs calls up to ten
 * times as long on the loop: its executor thread would take turns with
 * the loop on one core's worth of work, and each call handed over costs
 * two thread wake-ups. Its peers then wait up to a call's length for a
 * result (S_SOLE_MAX_US at most). Two such processes ran a stencil of
 * 55-110 us calls 10% faster. */
#define S_SOLE_US 250.0
#define S_SOLE_MAX_US 2500.0
#define S_BANNED_US 100000
/* A batch on the loop gives the loop's I/O a turn after this long. */
#define S_TURN_NS 1000000

/* Run times of one function on this worker. */
typedef struct s_fnstat {
    const dv_function *fn;
    uint32_t calls;
    double avg_us;  /* moving average */
    double peak_us; /* decaying maximum */
    int banned;     /* a call took S_BANNED_US: never on the loop thread */
} s_fnstat;

struct dvi_runner {
    uv_idle_t idle; /* first: the handle's close frees the runner */
    dvi_executor *ex;
    int nthreads;
    dvi_runner_group own;    /* the group of a runner alone on its loop */
    dvi_runner_group *group; /* own, or the one shared */
    dvi_watch *watch;
    dvi_job *runq; /* ready, waiting for the end of the turn
                      (dvi_job_enqueue's order) */
    dvi_job **runq_tail;
    size_t nready;   /* in runq */
    size_t nbusy;    /* on the executor */
    dvi_map fnstats; /* function name -> s_fnstat */
    s_fnstat *last;  /* the one last found: a run of calls of one
                        function, the usual case, hashes no name */
    dvi_executor_done_fn done;
    void *ctx;
    char worker_id[128];
};

/* The run times of fn, if any call of it has ended here. */
static s_fnstat *
s_stat(dvi_runner *r, const dv_function *fn)
{
    if (r->last != NULL && r->last->fn == fn) {
        return r->last;
    }
    s_fnstat *st = dvi_map_get(&r->fnstats, fn->name);
    if (st != NULL && st->fn == fn) {
        r->last = st;
    }
    return st;
}

static void
s_note(dvi_runner *r, const dvi_job *job)
{
    if (job->flags & (DVI_TASK_CHUNK | DVI_TASK_FORWARD)) {
        return; /* a chunk's time says little about one call */
    }
    s_fnstat *st = s_stat(r, job->fn);
    if (st == NULL || st->fn != job->fn) {
        if (st == NULL) {
            st = dvi_calloc(1, sizeof(*st));
            dvi_map_put(&r->fnstats, job->fn->name, st);
        }
        /* A function of that name from another library starts afresh. */
        *st = (s_fnstat){.fn = job->fn, .avg_us = (double)job->us};
    }
    double us = (double)job->us;
    st->calls++;
    st->avg_us = st->avg_us * 0.9 + us * 0.1;
    st->peak_us = us > st->peak_us * 0.95 ? us : st->peak_us * 0.95;
    /* A call that submits children may wait for them, which the loop
     * thread must never do. */
    st->banned |= job->us >= S_BANNED_US || job->spawned;
}

/* Whether the worker has its loop to itself and one thread. */
static int
s_sole(const dvi_runner *r)
{
    return r->group == &r->own && r->nthreads == 1;
}

static int
s_is_short(dvi_runner *r, const dvi_job *job)
{
    if (job->flags & DVI_TASK_FORWARD) {
        return 1; /* no call: a result held again under another key */
    }
    if ((job->flags & DVI_TASK_CHUNK) || job->timeout_ms > 0) {
        return 0; /* a call with a time limit needs a thread: the loop
                     watches it */
    }
    s_fnstat *st = s_stat(r, job->fn);
    int sole = s_sole(r);
    return st && st->fn == job->fn && !st->banned &&
           st->calls >= S_FAST_CALLS &&
           st->avg_us < (sole ? S_SOLE_US : S_FAST_US) &&
           st->peak_us < (sole ? S_SOLE_MAX_US : S_FAST_MAX_US);
}

/* Whether the job at the head of runq runs on the loop (see runner.h). */
static int
s_on_loop(dvi_runner *r, const dvi_job *job)
{
    if (!job->loop_ok) {
        return 0;
    }
    if (s_sole(r)) {
        return 1;
    }
    return r->group->ready == 1 && r->group->busy == 0;
}

static void
s_ready_add(dvi_runner *r, size_t n)
{
    r->nready += n;
    r->group->ready += n;
}

static void
s_ready_sub(dvi_runner *r, size_t n)
{
    r->nready -= n;
    r->group->ready -= n;
}

static void
s_busy_sub(dvi_runner *r, size_t n)
{
    r->nbusy -= n;
    r->group->busy -= n;
}

static dvi_job *
s_pop(dvi_runner *r)
{
    dvi_job *job = r->runq;
    r->runq = job->next;
    if (r->runq == NULL) {
        r->runq_tail = &r->runq;
    }
    job->next = NULL;
    s_ready_sub(r, 1);
    return job;
}

/* Counts job as on the executor, which the caller hands it to. */
static void
s_busy_add(dvi_runner *r, dvi_job *job)
{
    dvi_watch_add(r->watch, job);
    r->nbusy++;
    r->group->busy++;
}

static void
s_to_executor(dvi_runner *r, dvi_job *job)
{
    s_busy_add(r, job);
    dvi_executor_submit(r->ex, job);
}

static void
s_run_here(dvi_runner *r, dvi_job *job)
{
    job->ex = NULL;
    dvi_job_run(job, r->worker_id);
    s_note(r, job);
    if (job->rerun) {
        /* It waited for its children, which only a thread can: its
         * function runs on threads from now, this call again too. */
        dvi_job_reset(job);
        s_to_executor(r, job);
        return;
    }
    r->done(r->ctx, job);
}

/* The end of the loop's turn: what is ready runs. A job run here may make
 * others ready (a chain sent ahead): they join runq and are decided in
 * turn, without recursion. Then, once no worker of the group has jobs
 * waiting for the loop, it lends a hand: it runs short jobs the executor's
 * threads have not started yet (they may still be waking up, which costs
 * more than such a call), until its turn is over. */
static void
s_drain(uv_idle_t *h)
{
    dvi_runner *r = h->data;
    uint64_t until = uv_hrtime() + S_TURN_NS;
    for (;;) {
        dvi_job *job = NULL, *handed = NULL, **tail = &handed;
        /* The jobs for threads up to the next for the loop, together. */
        while (r->runq != NULL) {
            r->runq->loop_ok = s_is_short(r, r->runq);
            if (s_on_loop(r, r->runq)) {
                break;
            }
            dvi_job *j = s_pop(r);
            s_busy_add(r, j);
            *tail = j;
            tail = &j->next;
        }
        if (handed != NULL) {
            dvi_executor_submit_list(r->ex, handed);
        }
        if (uv_hrtime() > until) {
            return; /* the idle handle stays on: more next turn */
        }
        if (r->runq != NULL) {
            job = s_pop(r);
        } else if (r->group->ready == 0 &&
                   (job = dvi_executor_take_loop_ok(r->ex)) != NULL) {
            s_busy_sub(r, 1);
        } else {
            break;
        }
        s_run_here(r, job);
    }
    uv_idle_stop(h);
}

/* The executor's finished jobs. */
static void
s_ex_done(void *ctx, dvi_job *done)
{
    dvi_runner *r = ctx;
    size_t n = 0;
    for (dvi_job *j = done; j != NULL; j = j->next) {
        s_note(r, j);
        n += !j->chained; /* a chained one was never submitted */
    }
    s_busy_sub(r, n);
    r->done(r->ctx, done);
}

dvi_runner *
dvi_runner_new(uv_loop_t *loop, int nthreads, int max_blocked,
               const char *worker_id, dvi_runner_group *group, dvi_watch *watch,
               dvi_executor_done_fn done, void *ctx)
{
    dvi_runner *r = dvi_calloc(1, sizeof(*r));
    r->nthreads = nthreads > 0 ? nthreads : 1;
    r->group = group ? group : &r->own;
    r->watch = watch;
    r->runq_tail = &r->runq;
    r->done = done;
    r->ctx = ctx;
    snprintf(r->worker_id, sizeof(r->worker_id), "%s", worker_id);
    dvi_map_init(&r->fnstats);
    uv_idle_init(loop, &r->idle);
    r->idle.data = r;
    r->ex = dvi_executor_new(loop, r->nthreads, max_blocked, worker_id,
                             s_ex_done, r);
    return r;
}

void
dvi_runner_on_lent(dvi_runner *r, dvi_executor_lent_fn fn, void *ctx)
{
    dvi_executor_on_lent(r->ex, fn, ctx);
}

void
dvi_runner_collect(void *r)
{
    dvi_executor_collect(((dvi_runner *)r)->ex);
}

void
dvi_runner_submit(dvi_runner *r, dvi_job *job)
{
    dvi_job_enqueue(&r->runq, &r->runq_tail, job);
    s_ready_add(r, 1);
    uv_idle_start(&r->idle, s_drain);
}

void
dvi_runner_hasten(dvi_runner *r, dvi_job *job)
{
    if (!dvi_job_hasten(&r->runq, &r->runq_tail, job)) {
        dvi_executor_hasten(r->ex, job);
    }
}

dvi_job *
dvi_runner_take_queued(dvi_runner *r)
{
    dvi_job *queued = dvi_executor_take_queued(r->ex);
    dvi_job **tail = &queued;
    size_t n = 0;
    for (; *tail != NULL; tail = &(*tail)->next) {
        n++;
    }
    s_busy_sub(r, n);
    /* Those in runq came after the executor's. */
    *tail = r->runq;
    s_ready_sub(r, r->nready);
    r->runq = NULL;
    r->runq_tail = &r->runq;
    uv_idle_stop(&r->idle);
    return queued;
}

/* Frees what the runner holds but its idle handle (the executor is gone). */
static void
s_free_runner(dvi_runner *r)
{
    while (r->runq != NULL) {
        dvi_job_free(s_pop(r));
    }
    dvi_map_entry *e;
    for (size_t i = 0; dvi_map_next(&r->fnstats, &i, &e);) {
        free(e->val);
    }
    dvi_map_fini(&r->fnstats);
    /* Leaves the group as if its jobs were done. */
    r->group->ready -= r->nready;
    r->group->busy -= r->nbusy;
}

static void
s_idle_closed(uv_handle_t *h)
{
    free(h->data);
}

void
dvi_runner_destroy(dvi_runner **rp)
{
    dvi_runner *r = *rp;
    if (r == NULL) {
        return;
    }
    *rp = NULL;
    dvi_executor_destroy(&r->ex);
    s_free_runner(r);
    uv_close((uv_handle_t *)&r->idle, s_idle_closed);
}

void
dvi_runner_abandon(dvi_runner **rp)
{
    dvi_runner *r = *rp;
    if (r == NULL) {
        return;
    }
    *rp = NULL;
    dvi_executor_abandon(&r->ex);
    s_free_runner(r);
    /* Closed, not freed: like the executor, left for the process's end. */
    uv_close((uv_handle_t *)&r->idle, NULL);
}
