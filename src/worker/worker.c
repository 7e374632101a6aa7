/* dvi_worker: a worker's tasks and the scheduler's messages. Inputs come
 * from peers through a dvi_fetcher, results stay in a dvi_store, and a
 * dvi_server answers the peers that fetch them. */
#include "worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/attach.h"
#include "common/blob.h"
#include "common/err.h"
#include "common/log.h"
#include "common/map.h"
#include "common/pset.h"
#include "common/trim.h"
#include "executor.h"
#include "funcs.h"
#include "link.h"
#include "proto/conn.h"
#include "proto/fetch.h"
#include "proto/hello.h"
#include "proto/msg.h"
#include "runner.h"
#include "serve.h"
#include "store.h"
#include "worker_impl.h"

/* How long a GET waits at a peer computing the key for its COMPUTE. */
#define S_COMING_WAIT_MS 5000

static void s_submit(dvi_worker *w, dvi_wtask *wt);
static void s_fetch_done(dvi_worker *w, dvi_wfetch *f, dvi_blob *blob,
                         const char *why);

/* ---- Reporting to the scheduler ----------------------------------------- */

static void
s_report_failed(dvi_worker *w, const char *key, int blame, const char *text)
{
    if (w->sched == NULL) {
        return; /* the scheduler is gone; the worker stops this turn */
    }
    dvi_msg_failed m = {.key = key, .blame = (uint64_t)blame};
    m.text = dvi_bytes_of(text);
    dvi_msg_failed_pack(dvi_worker_sched_out(w), &m);
    w->stats.tasks_failed++;
}

void
dvi_wtask_free(dvi_wtask *wt)
{
    dvi_job_free(wt->job);
    free(wt->why);
    free(wt);
}

/* Drops a task that will not run, telling the scheduler so its count of
 * work on this worker stays right. */
static void
s_drop(dvi_worker *w, dvi_wtask *wt, int blame, const char *text)
{
    dvi_map_del(&w->tasks, wt->job->key);
    s_report_failed(w, wt->job->key, blame, text);
    dvi_server_settle(w->server, wt->job->key); /* MISSING to peers */
    /* Tasks sent ahead that wait for this one here fail too, in turn
     * (a queue, not recursion: a dropped chain may be long). */
    dvi_wfetch *fe = dvi_map_del(&w->fetches, wt->job->key);
    if (fe != NULL) {
        fe->why = dvi_strdup(text);
        fe->next_failed = w->failq;
        w->failq = fe;
    }
    dvi_wtask_free(wt);
    if (w->failing) {
        return;
    }
    w->failing = 1;
    while (w->failq) {
        dvi_wfetch *f = w->failq;
        w->failq = f->next_failed;
        char *why = f->why;
        s_fetch_done(w, f, NULL, why); /* frees f */
        free(why);
    }
    w->failing = 0;
}

static void
s_timeout_text(dvi_worker *w, const dvi_job *job, char *buf, size_t size)
{
    snprintf(buf, size, "timed out after %g s (dv_opts.timeout) on worker %s",
             (double)job->timeout_ms / 1000, w->id);
}

/* A call past its time limit errs so, whatever it returned. */
static void
s_timed_out(dvi_worker *w, dvi_job *job)
{
    char text[256];
    s_timeout_text(w, job, text, sizeof(text));
    free(job->error);
    job->error = dvi_strdup(text);
    dvi_blob_rele(job->result);
    job->result = NULL;
}

/* Drops a job of a session lost since it came (see
 * dvi_worker_forget_tasks): the scheduler it would answer is gone, and a
 * task of the same key may have come again. Returns 1 if it was one. */
