/* The core's events from clients (SUBMIT, RELEASE, CANCEL, SCATTER) and
 * from workers (DONE, STORED, FAILED). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "core_impl.h"
#include "proto/callkey.h"

/* The function name of code, interned with its counters; for calls that
 * need resources (spec, not empty, parsed: need), a record of its own,
 * which names them (resources.c). */
static dvi_fnrec *
s_fn(dvi_core *c, const char *name, dvi_bytes code, const char *spec,
     const dvi_resources *need)
{
    size_t ncode = code.p == NULL ? 0 : code.n < 100 ? code.n : 100;
    dvi_fnrec *last = c->fn_last;
    if (spec == NULL && last != NULL && strcmp(last->name, name) == 0 &&
        strlen(last->code) == ncode &&
        (ncode == 0 || memcmp(last->code, code.p, ncode) == 0)) {
        return last;
    }
    char id[DVI_MAX_KEY + 128], full[DVI_RESOURCES_SPEC_MAX + sizeof(id) + 2];
    snprintf(id, sizeof(id), "%.*s/%s", (int)ncode, code.p ? code.p : "", name);
    /* A valid spec has no '|': the key says where it ends. */
    snprintf(full, sizeof(full), "%s|%s", spec ? spec : "", id);
    dvi_map *map = spec ? &c->fnres : &c->fns;
    const char *key = spec ? full : id;
    dvi_fnrec *f = dvi_map_get(map, key);
    if (f == NULL) {
        f = dvi_calloc(1, sizeof(*f));
        f->id = dvi_strdup(key);
        f->name = dvi_strdup(name);
        f->code = dvi_strdup(id);
        f->code[strlen(id) - strlen(name) - 1] = '\0';
        f->res = spec ? dvi_core_res_intern(c, spec, need) : NULL;
        dvi_map_put(map, f->id, f);
    }
    if (spec == NULL) {
        c->fn_last = f;
    }
    return f;
}

/* t's calls are of f from now (a record submitted again, perhaps with
 * other needs): its count moves there. */
static void
s_set_fn(dvi_task *t, dvi_fnrec *f)
{
    if (t->state > 0 && t->state != DVI_TASK_FORGOTTEN) {
        t->fn->states[t->state]--;
        f->states[t->state]++;
    }
    t->fn = f;
}

static dvi_task *
s_task_new(dvi_core *c, const char *key, dvi_fnrec *f, dvi_bytes args,
           size_t ndeps)
{
    dvi_task *t = dvi_task_new(key, strlen(key), args.p, args.n, ndeps);
    t->fn = f;
    t->seq = c->seq++;
    dvi_map_put(&c->tasks, t->key, t);
    c->stats.submitted++;
    f->submitted++;
    return t;
}

void
dvi_core_task_plain(dvi_core *c, dvi_task *t)
{
    dvi_bytes code = dvi_bytes_of(t->fn->code);
    s_set_fn(t, s_fn(c, t->fn->name, code, NULL, NULL));
}

/* --state (durable_save.c) restores tasks with this. */
dvi_task *
dvi_core_task_new(dvi_core *c, const char *key, const char *fn, dvi_bytes code,
                  dvi_bytes args, size_t ndeps)
{
    return s_task_new(c, key, s_fn(c, fn, code, NULL, NULL), args, ndeps);
}

/* Links t to its inputs, named by the keys in deps. Returns NULL, or why
 * t cannot run (and *cancelled if an input was cancelled). */
static const char *
s_link(dvi_core *c, dvi_task *t, const msgpack_object_array *deps, char *why,
       size_t size, int *cancelled)
{
    dvi_task **tdeps = dvi_task_deps(t);
    for (uint32_t i = 0; i < deps->size; i++) {
        char dk[DVI_MAX_KEY + 1];
        dvi_task *d;
        if (dvi_msg_str(&deps->ptr[i], dk, sizeof(dk)) < 0) {
            return "malformed dependency key";
        }
        if ((d = dvi_map_get(&c->tasks, dk)) == NULL) {
            snprintf(why, size, "dependency '%s' is not known", dk);
            return why;
        }
        if (d == t) {
            return "a task cannot depend on itself";
        }
        tdeps[t->ndeps++] = d;
        d->nlineage++;
        d->nwaiters++; /* t is born live */
        if (d->state == DVI_TASK_ERRED || d->state == DVI_TASK_CANCELLED) {
            *cancelled = d->state == DVI_TASK_CANCELLED;
            return d->error ? d->error : "an input failed";
        }
    }
    return NULL;
}

