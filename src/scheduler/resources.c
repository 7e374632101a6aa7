/* Resources: what workers declared (INFO) and what tasks need to run
 * (SUBMIT's resources), as dask's worker resources.
 *
 * A task that needs resources runs only on a worker that declared enough
 * of each, and only while they are free there: from the moment it is sent
 * (COMPUTE) until its worker answers (DONE, FAILED) or it stops running
 * there, it holds them. Ready tasks with needs wait in a queue per spec,
 * not in the common ready queue, so that a task no worker can take yet
 * (busy, or nobody has the resource: it waits, as in dask) holds back
 * only tasks of the same needs. Specs are interned, and a task reaches
 * its needs through its function's record (events.c): a turn looks at each
 * distinct spec's first task, whatever the number of tasks, and a task
 * that needs something is no larger than one that does not.
 */
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "core_impl.h"

/* Amounts are decimal text: a sum of several, given back, may miss the
 * declared total by a rounding error that must not count as in use. */
#define S_EPSILON 1e-9

dvi_resreq *
dvi_core_res_intern(dvi_core *c, const char *spec, const dvi_resources *parsed)
{
    dvi_resreq *r = dvi_map_get(&c->resreqs, spec);
    if (r == NULL) {
        r = dvi_calloc(1, sizeof(*r));
        r->spec = dvi_strdup(spec);
        r->need = *parsed;
        dvi_taskheap_init(&r->queued);
        dvi_map_put(&c->resreqs, r->spec, r);
    }
    return r;
}

void
dvi_core_res_fini(dvi_core *c)
{
    dvi_map_entry *e;
    for (size_t i = 0; dvi_map_next(&c->resreqs, &i, &e);) {
        dvi_resreq *r = e->val;
        dvi_taskheap_fini(&r->queued);
        free(r->spec);
        free(r);
    }
    dvi_map_fini(&c->resreqs);
}

dvi_taskheap *
dvi_core_queue_of(dvi_core *c, dvi_task *t)
{
    if (t->flags & DVI_TASKF_PINNED) {
        return &t->pin->pinned;
    }
    if (t->block != NULL) {
        return &t->block->block;
    }
    return t->fn->res ? &t->fn->res->queued : &c->ready;
}

int
dvi_core_res_fits(const dvi_sworker *w, const dvi_task *t)
{
    if (t->fn->res == NULL) {
        return 1;
    }
    const dvi_resources *need = &t->fn->res->need;
    for (uint32_t i = 0; i < need->n; i++) {
        int k = dvi_resources_find(&w->declared, need->v[i].name);
        if (k < 0 || w->declared.v[k].amount - w->used[k] + S_EPSILON <
                         need->v[i].amount) {
            return 0;
        }
    }
    return 1;
}

/* Adds (sign 1) or gives back (-1) what t needs to w's resources in use. */
static void
s_hold(dvi_sworker *w, const dvi_task *t, double sign)
{
    const dvi_resources *need = &t->fn->res->need;
    for (uint32_t i = 0; i < need->n; i++) {
        int k = dvi_resources_find(&w->declared, need->v[i].name);
        if (k >= 0) {
            w->used[k] += sign * need->v[i].amount;
            w->used[k] = w->used[k] < S_EPSILON ? 0 : w->used[k];
        }
    }
}

void
dvi_core_run_add(dvi_sworker *w, dvi_task *t)
{
    if (dvi_pset_add(&w->running, t) && t->fn->res != NULL) {
        s_hold(w, t, 1);
    }
}

void
dvi_core_run_del(dvi_sworker *w, dvi_task *t)
{
    if (dvi_pset_del(&w->running, t) && t->fn->res != NULL) {
        s_hold(w, t, -1);
    }
}

void
dvi_core_res_declare(dvi_sworker *w, dvi_bytes spec)
{
    dvi_resources r;
    if (dvi_resources_parse(spec.p ? spec.p : "", spec.n, &r) < 0) {
        DVI_LOG(DVI_LOG_WARN, "SCHED", "worker %s: ignored its %s", w->id,
                dv_last_error());
        return;
    }
    w->declared = r;
    /* What its running tasks hold, counted again under the new names. */
    memset(w->used, 0, sizeof(w->used));
    void *p;
    for (size_t i = 0; (p = dvi_pset_next(&w->running, &i));) {
        dvi_task *t = p;
        if (t->fn->res != NULL) {
            s_hold(w, t, 1);
        }
    }
    if (r.n > 0) {
        DVI_LOG(DVI_LOG_NOTICE, "SCHED", "worker %s has resources %.*s", w->id,
                (int)spec.n, spec.p);
    }
}
