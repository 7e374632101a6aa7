/* Chaining on the worker. A task here that waits for one input only,
 * which a task here computes, is offered to that task's job (fuse_next):
 * the thread that runs the input hands its result over in memory and
 * runs the task right after it. A stencil's point, whose neighbours here
 * are done, starts without the round trip through the loop (two thread
 * wake-ups, tens of microseconds on a busy machine) that a ready task
 * costs. The input's job goes back to the loop before the chained one
 * starts, so that its result reaches whatever else waits for it (a
 * peer's GET, other tasks here) as before; the chained job comes back on
 * its own when it ends.
 *
 * Fusion is the case the scheduler marks (DVI_TASK_FUSE): nothing else
 * takes the input, whose result is then never stored.
 *
 * Until the input's job is back on the loop, the offered job may be
 * running on that thread: it is freed only by its own task, and taken
 * back (withdrawn) only while the offer still stands.
 */
#include <stdlib.h>

#include "executor.h"
#include "proto/msg.h"
#include "worker_impl.h"

/* The one input of b not here yet, or b->ninputs if none. */
static size_t
s_missing_slot(const dvi_job *b)
{
    size_t slot = 0;
    while (slot < b->ninputs && b->inputs[slot].blob != NULL) {
        slot++;
    }
    return slot;
}

/* Whether job may be chained, before or after another. */
static int
s_chainable(const dvi_job *job)
{
    return job->timeout_ms == 0 &&
           !(job->flags & (DVI_TASK_CHUNK | DVI_TASK_FORWARD));
}

void
dvi_worker_fuse_offer(dvi_worker *w, dvi_wtask *wt)
{
    dvi_job *b = wt->job;
    if (wt->nmissing != 1 || wt->freed || wt->why != NULL ||
        b->fuse_prev != NULL || !s_chainable(b)) {
        return;
    }
    size_t slot = s_missing_slot(b);
    if (slot == b->ninputs) {
        return;
    }
    /* The input is a task here (its wait has no peer's address). */
    const char *key = b->inputs[slot].key;
    dvi_wfetch *fe = dvi_map_get(&w->fetches, key);
    dvi_wtask *at = fe && !fe->addr[0] ? dvi_map_get(&w->tasks, key) : NULL;
    dvi_job *a = at ? at->job : NULL;
    if (a == NULL || a->fuse_attached != NULL || !s_chainable(a)) {
        return;
    }
    dvi_job *none = NULL;
    b->fuse_slot = slot;
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

void
dvi_worker_fuse_withdraw_all(dvi_worker *w)
{
    dvi_map_entry *e;
    for (size_t i = 0; dvi_map_next(&w->tasks, &i, &e);) {
        dvi_wtask *wt = e->val;
        if (wt->nmissing > 0 && !dvi_worker_fuse_withdraw(wt->job)) {
            wt->job = NULL; /* its thread hands it to the runner */
        }
    }
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
        /* Fused: nothing else takes a's result, which is not stored. */
        a->fused_out =
            (bt->job->flags & DVI_TASK_FUSE) && !(a->flags & DVI_TASK_WANTED);
    } else if (fe != NULL) {
        fe->n = k;
    }
    bt->nmissing--;
}

void
dvi_worker_fuse_taken(dvi_worker *w, dvi_job *a)
{
    dvi_job *b = a->fuse_attached;
    if (b == NULL) {
        return;
    }
    a->fuse_attached = NULL;
    b->fuse_prev = NULL;
    dvi_wtask *bt = dvi_map_get(&w->tasks, b->key);
    int live = bt != NULL && bt->job == b;
    if (!b->chained) {
        /* Not run: it takes a's result as any task here would, unless
         * its task was forgotten with its session meanwhile. */
        if (!live) {
            dvi_job_free(b);
            w->orphans -= w->orphans > 0;
        }
        return;
    }
    /* It runs, or ran, on a's thread, and comes back on its own (an
     * orphan is dropped then). */
    if (live) {
        s_unwait(w, a, bt);
    }
    __atomic_fetch_add(&w->stats.chained, 1, __ATOMIC_RELAXED);
    if (b->flags & DVI_TASK_FUSE) {
        __atomic_fetch_add(&w->stats.fused, 1, __ATOMIC_RELAXED);
    }
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
dvi_worker_fusion_stats(dvi_worker *w, dvi_fusion_stats *out)
{
    out->chained = __atomic_load_n(&w->stats.chained, __ATOMIC_RELAXED);
    out->fused = __atomic_load_n(&w->stats.fused, __ATOMIC_RELAXED);
    out->stored_peak = __atomic_load_n(&w->stats.stored_peak, __ATOMIC_RELAXED);
}