/* Inputs whose results were released are computed again. Returns NULL,
 * or why t cannot run. */
static const char *
s_revive_inputs(dvi_core *c, dvi_task *t, int *cancelled)
{
    dvi_task **deps = dvi_task_deps(t);
    for (uint32_t i = 0; i < t->ndeps; i++) {
        if (deps[i]->state == DVI_TASK_RELEASED) {
            dvi_core_recompute(c, deps[i]);
        }
        if (deps[i]->state == DVI_TASK_ERRED ||
            deps[i]->state == DVI_TASK_CANCELLED) {
            *cancelled = deps[i]->state == DVI_TASK_CANCELLED;
            return deps[i]->error ? deps[i]->error : "an input failed";
        }
    }
    return NULL;
}

/* The hash of the call m sends, computed here: the client's word for it is
 * not taken. Its dependency keys are strings (s_deps_are_keys). */
static void
s_call_hash(const dvi_msg_submit *m, unsigned char h[DVI_CALLKEY_BYTES])
{
    dvi_callkey k;
    dvi_callkey_begin(&k, m->fn, strlen(m->fn), m->code.p, m->code.n,
                      (m->flags & DVI_TASK_CHUNK) ? DVI_CALLKEY_CHUNK
                                                  : DVI_CALLKEY_CALL,
                      m->args.p, m->args.n);
    for (uint32_t i = 0; i < m->deps->size; i++) {
        const msgpack_object_str *d = &m->deps->ptr[i].via.str;
        dvi_callkey_dep(&k, d->ptr, d->size);
    }
    dvi_callkey_end(&k, h);
}

static int
s_deps_are_keys(const dvi_msg_submit *m)
{
    for (uint32_t i = 0; i < m->deps->size; i++) {
        if (m->deps->ptr[i].type != MSGPACK_OBJECT_STR) {
            return 0;
        }
    }
    return 1;
}

/* Whether t is the call m sends: the same function, code, kind,
 * arguments and inputs. A failed task let its inputs go: its arguments
 * decide. */
static int
s_same_call(dvi_task *t, const dvi_msg_submit *m)
{
    if (strcmp(t->fn->name, m->fn) != 0 || strlen(t->fn->code) != m->code.n ||
        memcmp(t->fn->code, m->code.p, m->code.n) != 0 ||
        (t->flags & DVI_TASK_CHUNK) != (m->flags & DVI_TASK_CHUNK) ||
        t->args_len != m->args.n ||
        memcmp(dvi_task_args(t), m->args.p, m->args.n) != 0) {
        return 0;
    }
    if (t->ndeps == 0) {
        return 1;
    }
    if (t->ndeps != m->deps->size) {
        return 0;
    }
    dvi_task **deps = dvi_task_deps(t);
    for (uint32_t i = 0; i < t->ndeps; i++) {
        const msgpack_object_str *k = &m->deps->ptr[i].via.str;
        if (strlen(deps[i]->key) != k->size ||
            memcmp(deps[i]->key, k->ptr, k->size) != 0) {
            return 0;
        }
    }
    return 1;
}

/* Why m's key cannot name the call it sends (t: the task under the key,
 * if any), or NULL: a derived key must be the call's own, and a known key
 * must name the same call, or a peer could make another's future read a
 * result of its choosing. */
static const char *
s_key_refused(const dvi_sclient *cl, const dvi_msg_submit *m, dvi_task *t)
{
    if (dvi_callkey_derived_form(m->key, strlen(m->key))) {
        if (cl->in_process) {
            return NULL; /* hashing it again would cost a tenth of the
                            scheduler's time on tiny tasks */
        }
        unsigned char h[DVI_CALLKEY_BYTES];
        s_call_hash(m, h);
        return dvi_callkey_is(m->key, m->fn, h)
                   ? NULL /* and so names the same call as t */
                   : "the key is not the hash of the call it was sent with";
    }
    if (t != NULL && !s_same_call(t, m)) {
        return "the key was already used for a different call (another "
               "function or other arguments)";
    }
    return NULL;
}

void
dvi_core_refuse(dvi_sclient *cl, const char *key, const char *why)
{
    if (cl->out == NULL) {
        return;
    }
    DVI_LOG(DVI_LOG_WARN, "SCHED", "%s: refused '%s': %s", cl->name, key, why);
    dvi_msg_erred m = {.key = key, .status = DV_ERRED};
    char text[DVI_MAX_KEY + 600];
    snprintf(text, sizeof(text), "'%s' refused: %s", key, why);
    m.text = dvi_bytes_of(text);
    dvi_msg_erred_pack(cl->out, &m);
}

