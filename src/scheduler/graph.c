/* The task graph: wants, the one transition function, completion, errors,
 * releasing, forgetting, and computing lineage again.
 *
 * Three counts decide how long a task and its result live:
 *   nwants    clients and published names that want the result;
 *   nwaiters  live dependents (waiting, queued, processing) that need it;
 *   nlineage  dependents of any state that keep it as their lineage.
 * A result is freed on the workers once nothing wants it and no dependent
 * waits for it; the record stays (released) while a dependent's result
 * may have to be computed again from it, and is forgotten after that.
 * Counts drop in many places; the tasks concerned are collected and
 * settled in one iterative pass, so releasing a chain of a million links
 * costs no recursion.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "core_impl.h"
#include "relay.h"

int
dvi_task_is_live(const dvi_task *t)
{
    return t->state == DVI_TASK_WAITING || t->state == DVI_TASK_QUEUED ||
           t->state == DVI_TASK_PROCESSING;
}

int
dvi_task_is_waiting(const dvi_task *t)
{
    return t->state == DVI_TASK_WAITING ||
           (t->state == DVI_TASK_PROCESSING && (t->flags & DVI_TASKF_AHEAD));
}

int
dvi_task_client_wanted(const dvi_task *t)
{
    /* A parent task counts: one that waits for its child (dv_result)
     * gets a small result with FINISHED, as a client does. */
    return t->owner != NULL || (t->flags & DVI_TASKF_EXTRA);
}

/* ---- Messages ----------------------------------------------------------- */

void
dvi_core_send_free(dvi_sworker *w, const char *key)
{
    dvi_msg_free m = {.key = key};
    dvi_msg_free_pack(w->out, &m);
}

void
dvi_core_tell_finished(dvi_task *t, dvi_sclient *cl, dvi_bytes value)
{
    if (cl->out == NULL) {
        return; /* a parent task not running now */
    }
    if (cl->relay != NULL && value.p == NULL && t->nwho > 0) {
        dvi_relay_get(cl->relay, t, cl); /* it cannot reach the workers */
        return;
    }
    dvi_msg_finished m = {.key = t->key, .nbytes = t->nbytes, .value = value};
    m.holder = dvi_bytes_of(t->nwho ? dvi_task_holder(t, 0)->addr : NULL);
    dvi_msg_finished_pack(cl->out, &m);
}

void
dvi_core_tell_erred(dvi_task *t, dvi_sclient *cl)
{
    if (cl->out == NULL) {
        return;
    }
    dvi_msg_erred m = {.key = t->key};
    m.status = t->state == DVI_TASK_CANCELLED ? DV_CANCELLED : DV_ERRED;
    m.text = dvi_bytes_of(t->error ? t->error : "failed");
    dvi_msg_erred_pack(cl->out, &m);
}

/* ---- Wants -------------------------------------------------------------- */

int
dvi_core_wants(const dvi_core *c, const dvi_task *t, const dvi_sclient *cl)
{
    if (t->owner == cl) {
        return 1;
    }
    if (t->flags & DVI_TASKF_EXTRA) {
        dvi_wanters *w = dvi_map_get(&c->extra, t->key);
        for (size_t i = 0; w && i < w->n; i++) {
            if (w->v[i] == cl) {
                return 1;
            }
        }
    }
    return 0;
}

void
dvi_core_want(dvi_core *c, dvi_task *t, dvi_sclient *cl)
{
    if (dvi_core_wants(c, t, cl)) {
        return; /* one want per client: it counts its own handles */
    }
    t->nwants++;
    if (cl->parent != NULL) {
        dvi_pset_add(&cl->wants, t);
    }
    if (t->owner == NULL) {
        t->owner = cl;
        return;
    }
    dvi_wanters *w = dvi_map_del(&c->extra, t->key);
    size_t n = w ? w->n : 0;
    dvi_wanters *nw = dvi_realloc(w, sizeof(*nw) + (n + 1) * sizeof(cl));
    if (w == NULL) {
        nw->key = dvi_strdup(t->key);
        nw->n = 0;
    }
    nw->v[nw->n++] = cl;
    dvi_map_put(&c->extra, nw->key, nw);
    t->flags |= DVI_TASKF_EXTRA;
}

