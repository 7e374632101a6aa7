/* dvi_core: peers joining and leaving, and the events that move tasks.
 *
 * Every per-task operation is O(1) amortised: tasks live in a hash table
 * by key, ready tasks in a priority heap, and each worker and client
 * indexes the tasks it runs, holds or wants, so that a peer's departure
 * costs what that peer had.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "core_impl.h"

dvi_core *
dvi_core_new(void)
{
    dvi_core *c = dvi_calloc(1, sizeof(*c));
    c->avg_task_us = 1000;
    c->queue_min = 8;
    dvi_map_init(&c->tasks);
    dvi_map_init(&c->fns);
    dvi_map_init(&c->fnres);
    dvi_map_init(&c->extra);
    dvi_map_init(&c->published);
    dvi_map_init(&c->resreqs);
    dvi_map_init(&c->bcasts);
    dvi_taskheap_init(&c->ready);
    dvi_taskvec_init(&c->settle);
    dvi_taskvec_init(&c->forgotten);
    dvi_map_init(&c->parents);
    dvi_pset_init(&c->ended);
    const char *fusion = getenv("DROVE_FUSION");
    c->fusion = fusion == NULL || strcmp(fusion, "0") != 0;
    return c;
}

static void
s_bury(dvi_core *c)
{
    for (uint32_t i = 0; i < c->forgotten.n; i++) {
        dvi_task_free(c->forgotten.v[i]);
    }
    dvi_taskvec_reset(&c->forgotten);
}

static void
s_worker_free(dvi_sworker *w)
{
    dvi_taskheap_fini(&w->pinned);
    dvi_taskheap_fini(&w->block);
    dvi_pset_fini(&w->pins);
    dvi_pset_fini(&w->running);
    dvi_pset_fini(&w->moving);
    free(w);
}

static void
s_fns_free(dvi_map *fns)
{
    dvi_map_entry *e;
    for (size_t i = 0; dvi_map_next(fns, &i, &e);) {
        dvi_fnrec *f = e->val;
        free(f->name);
        free(f->code);
        free(f->id);
        free(f);
    }
}

void
dvi_core_destroy(dvi_core **cp)
{
    dvi_core *c = *cp;
    if (c == NULL) {
        return;
    }
    *cp = NULL;
    s_bury(c);
    dvi_map_entry *e;
    for (size_t i = 0; dvi_map_next(&c->tasks, &i, &e);) {
        dvi_task_free(e->val);
    }
    for (size_t i = 0; dvi_map_next(&c->extra, &i, &e);) {
        dvi_wanters *w = e->val;
        free(w->key);
        free(w);
    }
    s_fns_free(&c->fns);
    s_fns_free(&c->fnres);
    dvi_core_publish_fini(c);
    dvi_core_libs_fini(c);
    dvi_core_res_fini(c);
    dvi_core_bcasts_fini(c);
    dvi_core_children_fini(c);
    for (size_t i = 0; i < c->nworkers; i++) {
        s_worker_free(c->workers[i]);
    }
    for (size_t i = 0; i < c->nclients; i++) {
        free(c->clients[i]);
    }
    free(c->workers);
    free(c->clients);
    dvi_taskheap_fini(&c->ready);
    dvi_taskvec_fini(&c->settle);
    dvi_taskvec_fini(&c->forgotten);
    dvi_map_fini(&c->tasks);
    dvi_map_fini(&c->fns);
    dvi_map_fini(&c->fnres);
    dvi_map_fini(&c->extra);
    dvi_map_fini(&c->published);
    free(c);
}

void
dvi_core_turn(dvi_core *c)
{
    dvi_core_settle(c);
    dvi_core_schedule(c);
    dvi_core_settle(c);
    s_bury(c);
}

/* ---- Peers -------------------------------------------------------------- */

/* The answer to a HELLO: always a peer's first message. */
static void
s_welcome(dvi_outbox *out, const char *id)
{
    dvi_msg_welcome m = {.version = DVI_PROTOCOL_VERSION};
    m.id = dvi_bytes_of(id);
    dvi_msg_welcome_pack(out, &m);
}

/* WORKERS: the workers taking work (a stopping one is left out). */
static void
s_send_workers(dvi_core *c, dvi_sclient *cl)
{
    msgpack_packer *pk = dvi_msg_workers_pack(cl->out, &(dvi_msg_workers){0});
    size_t n = 0;
    for (size_t i = 0; i < c->nworkers; i++) {
        n += !c->workers[i]->retiring;
    }
    msgpack_pack_array(pk, n);
    for (size_t i = 0; i < c->nworkers; i++) {
        if (!c->workers[i]->retiring) {
            dvi_pack_str(pk, c->workers[i]->id);
        }
    }
}

static void
s_broadcast_workers(dvi_core *c)
{
    for (size_t i = 0; i < c->nclients; i++) {
        s_send_workers(c, c->clients[i]);
    }
}