static int
s_stale(dvi_worker *w, dvi_job *job)
{
    if (job->epoch == w->epoch) {
        return 0;
    }
    DVI_LOG(DVI_LOG_INFO, "WORKER",
            "%s: dropped the late result of %s, a task of a lost session",
            w->id, job->key);
    dvi_wtask *wt = dvi_map_get(&w->tasks, job->key);
    if (wt != NULL && wt->job == job) {
        dvi_map_del(&w->tasks, job->key); /* not forgotten yet */
        dvi_wtask_free(wt);
    } else {
        dvi_job_free(job); /* orphaned: its task record went */
        w->orphans -= w->orphans > 0;
    }
    return 1;
}

/* A job is back from where it ran: its answer to the scheduler, and its
 * result to what waits for it. */
static void
s_job_done(dvi_worker *w, dvi_job *job)
{
    dvi_watch_remove(w->watch, job);
    if (s_stale(w, job)) {
        return;
    }
    if (job->deadline.timed_out) {
        s_timed_out(w, job); /* whatever it returned */
    }
    DVI_LOG(DVI_LOG_DEBUG, "WORKER", "%s: %s (%s) ran in %lld us%s%s", w->id,
            job->key, job->fn->name, (long long)job->us,
            job->error ? ", failed: " : "", job->error ? job->error : "");
    dvi_wtask *wt = dvi_map_del(&w->tasks, job->key);
    uint32_t owed = wt ? wt->owed : 1;
    if (job->forward && !job->error) {
        dvi_worker_forwarded(w, job, owed); /* spawn.c */
    } else if (job->error) {
        for (uint32_t k = 0; k < owed; k++) {
            s_report_failed(w, job->key, DVI_BLAME_TASK, job->error);
        }
    } else {
        dvi_blob *r = job->result;
        dvi_msg_done m = {.key = job->key, .nbytes = r->len};
        /* Not kept: fused, or freed while it ran. DONE says so, or
         * the scheduler would count this worker as a holder. */
        m.fused = dvi_worker_fused(w, job) || (wt != NULL && wt->freed);
        if (!m.fused) {
            dvi_store_put(w->store, job->key, r);
            uint64_t held = dvi_store_count(w->store);
            if (held > w->stats.stored_peak) { /* read by benchmarks */
                __atomic_store_n(&w->stats.stored_peak, held, __ATOMIC_RELAXED);
            }
        }
        /* The result goes back only if a client wants it: else it
         * stays here until someone fetches it. */
        m.us = job->us;
        if (r->len <= DVI_INLINE_MAX && (job->flags & DVI_TASK_WANTED)) {
            m.value = (dvi_bytes){r->data, r->len, NULL};
        }
        dvi_worker_done_send(w, job, &m, owed); /* later.c */
        w->stats.tasks_done++;
    }
    /* Peers' tasks sent ahead of this one, waiting for it. */
    dvi_server_settle(w->server, job->key);
    /* Tasks here that were sent ahead, waiting for this one. */
    dvi_wfetch *fe = dvi_map_del(&w->fetches, job->key);
    if (fe != NULL) {
        s_fetch_done(w, fe, job->error ? NULL : job->result, job->error);
    }
    if (wt) {
        dvi_wtask_free(wt); /* frees job */
    } else {
        dvi_job_free(job);
    }
}

static void
s_on_done(void *ctx, dvi_job *done)
{
    dvi_worker *w = ctx;
    /* The children a DONE names were submitted before it. */
    dvi_client_attach_flush(w->kids);
    for (dvi_job *job = done, *next; job != NULL; job = next) {
        next = job->next;
        dvi_worker_fuse_taken(w, job); /* before its result goes */
        s_job_done(w, job);
    }
}

/* ---- Fetching inputs from peers ----------------------------------------- */

void
dvi_wfetch_free(dvi_wfetch *f)
{
    free(f->key);
    free(f->addr);
    free(f->waiters);
    free(f->slots);
    free(f);
}

/* Tells the scheduler the input key could not be fetched from addr,
 * before the FAILED of the tasks waiting for it: it stops counting that
 * worker as a holder and has the input computed again. */
