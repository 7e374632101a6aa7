/* Tasks that submit tasks: a running task's children, and continuations.
 *
 * A task that submits children (dv_call_submit) wants them as a client
 * would, through a client record of its own (dvi_sclient with `parent`
 * set): its wants keep them, and FINISHED and ERRED reach the worker
 * running it, whose waiting calls need them. Once the parent no longer
 * runs (done, failed, cancelled, forgotten), its children that nothing
 * else needs are cancelled, as a client's are when it cancels.
 *
 * A parent that returns a child's future (DONE with `forward`) becomes a
 * continuation: its lineage is that child alone, it waits for it, and
 * then runs as a forward on the worker holding the child's result, which
 * keeps the same bytes under the parent's key too. Until then it holds
 * no thread anywhere.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "core_impl.h"

static dvi_sclient *
s_of(dvi_core *c, const dvi_task *t)
{
    return (t->flags & DVI_TASKF_PARENT) ? dvi_map_get(&c->parents, t->key)
                                         : NULL;
}

/* t's client record for its children, made on its first child. */
static dvi_sclient *
s_parent(dvi_core *c, dvi_task *t)
{
    dvi_sclient *pc = s_of(c, t);
    if (pc != NULL && pc->ended) {
        /* Run again before its last run's children were released: those
         * go as planned, and this run's are its own. */
        dvi_map_del(&c->parents, pc->parent_key);
        pc = NULL;
    }
    if (pc == NULL) {
        pc = dvi_calloc(1, sizeof(*pc));
        pc->parent = t;
        pc->parent_key = dvi_strdup(t->key);
        snprintf(pc->name, sizeof(pc->name), "task %.20s", t->key);
        dvi_pset_init(&pc->wants);
        dvi_map_put(&c->parents, pc->parent_key, pc);
        t->flags |= DVI_TASKF_PARENT;
    }
    /* Its children come from the worker it runs on, and are trusted as
     * that worker is (a thread worker's derived keys are not hashed
     * again). */
    pc->out = t->where ? t->where->out : NULL;
    pc->in_process = t->where && t->where->in_process;
    return pc;
}

/* Tells w that key, a child it submitted, will not run (why). */
static void
s_refuse(dvi_sworker *w, const char *key, const char *why)
{
    dvi_msg_erred m = {.key = key, .status = DV_CANCELLED};
    m.text = dvi_bytes_of(why);
    dvi_msg_erred_pack(w->out, &m);
}

int
dvi_core_child_submit(dvi_core *c, dvi_sworker *w, const dvi_msg_submit *m)
{
    char pkey[DVI_MAX_KEY + 1];
    if (m->parent.n == 0 || m->parent.n > DVI_MAX_KEY) {
        return dvi_seterr(DV_EPROTO,
                          "malformed SUBMIT from worker %s: no "
                          "parent task",
                          w->id);
    }
    memcpy(pkey, m->parent.p, m->parent.n);
    pkey[m->parent.n] = '\0';
    c->stats.children++;
    dvi_task *p = dvi_map_get(&c->tasks, pkey);
    if (p == NULL || p->state != DVI_TASK_PROCESSING || p->where != w) {
        /* Cancelled, or moved, since: its call is being stopped. */
        s_refuse(w, m->key, "its parent task no longer runs on this worker");
        return 0;
    }
    return dvi_core_submit(c, s_parent(c, p), m);
}

/* pc's parent no longer runs: its children are released at settle
 * time, when the changes of this event are all made. */
static void
s_end(dvi_core *c, dvi_sclient *pc)
{
    pc->ended = 1;
    pc->out = NULL;
    dvi_pset_add(&c->ended, pc);
}

void
dvi_core_parent_state(dvi_core *c, dvi_task *t)
{
    dvi_sclient *pc = s_of(c, t);
    if (pc == NULL) {
        return;
    }
    pc->out =
        t->state == DVI_TASK_PROCESSING && t->where ? t->where->out : NULL;
    if (!dvi_task_is_live(t)) {
        s_end(c, pc);
    }
}

static void
s_free(dvi_sclient *pc)
{
    dvi_pset_fini(&pc->wants);
    free(pc->parent_key);
    free(pc);
}

/* Drops pc's wants: what is still to run and nothing else needs is
 * cancelled. Frees pc. */