static void
s_extra_free(dvi_core *c, dvi_task *t)
{
    if (!(t->flags & DVI_TASKF_EXTRA)) {
        return;
    }
    dvi_wanters *w = dvi_map_del(&c->extra, t->key);
    if (w) {
        free(w->key);
        free(w);
    }
    t->flags &= ~DVI_TASKF_EXTRA;
}

int
dvi_core_unwant(dvi_core *c, dvi_task *t, dvi_sclient *cl)
{
    if (t->owner == cl) {
        t->owner = NULL;
    } else {
        dvi_wanters *w = (t->flags & DVI_TASKF_EXTRA)
                             ? dvi_map_get(&c->extra, t->key)
                             : NULL;
        size_t i = 0;
        while (w && i < w->n && w->v[i] != cl) {
            i++;
        }
        if (w == NULL || i == w->n) {
            return 0;
        }
        w->v[i] = w->v[--w->n];
        if (w->n == 0) {
            s_extra_free(c, t);
        }
    }
    t->nwants--;
    if (cl->parent != NULL) {
        dvi_pset_del(&cl->wants, t);
    }
    dvi_core_check(c, t);
    return 1;
}

void
dvi_core_unwant_all(dvi_core *c, dvi_sclient *cl)
{
    /* Collect first: unwanting edits the maps walked. */
    dvi_taskvec wanted;
    dvi_taskvec_init(&wanted);
    dvi_map_entry *e;
    for (size_t i = 0; dvi_map_next(&c->tasks, &i, &e);) {
        dvi_task *t = e->val;
        if (t->owner == cl) {
            dvi_taskvec_push(&wanted, t);
        }
    }
    for (size_t i = 0; dvi_map_next(&c->extra, &i, &e);) {
        const dvi_wanters *w = e->val;
        for (size_t k = 0; k < w->n; k++) {
            dvi_task *t = w->v[k] == cl ? dvi_map_get(&c->tasks, w->key) : NULL;
            if (t != NULL) {
                dvi_taskvec_push(&wanted, t);
            }
        }
    }
    for (uint32_t i = 0; i < wanted.n; i++) {
        dvi_core_unwant(c, wanted.v[i], cl);
    }
    dvi_taskvec_fini(&wanted);
}

/* Calls tell for every client that wants t. */
static void
s_tell_wanters(dvi_core *c, dvi_task *t, dvi_bytes value)
{
    int erred = t->state != DVI_TASK_MEMORY;
    if (t->owner) {
        if (erred) {
            dvi_core_tell_erred(t, t->owner);
        } else {
            dvi_core_tell_finished(t, t->owner, value);
        }
    }
    dvi_wanters *w =
        (t->flags & DVI_TASKF_EXTRA) ? dvi_map_get(&c->extra, t->key) : NULL;
    for (size_t i = 0; w && i < w->n; i++) {
        if (erred) {
            dvi_core_tell_erred(t, w->v[i]);
        } else {
            dvi_core_tell_finished(t, w->v[i], value);
        }
    }
}

/* ---- The transition function -------------------------------------------- */

/* t stops needing its inputs: they may be freed. */
static void
s_unwait_inputs(dvi_core *c, dvi_task *t)
{
    dvi_task **deps = dvi_task_deps(t);
    for (uint32_t i = 0; i < t->ndeps; i++) {
        dvi_task *d = deps[i];
        /* It stopped while d was pending: d must not find it later. */
        dvi_pset_del(&d->dependents, t);
        d->nwaiters--;
        dvi_core_check(c, d);
    }
}

static void
s_rewait_inputs(dvi_task *t)
{
    dvi_task **deps = dvi_task_deps(t);
    for (uint32_t i = 0; i < t->ndeps; i++) {
        deps[i]->nwaiters++;
    }
}

/* t no longer keeps its inputs as lineage. */
static void
s_unlink_inputs(dvi_core *c, dvi_task *t)
{
    dvi_task **deps = dvi_task_deps(t);
    for (uint32_t i = 0; i < t->ndeps; i++) {
        deps[i]->nlineage--;
        dvi_core_check(c, deps[i]);
    }
    if (t->flags & DVI_TASKF_DEPARRAY) {
        free(t->deps.many);
        t->flags &= ~DVI_TASKF_DEPARRAY;
    }
    t->deps.one = NULL;
    t->ndeps = 0;
}

static void
s_uncount(dvi_sworker *w, const dvi_task *t)
{
    w->nheld--;
    w->bytes_held -= t->nbytes;
}

