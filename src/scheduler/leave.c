/* A leaving worker's results, moved to the workers that stay.
 *
 * A worker about to exit (stopped by a signal once its running tasks are
 * over, or to end a call that would not stop) says LEAVING. Each result
 * that only it holds is fetched from it by another worker, in turn, told
 * by MOVE; that worker answers STORED once it holds the result, or LOST
 * and FAILED if it could not fetch it (the result is then lost as when its
 * worker dies: computed again from its lineage, or an error for scattered
 * data). Once no result is left only there, the leaving worker is sent
 * BYE, and exits. This is dask's retire_workers: data a worker made, or a
 * client scattered to it, outlives the worker.
 */
#include "common/log.h"
#include "core_impl.h"

/* The worker a result of leaving moves to: in turn, one that takes new
 * work, one over its memory limit only if there is no other. */
static dvi_sworker *
s_target(dvi_core *c, const dvi_sworker *leaving)
{
    dvi_sworker *paused = NULL;
    for (size_t k = 0; k < c->nworkers; k++) {
        dvi_sworker *w = c->workers[c->rr++ % c->nworkers];
        if (w == leaving || w->retiring) {
            continue;
        }
        if (!w->paused) {
            return w;
        }
        paused = paused ? paused : w;
    }
    return paused;
}

/* Every result still moving from w is asked for again, by a worker that
 * stays (a worker that already holds one answers at once). If none is
 * left to take them, w leaves with them. */
static void
s_move_all(dvi_core *c, dvi_sworker *w)
{
    void *p;
    for (size_t i = 0; (p = dvi_pset_next(&w->moving, &i));) {
        dvi_task *t = p;
        dvi_sworker *to = s_target(c, w);
        if (to == NULL) {
            DVI_LOG(DVI_LOG_NOTICE, "SCHED",
                    "worker %s is leaving and no worker stays to take its "
                    "%zu results: they go with it",
                    w->id, w->moving.len);
            dvi_pset_fini(&w->moving);
            dvi_pset_init(&w->moving);
            return;
        }
        dvi_msg_move m = {.key = t->key, .holder = dvi_bytes_of(w->addr)};
        dvi_msg_move_pack(to->out, &m);
        to->nprocessing++; /* answered by STORED or FAILED, as a COMPUTE */
    }
}

/* w may go once nothing moves from it any more. */
static void
s_check(dvi_sworker *w)
{
    if (w->leaving == 1 && w->moving.len == 0) {
        w->leaving = 2; /* told */
        dvi_msg_bye bye = {.reason = dvi_bytes_of("results moved")};
        dvi_msg_bye_pack(w->out, &bye);
    }
}

void
dvi_core_leaving(dvi_core *c, dvi_sworker *w, const dvi_msg_leaving *m)
{
    if (w->leaving) {
        return;
    }
    if (!w->retiring) {
        dvi_msg_retiring r = {.reason = m->reason};
        dvi_core_retiring(c, w, &r);
    }
    w->leaving = 1;
    c->nleaving++;
    uint64_t bytes = 0;
    dvi_taskvec held;
    dvi_core_collect_held(c, w, &held);
    for (uint32_t i = 0; i < held.n; i++) {
        dvi_task *t = held.v[i];
        if (t->nwho == 1) {
            dvi_pset_add(&w->moving, t);
            bytes += t->nbytes;
        }
    }
    dvi_taskvec_fini(&held);
    DVI_LOG(DVI_LOG_NOTICE, "SCHED",
            "worker %s is leaving (%.*s): moving the %zu results only it "
            "holds (%.1f MiB) to the workers that stay",
            w->id, (int)m->reason.n, m->reason.p ? m->reason.p : "",
            w->moving.len, (double)bytes / (1 << 20));
    s_move_all(c, w);
    s_check(w);
}

void
dvi_core_moved(dvi_core *c, const char *key)
{
    if (c->nleaving == 0) {
        return;
    }
    dvi_task *t = dvi_map_get(&c->tasks, key);
    if (t == NULL || (t->state == DVI_TASK_MEMORY && t->nwho == 1)) {
        return; /* a failed move said LOST first: no longer held at all */
    }
    for (size_t i = 0; i < c->nworkers; i++) {
        dvi_core_holder_gone(c, c->workers[i], t);
    }
}

void
dvi_core_holder_gone(dvi_core *c, dvi_sworker *w, dvi_task *t)
{
    (void)c;
    if (w->leaving && dvi_pset_del(&w->moving, t)) {
        s_check(w);
    }
}

void
dvi_core_leave_fini(dvi_core *c, dvi_sworker *w)
{
    if (w->leaving) {
        c->nleaving--;
        return;
    }
    /* It may have been taking results from a leaving worker: they are
     * asked for again, by the workers that stay. */
    for (size_t i = 0; c->nleaving > 0 && i < c->nworkers; i++) {
        dvi_sworker *l = c->workers[i];
        if (l->leaving == 1) {
            s_move_all(c, l);
            s_check(l);
        }
    }
}