dvi_sclient *
dvi_core_client_join(dvi_core *c, dvi_outbox *out, int in_process)
{
    dvi_sclient *cl = dvi_calloc(1, sizeof(*cl));
    cl->in_process = in_process;
    cl->id = ++c->next_client;
    snprintf(cl->name, sizeof(cl->name), "client-%llu",
             (unsigned long long)cl->id);
    cl->out = out;
    c->clients =
        dvi_realloc(c->clients, (c->nclients + 1) * sizeof(*c->clients));
    c->clients[c->nclients++] = cl;
    c->stats.clients = c->nclients;
    s_welcome(out, cl->name);
    s_send_workers(c, cl);
    return cl;
}

void
dvi_core_client_leave(dvi_core *c, dvi_sclient *cl)
{
    for (size_t i = 0; i < c->nclients; i++) {
        if (c->clients[i] == cl) {
            c->clients[i] = c->clients[--c->nclients];
            break;
        }
    }
    c->stats.clients = c->nclients;
    dvi_core_unwant_all(c, cl);
    dvi_core_libs_client_left(c, cl);
    free(cl);
    dvi_core_settle(c);
}

const char *
dvi_sclient_name(const dvi_sclient *cl)
{
    return cl->name;
}

dvi_outbox *
dvi_sclient_outbox(dvi_sclient *cl)
{
    return cl->out;
}

void
dvi_sclient_set_relay(dvi_sclient *cl, dvi_relay *r)
{
    cl->relay = r;
}

dvi_sworker *
dvi_core_worker_join(dvi_core *c, const char *id, const char *addr,
                     int nthreads, dvi_outbox *out, int in_process)
{
    dvi_sworker *w = dvi_calloc(1, sizeof(*w));
    w->in_process = in_process;
    snprintf(w->id, sizeof(w->id), "%s", id);
    for (int k = 2; dvi_core_worker_find(c, w->id) != NULL; k++) {
        snprintf(w->id, sizeof(w->id), "%.100s-%d", id, k);
    }
    snprintf(w->addr, sizeof(w->addr), "%s", addr);
    w->nthreads = nthreads > 0 ? nthreads : 1;
    w->out = out;
    dvi_taskheap_init(&w->pinned);
    dvi_taskheap_init(&w->block);
    dvi_pset_init(&w->pins);
    dvi_pset_init(&w->running);
    dvi_pset_init(&w->moving);
    c->workers =
        dvi_realloc(c->workers, (c->nworkers + 1) * sizeof(*c->workers));
    c->workers[c->nworkers++] = w;
    c->stats.workers = c->nworkers;
    s_welcome(out, w->id);
    dvi_core_libs_joined(c, w);
    dvi_core_bcasts_joined(c, w);
    s_broadcast_workers(c);
    return w;
}

const char *
dvi_sworker_id(const dvi_sworker *w)
{
    return w->id;
}

void
dvi_core_retiring(dvi_core *c, dvi_sworker *w, const dvi_msg_retiring *m)
{
    if (w->retiring) {
        return;
    }
    w->retiring = 1;
    dvi_core_roots_return(c, w);
    DVI_LOG(DVI_LOG_NOTICE, "SCHED",
            "worker %s is stopping (%.*s): nothing new goes there", w->id,
            (int)m->reason.n, m->reason.p ? m->reason.p : "");
    /* Tasks pinned there that have not started can run nowhere. */
    dvi_taskvec pins;
    dvi_taskvec_init(&pins);
    void *p;
    for (size_t i = 0; (p = dvi_pset_next(&w->pins, &i));) {
        dvi_task *t = p;
        if (dvi_task_is_live(t) && t->state != DVI_TASK_PROCESSING) {
            dvi_taskvec_push(&pins, t);
        }
    }
    char text[256];
    snprintf(text, sizeof(text),
             "worker %s, where the task was pinned, is stopping", w->id);
    for (uint32_t i = 0; i < pins.n; i++) {
        if (dvi_task_is_live(pins.v[i])) { /* not failed with another */
            dvi_core_fail(c, pins.v[i], DVI_TASK_ERRED, text);
        }
    }
    dvi_taskvec_fini(&pins);
    s_broadcast_workers(c);
    dvi_core_settle(c);
}

static void
s_collect(const dvi_pset *s, dvi_taskvec *out)
{
    void *p;
    dvi_taskvec_init(out);
    for (size_t i = 0; (p = dvi_pset_next(s, &i));) {
        dvi_taskvec_push(out, p);
    }
}

/* A task that was running on the lost worker: again, elsewhere. A worker
 * that said it was stopping did not die of the task: that does not count
 * towards "killed worker". */
