/* Fusion on the worker: a task sent with DVI_TASK_FUSE, whose one input
 * is a task here that nothing else needs, is offered to that task's job
 * (fuse_next) and runs right after it on the same executor thread, its
 * input handed over in memory (executor.c); the input is never stored.
 * Until the input's job is back on the loop, the offered job may be
 * running on that thread: it is freed only by its own task, and taken
 * back (withdrawn) only while the offer still stands.
 */
#include <stdlib.h>

#include "executor.h"
#include "proto/msg.h"
#include "worker_impl.h"

void
dvi_worker_fuse_offer(dvi_worker *w, dvi_wtask *wt)
{
    dvi_job *b = wt->job;
    if (!(b->flags & DVI_TASK_FUSE) || b->ninputs != 1 || wt->nmissing != 1 ||
        b->timeout_ms > 0 || (b->flags & (DVI_TASK_CHUNK | DVI_TASK_FORWARD))) {
        return;
    }
    dvi_wtask *at = dvi_map_get(&w->tasks, b->inputs[0].key);
    dvi_job *a = at ? at->job : NULL;
    if (a == NULL || a->fuse_attached != NULL || a->timeout_ms > 0 ||
        (a->flags & (DVI_TASK_CHUNK | DVI_TASK_FORWARD))) {
        return;
    }
    dvi_job *none = NULL;
    if (atomic_compare_exchange_strong(&a->fuse_next, &none, b)) {
        a->fuse_attached = b;
        b->fuse_prev = a;
    }
}

int
dvi_worker_fuse_withdraw(dvi_job *b)
{
    dvi_job *a = b->fuse_prev;
    if (a == NULL) {
        return 1;
    }
    dvi_job *offered = b;
    if (!atomic_compare_exchange_strong(&a->fuse_next, &offered, NULL)) {
        return 0; /* taken, or the offer closed: a's end settles it */
    }
    a->fuse_attached = NULL;
    b->fuse_prev = NULL;
    return 1;
}

/* b, which ran after a, waits no longer for a's result here. */
static void
s_unwait(dvi_worker *w, dvi_job *a, dvi_wtask *bt)
{
    dvi_wfetch *fe = dvi_map_get(&w->fetches, a->key);
    size_t k = 0;
    for (size_t j = 0; fe != NULL && j < fe->n; j++) {
        if (fe->waiters[j] != bt) {
            fe->slots[k] = fe->slots[j];
            fe->waiters[k++] = fe->waiters[j];
        }
    }
    if (fe != NULL && k == 0 && !fe->keep) {
        dvi_map_del(&w->fetches, fe->key);
        dvi_wfetch_free(fe);
        /* Nothing else takes a's result: it is not stored. */
        a->fused_out = !(a->flags & DVI_TASK_WANTED);
    } else if (fe != NULL) {
        fe->n = k;
    }
    bt->nmissing--;
}

dvi_job *
dvi_worker_fuse_taken(dvi_worker *w, dvi_job *a)
{
    dvi_job *b = a->fuse_attached;
    if (b == NULL) {
        return NULL;
    }
    a->fuse_attached = NULL;
    b->fuse_prev = NULL;
    dvi_wtask *bt = dvi_map_get(&w->tasks, b->key);
    int live = bt != NULL && bt->job == b;
    if (a->fused_ran != b) {
        /* Not run: it takes a's result as any task here would, unless
         * its task was forgotten with its session meanwhile. */
        if (!live) {
            dvi_job_free(b);
            w->orphans -= w->orphans > 0;
        }
        return NULL;
    }
    if (live) {
        s_unwait(w, a, bt);
    }
    __atomic_fetch_add(&w->stats.fused, 1, __ATOMIC_RELAXED);
    return b; /* done now, after a (an orphan is dropped then) */
}

int
dvi_worker_fused(dvi_worker *w, const dvi_job *job)
{
    if (job->fused_out) {
        return 1; /* it ran right after it, on its thread */
    }
    dvi_wfetch *fe = dvi_map_get(&w->fetches, job->key);
    return fe != NULL && fe->n == 1 && !fe->keep && fe->addr[0] == '\0' &&
           (fe->waiters[0]->job->flags & DVI_TASK_FUSE) &&
           !(job->flags & DVI_TASK_WANTED);
}

void
dvi_worker_fusion_stats(dvi_worker *w, uint64_t *fused, uint64_t *stored_peak)
{
    *fused = __atomic_load_n(&w->stats.fused, __ATOMIC_RELAXED);
    *stored_peak = __atomic_load_n(&w->stats.stored_peak, __ATOMIC_RELAXED);
}