int
dvi_core_hold(dvi_task *t, dvi_sworker *w)
{
    if (!dvi_task_add_holder(t, w)) {
        return 0;
    }
    w->nheld++;
    w->bytes_held += t->nbytes;
    return 1;
}

int
dvi_core_unhold(dvi_task *t, dvi_sworker *w)
{
    if (!dvi_task_remove_holder(t, w)) {
        return 0;
    }
    s_uncount(w, t);
    return 1;
}

void
dvi_core_collect_held(dvi_core *c, const dvi_sworker *w, dvi_taskvec *out)
{
    dvi_taskvec_init(out);
    dvi_map_entry *e;
    for (size_t i = 0; w->nheld > out->n && dvi_map_next(&c->tasks, &i, &e);) {
        dvi_task *t = e->val;
        if (t->nwho > 0 && dvi_task_holds(t, w)) {
            dvi_taskvec_push(out, t);
        }
    }
}

static void
s_leave(dvi_core *c, dvi_task *t, int state)
{
    switch (t->state) {
    case DVI_TASK_QUEUED:
        dvi_taskheap_remove(dvi_core_queue_of(c, t), t);
        t->block = NULL;
        break;
    case DVI_TASK_PROCESSING:
        if (t->where) {
            /* Still there (a cancel, a forget): the worker drops it. */
            dvi_core_send_free(t->where, t->key);
            dvi_core_run_del(t->where, t);
            t->where = NULL;
        }
        t->flags &= ~DVI_TASKF_AHEAD;
        break;
    case DVI_TASK_MEMORY:
        for (uint32_t i = 0; i < t->nwho; i++) {
            dvi_sworker *w = dvi_task_holder(t, i);
            dvi_core_send_free(w, t->key);
            s_uncount(w, t);
            dvi_core_holder_gone(c, w, t);
        }
        dvi_task_clear_holders(t);
        break;
    default: break;
    }
    (void)state;
}

static void
s_forget(dvi_core *c, dvi_task *t)
{
    dvi_map_del(&c->tasks, t->key);
    s_extra_free(c, t);
    dvi_taskvec_push(&c->forgotten, t);
}

void
dvi_core_set_state(dvi_core *c, dvi_task *t, int state)
{
    int old = t->state;
    if (old == state) {
        return;
    }
    s_leave(c, t, state);
    int was_live = dvi_task_is_live(t);
    if (old > 0 && old != DVI_TASK_FORGOTTEN) {
        c->stats.states[old]--;
        t->fn->states[old]--;
    }
    t->state = (uint8_t)state;
    if (state != DVI_TASK_FORGOTTEN) {
        c->stats.states[state]++;
        t->fn->states[state]++;
    }
    int live = dvi_task_is_live(t);
    if (was_live && !live) {
        s_unwait_inputs(c, t);
    } else if (!was_live && live && old > 0) {
        s_rewait_inputs(t); /* computed again from its lineage */
    }
    int gone = state == DVI_TASK_ERRED || state == DVI_TASK_CANCELLED ||
               state == DVI_TASK_FORGOTTEN;
    if (gone) {
        s_unlink_inputs(c, t);
        if ((t->flags & DVI_TASKF_PINNED) && t->pin) {
            dvi_pset_del(&t->pin->pins, t);
            t->pin = NULL;
        }
    }
    if ((t->flags & DVI_TASKF_SCATTER) && state != DVI_TASK_PROCESSING &&
        state != DVI_TASK_MEMORY) {
        dvi_core_bcast_drop(c, t); /* a broadcast stops going to workers */
    }
    switch (state) {
    case DVI_TASK_QUEUED: dvi_taskheap_push(dvi_core_queue_of(c, t), t); break;
    case DVI_TASK_PROCESSING: dvi_core_run_add(t->where, t); break;
    case DVI_TASK_FORGOTTEN: s_forget(c, t); break;
    default: break;
    }
    if (t->flags & DVI_TASKF_PARENT) {
        dvi_core_parent_state(c, t); /* children.c */
    }
}

/* ---- Releasing and forgetting ------------------------------------------- */

void
dvi_core_check(dvi_core *c, dvi_task *t)
{
    dvi_taskvec_push(&c->settle, t);
}