static void
s_report_lost(dvi_worker *w, const char *key, const char *addr)
{
    if (w->sched) {
        dvi_msg_lost m = {.key = key, .holder = dvi_bytes_of(addr)};
        dvi_msg_lost_pack(dvi_worker_sched_out(w), &m);
    }
}

/* The end of a MOVE: STORED once the result is kept here, else FAILED
 * (after LOST). */
static void
s_moved(dvi_worker *w, const char *key, dvi_blob *blob, const char *why)
{
    if (w->sched == NULL) {
        return;
    }
    dvi_outbox *out = dvi_worker_sched_out(w);
    if (blob != NULL) {
        dvi_store_put(w->store, key, blob);
        dvi_msg_stored st = {.key = key, .nbytes = blob->len};
        dvi_msg_stored_pack(out, &st);
    } else {
        dvi_msg_failed m = {.key = key, .blame = DVI_BLAME_INPUT};
        m.text = dvi_bytes_of(why ? why : "could not be fetched");
        dvi_msg_failed_pack(out, &m);
    }
}

/* An input came, or not, for the tasks waiting for it. A peer computing
 * it that has it not may have changed plans (its call returned a child's
 * future): no LOST, which would drop the result once there. */
static void
s_fetch_done(dvi_worker *w, dvi_wfetch *f, dvi_blob *blob, const char *why)
{
    if (blob == NULL && f->addr[0] && !f->coming) {
        s_report_lost(w, f->key, f->addr);
    }
    if (f->keep) {
        s_moved(w, f->key, blob, why);
    }
    for (size_t i = 0; i < f->n; i++) {
        dvi_wtask *wt = f->waiters[i];
        if (blob) {
            wt->job->inputs[f->slots[i]].blob = dvi_blob_hold(blob);
        } else if (wt->why == NULL) { /* the first failure names it */
            char text[384];
            snprintf(text, sizeof(text), "input '%s' %s %s: %s", f->key,
                     f->addr[0] ? "could not be fetched from" : "failed",
                     f->addr[0] ? f->addr : "here", why ? why : "missing");
            wt->why = dvi_strdup(text);
        }
        if (--wt->nmissing > 0) {
            dvi_worker_fuse_offer(w, wt); /* the last may be a task here */
            continue;
        }
        if (wt->freed) {
            s_drop(w, wt, DVI_BLAME_TASK, "cancelled");
        } else if (wt->why != NULL) {
            s_drop(w, wt, DVI_BLAME_INPUT, wt->why);
        } else {
            s_submit(w, wt);
        }
    }
    dvi_wfetch_free(f);
}

/* Waits for input key of wt, its input slot: from the peer at addr,
 * which may still be computing it (coming), or ("" addr) from a task
 * here. */
static int
s_fetch_add(dvi_worker *w, const char *key, const char *addr, int coming,
            dvi_wtask *wt, uint32_t slot)
{
    dvi_wfetch *f = dvi_map_get(&w->fetches, key);
    if (f == NULL) {
        /* addr "": the input is a task running here; s_on_done hands its
         * result over. */
        uint64_t wait_ms = coming ? S_COMING_WAIT_MS : 0;
        if (addr[0] &&
            dvi_fetcher_get_wait(w->fetcher, key, addr, wait_ms) < 0) {
            s_report_lost(w, key, addr);
            return DV_ECONN;
        }
        f = dvi_calloc(1, sizeof(*f));
        f->key = dvi_strdup(key);
        f->addr = dvi_strdup(addr);
        f->coming = coming;
        dvi_map_put(&w->fetches, f->key, f);
    }
    if (f->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 4;
        f->waiters = dvi_realloc(f->waiters, f->cap * sizeof(*f->waiters));
        f->slots = dvi_realloc(f->slots, f->cap * sizeof(*f->slots));
    }
    f->slots[f->n] = slot;
    f->waiters[f->n++] = wt;
    return 0;
}

