/* dvi_sched: task states, placement and the messages that move them.
 *
 * Task lifecycle: waiting (inputs not ready) -> queued (ready, no worker)
 * -> processing (on a worker) -> memory (held by workers) -> forgotten;
 * side exits erred and cancelled. Every per-task operation is O(1)
 * amortised: tasks live in a hash table by key, ready tasks in a priority
 * heap, and a task's waiting dependents in a small array it drops once it
 * completes.
 */
#include "sched.h"

#include <stdlib.h>
#include <string.h>

#include "common/blob.h"
#include "common/err.h"
#include "common/log.h"
#include "common/map.h"
#include "proto/hello.h"
#include "proto/msg.h"
#include "sched_task.h"

#define S_KILLED_AFTER 3 /* worker deaths before "killed worker" */

typedef struct s_peer s_peer;

typedef struct s_worker {
    char id[128];
    char addr[128]; /* where peers fetch its results */
    int nthreads;
    uint32_t nprocessing; /* COMPUTEs sent without a DONE/FAILED back */
    uint64_t score;       /* scratch: input bytes it holds for a placement */
    dvi_taskvec pinned;   /* ready tasks that may run only here */
    dvi_conn *conn;
} s_worker;

typedef struct s_client {
    uint64_t id;
    dvi_conn *conn;
} s_client;

struct s_peer {
    dvi_sched *s;
    dvi_conn *conn;
    int role; /* 0 until HELLO */
    s_worker *worker;
    s_client *client;
};

typedef struct s_lib {
    char hash[80];
    char name[256];
    dvi_blob *bytes;
    s_client *waiting; /* the uploader, until the present workers answer */
    int remaining;
    int loaded;
    char error[512];
    char **impure; /* names of its impure functions, as workers said */
    size_t nimpure;
} s_lib;

typedef struct s_pub {
    char *name;
    dvi_task *task;
} s_pub;

struct dvi_sched {
    uv_loop_t *loop;
    dvi_listener *listeners[4];
    size_t nlisteners;
    dvi_map tasks;         /* key -> dvi_task */
    dvi_map fns;           /* interned function names */
    dvi_map extra;         /* key -> s_wanters, for a second client and more */
    dvi_map published;     /* name -> s_pub */
    dvi_taskheap ready;    /* queued tasks, by priority then age */
    dvi_taskvec forgotten; /* freed at the end of the turn: walks over the
                              graph may still hold pointers to them */
    s_worker **workers;
    size_t nworkers;
    size_t rr; /* round-robin start for tasks without inputs */
    s_lib **libs;
    size_t nlibs;
    s_peer **peers; /* every connection, for closing */
    size_t npeers;
    uint64_t next_client;
    uint64_t seq;
    double avg_task_us; /* moving average of run times, for queue depth */
    dvi_sched_epitaph_fn epitaph; /* how a lost worker died, if known */
    void *epitaph_ctx;
    dvi_sched_stats stats;
};

typedef struct s_wanters {
    char *key;
    size_t n;
    s_client *v[];
} s_wanters;

static void s_forget(dvi_sched *s, dvi_task *t);
static void s_maybe_forget(dvi_sched *s, dvi_task *t);
static void s_schedule(dvi_sched *s);
static void s_assign(dvi_sched *s, dvi_task *t, s_worker *w);

/* A task sent ahead counts as waiting on its inputs, though it is on its
 * worker already. */
static int
s_is_waiting(const dvi_task *t)
{
    return t->state == DVI_TASK_WAITING ||
           (t->state == DVI_TASK_PROCESSING && (t->flags & DVI_TASKF_AHEAD));
}

/* ---- Helpers ------------------------------------------------------------ */

static const char *
s_intern(dvi_sched *s, const char *p, size_t n)
{
    char tmp[DVI_MAX_KEY + 1];
    memcpy(tmp, p, n);
    tmp[n] = '\0';
    const char *name = dvi_map_get(&s->fns, tmp);
    if (name == NULL) {
        char *copy = dvi_strdup(tmp);
        dvi_map_put(&s->fns, copy, copy);
        name = copy;
    }
    return name;
}

static void
s_peers_remove(dvi_sched *s, s_peer *p)
{
    for (size_t i = 0; i < s->npeers; i++) {
        if (s->peers[i] == p) {
            s->peers[i] = s->peers[--s->npeers];
            return;
        }
    }
}

static size_t
s_worker_cap(const dvi_sched *s, const s_worker *w)
{
    /* Enough tasks ahead that a worker never idles for a round trip, few
     * enough that a late worker still finds work: about 2 ms of work per
     * thread, between 2 and 256 tasks. */
    double per = 2000.0 / (s->avg_task_us > 1 ? s->avg_task_us : 1);
    if (per < 2) {
        per = 2;
    }
    if (per > 256) {
        per = 256;
    }
    return (size_t)(w->nthreads * (1 + per));
}

static int
s_worker_free(const dvi_sched *s, const s_worker *w)
{
    return w->nprocessing < s_worker_cap(s, w);
}

static s_worker *
s_worker_find(const dvi_sched *s, const char *id)
{
    for (size_t i = 0; i < s->nworkers; i++) {
        if (strcmp(s->workers[i]->id, id) == 0) {
            return s->workers[i];
        }
    }
    return NULL;
}

/* ---- Messages to clients ------------------------------------------------ */

static void
s_tell_finished(dvi_task *t, s_client *c, const char *blob, size_t bloblen)
{
    msgpack_packer *pk = dvi_conn_msg(c->conn, DVI_MSG_FINISHED, 4);
    dvi_pack_str(pk, t->key);
    msgpack_pack_uint64(pk, t->nbytes);
    if (blob) {
        dvi_pack_bin(pk, blob, bloblen);
    } else {
        msgpack_pack_nil(pk);
    }
    dvi_pack_str(pk, t->nwho ? dvi_task_holder(t, 0)->addr : NULL);
}

static void
s_tell_erred(dvi_task *t, s_client *c)
{
    msgpack_packer *pk = dvi_conn_msg(c->conn, DVI_MSG_ERRED, 3);
    dvi_pack_str(pk, t->key);
    msgpack_pack_int(pk, t->state == DVI_TASK_CANCELLED ? 3 : 2);
    dvi_pack_str(pk, t->error ? t->error : "failed");
}

/* Calls fn for every client that wants t. */
static void
s_each_wanter(dvi_sched *s, dvi_task *t,
              void (*fn)(dvi_task *, s_client *, const char *, size_t),
              const char *blob, size_t len)
{
    if (t->owner) {
        fn(t, t->owner, blob, len);
    }
    if (t->flags & DVI_TASKF_EXTRA) {
        s_wanters *w = dvi_map_get(&s->extra, t->key);
        for (size_t i = 0; w && i < w->n; i++) {
            fn(t, w->v[i], blob, len);
        }
    }
}

static void
s_erred_cb(dvi_task *t, s_client *c, const char *blob, size_t len)
{
    s_tell_erred(t, c);
}

static int s_wants(dvi_sched *s, dvi_task *t, s_client *c);