/* What becomes of t now that a count dropped, if anything. */
static int
s_settled_state(const dvi_task *t)
{
    if (t->nwants > 0 || t->nwaiters > 0) {
        return 0;
    }
    switch (t->state) {
    case DVI_TASK_MEMORY:
        return t->nlineage > 0 ? DVI_TASK_RELEASED : DVI_TASK_FORGOTTEN;
    case DVI_TASK_RELEASED:
    case DVI_TASK_ERRED:
    case DVI_TASK_CANCELLED: return t->nlineage > 0 ? 0 : DVI_TASK_FORGOTTEN;
    case DVI_TASK_WAITING:
    case DVI_TASK_QUEUED:
    case DVI_TASK_PROCESSING:
        /* Waiting too: its inputs stop computing for it (a released
         * parent's children left no work running). */
        return t->nlineage > 0 ? DVI_TASK_RELEASED : DVI_TASK_FORGOTTEN;
    default: return 0;
    }
}

void
dvi_core_settle(dvi_core *c)
{
    /* Parents that ended release their children, which may end more. */
    while (c->settle.n > 0 || c->ended.len > 0) {
        dvi_core_release_children(c);
        while (c->settle.n > 0) {
            dvi_task *t = c->settle.v[--c->settle.n];
            if (t->state == DVI_TASK_FORGOTTEN) {
                continue;
            }
            int next = s_settled_state(t);
            if (next) {
                dvi_core_set_state(c, t, next);
            }
        }
    }
    dvi_taskvec_reset(&c->settle);
}

/* ---- Running and completing --------------------------------------------- */

void
dvi_core_make_ready(dvi_core *c, dvi_task *t)
{
    if (t->nwants == 0 && t->nwaiters == 0) {
        dvi_core_set_state(
            c, t, t->nlineage > 0 ? DVI_TASK_RELEASED : DVI_TASK_FORGOTTEN);
        return;
    }
    dvi_core_set_state(c, t, DVI_TASK_QUEUED);
}

int
dvi_core_wait_again(dvi_core *c, dvi_task *t)
{
    if (!(t->flags & DVI_TASKF_AHEAD) || t->nwaiting == 0) {
        return 0;
    }
    dvi_core_set_state(c, t, DVI_TASK_WAITING);
    return 1;
}

/* t's dependents waiting on it may run now. */
static void
s_free_dependents(dvi_core *c, dvi_task *t)
{
    /* Take the set: making a dependent ready may edit the sets of its
     * other inputs, never this one's. */
    dvi_pset deps = t->dependents;
    dvi_pset_init(&t->dependents);
    dvi_task *d;
    for (size_t i = 0; (d = dvi_pset_next(&deps, &i));) {
        if (!dvi_task_is_waiting(d) || --d->nwaiting > 0) {
            continue;
        }
        if (d->state == DVI_TASK_WAITING) {
            dvi_core_make_ready(c, d);
        } else {
            d->flags &= ~DVI_TASKF_AHEAD; /* its worker starts it now */
        }
    }
    dvi_pset_fini(&deps);
}

void
dvi_core_complete_fused(dvi_core *c, dvi_task *t)
{
    if (t->where) {
        dvi_core_run_del(t->where, t);
        t->where = NULL;
    }
    dvi_core_set_state(c, t, DVI_TASK_RELEASED);
    c->stats.finished++;
    t->fn->finished++;
    s_free_dependents(c, t);
    if (t->nwants > 0) {
        /* Wanted since it was fused: its bytes are gone, compute it
         * again. A dependent that came since waits for that. */
        dvi_core_recompute(c, t);
    }
    dvi_core_check(c, t);
}

void
dvi_core_complete(dvi_core *c, dvi_task *t, dvi_sworker *w, uint64_t nbytes,
                  dvi_bytes value)
{
    if (t->where) {
        dvi_core_run_del(t->where, t);
        t->where = NULL; /* done there: no FREE */
    }
    t->nbytes = nbytes;
    dvi_core_set_state(c, t, DVI_TASK_MEMORY);
    dvi_core_hold(t, w);
    c->stats.finished++;
    t->fn->finished++;
    s_tell_wanters(c, t, value);
    dvi_core_saved_done(c, t, w, value); /* --state */
    s_free_dependents(c, t);
    dvi_core_check(c, t);
}

/* ---- Errors ------------------------------------------------------------- */

/* t and every task waiting on it, each once, inputs before dependents
 * reached through them, into set (initialized here). */