/* The fetch of key from addr, taken out of the map, or NULL if none. */
static dvi_wfetch *
s_fetch_take(dvi_worker *w, const char *key, const char *addr)
{
    dvi_wfetch *fe = dvi_map_get(&w->fetches, key);
    if (fe == NULL || strcmp(fe->addr, addr) != 0) {
        return NULL;
    }
    dvi_map_del(&w->fetches, key);
    return fe;
}

static void
s_on_fetched(void *ctx, const char *key, const char *addr, dvi_blob *blob)
{
    dvi_worker *w = ctx;
    dvi_wfetch *fe = s_fetch_take(w, key, addr);
    if (fe != NULL) {
        w->stats.bytes_fetched += blob->len;
        s_fetch_done(w, fe, blob, NULL);
    }
}

static void
s_on_fetch_failed(void *ctx, const char *key, const char *addr, int code,
                  const char *why)
{
    dvi_worker *w = ctx;
    /* Its tasks go back to the scheduler, which places them again. */
    dvi_wfetch *fe = s_fetch_take(w, key, addr);
    if (fe != NULL) {
        s_fetch_done(w, fe, NULL, why);
    }
}

/* ---- Scheduler messages ------------------------------------------------- */

static void
s_submit(dvi_worker *w, dvi_wtask *wt)
{
    wt->job->urgent = dvi_server_awaited(w->server, wt->job->key);
    dvi_runner_submit(w->run, wt->job);
}

/* A task for a COMPUTE, registered under its key, its inputs not yet
 * looked for. */
static dvi_wtask *
s_task_new(dvi_worker *w, const char *key, const char *code,
           const dv_function *func, const char *args, size_t argslen,
           uint64_t flags, uint32_t ndeps)
{
    dvi_wtask *wt = dvi_calloc(1, sizeof(*wt));
    dvi_job *job = dvi_job_new(key, code, args, argslen, ndeps);
    wt->job = job;
    wt->owed = 1;
    job->epoch = w->epoch;
    job->fn = func;
    job->flags = (uint32_t)flags;
    dvi_map_put(&w->tasks, job->key, wt);
    return wt;
}

/* Gives the task its input d ([key, holder address or nil]): from the
 * store, or by waiting for a fetch or a task here. Returns NULL, or what
 * is wrong with it. */
static const char *
s_add_input(dvi_worker *w, dvi_wtask *wt, const msgpack_object *d)
{
    dvi_job *job = wt->job;
    char dk[DVI_MAX_KEY + 1], addr[256];
    if (d->type != MSGPACK_OBJECT_ARRAY || d->via.array.size < 2 ||
        dvi_msg_str(&d->via.array.ptr[0], dk, sizeof(dk)) < 0) {
        return "malformed input in COMPUTE";
    }
    dvi_job_input *in = &job->inputs[job->ninputs++];
    in->key = dvi_strdup(dk);
    dvi_blob *held = dvi_store_get(w->store, dk);
    if (held != NULL) {
        in->blob = dvi_blob_hold(held);
        return NULL;
    }
    if (d->via.array.ptr[1].type == MSGPACK_OBJECT_NIL) {
        /* "Here": held, or still being computed here (sent ahead). If
         * neither, the scheduler is told it is not held here (LOST),
         * so that it computes it again rather than send it here. */
        if (dvi_map_get(&w->tasks, dk) == NULL) {
            s_report_lost(w, dk, w->addr);
            return "an input is neither here nor anywhere else";
        }
        addr[0] = '\0';
    } else if (dvi_msg_str(&d->via.array.ptr[1], addr, sizeof(addr)) < 0) {
        return "malformed input address in COMPUTE";
    }
    /* [key, addr, nbytes, coming]: coming, the peer computes it still. */
    const msgpack_object *coming =
        d->via.array.size >= 4 ? &d->via.array.ptr[3] : NULL;
    int wait = coming && coming->type == MSGPACK_OBJECT_BOOLEAN &&
               coming->via.boolean && addr[0];
    if (s_fetch_add(w, dk, addr, wait, wt, (uint32_t)(in - job->inputs)) < 0) {
        return dv_last_error();
    }
    wt->nmissing++;
    return NULL;
}