static void
s_want(dvi_sched *s, dvi_task *t, s_client *c)
{
    if (s_wants(s, t, c)) {
        return; /* one want per client: it counts its own handles */
    }
    t->nwants++;
    if (t->owner == NULL) {
        t->owner = c;
        return;
    }
    s_wanters *w = dvi_map_del(&s->extra, t->key);
    size_t n = w ? w->n : 0;
    s_wanters *nw = dvi_realloc(w, sizeof(*nw) + (n + 1) * sizeof(s_client *));
    if (w == NULL) {
        nw->key = dvi_strdup(t->key);
        nw->n = 0;
    }
    nw->v[nw->n++] = c;
    dvi_map_put(&s->extra, nw->key, nw);
    t->flags |= DVI_TASKF_EXTRA;
}

static int
s_wants(dvi_sched *s, dvi_task *t, s_client *c)
{
    if (t->owner == c) {
        return 1;
    }
    if (t->flags & DVI_TASKF_EXTRA) {
        s_wanters *w = dvi_map_get(&s->extra, t->key);
        for (size_t i = 0; w && i < w->n; i++) {
            if (w->v[i] == c) {
                return 1;
            }
        }
    }
    return 0;
}

/* Drops client c's want of t; returns 1 if it had one. */
static int
s_unwant(dvi_sched *s, dvi_task *t, s_client *c)
{
    if (t->owner == c) {
        t->owner = NULL;
        t->nwants--;
        return 1;
    }
    if (!(t->flags & DVI_TASKF_EXTRA)) {
        return 0;
    }
    s_wanters *w = dvi_map_get(&s->extra, t->key);
    for (size_t i = 0; w && i < w->n; i++) {
        if (w->v[i] == c) {
            w->v[i] = w->v[--w->n];
            t->nwants--;
            if (w->n == 0) {
                dvi_map_del(&s->extra, t->key);
                free(w->key);
                free(w);
                t->flags &= ~DVI_TASKF_EXTRA;
            }
            return 1;
        }
    }
    return 0;
}

/* ---- State transitions -------------------------------------------------- */

/* t no longer waits on its inputs: they may be freed. */
static void
s_drop_deps(dvi_sched *s, dvi_task *t)
{
    size_t n = t->ndeps;
    dvi_task *one = t->deps.one;
    dvi_task **deps = (t->flags & DVI_TASKF_DEPARRAY) ? t->deps.many : &one;
    /* Detach first: forgetting an input must not see t's array. */
    t->ndeps = 0;
    t->deps.many = NULL;
    t->flags &= ~DVI_TASKF_DEPARRAY;
    for (size_t i = 0; i < n; i++) {
        dvi_task *d = deps[i];
        if (d->dependents.n > 0) {
            /* t erred while d was pending: d must not find it later. */
            dvi_taskvec_remove(&d->dependents, t);
        }
        d->nwaiters--;
        s_maybe_forget(s, d);
    }
    if (deps != &one) {
        free(deps);
    }
}

static void
s_make_ready(dvi_sched *s, dvi_task *t)
{
    t->state = DVI_TASK_QUEUED;
    t->flags &= ~DVI_TASKF_AHEAD;
    if (t->nwants == 0 && t->nwaiters == 0) {
        s_forget(s, t); /* released while it waited */
        return;
    }
    if (t->flags & DVI_TASKF_PINNED) {
        dvi_taskvec_push(&((s_worker *)t->where)->pinned, t);
    } else {
        dvi_taskheap_push(&s->ready, t);
    }
}

/* Errs t and, transitively, every task waiting on it, with t's text. The
 * client quiet (which cancelled t and knows) is not told about t itself. */
static void
s_err(dvi_sched *s, dvi_task *t, int state, const char *text, s_client *quiet)
{
    dvi_taskvec todo;
    dvi_taskvec_init(&todo);
    t->error = dvi_strdup(text);
    t->state = state;
    dvi_taskvec_push(&todo, t);
    while (todo.n > 0) {
        dvi_task *e = todo.v[--todo.n];
        if (e->heap_index != DVI_NO_INDEX) {
            dvi_taskheap_remove(&s->ready, e);
        }
        if ((e->flags & DVI_TASKF_PINNED) && e->where) {
            dvi_taskvec_remove(&((s_worker *)e->where)->pinned, e);
        }
        s->stats.erred++;
        if (e == t && quiet && t->owner == quiet &&
            !(t->flags & DVI_TASKF_EXTRA)) {
            /* Only the canceller wants it: nobody to tell. */
        } else {
            s_each_wanter(s, e, s_erred_cb, NULL, 0);
        }
        dvi_taskvec deps = e->dependents;
        dvi_taskvec_init(&e->dependents);
        for (size_t i = 0; i < deps.n; i++) {
            dvi_task *d = deps.v[i];
            if (s_is_waiting(d)) {
                if (d->state == DVI_TASK_PROCESSING && d->where) {
                    s_worker *w = d->where; /* it waits there: drop it */
                    dvi_pack_str(dvi_conn_msg(w->conn, DVI_MSG_FREE, 1),
                                 d->key);
                }
                d->state = state;
                d->error = dvi_strdup(text);
                dvi_taskvec_push(&todo, d);
            }
        }
        dvi_taskvec_fini(&deps);
    }
    dvi_taskvec_fini(&todo);
}

/* Finishes the error of t: inputs released, t forgotten if unwanted. Split
 * from s_err so that callers holding pointers can finish their walk. */
static void
s_err_settle(dvi_sched *s, dvi_task *t)
{
    s_drop_deps(s, t);
    s_maybe_forget(s, t);
}

static void
s_fail_task_quietly(dvi_sched *s, dvi_task *t, int state, const char *text,
                    s_client *quiet)
{
    /* Collect the whole erred set first (each task once), then settle
     * each: settling may forget tasks, which stay allocated until the end
     * of the turn. */
    dvi_taskvec set;
    dvi_taskvec_init(&set);
    dvi_taskvec_push(&set, t);
    t->flags |= DVI_TASKF_MARK;
    for (size_t i = 0; i < set.n; i++) {
        dvi_task *e = set.v[i];
        for (size_t j = 0; j < e->dependents.n; j++) {
            dvi_task *d = e->dependents.v[j];
            if (s_is_waiting(d) && !(d->flags & DVI_TASKF_MARK)) {
                d->flags |= DVI_TASKF_MARK;
                dvi_taskvec_push(&set, d);
            }
        }
    }
    s_err(s, t, state, text, quiet);
    for (size_t i = set.n; i-- > 0;) {
        set.v[i]->flags &= ~DVI_TASKF_MARK;
        s_err_settle(s, set.v[i]);
    }
    dvi_taskvec_fini(&set);
}

static void
s_fail_task(dvi_sched *s, dvi_task *t, int state, const char *text)
{
    s_fail_task_quietly(s, t, state, text, NULL);
}

static void
s_finished_cb(dvi_task *t, s_client *c, const char *blob, size_t len)
{
    s_tell_finished(t, c, blob, len);
}