/* A known key submitted again. Returns 1 if handled. */
static int
s_submit_known(dvi_core *c, dvi_sclient *cl, dvi_task *t, dvi_task **reuse)
{
    int failed = t->state == DVI_TASK_ERRED || t->state == DVI_TASK_CANCELLED;
    if (failed && t->nwants == 0 && t->nwaiters == 0) {
        /* Nobody holds the failure: run it again (a retry). A record kept
         * as lineage is reused: dependents point at it. */
        if (t->nlineage > 0) {
            *reuse = t;
        } else {
            dvi_core_set_state(c, t, DVI_TASK_FORGOTTEN);
        }
        return 0;
    }
    dvi_core_want(c, t, cl);
    if (failed) {
        dvi_core_tell_erred(t, cl);
    } else if (t->state == DVI_TASK_MEMORY) {
        dvi_core_tell_finished(t, cl, (dvi_bytes){0});
    } else if (t->state == DVI_TASK_RELEASED) {
        dvi_core_recompute(c, t);
    }
    return 1;
}

/* An erred or cancelled record kept as lineage, made new for ndeps
 * inputs (its old ones were unlinked when it failed). */
static void
s_reset(dvi_core *c, dvi_task *t, uint32_t ndeps)
{
    free(t->error);
    t->error = NULL;
    t->flags &= (uint16_t) ~(DVI_TASKF_PINNED | DVI_TASKF_FORWARD |
                             DVI_TASK_WIRE_FLAGS);
    t->pin = NULL;
    t->suspicious = 0;
    t->nwaiting = 0;
    if (ndeps > 1) {
        t->deps.many = dvi_calloc(ndeps, sizeof(dvi_task *));
        t->flags |= DVI_TASKF_DEPARRAY;
    }
    dvi_core_set_state(c, t, DVI_TASK_WAITING); /* no inputs to rewait */
}

/* Pins t to the worker named id, if any. Returns NULL, or why it cannot
 * run (in why, size bytes). */
static const char *
s_pin(dvi_core *c, dvi_task *t, dvi_bytes id, char *why, size_t size)
{
    if (id.p == NULL) {
        return NULL;
    }
    char *name = dvi_bytes_dup(id);
    t->pin = dvi_core_worker_find(c, name);
    t->flags |= DVI_TASKF_PINNED;
    if (t->pin == NULL || t->pin->retiring) {
        snprintf(why, size, "no worker '%.128s' in the cluster%s", name,
                 t->pin ? " (it is stopping)" : "");
        t->pin = NULL;
        free(name);
        return why;
    }
    dvi_pset_add(&t->pin->pins, t);
    free(name);
    return NULL;
}