static void
s_release(dvi_core *c, dvi_sclient *pc)
{
    dvi_taskvec kids;
    dvi_taskvec_init(&kids);
    void *p;
    for (size_t i = 0; (p = dvi_pset_next(&pc->wants, &i));) {
        dvi_taskvec_push(&kids, p);
    }
    pc->out = NULL; /* nobody to tell */
    for (uint32_t i = 0; i < kids.n; i++) {
        dvi_task *k = kids.v[i];
        if (k->state == DVI_TASK_FORGOTTEN) {
            continue;
        }
        if (dvi_task_is_live(k)) {
            dvi_core_cancel_for(c, k, pc);
        } else {
            dvi_core_unwant(c, k, pc);
        }
    }
    dvi_taskvec_fini(&kids);
    if (dvi_map_get(&c->parents, pc->parent_key) == pc) {
        /* Not run again since: no record of children left. The task may
         * be forgotten, but is not freed before the end of the turn. */
        dvi_map_del(&c->parents, pc->parent_key);
        pc->parent->flags &= (uint16_t)~DVI_TASKF_PARENT;
    }
    s_free(pc);
}

void
dvi_core_release_children(dvi_core *c)
{
    while (c->ended.len > 0) {
        dvi_sclient *pc = NULL;
        size_t i = 0;
        pc = dvi_pset_next(&c->ended, &i);
        dvi_pset_del(&c->ended, pc);
        s_release(c, pc);
    }
}

void
dvi_core_children_fini(dvi_core *c)
{
    dvi_map_entry *e;
    for (size_t i = 0; dvi_map_next(&c->parents, &i, &e);) {
        dvi_pset_del(&c->ended, e->val);
        s_free(e->val);
    }
    dvi_sclient *pc;
    for (size_t i = 0; (pc = dvi_pset_next(&c->ended, &i));) {
        s_free(pc);
    }
    dvi_map_fini(&c->parents);
    dvi_pset_fini(&c->ended);
}

/* t's lineage becomes k alone: its own inputs no longer matter. */
static void
s_relink(dvi_core *c, dvi_task *t, dvi_task *k)
{
    dvi_task **deps = dvi_task_deps(t);
    for (uint32_t i = 0; i < t->ndeps; i++) {
        dvi_task *d = deps[i];
        dvi_pset_del(&d->dependents, t);
        d->nwaiters--;
        d->nlineage--;
        dvi_core_check(c, d);
    }
    if (t->flags & DVI_TASKF_DEPARRAY) {
        free(t->deps.many);
    }
    t->flags &=
        (uint16_t) ~(DVI_TASKF_DEPARRAY | DVI_TASKF_AHEAD | DVI_TASK_CHUNK);
    t->deps.one = k;
    t->ndeps = 1;
    k->nlineage++;
    k->nwaiters++; /* t waits for it: dvi_core_inputs_held */
    t->nwaiting = 0;
}

void
dvi_core_forward(dvi_core *c, dvi_sworker *w, dvi_task *t, const char *key)
{
    dvi_sclient *pc = s_of(c, t);
    dvi_task *k = dvi_map_get(&c->tasks, key);
    dvi_core_run_del(w, t);
    t->where = NULL; /* it answered: nothing more to tell it */
    if (pc == NULL || k == NULL || k == t || !dvi_pset_has(&pc->wants, k)) {
        char text[DVI_MAX_KEY + 128];
        snprintf(text, sizeof(text),
                 "returned the future of '%s', which is not one of its "
                 "children",
                 key);
        dvi_core_fail(c, t, DVI_TASK_ERRED, text);
        return;
    }
    s_relink(c, t, k);
    t->args_len = 0; /* a forward runs no function */
    t->flags |= DVI_TASKF_FORWARD;
    t->timeout_ms = 0;
    t->retries = 0;
    if ((t->flags & DVI_TASKF_PINNED) && t->pin) {
        dvi_pset_del(&t->pin->pins, t); /* it goes where k's result is */
    }
    t->pin = NULL;
    t->flags &= (uint16_t)~DVI_TASKF_PINNED;
    dvi_core_task_plain(c, t);
    DVI_LOG(DVI_LOG_DEBUG, "SCHED", "%s (%s) continues as %s", t->key,
            t->fn->name, k->key);
    /* k may be done, running, lost since (computed again), or failed
     * before this DONE came (t fails with it). */
    dvi_core_set_state(c, t, DVI_TASK_WAITING);
    if (dvi_core_inputs_held(c, t)) {
        dvi_core_set_state(c, t, DVI_TASK_QUEUED);
    } else if (t->state == DVI_TASK_WAITING) {
        dvi_core_send_ahead(c, t);
    }
    /* Its children now: k is needed through t, the rest as before. */
    s_end(c, pc);
}

void
dvi_core_secede(dvi_core *c, dvi_sworker *w, const dvi_msg_secede *m)
{
    (void)c;
    /* A worker lends at most as many threads as it has calls. */
    w->nseceded = m->count < 65536 ? (uint32_t)m->count : 65536;
}