static void
s_complete(dvi_sched *s, dvi_task *t, s_worker *w, uint64_t nbytes,
           const char *blob, size_t bloblen)
{
    t->state = DVI_TASK_MEMORY;
    t->nbytes = nbytes;
    if (!(t->flags & DVI_TASKF_PINNED)) {
        t->where = NULL;
    }
    dvi_task_add_holder(t, w);
    s->stats.finished++;
    s_each_wanter(s, t, s_finished_cb,
                  blob && bloblen <= DVI_INLINE_MAX ? blob : NULL, bloblen);
    dvi_taskvec deps = t->dependents;
    dvi_taskvec_init(&t->dependents);
    for (size_t i = 0; i < deps.n; i++) {
        dvi_task *d = deps.v[i];
        if (s_is_waiting(d) && --d->nwaiting == 0 &&
            d->state == DVI_TASK_WAITING) {
            s_make_ready(s, d);
        }
    }
    dvi_taskvec_fini(&deps);
    s_drop_deps(s, t);
    s_maybe_forget(s, t);
}

/* Frees the tasks forgotten during this turn. */
static void
s_bury(dvi_sched *s)
{
    for (uint32_t i = 0; i < s->forgotten.n; i++) {
        dvi_task_free(s->forgotten.v[i]);
    }
    s->forgotten.n = 0;
}

static void
s_forget(dvi_sched *s, dvi_task *t)
{
    if (t->state == DVI_TASK_FORGOTTEN) {
        return;
    }
    if (t->state == DVI_TASK_MEMORY) {
        for (size_t i = 0; i < t->nwho; i++) {
            s_worker *w = dvi_task_holder(t, i);
            dvi_pack_str(dvi_conn_msg(w->conn, DVI_MSG_FREE, 1), t->key);
        }
    } else if (t->state == DVI_TASK_PROCESSING && t->where) {
        s_worker *w = t->where;
        dvi_pack_str(dvi_conn_msg(w->conn, DVI_MSG_FREE, 1), t->key);
    } else if (t->state == DVI_TASK_QUEUED) {
        if (t->heap_index != DVI_NO_INDEX) {
            dvi_taskheap_remove(&s->ready, t);
        } else if (t->flags & DVI_TASKF_PINNED) {
            dvi_taskvec_remove(&((s_worker *)t->where)->pinned, t);
        }
    } else if (t->state == DVI_TASK_WAITING) {
        /* Still listed as a dependent of its inputs: it is forgotten when
         * it becomes ready (s_make_ready), never before. */
        return;
    }
    t->state = DVI_TASK_FORGOTTEN;
    dvi_map_del(&s->tasks, t->key);
    if (t->flags & DVI_TASKF_EXTRA) {
        s_wanters *w = dvi_map_del(&s->extra, t->key);
        if (w) {
            free(w->key);
            free(w);
        }
        t->flags &= ~DVI_TASKF_EXTRA;
    }
    s_drop_deps(s, t);
    dvi_taskvec_push(&s->forgotten, t);
}

static void
s_maybe_forget(dvi_sched *s, dvi_task *t)
{
    if (t->nwants == 0 && t->nwaiters == 0 && t->state != DVI_TASK_WAITING &&
        t->state != DVI_TASK_FORGOTTEN) {
        s_forget(s, t);
    }
}

/* ---- Placement ---------------------------------------------------------- */

static s_worker *
s_pick(dvi_sched *s, dvi_task *t)
{
    s_worker *best = NULL;
    dvi_task **deps = dvi_task_deps(t);
    for (size_t i = 0; i < t->ndeps; i++) {
        for (size_t j = 0; j < deps[i]->nwho; j++) {
            dvi_task_holder(deps[i], j)->score += deps[i]->nbytes;
        }
    }
    /* The free worker holding most input bytes; among equals the least
     * loaded, starting from a rotating index so roots spread evenly. */
    for (size_t k = 0; k < s->nworkers; k++) {
        s_worker *w = s->workers[(s->rr + k) % s->nworkers];
        if (!s_worker_free(s, w)) {
            continue;
        }
        if (best == NULL || w->score > best->score ||
            (w->score == best->score &&
             (uint64_t)w->nprocessing * best->nthreads <
                 (uint64_t)best->nprocessing * w->nthreads)) {
            best = w;
        }
    }
    for (size_t i = 0; i < t->ndeps; i++) {
        for (size_t j = 0; j < deps[i]->nwho; j++) {
            dvi_task_holder(deps[i], j)->score = 0;
        }
    }
    s->rr++;
    return best;
}

static void
s_assign(dvi_sched *s, dvi_task *t, s_worker *w)
{
    t->state = DVI_TASK_PROCESSING;
    t->where = w;
    w->nprocessing++;
    if (t->flags & DVI_TASKF_SCATTER) {
        return; /* its SCATTER went out already */
    }
    msgpack_packer *pk = dvi_conn_msg(w->conn, DVI_MSG_COMPUTE, 6);
    dvi_pack_str(pk, t->key);
    dvi_pack_str(pk, t->fn);
    dvi_pack_bin(pk, dvi_task_args(t), t->args_len);
    dvi_task **deps = dvi_task_deps(t);
    msgpack_pack_array(pk, t->ndeps);
    for (size_t i = 0; i < t->ndeps; i++) {
        dvi_task *d = deps[i];
        s_worker *h = d->nwho ? dvi_task_holder(d, 0) : NULL;
        for (size_t j = 0; j < d->nwho; j++) {
            if (dvi_task_holder(d, j) == w) {
                h = w;
            }
        }
        /* No holder left (its worker died): the worker reports the input
         * missing and the task errs; recomputing lost inputs comes with
         * worker-loss handling. */
        msgpack_pack_array(pk, 3);
        dvi_pack_str(pk, d->key);
        dvi_pack_str(pk, h == w || h == NULL ? NULL : h->addr);
        msgpack_pack_uint64(pk, d->nbytes);
    }
    msgpack_pack_unsigned_int(pk, t->flags & DVI_TASK_WIRE_FLAGS);
    msgpack_pack_int(pk, t->priority);
}

/* The worker that a waiting task can go to now: every input not yet in
 * memory is being computed there, which has room. Sent ahead, the task
 * starts there as soon as its inputs finish, without a round trip through
 * the scheduler: a chain costs microseconds a link, not a round trip. */
static s_worker *
s_ahead_worker(dvi_sched *s, dvi_task *t)
{
    if (t->state != DVI_TASK_WAITING || t->nwaiting == 0) {
        return NULL;
    }
    s_worker *w = NULL;
    dvi_task **deps = dvi_task_deps(t);
    for (size_t i = 0; i < t->ndeps; i++) {
        dvi_task *d = deps[i];
        if (d->state == DVI_TASK_MEMORY) {
            continue;
        }
        if (d->state != DVI_TASK_PROCESSING || d->where == NULL ||
            (d->flags & DVI_TASKF_SCATTER) || (w && w != d->where)) {
            return NULL;
        }
        w = d->where;
    }
    if (w == NULL || !s_worker_free(s, w) ||
        ((t->flags & DVI_TASKF_PINNED) && t->where != w)) {
        return NULL;
    }
    return w;
}

/* Sends ahead what waits on t (which just went to a worker), and what
 * waits on those, as far as the worker has room. */