/* Reports a function this worker does not have; the reason (set by
 * dvi_funcs_find) says where it looked. */
static void
s_unknown_function(dvi_worker *w, const char *key, const char *fn)
{
    char text[768];
    snprintf(text, sizeof(text), "unknown function '%s' on worker %s: %s", fn,
             w->id, dv_last_error());
    s_report_failed(w, key, DVI_BLAME_TASK, text);
}

static int
s_on_compute(dvi_worker *w, const msgpack_object *f, uint32_t n)
{
    dvi_msg_compute m;
    if (dvi_msg_compute_read(f, n, &m) < 0) {
        return DV_EPROTO;
    }
    const char *key = m.key, *fn = m.fn;
    char code[DVI_CODE_MAX];
    dvi_bytes_str(m.code, code, sizeof(code));
    const char *args = m.args.p;
    size_t argslen = m.args.n;
    uint64_t flags = m.flags;
    dvi_wtask *known = dvi_map_get(&w->tasks, key);
    if (known != NULL) {
        /* Sent again after a cancel while it still runs: keep the result
         * this time, and answer each COMPUTE. */
        known->owed++;
        known->freed = 0;
        if (known->nmissing == 0) {
            dvi_watch_uncancel(w->watch, known->job);
        }
        return 0;
    }
    static const dv_function forward = {"(continuation)", NULL, 0, 0};
    const dv_function *func = (flags & DVI_TASK_FORWARD)
                                  ? &forward
                                  : dvi_funcs_find(w->funcs, code, fn);
    const msgpack_object_array *deps = m.inputs;
    if (func == NULL || ((flags & DVI_TASK_FORWARD) && deps->size != 1)) {
        s_unknown_function(w, key, fn);
        return 0;
    }
    dvi_wtask *wt =
        s_task_new(w, key, code, func, args, argslen, flags, deps->size);
    wt->job->timeout_ms = m.timeout_ms;
    wt->job->priority = m.priority;
    wt->job->kids = w->kids;
    const char *problem = NULL;
    for (uint32_t i = 0; i < deps->size && problem == NULL; i++) {
        problem = s_add_input(w, wt, &deps->ptr[i]);
    }
    if (problem && wt->nmissing > 0) {
        /* Dropped when its fetches come back, with this reason. */
        wt->why = dvi_strdup(problem);
    } else if (problem) {
        s_drop(w, wt, DVI_BLAME_INPUT, problem);
    } else if (wt->nmissing == 0) {
        s_submit(w, wt);
    } else {
        dvi_worker_fuse_offer(w, wt); /* fuse.c */
    }
    return 0;
}

static int
s_on_free(dvi_worker *w, const msgpack_object *f, uint32_t n)
{
    dvi_msg_free m;
    if (dvi_msg_free_read(f, n, &m) < 0) {
        return DV_EPROTO;
    }
    dvi_store_delete(w->store, m.key);
    dvi_wtask *wt = dvi_map_get(&w->tasks, m.key);
    if (wt) {
        wt->freed = 1;
        if (wt->nmissing == 0) {
            /* Queued or running: asked to stop, and stopped after the
             * grace if it will not; waiting for its children, at once. */
            dvi_watch_cancel(w->watch, wt->job);
            dvi_client_attach_wake(w->kids);
        }
    }
    return 0;
}