static void
s_rerun(dvi_core *c, dvi_task *t, dvi_sworker *w, const char *why)
{
    char text[512];
    if (dvi_core_wait_again(c, t)) {
        /* never started */
    } else if (dvi_core_bcast_lost(c, t)) {
        /* A broadcast: a worker still receiving it takes over. */
    } else if (t->flags & DVI_TASKF_SCATTER) {
        snprintf(text, sizeof(text), "result lost: worker %s left (%s)", w->id,
                 why);
        dvi_core_fail(c, t, DVI_TASK_ERRED, text);
    } else if (!w->retiring && ++t->suspicious >= DVI_KILLED_AFTER) {
        snprintf(text, sizeof(text),
                 "killed worker: the task was running on %d workers that "
                 "died (the last, %s: %s)",
                 DVI_KILLED_AFTER, w->id, why);
        dvi_core_fail(c, t, DVI_TASK_ERRED, text);
    } else {
        dvi_core_make_ready(c, t);
    }
}

/* Tasks pinned to the lost worker may run nowhere else. */
static void
s_unpin(dvi_core *c, dvi_sworker *w, const char *why)
{
    dvi_taskvec pins;
    s_collect(&w->pins, &pins);
    char text[512];
    snprintf(text, sizeof(text),
             "worker %s, where the task was pinned, left (%s)", w->id, why);
    for (uint32_t i = 0; i < pins.n; i++) {
        dvi_task *t = pins.v[i];
        if (dvi_task_is_live(t)) {
            dvi_core_fail(c, t, DVI_TASK_ERRED, text);
        }
        t->pin = NULL; /* a result of it cannot be computed again */
    }
    dvi_taskvec_fini(&pins);
    dvi_pset_fini(&w->pins);
}

/* Results only the lost worker held are computed again where needed. */
static void
s_drop_held(dvi_core *c, dvi_sworker *w, const char *why)
{
    dvi_taskvec held;
    dvi_core_collect_held(c, w, &held);
    char text[512];
    snprintf(text, sizeof(text), "worker %s left: %s", w->id, why);
    for (uint32_t i = 0; i < held.n; i++) {
        dvi_task *t = held.v[i];
        if (dvi_core_unhold(t, w)) {
            dvi_core_result_lost(c, t, text);
        }
    }
    dvi_taskvec_fini(&held);
}

void
dvi_core_worker_leave(dvi_core *c, dvi_sworker *w, const char *why)
{
    for (size_t i = 0; i < c->nworkers; i++) {
        if (c->workers[i] == w) {
            c->workers[i] = c->workers[--c->nworkers];
            break;
        }
    }
    if (c->last_root == w) {
        c->last_root = NULL;
    }
    c->stats.workers = c->nworkers;
    DVI_LOG(DVI_LOG_NOTICE, "SCHED", "worker %s left: %s", w->id, why);
    dvi_core_bcasts_left(c, w); /* before its tasks: none waits on it */
    dvi_core_roots_return(c, w);
    /* Detach everything first: nothing is sent to the lost worker. */
    dvi_taskvec running;
    s_collect(&w->running, &running);
    for (uint32_t i = 0; i < running.n; i++) {
        running.v[i]->where = NULL;
    }
    dvi_pset_fini(&w->running);
    for (uint32_t i = 0; i < running.n; i++) {
        if (running.v[i]->state == DVI_TASK_PROCESSING) {
            s_rerun(c, running.v[i], w, why);
        }
    }
    dvi_taskvec_fini(&running);
    s_unpin(c, w, why);
    s_drop_held(c, w, why);
    dvi_core_libs_left(c, w);
    dvi_core_leave_fini(c, w);
    s_worker_free(w);
    s_broadcast_workers(c);
    dvi_core_settle(c);
}

/* ---- Reading ------------------------------------------------------------ */

const dvi_task *
dvi_core_task(const dvi_core *c, const char *key)
{
    return dvi_map_get(&c->tasks, key);
}

void
dvi_core_set_trace(dvi_core *c, struct dvi_trace *t)
{
    c->trace = t;
}

void
dvi_core_stats_get(const dvi_core *c, dvi_core_stats *out)
{
    *out = c->stats;
    out->tasks = c->tasks.len;
}

size_t
dvi_core_nworkers(const dvi_core *c)
{
    return c->nworkers;
}

/* Adds the counts of fn's records in fns to out; 1 if there was one. */
static int
s_fn_states(const dvi_map *fns, const char *fn, uint64_t *out)
{
    int known = 0;
    dvi_map_entry *e;
    for (size_t i = 0; dvi_map_next(fns, &i, &e);) {
        const dvi_fnrec *f = e->val;
        if (strcmp(f->name, fn) == 0) {
            known = 1;
            for (int s = 0; s < DVI_TASK_NSTATES; s++) {
                out[s] += f->states[s];
            }
        }
    }
    return known;
}

int
dvi_core_fn_states(const dvi_core *c, const char *fn,
                   uint64_t out[DVI_TASK_NSTATES])
{
    memset(out, 0, DVI_TASK_NSTATES * sizeof(*out));
    return s_fn_states(&c->fns, fn, out) | s_fn_states(&c->fnres, fn, out);
}