static void
s_send_ahead(dvi_sched *s, dvi_task *t)
{
    dvi_taskvec todo;
    dvi_taskvec_init(&todo);
    dvi_taskvec_push(&todo, t);
    while (todo.n > 0) {
        dvi_task *x = todo.v[--todo.n];
        for (uint32_t i = 0; i < x->dependents.n; i++) {
            dvi_task *d = x->dependents.v[i];
            s_worker *w = s_ahead_worker(s, d);
            if (w != NULL) {
                d->flags |= DVI_TASKF_AHEAD;
                s_assign(s, d, w);
                dvi_taskvec_push(&todo, d);
            }
        }
    }
    dvi_taskvec_fini(&todo);
}

static void
s_schedule(dvi_sched *s)
{
    for (size_t i = 0; i < s->nworkers; i++) {
        s_worker *w = s->workers[i];
        size_t taken = 0;
        while (taken < w->pinned.n && s_worker_free(s, w)) {
            dvi_task *t = w->pinned.v[taken++];
            s_assign(s, t, w);
            s_send_ahead(s, t);
        }
        dvi_taskvec_shift(&w->pinned, taken);
    }
    while (s->ready.n > 0) {
        dvi_task *t = s->ready.v[0];
        s_worker *w = s_pick(s, t);
        if (w == NULL) {
            return;
        }
        dvi_taskheap_pop(&s->ready);
        s_assign(s, t, w);
        s_send_ahead(s, t);
    }
}

/* ---- Client messages ---------------------------------------------------- */

static int
s_on_submit(dvi_sched *s, s_client *c, const msgpack_object *f)
{
    const char *key, *fn, *args, *pin;
    size_t keylen, fnlen, argslen, pinlen;
    uint64_t flags;
    int64_t priority, retries;
    if (dvi_msg_bytes(&f[0], &key, &keylen) < 0 ||
        dvi_msg_bytes(&f[1], &fn, &fnlen) < 0 ||
        dvi_msg_bytes(&f[2], &args, &argslen) < 0 ||
        f[3].type != MSGPACK_OBJECT_ARRAY || dvi_msg_u64(&f[4], &flags) < 0 ||
        dvi_msg_i64(&f[5], &priority) < 0 || dvi_msg_i64(&f[6], &retries) < 0 ||
        dvi_msg_opt_bytes(&f[7], &pin, &pinlen) < 0 || keylen == 0 ||
        keylen > DVI_MAX_KEY || fnlen == 0 || fnlen > DVI_MAX_KEY ||
        pinlen > 127 || memchr(key, 0, keylen) || memchr(fn, 0, fnlen)) {
        return dvi_seterr(DV_EPROTO, "malformed SUBMIT");
    }
    char k[DVI_MAX_KEY + 1];
    memcpy(k, key, keylen);
    k[keylen] = '\0';
    dvi_task *t = dvi_map_get(&s->tasks, k);
    if (t != NULL && t->state != DVI_TASK_ERRED &&
        t->state != DVI_TASK_CANCELLED) {
        /* A duplicate pure call: share the task. */
        s_want(s, t, c);
        if (t->state == DVI_TASK_MEMORY) {
            s_tell_finished(t, c, NULL, 0);
        }
        return 0;
    }
    if (t != NULL) {
        /* Resubmitting an erred key runs it again (a retry). */
        if (t->nwants > 0 || t->nwaiters > 0) {
            s_want(s, t, c);
            s_tell_erred(t, c);
            return 0;
        }
        s_forget(s, t);
    }
    const msgpack_object_array *deps = &f[3].via.array;
    t = dvi_task_new(k, keylen, args, argslen, deps->size);
    t->fn = s_intern(s, fn, fnlen);
    t->flags |= (uint8_t)(flags & DVI_TASK_WIRE_FLAGS);
    t->priority = (int32_t)priority;
    t->retries = (int16_t)(retries > 100 ? 100 : retries < 0 ? 0 : retries);
    t->seq = s->seq++;
    dvi_map_put(&s->tasks, t->key, t);
    s->stats.submitted++;
    s_want(s, t, c);
    if (pinlen > 0) {
        char id[128];
        memcpy(id, pin, pinlen);
        id[pinlen] = '\0';
        s_worker *w = s_worker_find(s, id);
        if (w == NULL) {
            char why[200];
            snprintf(why, sizeof(why), "no worker '%s' in the cluster", id);
            s_fail_task(s, t, DVI_TASK_ERRED, why);
            return 0;
        }
        t->flags |= DVI_TASKF_PINNED;
        t->where = w;
    }
    /* Check every input before linking any, so that a failure leaves no
     * input listing t as a dependent. */
    const char *failed = NULL;
    int cancelled = 0;
    dvi_task **tdeps = dvi_task_deps(t);
    char why[DVI_MAX_KEY + 64];
    for (uint32_t i = 0; i < deps->size && failed == NULL; i++) {
        char dk[DVI_MAX_KEY + 1];
        dvi_task *d;
        if (dvi_msg_str(&deps->ptr[i], dk, sizeof(dk)) < 0) {
            failed = "malformed dependency key";
        } else if ((d = dvi_map_get(&s->tasks, dk)) == NULL) {
            snprintf(why, sizeof(why), "dependency '%s' is not known", dk);
            failed = why;
        } else if (d == t) {
            failed = "a task cannot depend on itself";
        } else {
            tdeps[t->ndeps++] = d;
            d->nwaiters++;
            if (d->state == DVI_TASK_ERRED || d->state == DVI_TASK_CANCELLED) {
                failed = d->error;
                cancelled = d->state == DVI_TASK_CANCELLED;
            }
        }
    }
    if (failed) {
        s_fail_task(s, t, cancelled ? DVI_TASK_CANCELLED : DVI_TASK_ERRED,
                    failed);
        return 0;
    }
    for (uint32_t i = 0; i < t->ndeps; i++) {
        if (tdeps[i]->state != DVI_TASK_MEMORY) {
            t->nwaiting++;
            dvi_taskvec_push(&tdeps[i]->dependents, t);
        }
    }
    if (t->nwaiting == 0) {
        s_make_ready(s, t);
    } else {
        s_worker *w = s_ahead_worker(s, t);
        if (w != NULL) {
            t->flags |= DVI_TASKF_AHEAD;
            s_assign(s, t, w);
        }
    }
    return 0;
}

static int
s_key_arg(const msgpack_object *o, char *k)
{
    return dvi_msg_str(o, k, DVI_MAX_KEY + 1);
}

static int
s_on_release(dvi_sched *s, s_client *c, const msgpack_object *f)
{
    char k[DVI_MAX_KEY + 1];
    if (s_key_arg(&f[0], k) < 0) {
        return DV_EPROTO;
    }
    dvi_task *t = dvi_map_get(&s->tasks, k);
    if (t && s_unwant(s, t, c)) {
        s_maybe_forget(s, t);
    }
    return 0;
}