/* MOVE: a leaving worker's result, fetched from it and kept here. */
static int
s_on_move(dvi_worker *w, const msgpack_object *f, uint32_t n)
{
    dvi_msg_move m;
    char addr[128];
    if (dvi_msg_move_read(f, n, &m) < 0 || m.holder.n == 0 ||
        m.holder.n >= sizeof(addr)) {
        return dvi_seterr(DV_EPROTO, "malformed MOVE");
    }
    memcpy(addr, m.holder.p, m.holder.n);
    addr[m.holder.n] = '\0';
    dvi_wfetch *fe = dvi_map_get(&w->fetches, m.key);
    if (fe == NULL) {
        if (dvi_fetcher_get(w->fetcher, m.key, addr) < 0) {
            s_report_lost(w, m.key, addr);
            s_moved(w, m.key, NULL, dv_last_error());
            return 0;
        }
        fe = dvi_calloc(1, sizeof(*fe));
        fe->key = dvi_strdup(m.key);
        fe->addr = dvi_strdup(addr);
        dvi_map_put(&w->fetches, fe->key, fe);
    } else if (fe->keep || fe->addr[0] == '\0') {
        /* Never sent so (only one worker holds what moves): answered. */
        s_moved(w, m.key, NULL, "already being moved or computed here");
        return 0;
    }
    fe->keep = 1; /* one fetching it already for a task here keeps it */
    return 0;
}

static int
s_on_scatter(dvi_worker *w, const msgpack_object *f, uint32_t n)
{
    dvi_msg_scatter m;
    if (dvi_msg_scatter_read(f, n, &m) < 0) {
        return DV_EPROTO;
    }
    dvi_blob *b = dvi_blob_copy(m.value.p, m.value.n);
    dvi_store_put(w->store, m.key, b);
    dvi_blob_rele(b);
    dvi_msg_stored st = {.key = m.key, .nbytes = m.value.n};
    dvi_msg_stored_pack(dvi_worker_sched_out(w), &st);
    return 0;
}

static int
s_on_upload(dvi_worker *w, const msgpack_object *f, uint32_t n)
{
    dvi_msg_upload m;
    char hash[80], name[256];
    if (dvi_msg_upload_read(f, n, &m) < 0 || m.hash.n >= sizeof(hash) ||
        m.name.n >= sizeof(name)) {
        return dvi_seterr(DV_EPROTO, "malformed UPLOAD");
    }
    snprintf(hash, sizeof(hash), "%.*s", (int)m.hash.n, m.hash.p);
    snprintf(name, sizeof(name), "%.*s", (int)m.name.n, m.name.p);
    int rc = dvi_funcs_load(w->funcs, hash, name, m.bytes.p, m.bytes.n);
    dvi_msg_uploaded up = {.hash = dvi_bytes_of(hash), .loaded = rc == 0};
    up.error = dvi_bytes_of(rc == 0 ? NULL : dv_last_error());
    dvi_msg_uploaded_pack(dvi_worker_sched_out(w), &up);
    if (rc < 0) {
        DVI_LOG(DVI_LOG_WARN, "WORKER", "%s", dv_last_error());
    } else {
        DVI_LOG(DVI_LOG_INFO, "WORKER", "%s: loaded library %s (%s)", w->id,
                name, hash);
    }
    return 0;
}

/* ---- Stopping ----------------------------------------------------------- */

/* The executor's finished jobs; a stopping worker may be done. */
static void
s_on_jobs_done(void *ctx, dvi_job *done)
{
    dvi_worker *w = ctx;
    s_on_done(w, done);
    dvi_memwatch_check(w->mem); /* results came: spill or pause now */
    dvi_worker_check_drained(w);
}

int
dvi_worker_on_msg(void *ctx, int type, const msgpack_object *f, uint32_t n)
{
    dvi_worker *w = ctx;
    switch (type) {
    case DVI_MSG_COMPUTE:
        return w->retiring ? dvi_worker_refuse_compute(w, f, n)
                           : s_on_compute(w, f, n);
    case DVI_MSG_FREE: return s_on_free(w, f, n);
    case DVI_MSG_STEAL: return dvi_worker_on_steal(w, f, n);
    case DVI_MSG_SCATTER: return s_on_scatter(w, f, n);
    case DVI_MSG_MOVE: return s_on_move(w, f, n);
    case DVI_MSG_RETIRE: return dvi_worker_on_retire(w, f, n);
    case DVI_MSG_UPLOAD: return s_on_upload(w, f, n);
    case DVI_MSG_WELCOME: return dvi_worker_on_welcome(w, f, n);
    case DVI_MSG_BYE: return dvi_worker_on_bye(w, f, n);
    case DVI_MSG_FINISHED: /* of a child of a task here */
    case DVI_MSG_ERRED: return dvi_client_attach_result(w->kids, type, f, n);
    case DVI_MSG_PING: return dvi_link_on_ping(w->link, f, n);
    case DVI_MSG_PONG: {
        dvi_msg_pong m; /* it arrived: that is all a PONG says */
        return dvi_msg_pong_read(f, n, &m);
    }
    default:
        return dvi_seterr(DV_EPROTO, "unexpected %s from the scheduler",
                          dvi_msg_name(type));
    }
}