int
dvi_core_submit(dvi_core *c, dvi_sclient *cl, const dvi_msg_submit *m)
{
    if (!s_deps_are_keys(m)) {
        return dvi_seterr(DV_EPROTO, "malformed SUBMIT: a dependency key "
                                     "is not a string");
    }
    dvi_task *t = dvi_map_get(&c->tasks, m->key);
    const char *refused = s_key_refused(cl, m, t);
    dvi_resources need;
    char spec[DVI_RESOURCES_SPEC_MAX + 1];
    if (refused == NULL &&
        dvi_resources_parse(m->resources.p, m->resources.n, &need) < 0) {
        refused = dv_last_error();
    }
    dvi_bytes_str(m->resources, spec, sizeof(spec));
    if (refused != NULL) {
        dvi_core_refuse(cl, m->key, refused);
        return 0;
    }
    dvi_task *reuse = NULL;
    if (t != NULL && s_submit_known(c, cl, t, &reuse)) {
        return 0;
    }
    if (m->worker.n > 127) {
        return dvi_seterr(DV_EPROTO, "malformed SUBMIT: worker id of %zu bytes",
                          m->worker.n);
    }
    dvi_fnrec *f = s_fn(c, m->fn, m->code, need.n ? spec : NULL, &need);
    if (reuse != NULL) {
        t = reuse;
        s_set_fn(t, f);
        s_reset(c, t, m->deps->size);
    } else {
        t = s_task_new(c, m->key, f, m->args, m->deps->size);
    }
    t->flags |= (uint16_t)(m->flags & DVI_TASK_WIRE_FLAGS);
    t->priority = (int32_t)m->priority;
    t->timeout_ms = m->timeout_ms > UINT32_MAX ? UINT32_MAX : m->timeout_ms;
    t->retries = (int16_t)(m->retries > 100 ? 100
                           : m->retries < 0 ? 0
                                            : m->retries);
    dvi_core_want(c, t, cl);
    char why[DVI_MAX_KEY + 64];
    int cancelled = 0;
    const char *failed = s_pin(c, t, m->worker, why, sizeof(why));
    if (failed == NULL) {
        failed = s_link(c, t, m->deps, why, sizeof(why), &cancelled);
    }
    if (failed == NULL) {
        failed = s_revive_inputs(c, t, &cancelled);
    }
    dvi_core_set_state(c, t, DVI_TASK_WAITING);
    if (failed) {
        char text[512];
        snprintf(text, sizeof(text), "%s", failed); /* may be d->error */
        dvi_core_fail(c, t, cancelled ? DVI_TASK_CANCELLED : DVI_TASK_ERRED,
                      text);
        return 0;
    }
    dvi_task **deps = dvi_task_deps(t);
    for (uint32_t i = 0; i < t->ndeps; i++) {
        if (deps[i]->state != DVI_TASK_MEMORY &&
            dvi_pset_add(&deps[i]->dependents, t)) {
            t->nwaiting++; /* an input given twice is waited for once */
        }
    }
    if (t->nwaiting == 0) {
        dvi_core_set_state(c, t, DVI_TASK_QUEUED);
    } else {
        dvi_core_send_ahead(c, t);
    }
    return 0;
}

void
dvi_core_release(dvi_core *c, dvi_sclient *cl, const char *key)
{
    dvi_task *t = dvi_map_get(&c->tasks, key);
    if (t) {
        dvi_core_unwant(c, t, cl);
    }
}

void
dvi_core_cancel(dvi_core *c, dvi_sclient *cl, const char *key)
{
    dvi_task *t = dvi_map_get(&c->tasks, key);
    if (t != NULL) {
        dvi_core_cancel_for(c, t, cl);
    }
}

/* SCATTER m to w, answered by STORED as a COMPUTE is. */
static void
s_send_scatter(dvi_sworker *w, const dvi_msg_scatter *m)
{
    dvi_msg_scatter fw = *m;
    fw.flags = 0; /* one worker and a replica */
    dvi_msg_scatter_pack(w->out, &fw);
    dvi_msg_scatter_pack_tail(w->out, &fw);
}

dvi_task *
dvi_core_put_task(dvi_core *c, dvi_sclient *cl, const dvi_msg_scatter *m)
{
    int bcast = (m->flags & DVI_SCATTER_BROADCAST) != 0;
    char want[DVI_MAX_KEY + 1];
    if (bcast) {
        dvi_callkey_broadcast(want, sizeof(want), m->value.p, m->value.n);
    } else {
        dvi_callkey_scatter(want, sizeof(want), m->value.p, m->value.n);
    }
    if (strcmp(want, m->key) != 0) {
        dvi_core_refuse(cl, m->key, "the key is not the hash of the value");
        return NULL;
    }
    dvi_task *t = dvi_map_get(&c->tasks, m->key);
    if (t != NULL && t->state != DVI_TASK_RELEASED &&
        t->state != DVI_TASK_ERRED && t->state != DVI_TASK_CANCELLED) {
        dvi_core_want(c, t, cl);
        if (t->state == DVI_TASK_MEMORY) {
            dvi_core_tell_finished(t, cl, (dvi_bytes){0});
        }
        return NULL;
    }
    if (t == NULL) {
        t = dvi_core_task_new(c, m->key, bcast ? "broadcast" : "scatter",
                              (dvi_bytes){0}, (dvi_bytes){0}, 0);
        t->flags = DVI_TASKF_SCATTER;
    }
    dvi_core_want(c, t, cl);
    return t;
}