static int
s_on_cancel(dvi_sched *s, s_client *c, const msgpack_object *f)
{
    char k[DVI_MAX_KEY + 1];
    if (s_key_arg(&f[0], k) < 0) {
        return DV_EPROTO;
    }
    dvi_task *t = dvi_map_get(&s->tasks, k);
    if (t == NULL || t->state == DVI_TASK_MEMORY ||
        t->state == DVI_TASK_ERRED || t->state == DVI_TASK_CANCELLED) {
        return 0;
    }
    if (t->state == DVI_TASK_PROCESSING && t->where) {
        /* It runs on; the worker discards its result. */
        s_worker *w = t->where;
        dvi_pack_str(dvi_conn_msg(w->conn, DVI_MSG_FREE, 1), t->key);
        if (!(t->flags & DVI_TASKF_PINNED)) {
            t->where = NULL;
        }
    }
    /* The canceller marked its future already; a later resubmission of
     * the same key must not meet this task's error. */
    s_fail_task_quietly(s, t, DVI_TASK_CANCELLED, "cancelled", c);
    return 0;
}

static int
s_on_scatter(dvi_sched *s, s_client *c, const msgpack_object *f)
{
    char k[DVI_MAX_KEY + 1];
    const char *blob;
    size_t len;
    if (s_key_arg(&f[0], k) < 0 || dvi_msg_bytes(&f[1], &blob, &len) < 0) {
        return dvi_seterr(DV_EPROTO, "malformed SCATTER");
    }
    dvi_task *t = dvi_map_get(&s->tasks, k);
    if (t != NULL) {
        s_want(s, t, c);
        if (t->state == DVI_TASK_MEMORY) {
            s_tell_finished(t, c, NULL, 0);
        }
        return 0;
    }
    t = dvi_task_new(k, strlen(k), NULL, 0, 0);
    t->fn = s_intern(s, "scatter", 7);
    t->flags = DVI_TASKF_SCATTER;
    t->seq = s->seq++;
    dvi_map_put(&s->tasks, t->key, t);
    s_want(s, t, c);
    s_worker *w = s_pick(s, t);
    if (w == NULL && s->nworkers > 0) {
        w = s->workers[s->rr++ % s->nworkers];
    }
    if (w == NULL) {
        s_fail_task(s, t, DVI_TASK_ERRED, "no worker to scatter to");
        return 0;
    }
    msgpack_packer *pk = dvi_conn_msg(w->conn, DVI_MSG_SCATTER, 2);
    dvi_pack_str(pk, k);
    dvi_pack_bin(pk, blob, len);
    s_assign(s, t, w);
    return 0;
}

static void
s_send_upload(s_worker *w, const s_lib *lib)
{
    msgpack_packer *pk = dvi_conn_msg(w->conn, DVI_MSG_UPLOAD, 3);
    dvi_pack_str(pk, lib->hash);
    dvi_pack_str(pk, lib->name);
    dvi_pack_bin(pk, lib->bytes->data, lib->bytes->len);
}

static void
s_tell_uploaded(const s_lib *lib, s_client *c, int loaded)
{
    msgpack_packer *pk = dvi_conn_msg(c->conn, DVI_MSG_UPLOADED, 4);
    dvi_pack_str(pk, lib->hash);
    msgpack_pack_int(pk, loaded);
    dvi_pack_str(pk, lib->error[0] ? lib->error : NULL);
    msgpack_pack_array(pk, lib->nimpure);
    for (size_t i = 0; i < lib->nimpure; i++) {
        dvi_pack_str(pk, lib->impure[i]);
    }
}

static void
s_reply_upload(s_lib *lib)
{
    if (lib->waiting == NULL) {
        return;
    }
    s_tell_uploaded(lib, lib->waiting, lib->loaded);
    lib->waiting = NULL;
}

static int
s_on_upload(dvi_sched *s, s_client *c, const msgpack_object *f)
{
    char hash[80], name[256];
    const char *bytes;
    size_t len;
    if (dvi_msg_str(&f[0], hash, sizeof(hash)) < 0 ||
        dvi_msg_str(&f[1], name, sizeof(name)) < 0 ||
        dvi_msg_bytes(&f[2], &bytes, &len) < 0) {
        return dvi_seterr(DV_EPROTO, "malformed UPLOAD");
    }
    for (size_t i = 0; i < s->nlibs; i++) {
        if (strcmp(s->libs[i]->hash, hash) == 0) {
            s_tell_uploaded(s->libs[i], c, (int)s->nworkers);
            return 0;
        }
    }
    s_lib *lib = dvi_calloc(1, sizeof(*lib));
    snprintf(lib->hash, sizeof(lib->hash), "%s", hash);
    snprintf(lib->name, sizeof(lib->name), "%s", name);
    lib->bytes = dvi_blob_copy(bytes, len);
    lib->waiting = c;
    lib->remaining = (int)s->nworkers;
    s->libs = dvi_realloc(s->libs, (s->nlibs + 1) * sizeof(*s->libs));
    s->libs[s->nlibs++] = lib;
    for (size_t i = 0; i < s->nworkers; i++) {
        s_send_upload(s->workers[i], lib);
    }
    if (lib->remaining == 0) {
        s_reply_upload(lib);
    }
    return 0;
}

static void
s_reply(s_client *c, uint64_t req, int status, const char *text)
{
    msgpack_packer *pk = dvi_conn_msg(c->conn, DVI_MSG_REPLY, 3);
    msgpack_pack_uint64(pk, req);
    msgpack_pack_int(pk, status);
    dvi_pack_str(pk, text);
}

static int
s_on_publish(dvi_sched *s, s_client *c, const msgpack_object *f)
{
    uint64_t req;
    char name[256], k[DVI_MAX_KEY + 1];
    if (dvi_msg_u64(&f[0], &req) < 0 ||
        dvi_msg_str(&f[1], name, sizeof(name)) < 0 || s_key_arg(&f[2], k) < 0) {
        return dvi_seterr(DV_EPROTO, "malformed PUBLISH");
    }
    dvi_task *t = dvi_map_get(&s->tasks, k);
    if (t == NULL) {
        s_reply(c, req, DV_ENOTFOUND, "no such task");
        return 0;
    }
    s_reply(c, req, 0, NULL);
    s_pub *p = dvi_map_get(&s->published, name);
    if (p != NULL && p->task == t) {
        return 0; /* already published under that name */
    }
    if (p == NULL) {
        p = dvi_calloc(1, sizeof(*p));
        p->name = dvi_strdup(name);
        dvi_map_put(&s->published, p->name, p);
    } else {
        dvi_task *old = p->task;
        old->nwants--;
        p->task = NULL;
        s_maybe_forget(s, old);
    }
    p->task = t;
    t->nwants++;
    return 0;
}