static void
s_waiting_closure(dvi_task *t, dvi_taskvec *set)
{
    dvi_taskvec_init(set);
    dvi_taskvec_push(set, t);
    t->flags |= DVI_TASKF_MARK;
    for (uint32_t i = 0; i < set->n; i++) {
        dvi_task *d;
        for (size_t j = 0; (d = dvi_pset_next(&set->v[i]->dependents, &j));) {
            if (dvi_task_is_waiting(d) && !(d->flags & DVI_TASKF_MARK)) {
                d->flags |= DVI_TASKF_MARK;
                dvi_taskvec_push(set, d);
            }
        }
    }
    for (uint32_t i = 0; i < set->n; i++) {
        set->v[i]->flags &= ~DVI_TASKF_MARK;
    }
}

void
dvi_core_fail(dvi_core *c, dvi_task *t, int state, const char *text)
{
    /* Collect the whole set first (each task once), then change states:
     * changing a state edits the dependents lists being walked. */
    if (text == NULL || text[0] == '\0') {
        /* Every error has a text: the user must learn something. */
        text = state == DVI_TASK_CANCELLED ? "cancelled"
                                           : "failed, with no reason given";
    }
    dvi_taskvec set;
    s_waiting_closure(t, &set);
    for (uint32_t i = 0; i < set.n; i++) {
        dvi_task *e = set.v[i];
        free(e->error);
        e->error = dvi_strdup(text);
        dvi_pset_fini(&e->dependents);
        dvi_core_set_state(c, e, state);
        c->stats.erred++;
        e->fn->erred++;
        if (c->trace != NULL && e == t) { /* the cause, not each dependent */
            dvi_trace_erred(c->trace, e->key, e->fn->name, text);
        }
        s_tell_wanters(c, e, (dvi_bytes){0});
        dvi_core_check(c, e);
    }
    dvi_taskvec_fini(&set);
}

/* ---- Cancelling ---------------------------------------------------------- */

/* The tasks of set that something outside it still needs: a client or a
 * published name, directly or through a needed dependent. */
static void
s_still_needed(const dvi_taskvec *set, dvi_pset *needed)
{
    dvi_pset in;
    dvi_taskvec todo;
    dvi_pset_init(&in);
    dvi_taskvec_init(&todo);
    for (uint32_t i = 0; i < set->n; i++) {
        dvi_pset_add(&in, set->v[i]);
        if (set->v[i]->nwants > 0 && dvi_pset_add(needed, set->v[i])) {
            dvi_taskvec_push(&todo, set->v[i]);
        }
    }
    while (todo.n > 0) {
        dvi_task *x = todo.v[--todo.n];
        dvi_task **deps = dvi_task_deps(x);
        for (uint32_t i = 0; i < x->ndeps; i++) {
            if (dvi_pset_has(&in, deps[i]) && dvi_pset_add(needed, deps[i])) {
                dvi_taskvec_push(&todo, deps[i]);
            }
        }
    }
    dvi_taskvec_fini(&todo);
    dvi_pset_fini(&in);
}

void
dvi_core_cancel_for(dvi_core *c, dvi_task *t, dvi_sclient *cl)
{
    if (!dvi_core_wants(c, t, cl)) {
        return; /* only a client's own interest is its to drop */
    }
    if (!dvi_task_is_live(t)) {
        dvi_core_unwant(c, t, cl);
        return;
    }
    dvi_taskvec set;
    s_waiting_closure(t, &set);
    for (uint32_t i = 0; i < set.n; i++) {
        dvi_task *e = set.v[i];
        if (dvi_core_unwant(c, e, cl) && e != t && cl->out != NULL) {
            /* The canceller marked t's future; its dependents it learns. */
            dvi_msg_erred m = {.key = e->key, .status = DV_CANCELLED};
            m.text = dvi_bytes_of("cancelled");
            dvi_msg_erred_pack(cl->out, &m);
        }
    }
    dvi_pset needed;
    dvi_pset_init(&needed);
    s_still_needed(&set, &needed);
    for (uint32_t i = 0; i < set.n; i++) {
        dvi_task *e = set.v[i];
        if (dvi_task_is_live(e) && !dvi_pset_has(&needed, e)) {
            dvi_core_fail(c, e, DVI_TASK_CANCELLED, "cancelled");
        }
    }
    dvi_pset_fini(&needed);
    dvi_taskvec_fini(&set);
}

/* ---- Lineage ------------------------------------------------------------ */