void
dvi_core_scatter(dvi_core *c, dvi_sclient *cl, const dvi_msg_scatter *m)
{
    dvi_task *t = dvi_core_put_task(c, cl, m);
    if (t == NULL) {
        return;
    }
    if (m->flags & DVI_SCATTER_BROADCAST) {
        dvi_core_broadcast(c, t, m);
        return;
    }
    /* The data is lost or new: it goes to a worker (with its bytes). */
    dvi_sworker *w = dvi_core_pick(c, t);
    if (w == NULL) {
        w = dvi_core_any_worker(c);
    }
    if (w == NULL) {
        dvi_core_set_state(c, t, DVI_TASK_QUEUED);
        dvi_core_fail(c, t, DVI_TASK_ERRED, "no worker to scatter to");
        return;
    }
    s_send_scatter(w, m);
    dvi_core_assign(c, t, w);
    /* Scattered data has no lineage: a replica on another worker keeps it
     * when one worker is lost. Whichever stores first completes it. */
    dvi_sworker *other = dvi_core_any_worker(c);
    if (other == w) {
        other = dvi_core_any_worker(c);
    }
    if (other != NULL && other != w) {
        s_send_scatter(other, m);
        other->nprocessing++; /* its STORED answers it */
    }
}

static void
s_lost(dvi_core *c, dvi_sworker *from, dvi_sclient *cl, const dvi_msg_lost *m)
{
    dvi_task *t = dvi_map_get(&c->tasks, m->key);
    if (t == NULL || t->state != DVI_TASK_MEMORY) {
        return; /* computed again already, or gone */
    }
    for (uint32_t i = 0; i < t->nwho; i++) {
        dvi_sworker *h = dvi_task_holder(t, i);
        if (strlen(h->addr) == m->holder.n &&
            memcmp(h->addr, m->holder.p, m->holder.n) == 0) {
            char why[300];
            /* A worker may say it lost a result itself: a task sent
             * there found it missing. */
            snprintf(why, sizeof(why), "%s could not fetch it from %s",
                     from ? from->id : cl->name, h->id);
            DVI_LOG(DVI_LOG_INFO, "SCHED", "%s: %s", t->key, why);
            dvi_core_unhold(t, h);
            dvi_core_holder_gone(c, h, t);
            dvi_core_send_free(h, t->key); /* if it lives, it drops it */
            dvi_core_result_lost(c, t, why);
            break;
        }
    }
    if (cl != NULL && t->state == DVI_TASK_MEMORY) {
        dvi_core_tell_finished(t, cl, (dvi_bytes){0}); /* another holder */
    }
}

void
dvi_core_worker_lost(dvi_core *c, dvi_sworker *w, const dvi_msg_lost *m)
{
    s_lost(c, w, NULL, m);
}

void
dvi_core_client_lost(dvi_core *c, dvi_sclient *cl, const dvi_msg_lost *m)
{
    s_lost(c, NULL, cl, m);
}

/* ---- Worker events ------------------------------------------------------ */

/* A task's run time and result size, for the depth of workers' queues. */
static void
s_note_run(dvi_core *c, int64_t us, uint64_t nbytes)
{
    if (us >= 0) {
        c->avg_task_us = c->avg_task_us * 0.9 + (double)us * 0.1;
    }
    c->avg_result_bytes = c->avg_result_bytes * 0.9 + (double)nbytes * 0.1;
}

/* The answer to a COMPUTE or SCATTER from w: the task it concerns if it
 * still runs there, else NULL. */
static dvi_task *
s_answered(dvi_core *c, dvi_sworker *w, const char *key)
{
    if (w->nprocessing > 0) {
        w->nprocessing--;
    }
    w->stealing = 0; /* it answers: it may be asked again */
    dvi_task *t = dvi_map_get(&c->tasks, key);
    if (t == NULL || t->state != DVI_TASK_PROCESSING || t->where != w) {
        return NULL;
    }
    return t;
}

/* A result from w that its task did not wait for there. */
static void
s_result_elsewhere(dvi_core *c, dvi_sworker *w, dvi_task *t, const char *key)
{
    if (t != NULL && t->state == DVI_TASK_MEMORY) {
        /* Computed twice (sent again after a cancel), or a scatter's
         * replica: a second holder. */
        dvi_core_hold(t, w);
        return;
    }
    dvi_core_send_free(w, key); /* nobody wants it any more */
}

static void
s_result_at(dvi_core *c, dvi_sworker *w, const char *key, uint64_t nbytes,
            dvi_bytes value)
{
    dvi_task *t = s_answered(c, w, key);
    if (t == NULL) {
        t = dvi_map_get(&c->tasks, key);
        /* A scatter's replica stored first completes it as well. */
        int replica = t != NULL && t->state == DVI_TASK_PROCESSING &&
                      (t->flags & DVI_TASKF_SCATTER);
        if (!replica) {
            s_result_elsewhere(c, w, t, key);
            return;
        }
    }
    dvi_core_complete(c, t, w, nbytes, value);
}