static int
s_on_lookup(dvi_sched *s, s_client *c, int type, const msgpack_object *f)
{
    uint64_t req;
    char name[256];
    if (dvi_msg_u64(&f[0], &req) < 0 ||
        dvi_msg_str(&f[1], name, sizeof(name)) < 0) {
        return dvi_seterr(DV_EPROTO, "malformed LOOKUP");
    }
    s_pub *p = dvi_map_get(&s->published, name);
    if (p == NULL) {
        s_reply(c, req, DV_ENOTFOUND, "nothing is published under that name");
        return 0;
    }
    dvi_task *t = p->task;
    if (type == DVI_MSG_UNPUBLISH) {
        dvi_map_del(&s->published, name);
        free(p->name);
        free(p);
        s_reply(c, req, 0, NULL);
        t->nwants--;
        s_maybe_forget(s, t);
        return 0;
    }
    s_reply(c, req, 0, t->key);
    s_want(s, t, c);
    if (t->state == DVI_TASK_MEMORY) {
        s_tell_finished(t, c, NULL, 0);
    } else if (t->state == DVI_TASK_ERRED || t->state == DVI_TASK_CANCELLED) {
        s_tell_erred(t, c);
    }
    return 0;
}

/* ---- Worker messages ---------------------------------------------------- */

static void
s_note_duration(dvi_sched *s, int64_t us)
{
    if (us < 0) {
        return;
    }
    s->avg_task_us = s->avg_task_us * 0.9 + (double)us * 0.1;
}

static int
s_on_done(dvi_sched *s, s_worker *w, int type, const msgpack_object *f,
          uint32_t n)
{
    char k[DVI_MAX_KEY + 1];
    uint64_t nbytes;
    const char *blob = NULL;
    size_t bloblen = 0;
    int64_t us = -1;
    if (s_key_arg(&f[0], k) < 0 || dvi_msg_u64(&f[1], &nbytes) < 0 ||
        (type == DVI_MSG_DONE &&
         (dvi_msg_opt_bytes(&f[2], &blob, &bloblen) < 0 ||
          dvi_msg_i64(&f[3], &us) < 0))) {
        return dvi_seterr(DV_EPROTO, "malformed %s", dvi_msg_name(type));
    }
    if (w->nprocessing > 0) {
        w->nprocessing--;
    }
    s_note_duration(s, us);
    dvi_task *t = dvi_map_get(&s->tasks, k);
    if (t == NULL || t->state != DVI_TASK_PROCESSING || t->where != w) {
        if (t == NULL || t->state != DVI_TASK_MEMORY) {
            dvi_pack_str(dvi_conn_msg(w->conn, DVI_MSG_FREE, 1), k);
        } else {
            dvi_task_add_holder(t, w);
        }
        return 0;
    }
    s_complete(s, t, w, nbytes, blob, bloblen);
    return 0;
}

static int
s_inputs_held(dvi_task *t)
{
    dvi_task **deps = dvi_task_deps(t);
    for (size_t i = 0; i < t->ndeps; i++) {
        if (deps[i]->state != DVI_TASK_MEMORY || deps[i]->nwho == 0) {
            return 0;
        }
    }
    return 1;
}

static int
s_on_failed(dvi_sched *s, s_worker *w, const msgpack_object *f)
{
    char k[DVI_MAX_KEY + 1];
    uint64_t blame;
    const char *text;
    size_t len;
    if (s_key_arg(&f[0], k) < 0 || dvi_msg_u64(&f[1], &blame) < 0 ||
        dvi_msg_bytes(&f[2], &text, &len) < 0) {
        return dvi_seterr(DV_EPROTO, "malformed FAILED");
    }
    if (w->nprocessing > 0) {
        w->nprocessing--;
    }
    dvi_task *t = dvi_map_get(&s->tasks, k);
    if (t == NULL || t->state != DVI_TASK_PROCESSING || t->where != w) {
        return 0;
    }
    char *msg = dvi_malloc(len + 1);
    memcpy(msg, text, len);
    msg[len] = '\0';
    if (!(t->flags & DVI_TASKF_PINNED)) {
        t->where = NULL;
    }
    if ((t->flags & DVI_TASKF_AHEAD) && t->nwaiting > 0) {
        /* Sent ahead, and its input failed there but runs again (a retry,
         * elsewhere): it waits again, blameless. */
        t->flags &= ~DVI_TASKF_AHEAD;
        t->state = DVI_TASK_WAITING;
    } else if (blame == DVI_BLAME_TASK && t->retries > 0) {
        t->retries--; /* the user asked for another try */
        s_make_ready(s, t);
    } else if (blame == DVI_BLAME_INPUT && ++t->suspicious < S_KILLED_AFTER &&
               s_inputs_held(t)) {
        /* An input vanished on its way but is held somewhere: again. */
        s_make_ready(s, t);
    } else {
        s_fail_task(s, t, DVI_TASK_ERRED, msg);
    }
    free(msg);
    return 0;
}

static int
s_on_uploaded(dvi_sched *s, s_worker *w, const msgpack_object *f, uint32_t n)
{
    char hash[80];
    int64_t ok;
    const char *err;
    size_t errlen;
    if (dvi_msg_str(&f[0], hash, sizeof(hash)) < 0 ||
        dvi_msg_i64(&f[1], &ok) < 0 ||
        dvi_msg_opt_bytes(&f[2], &err, &errlen) < 0) {
        return dvi_seterr(DV_EPROTO, "malformed UPLOADED");
    }
    for (size_t i = 0; i < s->nlibs; i++) {
        s_lib *lib = s->libs[i];
        if (strcmp(lib->hash, hash) != 0) {
            continue;
        }
        lib->loaded += ok > 0;
        if (lib->nimpure == 0 && n > 3 && f[3].type == MSGPACK_OBJECT_ARRAY) {
            const msgpack_object_array *a = &f[3].via.array;
            lib->impure = dvi_calloc(a->size + 1, sizeof(char *));
            for (uint32_t k = 0; k < a->size; k++) {
                char fn[DVI_MAX_KEY + 1];
                if (dvi_msg_str(&a->ptr[k], fn, sizeof(fn)) == 0) {
                    lib->impure[lib->nimpure++] = dvi_strdup(fn);
                }
            }
        }
        if (err && lib->error[0] == '\0') {
            snprintf(lib->error, sizeof(lib->error), "worker %s: %.*s", w->id,
                     (int)errlen, err);
        }
        if (--lib->remaining <= 0) {
            s_reply_upload(lib);
        }
    }
    return 0;
}

/* ---- Peers -------------------------------------------------------------- */

static void
s_send_workers(dvi_sched *s, s_client *c)
{
    msgpack_packer *pk = dvi_conn_msg(c->conn, DVI_MSG_WORKERS, 1);
    msgpack_pack_array(pk, s->nworkers);
    for (size_t i = 0; i < s->nworkers; i++) {
        dvi_pack_str(pk, s->workers[i]->id);
    }
}

static void
s_broadcast_workers(dvi_sched *s)
{
    for (size_t i = 0; i < s->npeers; i++) {
        if (s->peers[i]->client) {
            s_send_workers(s, s->peers[i]->client);
        }
    }
}