void
dvi_core_result_lost(dvi_core *c, dvi_task *t, const char *why)
{
    if (t->state != DVI_TASK_MEMORY || t->nwho > 0) {
        return;
    }
    if (dvi_core_bcast_lost(c, t)) {
        return; /* a broadcast: a worker still receiving it takes over */
    }
    if (t->flags & DVI_TASKF_SCATTER) {
        char text[512];
        snprintf(text, sizeof(text),
                 "scattered data was lost (%s): it has no lineage to compute "
                 "it again from (scatter it again)",
                 why);
        dvi_core_fail(c, t, DVI_TASK_ERRED, text);
        return;
    }
    dvi_core_set_state(c, t, DVI_TASK_RELEASED);
    if (t->nwants > 0 || t->nwaiters > 0) {
        DVI_LOG(DVI_LOG_INFO, "SCHED", "%s (%s) lost (%s): computing it again",
                t->key, t->fn->name, why);
        dvi_core_recompute(c, t);
    } else {
        dvi_core_check(c, t); /* kept only as lineage, or forgotten */
    }
}

int
dvi_core_inputs_held(dvi_core *c, dvi_task *t)
{
    dvi_task **deps = dvi_task_deps(t);
    uint32_t i = 0;
    while (i < t->ndeps && deps[i]->state == DVI_TASK_MEMORY) {
        i++;
    }
    if (i == t->ndeps) {
        return 1;
    }
    /* Waiting first, so that an input that cannot be computed again fails
     * t with it. */
    t->nwaiting = 0;
    for (i = 0; i < t->ndeps; i++) {
        if (deps[i]->state != DVI_TASK_MEMORY) {
            t->nwaiting += (uint32_t)dvi_pset_add(&deps[i]->dependents, t);
        }
    }
    dvi_core_set_state(c, t, DVI_TASK_WAITING);
    for (i = 0; i < t->ndeps && t->state == DVI_TASK_WAITING; i++) {
        dvi_task *d = deps[i];
        if (d->state == DVI_TASK_RELEASED) {
            dvi_core_recompute(c, d);
        } else if (d->state == DVI_TASK_ERRED ||
                   d->state == DVI_TASK_CANCELLED) {
            char text[512];
            snprintf(text, sizeof(text), "%s",
                     d->error ? d->error : "an input failed");
            dvi_core_fail(c, t, DVI_TASK_ERRED, text);
        }
    }
    return 0;
}

/* Makes released t live again; pushes its released inputs on todo. Returns
 * an error text if it cannot be computed again. */
static const char *
s_revive(dvi_core *c, dvi_task *t, dvi_taskvec *todo)
{
    if (t->flags & DVI_TASKF_SCATTER) {
        return "scattered data was lost: it has no lineage to compute "
               "it again from (scatter it again)";
    }
    if ((t->flags & DVI_TASKF_PINNED) && t->pin == NULL) {
        return "the worker where the task was pinned left";
    }
    dvi_task **deps = dvi_task_deps(t);
    for (uint32_t i = 0; i < t->ndeps; i++) {
        if (deps[i]->state == DVI_TASK_ERRED ||
            deps[i]->state == DVI_TASK_CANCELLED) {
            return deps[i]->error ? deps[i]->error : "an input failed";
        }
    }
    t->nwaiting = 0;
    for (uint32_t i = 0; i < t->ndeps; i++) {
        dvi_task *d = deps[i];
        if (d->state == DVI_TASK_MEMORY) {
            continue;
        }
        t->nwaiting += (uint32_t)dvi_pset_add(&d->dependents, t);
        if (d->state == DVI_TASK_RELEASED) {
            dvi_taskvec_push(todo, d);
        }
    }
    dvi_core_set_state(c, t, t->nwaiting ? DVI_TASK_WAITING : DVI_TASK_QUEUED);
    return NULL;
}

void
dvi_core_recompute(dvi_core *c, dvi_task *t)
{
    dvi_taskvec todo;
    dvi_taskvec_init(&todo);
    dvi_taskvec_push(&todo, t);
    while (todo.n > 0) {
        dvi_task *x = todo.v[--todo.n];
        if (x->state != DVI_TASK_RELEASED) {
            continue; /* reached twice */
        }
        const char *why = s_revive(c, x, &todo);
        if (why != NULL) {
            char text[512];
            snprintf(text, sizeof(text), "%s", why);
            dvi_core_fail(c, x, DVI_TASK_ERRED, text);
        }
    }
    dvi_taskvec_fini(&todo);
}