void
dvi_core_done(dvi_core *c, dvi_sworker *w, const dvi_msg_done *m)
{
    s_note_run(c, m->us, m->nbytes);
    w->ndone++;
    if (c->trace != NULL && dvi_trace_finished(c->trace, m->us)) {
        const dvi_task *t = dvi_core_task(c, m->key);
        dvi_trace_stream(c->trace, w->id, t ? t->fn->name : "?", m->us);
    }
    if (m->forward.n > 0) {
        char key[DVI_MAX_KEY + 1];
        dvi_task *t = s_answered(c, w, m->key);
        if (t != NULL && m->forward.n <= DVI_MAX_KEY) {
            memcpy(key, m->forward.p, m->forward.n);
            key[m->forward.n] = '\0';
            dvi_core_forward(c, w, t, key); /* children.c */
        }
        return;
    }
    if (m->fused) {
        dvi_task *t = s_answered(c, w, m->key);
        if (t != NULL) {
            t->nbytes = m->nbytes;
            dvi_core_complete_fused(c, t);
        }
        return;
    }
    dvi_bytes value = m->value;
    if (value.p != NULL && value.n > DVI_INLINE_MAX) {
        value = (dvi_bytes){0};
    }
    s_result_at(c, w, m->key, m->nbytes, value);
}

void
dvi_core_stored(dvi_core *c, dvi_sworker *w, const dvi_msg_stored *m)
{
    dvi_core_bcast_stored(c, w, m->key);
    s_result_at(c, w, m->key, m->nbytes, (dvi_bytes){0});
    dvi_core_moved(c, m->key);
}

void
dvi_core_failed(dvi_core *c, dvi_sworker *w, const dvi_msg_failed *m)
{
    dvi_task *t = s_answered(c, w, m->key);
    if (t == NULL) {
        dvi_core_moved(c, m->key); /* perhaps a MOVE's */
        return;
    }
    dvi_core_run_del(w, t);
    t->where = NULL; /* it answered: nothing more to tell it */
    /* Blamed on the task, the call ran (or never can): a task sent ahead
     * ran on inputs fetched from their peers even if their DONEs, which
     * a peer may hold a moment (later.c), have not come yet. */
    int ran = m->blame == DVI_BLAME_TASK;
    if (!ran && dvi_core_wait_again(c, t)) {
        /* Sent ahead, and an input is not done: an input failed there but
         * runs again (a retry, elsewhere), or a STEAL gave the task back
         * before the input's DONE came. Blameless. */
    } else if (m->blame == DVI_BLAME_STOLEN) {
        dvi_core_place_stolen(c, t, w);
    } else if (m->blame == DVI_BLAME_WORKER && !(t->flags & DVI_TASKF_PINNED) &&
               (w->retiring || ++t->suspicious < DVI_KILLED_AFTER)) {
        /* Not started there: elsewhere. A stopping worker's refusals are
         * no fault of the task's; another's count as a death would. */
        dvi_core_make_ready(c, t);
    } else if (ran && t->retries > 0) {
        t->retries--; /* the user asked for another try */
        DVI_LOG(DVI_LOG_INFO, "SCHED",
                "%s (%s) failed on %s, trying again: "
                "%.*s",
                t->key, t->fn->name, w->id, (int)m->text.n,
                m->text.p ? m->text.p : "");
        if (!dvi_core_wait_again(c, t)) { /* else once its inputs are done */
            dvi_core_make_ready(c, t);
        }
    } else if (m->blame == DVI_BLAME_INPUT && !dvi_core_inputs_held(c, t)) {
        /* An input was lost (the fetcher said LOST first): t waits for it
         * to be computed again. */
    } else if (m->blame == DVI_BLAME_INPUT &&
               ++t->suspicious < DVI_KILLED_AFTER) {
        /* An input vanished on its way but is held elsewhere: again. */
        dvi_core_make_ready(c, t);
    } else {
        char *text = dvi_bytes_dup(m->text);
        DVI_LOG(DVI_LOG_INFO, "SCHED", "%s (%s) failed on %s: %s", t->key,
                t->fn->name, w->id, text && text[0] ? text : "(no reason)");
        dvi_core_fail(c, t, DVI_TASK_ERRED, text);
        free(text);
    }
}