static int
s_on_hello(dvi_sched *s, s_peer *p, const msgpack_object *f, uint32_t n)
{
    dvi_hello h;
    int rc = dvi_hello_parse(f, n, &h);
    if (rc == DV_EVERSION) {
        msgpack_packer *pk = dvi_conn_msg(p->conn, DVI_MSG_BYE, 1);
        dvi_pack_str(pk, "protocol version mismatch");
        dvi_conn_flush(p->conn);
    }
    if (rc < 0) {
        return rc;
    }
    uint64_t role = h.role, threads = h.threads;
    const char *id = h.id, *addr = h.addr;
    p->role = (int)role;
    if (role == DVI_ROLE_WORKER) {
        if (threads == 0 || threads > 4096 || addr[0] == '\0') {
            return dvi_seterr(DV_EPROTO, "worker HELLO without threads or "
                                         "address");
        }
        s_worker *w = dvi_calloc(1, sizeof(*w));
        snprintf(w->id, sizeof(w->id), "%s", id);
        for (int k = 2; s_worker_find(s, w->id) != NULL; k++) {
            snprintf(w->id, sizeof(w->id), "%.100s-%d", id, k);
        }
        snprintf(w->addr, sizeof(w->addr), "%s", addr);
        w->nthreads = (int)threads;
        w->conn = p->conn;
        dvi_taskvec_init(&w->pinned);
        p->worker = w;
        s->workers =
            dvi_realloc(s->workers, (s->nworkers + 1) * sizeof(*s->workers));
        s->workers[s->nworkers++] = w;
        s->stats.workers = s->nworkers;
        msgpack_packer *pk = dvi_conn_msg(p->conn, DVI_MSG_WELCOME, 2);
        msgpack_pack_int(pk, DVI_PROTOCOL_VERSION);
        dvi_pack_str(pk, w->id);
        for (size_t i = 0; i < s->nlibs; i++) {
            s_send_upload(w, s->libs[i]);
        }
        DVI_LOG(DVI_LOG_NOTICE, "SCHED",
                "worker %s joined from %s (%d "
                "threads, peers at %s)",
                w->id, dvi_conn_peer(p->conn), w->nthreads, w->addr);
        s_broadcast_workers(s);
        return 0;
    }
    if (role == DVI_ROLE_CLIENT) {
        s_client *c = dvi_calloc(1, sizeof(*c));
        c->id = ++s->next_client;
        c->conn = p->conn;
        p->client = c;
        s->stats.clients++;
        char cid[32];
        snprintf(cid, sizeof(cid), "client-%llu", (unsigned long long)c->id);
        msgpack_packer *pk = dvi_conn_msg(p->conn, DVI_MSG_WELCOME, 2);
        msgpack_pack_int(pk, DVI_PROTOCOL_VERSION);
        dvi_pack_str(pk, cid);
        s_send_workers(s, c);
        DVI_LOG(DVI_LOG_INFO, "SCHED", "%s connected from %s", cid,
                dvi_conn_peer(p->conn));
        return 0;
    }
    return dvi_seterr(DV_EPROTO, "HELLO with unknown role %llu",
                      (unsigned long long)role);
}

static int
s_on_msg(void *ctx, int type, const msgpack_object *f, uint32_t n)
{
    s_peer *p = ctx;
    dvi_sched *s = p->s;
    if (p->role == 0) {
        if (type != DVI_MSG_HELLO) {
            return dvi_seterr(DV_EPROTO, "%s before HELLO", dvi_msg_name(type));
        }
        return s_on_hello(s, p, f, n);
    }
    if (p->client) {
        s_client *c = p->client;
        switch (type) {
        case DVI_MSG_SUBMIT: return s_on_submit(s, c, f);
        case DVI_MSG_RELEASE: return s_on_release(s, c, f);
        case DVI_MSG_CANCEL: return s_on_cancel(s, c, f);
        case DVI_MSG_SCATTER: return s_on_scatter(s, c, f);
        case DVI_MSG_UPLOAD: return s_on_upload(s, c, f);
        case DVI_MSG_PUBLISH: return s_on_publish(s, c, f);
        case DVI_MSG_LOOKUP:
        case DVI_MSG_UNPUBLISH: return s_on_lookup(s, c, type, f);
        default: break;
        }
    } else if (p->worker) {
        s_worker *w = p->worker;
        switch (type) {
        case DVI_MSG_DONE:
        case DVI_MSG_STORED: return s_on_done(s, w, type, f, n);
        case DVI_MSG_FAILED: return s_on_failed(s, w, f);
        case DVI_MSG_UPLOADED: return s_on_uploaded(s, w, f, n);
        default: break;
        }
    }
    return dvi_seterr(DV_EPROTO, "unexpected %s from %s", dvi_msg_name(type),
                      dvi_conn_peer(p->conn));
}

static int
s_on_frame(dvi_conn *conn, const char *buf, size_t len)
{
    s_peer *p = dvi_conn_data(conn);
    dvi_sched *s = p->s;
    s->stats.bytes_in += len + 4;
    int rc = dvi_msg_each(buf, len, s_on_msg, p);
    s_schedule(s);
    s_bury(s);
    return rc;
}

static void
s_client_gone(dvi_sched *s, s_client *c)
{
    dvi_taskvec drop;
    dvi_taskvec_init(&drop);
    dvi_map_entry *e;
    for (size_t i = 0; dvi_map_next(&s->tasks, &i, &e);) {
        dvi_task *t = e->val;
        if (s_unwant(s, t, c)) {
            dvi_taskvec_push(&drop, t);
        }
    }
    for (size_t i = 0; i < s->nlibs; i++) {
        if (s->libs[i]->waiting == c) {
            s->libs[i]->waiting = NULL;
        }
    }
    for (size_t i = 0; i < drop.n; i++) {
        s_maybe_forget(s, drop.v[i]); /* skips those already forgotten */
    }
    dvi_taskvec_fini(&drop);
    s->stats.clients--;
    free(c);
}

