/* Roots in blocks: co-assignment of the tasks without inputs.
 *
 * When more roots are ready than the workers have free slots (a tree's
 * sixteen 8 MB leaves against three slots a worker), placing each as a
 * slot frees sends them to the workers in turn, and the first level of
 * the tree moves a leaf between workers for every add. So the roots at
 * the head of the ready queue are split into one contiguous block per
 * worker, in proportion to its threads and less what its block already
 * holds, and each worker takes from its own block: neighbours stay
 * together (the tree moves one result, not seven). Order is kept: a
 * worker takes the first of its block and the ready queue. No
 * parallelism is lost: a free worker with nothing of its own takes the
 * first of the longest other block, and a stopping worker's block goes
 * back to the ready queue.
 */
#include "core_impl.h"

/* Whether t leads the ready queue as a root that may go to any worker. */
static int
s_is_root(const dvi_task *t)
{
    return t != NULL && t->ndeps == 0 && !(t->flags & DVI_TASKF_PINNED) &&
           t->fn->res == NULL;
}

/* Moves t from the ready queue to w's block. */
static void
s_to_block(dvi_core *c, dvi_task *t, dvi_sworker *w)
{
    dvi_taskheap_remove(&c->ready, t);
    t->block = w;
    dvi_taskheap_push(&w->block, t);
}

void
dvi_core_roots_split(dvi_core *c)
{
    if (!s_is_root(dvi_taskheap_peek(&c->ready)) ||
        dvi_taskheap_len(&c->ready) <= dvi_core_free_slots(c)) {
        return; /* the cheap tests first: this runs every turn */
    }
    /* The workers that take work, their threads, and the roots to split:
     * the run of roots heading the ready queue, and those already in
     * blocks, so that each block ends in proportion to its threads. */
    uint64_t threads = 0, roots = dvi_taskheap_len(&c->ready);
    for (size_t i = 0; i < c->nworkers; i++) {
        const dvi_sworker *w = c->workers[i];
        if (!w->retiring) {
            threads += w->nthreads;
            roots += dvi_taskheap_len(&w->block);
        }
    }
    if (threads == 0) {
        return;
    }
    for (size_t i = 0; i < c->nworkers; i++) {
        dvi_sworker *w = c->workers[(c->rr + i) % c->nworkers];
        if (w->retiring) {
            continue;
        }
        uint64_t share = (roots * w->nthreads + threads - 1) / threads;
        dvi_task *t;
        for (uint64_t n = dvi_taskheap_len(&w->block); n < share; n++) {
            if (!s_is_root(t = dvi_taskheap_peek(&c->ready))) {
                return;
            }
            s_to_block(c, t, w);
        }
    }
}

/* The longest block of a worker other than w, or NULL. */
static dvi_sworker *
s_longest_other(dvi_core *c, const dvi_sworker *w)
{
    dvi_sworker *best = NULL;
    uint32_t most = 0;
    for (size_t i = 0; i < c->nworkers; i++) {
        dvi_sworker *o = c->workers[i];
        uint32_t n = dvi_taskheap_len(&o->block);
        if (o != w && n > most) {
            best = o;
            most = n;
        }
    }
    return best;
}

dvi_task *
dvi_core_roots_next(dvi_core *c, dvi_sworker *w, int steal)
{
    if (dvi_taskheap_len(&w->block) == 0 && dvi_taskheap_len(&c->ready) == 0 &&
        steal) {
        dvi_sworker *o = s_longest_other(c, w);
        return o != NULL ? dvi_taskheap_peek(&o->block) : NULL;
    }
    if (dvi_taskheap_len(&w->block) == 0 ||
        dvi_taskheap_before(&c->ready, &w->block)) {
        return NULL; /* the ready queue's first goes first */
    }
    return dvi_taskheap_peek(&w->block);
}

void
dvi_core_roots_return(dvi_core *c, dvi_sworker *w)
{
    dvi_task *t;
    while ((t = dvi_taskheap_pop(&w->block)) != NULL) {
        t->block = NULL;
        dvi_taskheap_push(&c->ready, t);
    }
}