/* A call still running at the end of its grace. One past its time limit
 * errs now: the function's fault, not retried as a worker's death. Then
 * the worker stops it if it can (member.c). */
static void
s_on_overdue(void *ctx, dvi_job *job)
{
    dvi_worker *w = ctx;
    dvi_wtask *wt = dvi_map_get(&w->tasks, job->key);
    if (wt == NULL || wt->job != job) {
        return;
    }
    if (job->deadline.timed_out) {
        char text[256];
        s_timeout_text(w, job, text, sizeof(text));
        for (uint32_t k = 0; k < wt->owed; k++) {
            s_report_failed(w, job->key, DVI_BLAME_TASK, text);
        }
        wt->owed = 0; /* a COMPUTE of it from now on is answered at its end */
    }
    dvi_worker_stop_call(w, job);
}

/* ---- Life cycle --------------------------------------------------------- */

dvi_worker *
dvi_worker_new(uv_loop_t *loop, const char *sched_addr, int sched_fd,
               const dvi_worker_opts *opts, dvi_worker_lost_fn lost, void *ctx)
{
    return dvi_worker_new_net(loop, sched_addr, sched_fd, opts, NULL, lost,
                              ctx);
}

static int
s_max_blocked(const dvi_worker_opts *opts)
{
    const char *env = getenv("DROVE_MAX_BLOCKED");
    if (opts->max_blocked > 0) {
        return opts->max_blocked;
    }
    return env && atoi(env) > 0 ? atoi(env) : DVI_MAX_BLOCKED;
}

dvi_worker *
dvi_worker_new_net(uv_loop_t *loop, const char *sched_addr, int sched_fd,
                   const dvi_worker_opts *opts, const dvi_worker_net *net,
                   dvi_worker_lost_fn lost, void *ctx)
{
    static const dvi_worker_net s_defaults;
    net = net ? net : &s_defaults;
    dvi_worker *w = dvi_calloc(1, sizeof(*w));
    w->loop = loop;
    w->lost = lost;
    w->ctx = ctx;
    w->nthreads = opts->nthreads > 0 ? opts->nthreads : 1;
    snprintf(w->id, sizeof(w->id), "%s", opts->id);
    w->resources = opts->resources ? dvi_strdup(opts->resources) : NULL;
    w->store = dvi_store_new();
    w->trim = dvi_trimmer_new(loop);
    dvi_map_init(&w->tasks);
    dvi_map_init(&w->fetches);
    w->funcs = dvi_funcs_new();
    w->tls = net->tls ? dvi_tls_ctx_hold(net->tls) : NULL;
    w->fetcher =
        dvi_fetcher_new(loop, w->id, s_on_fetched, s_on_fetch_failed, w);
    dvi_fetcher_set_tls(w->fetcher, w->tls);
    /* Without a listen address the server starts on the first connection
     * to the scheduler, on the interface that reaches it. */
    if ((net->contact != NULL && dvi_worker_set_contact(w, net->contact) < 0) ||
        (opts->listen != NULL && dvi_worker_listen(w, opts->listen) < 0) ||
        (opts->memory && opts->memory->limit > 0 &&
         (w->mem = dvi_memwatch_new(w, opts->memory)) == NULL)) {
        dvi_worker_destroy(&w);
        return NULL;
    }
    w->cancel_grace_ms = net->cancel_grace_ms > 0   ? net->cancel_grace_ms
                         : net->cancel_grace_ms < 0 ? 0
                                                    : DVI_CANCEL_GRACE_MS;
    w->watch =
        dvi_watch_new(loop, (uint64_t)w->cancel_grace_ms, s_on_overdue, w);
    w->run = dvi_runner_new(loop, w->nthreads, s_max_blocked(opts), w->id,
                            opts->group, w->watch, s_on_jobs_done, w);
    dvi_trimmer_on_done(w->trim, dvi_runner_collect, w->run);
    dvi_worker_kids_init(w);
    dvi_worker_timers_init(w);
    /* HELLO goes out on each connection the link opens. */
    w->link = dvi_link_new(loop, sched_addr, sched_fd,
                           (uint64_t)net->connect_timeout_ms, w->tls,
                           &dvi_worker_link_fns, w);
    if (w->link == NULL) {
        dvi_worker_destroy(&w);
        return NULL;
    }
    dvi_link_set_rejoin(w->link, (uint64_t)net->reconnect_grace_ms,
                        net->sched_addr, net->sched_addr_ctx);
    return w;
}