static void
s_worker_gone(dvi_sched *s, s_worker *w, const char *dropped)
{
    char how[256];
    const char *why = dropped;
    if (s->epitaph &&
        s->epitaph(s->epitaph_ctx, w->id, how, sizeof(how)) == 0) {
        why = how;
    }
    for (size_t i = 0; i < s->nworkers; i++) {
        if (s->workers[i] == w) {
            s->workers[i] = s->workers[--s->nworkers];
            break;
        }
    }
    s->stats.workers = s->nworkers;
    DVI_LOG(DVI_LOG_NOTICE, "SCHED", "worker %s left: %s", w->id, why);
    dvi_taskvec lost, rerun, failed;
    dvi_taskvec_init(&lost);
    dvi_taskvec_init(&rerun);
    dvi_taskvec_init(&failed);
    dvi_map_entry *e;
    for (size_t i = 0; dvi_map_next(&s->tasks, &i, &e);) {
        dvi_task *t = e->val;
        int live = t->state == DVI_TASK_WAITING ||
                   t->state == DVI_TASK_QUEUED ||
                   t->state == DVI_TASK_PROCESSING;
        if (live && (t->flags & DVI_TASKF_PINNED) && t->where == w) {
            dvi_taskvec_push(&lost, t); /* it may run nowhere else */
        } else if (t->state == DVI_TASK_PROCESSING && t->where == w &&
                   (t->flags & DVI_TASKF_AHEAD) && t->nwaiting > 0) {
            /* Sent ahead, never started: it waits again, blameless. */
            t->flags &= ~DVI_TASKF_AHEAD;
            t->state = DVI_TASK_WAITING;
            t->where = NULL;
        } else if (t->state == DVI_TASK_PROCESSING && t->where == w) {
            t->where = NULL;
            if (t->flags & DVI_TASKF_SCATTER) {
                dvi_taskvec_push(&lost, t);
            } else if (++t->suspicious >= S_KILLED_AFTER) {
                dvi_taskvec_push(&failed, t);
            } else {
                dvi_taskvec_push(&rerun, t);
            }
        } else if (t->state == DVI_TASK_MEMORY &&
                   dvi_task_remove_holder(t, w) && t->nwho == 0) {
            dvi_taskvec_push(&lost, t);
        }
    }
    for (size_t i = 0; i < rerun.n; i++) {
        s_make_ready(s, rerun.v[i]);
    }
    /* Failing one task errs its dependents too: skip those already done.
     * Nothing is freed before the end of the turn (s_bury). */
    char text[512];
    for (size_t i = 0; i < failed.n; i++) {
        snprintf(text, sizeof(text),
                 "killed worker: the task was running on %d workers that "
                 "died (the last, %s: %s)",
                 S_KILLED_AFTER, w->id, why);
        s_fail_task(s, failed.v[i], DVI_TASK_ERRED, text);
    }
    for (size_t i = 0; i < lost.n; i++) {
        dvi_task *t = lost.v[i];
        if (t->state == DVI_TASK_ERRED || t->state == DVI_TASK_CANCELLED ||
            t->state == DVI_TASK_FORGOTTEN) {
            continue;
        }
        if (t->state == DVI_TASK_MEMORY || (t->flags & DVI_TASKF_SCATTER)) {
            snprintf(text, sizeof(text), "result lost: worker %s left (%s)",
                     w->id, why);
        } else {
            snprintf(text, sizeof(text),
                     "worker %s, where the task was "
                     "pinned, left (%s)",
                     w->id, why);
        }
        s_fail_task(s, t, DVI_TASK_ERRED, text);
    }
    dvi_taskvec_fini(&lost);
    dvi_taskvec_fini(&rerun);
    dvi_taskvec_fini(&failed);
    for (size_t i = 0; i < s->nlibs; i++) {
        if (s->libs[i]->waiting && --s->libs[i]->remaining <= 0) {
            s_reply_upload(s->libs[i]);
        }
    }
    dvi_taskvec_fini(&w->pinned);
    free(w);
    s_broadcast_workers(s);
    s_schedule(s);
}

static void
s_peer_free(dvi_sched *s, s_peer *p, const char *why)
{
    s_peers_remove(s, p);
    if (p->worker) {
        s_worker_gone(s, p->worker, why);
    }
    if (p->client) {
        s_client_gone(s, p->client);
    }
    free(p);
}

static void
s_on_close(dvi_conn *conn, const char *why)
{
    s_peer *p = dvi_conn_data(conn);
    dvi_sched *s = p->s;
    s_peer_free(s, p, why);
    s_bury(s);
}

static s_peer *
s_peer_new(dvi_sched *s, dvi_conn *conn)
{
    s_peer *p = dvi_calloc(1, sizeof(*p));
    p->s = s;
    p->conn = conn;
    dvi_conn_set_data(conn, p);
    s->peers = dvi_realloc(s->peers, (s->npeers + 1) * sizeof(*s->peers));
    s->peers[s->npeers++] = p;
    return p;
}

static void
s_on_accept(dvi_listener *l, dvi_conn *conn)
{
    s_peer_new(dvi_listener_data(l), conn);
}

/* ---- Life cycle --------------------------------------------------------- */

dvi_sched *
dvi_sched_new(uv_loop_t *loop, const char *const *addrs, size_t n, char *bound,
              size_t size)
{
    dvi_sched *s = dvi_calloc(1, sizeof(*s));
    s->loop = loop;
    s->avg_task_us = 1000;
    dvi_map_init(&s->tasks);
    dvi_map_init(&s->fns);
    dvi_map_init(&s->extra);
    dvi_map_init(&s->published);
    dvi_taskheap_init(&s->ready);
    dvi_taskvec_init(&s->forgotten);
    for (size_t i = 0; i < n && i < 4; i++) {
        char b[256];
        dvi_listener *l = dvi_listen(loop, addrs[i], s_on_accept, s_on_frame,
                                     s_on_close, s, b, sizeof(b));
        if (l == NULL) {
            dvi_sched_destroy(&s);
            return NULL;
        }
        if (i == 0 && bound) {
            snprintf(bound, size, "%s", b);
        }
        s->listeners[s->nlisteners++] = l;
    }
    return s;
}

void
dvi_sched_set_epitaph(dvi_sched *s, dvi_sched_epitaph_fn fn, void *ctx)
{
    s->epitaph = fn;
    s->epitaph_ctx = ctx;
}

int
dvi_sched_adopt_fd(dvi_sched *s, int fd)
{
    dvi_conn *c = dvi_conn_from_fd(s->loop, fd, s_on_frame, s_on_close, NULL);
    if (c == NULL) {
        return DV_ECONN;
    }
    s_peer_new(s, c);
    return 0;
}

void
dvi_sched_destroy(dvi_sched **sp)
{
    dvi_sched *s = *sp;
    if (s == NULL) {
        return;
    }
    *sp = NULL;
    for (size_t i = 0; i < s->nlisteners; i++) {
        dvi_listener_close(s->listeners[i]);
    }
    while (s->npeers > 0) {
        s_peer *p = s->peers[s->npeers - 1];
        dvi_conn_close(p->conn);
        s_peer_free(s, p, "scheduler closing");
    }
    s_bury(s);
    dvi_taskvec_fini(&s->forgotten);
    dvi_map_entry *e;
    for (size_t i = 0; dvi_map_next(&s->tasks, &i, &e);) {
        dvi_task_free(e->val);
    }
    for (size_t i = 0; dvi_map_next(&s->extra, &i, &e);) {
        s_wanters *w = e->val;
        free(w->key);
        free(w);
    }
    for (size_t i = 0; dvi_map_next(&s->published, &i, &e);) {
        s_pub *p = e->val;
        free(p->name);
        free(p);
    }
    for (size_t i = 0; dvi_map_next(&s->fns, &i, &e);) {
        free(e->val);
    }
    for (size_t i = 0; i < s->nlibs; i++) {
        dvi_blob_rele(s->libs[i]->bytes);
        for (size_t k = 0; k < s->libs[i]->nimpure; k++) {
            free(s->libs[i]->impure[k]);
        }
        free(s->libs[i]->impure);
        free(s->libs[i]);
    }
    free(s->libs);
    free(s->workers);
    free(s->peers);
    dvi_taskheap_fini(&s->ready);
    dvi_map_fini(&s->tasks);
    dvi_map_fini(&s->fns);
    dvi_map_fini(&s->extra);
    dvi_map_fini(&s->published);
    free(s);
}

void
dvi_sched_stats_get(const dvi_sched *s, dvi_sched_stats *out)
{
    *out = s->stats;
    out->tasks = s->tasks.len;
}

size_t
dvi_sched_nworkers(const dvi_sched *s)
{
    return s->nworkers;
}