void
dvi_worker_destroy(dvi_worker **wp)
{
    dvi_worker *w = *wp;
    if (w == NULL) {
        return;
    }
    *wp = NULL;
    /* Calls waiting for children return, and submit no more. */
    dvi_client_attach_stop(w->kids);
    dvi_worker_fuse_withdraw_all(w);
    dvi_runner_destroy(&w->run);
    dvi_client_detach(&w->kids);
    dvi_watch_destroy(&w->watch);
    dvi_link_destroy(&w->link);
    w->sched = NULL;
    dvi_worker_timers_fini(w);
    dvi_server_destroy(&w->server);
    dvi_fetcher_destroy(&w->fetcher);
    dvi_map_entry *e;
    for (size_t i = 0; dvi_map_next(&w->fetches, &i, &e);) {
        dvi_wfetch_free(e->val);
    }
    for (size_t i = 0; dvi_map_next(&w->tasks, &i, &e);) {
        dvi_wtask *wt = e->val;
        /* Jobs handed to the runner were freed with it. */
        if (wt->nmissing > 0 && wt->job != NULL) {
            dvi_job_free(wt->job);
        }
        free(wt);
    }
    dvi_store_destroy(&w->store);
    dvi_memwatch_destroy(&w->mem); /* after the store: its files go */
    dvi_trimmer_destroy(&w->trim);
    dvi_map_fini(&w->tasks);
    dvi_map_fini(&w->fetches);
    dvi_funcs_destroy(&w->funcs);
    dvi_tls_ctx_rele(w->tls);
    free(w->retiring);
    free(w->resources);
    free(w);
}

void
dvi_worker_abandon(dvi_worker **wp)
{
    dvi_worker *w = *wp;
    if (w == NULL) {
        return;
    }
    *wp = NULL;
    dvi_client_attach_abandon(w->kids); /* left for the running calls */
    dvi_runner_abandon(&w->run);
    dvi_watch_destroy(&w->watch);
    dvi_worker_timers_fini(w);
    dvi_link_destroy(&w->link); /* what is queued goes first */
    w->sched = NULL;
    dvi_server_destroy(&w->server);
    dvi_fetcher_destroy(&w->fetcher);
    dvi_trimmer_destroy(&w->trim);
    dvi_memwatch_destroy(&w->mem); /* the spill directory goes now */
    /* The rest stays: running calls may read their inputs (held in the
     * store) and run code of uploaded libraries (funcs). */
}

void
dvi_worker_stats_get(const dvi_worker *w, dvi_worker_stats *out)
{
    *out = w->stats;
    out->bytes_served = w->server ? dvi_server_bytes_served(w->server) : 0;
    out->stored = dvi_store_count(w->store);
}
