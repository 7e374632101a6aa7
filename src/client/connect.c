/* The client: connecting, its loop thread, the scheduler's messages, and
 * results fetched from the workers that hold them. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_impl.h"
#include "common/err.h"
#include "common/log.h"
#include "common/profile.h"
#include "common/value.h"
#include "proto/hello.h"
#include "proto/msg.h"
#include "proto/secure.h"
#include "worker/run.h"

#define S_CONNECT_TIMEOUT_S 10.0
#define S_WORKERS_TIMEOUT_S 30.0

uint64_t
dvi_deadline(double timeout_s)
{
    if (timeout_s < 0) {
        return UINT64_MAX;
    }
    return uv_hrtime() + (uint64_t)(timeout_s * 1e9);
}

static int
s_wait_locked(dv_client *c, uint64_t deadline_ns)
{
    if (deadline_ns == UINT64_MAX) {
        uv_cond_wait(&c->cond, &c->lock);
        return 0;
    }
    uint64_t now = uv_hrtime();
    if (now >= deadline_ns) {
        return DV_ETIMEDOUT;
    }
    if (uv_cond_timedwait(&c->cond, &c->lock, deadline_ns - now) != 0) {
        return uv_hrtime() >= deadline_ns ? DV_ETIMEDOUT : 0;
    }
    return 0;
}

int
dvi_client_wait_locked(dv_client *c, uint64_t deadline_ns)
{
    if (c->host != NULL) {
        /* A task waiting for its children: its worker lends a thread
         * until dvi_client_wait_end. */
        int rc = c->host->block(1);
        if (rc < 0) {
            return rc;
        }
    }
    c->nwaiters++;
    int rc = s_wait_locked(c, deadline_ns);
    c->nwaiters--;
    return rc;
}

int
dvi_client_wake_needed_locked(dv_client *c)
{
    int hit = c->waitall_hit;
    c->waitall_hit = 0;
    /* Two dv_wait_all have two targets, of which only one is known. */
    return c->nwaiters > c->nwaitall || c->nwaitall > 1 || hit;
}

void
dvi_client_wait_end(dv_client *c)
{
    if (c->host != NULL) {
        c->host->block(0);
    }
}

int
dvi_client_check_locked(dv_client *c)
{
    if (c->stopping) {
        return dvi_seterr(DV_ECLOSED, "the client is closing");
    }
    if (c->lost && c->welcomed) {
        return dvi_seterr(DV_ELOST, "lost the scheduler at %s: %s",
                          c->sched_addr, c->lost_why);
    }
    if (c->lost) {
        return dvi_seterr(DV_ECONN, "lost the cluster: %s", c->lost_why);
    }
    return 0;
}

/* ---- Results from workers ----------------------------------------------- */

/* A result could not be fetched from addr: the scheduler is told (LOST),
 * stops counting that worker as a holder, has the result computed again
 * if nothing else holds it, and sends FINISHED with a holder again (or
 * ERRED if it cannot be had). Until then the future waits, without a
 * holder. Called with the lock held. */
static void
s_fetch_lost_locked(dv_client *c, dvi_fstate *st, const char *addr,
                    const char *why)
{
    DVI_LOG(DVI_LOG_INFO, "CLIENT", "%s: %s; asking the scheduler again",
            st->key, why);
    st->fetching = 0;
    free(st->addr);
    st->addr = NULL;
    dvi_msg_lost m = {.key = st->key, .holder = dvi_bytes_of(addr)};
    dvi_msg_lost_pack(&c->out, &m);
    dvi_client_queue_locked(c);
    uv_cond_broadcast(&c->cond);
}

void
dvi_client_on_fetched(void *ctx, const char *key, const char *addr,
                      dvi_blob *blob)
{
    dv_client *c = ctx;
    uv_mutex_lock(&c->lock);
    dvi_fstate *st = dvi_map_get(&c->futures, key);
    if (st && st->fetching) {
        /* A large result stays in the frame it came in: no copy. */
        st->fetching = 0;
        st->blob = dvi_blob_hold(blob);
        uv_cond_broadcast(&c->cond);
    }
    uv_mutex_unlock(&c->lock);
}

void
dvi_client_on_fetch_failed(void *ctx, const char *key, const char *addr,
                           int code, const char *why)
{
    dv_client *c = ctx;
    char text[300];
    if (code == DV_ENOTFOUND) {
        snprintf(text, sizeof(text),
                 "the result was lost: the worker that "
                 "held it no longer does");
    } else {
        snprintf(text, sizeof(text),
                 "the result could not be fetched from %s: %s", addr, why);
    }
    uv_mutex_lock(&c->lock);
    dvi_fstate *st = dvi_map_get(&c->futures, key);
    if (st && st->fetching && st->addr && strcmp(st->addr, addr) == 0) {
        s_fetch_lost_locked(c, st, addr, text);
    }
    uv_mutex_unlock(&c->lock);
}

void
dvi_client_fetch(dv_client *c, const char *key, const char *addr)
{
    if (dvi_fetcher_get(c->fetcher, key, addr) == 0) {
        return;
    }
    uv_mutex_lock(&c->lock);
    dvi_fstate *st = dvi_map_get(&c->futures, key);
    if (st && st->fetching) {
        s_fetch_lost_locked(c, st, addr, dv_last_error());
    }
    uv_mutex_unlock(&c->lock);
}

/* ---- Scheduler messages ------------------------------------------------- */

static void s_on_silent(void *ctx, const char *why);

static int
s_on_finished(dv_client *c, const msgpack_object *f, uint32_t n)
{
    dvi_msg_finished m;
    if (dvi_msg_finished_read(f, n, &m) < 0) {
        return DV_EPROTO;
    }
    dvi_fstate *st = dvi_map_get(&c->futures, m.key);
    int again = st && st->status == DV_FINISHED && st->blob == NULL;
    if (st == NULL || (st->status != DV_PENDING && !again)) {
        return 0;
    }
    st->nbytes = m.nbytes;
    if (m.value.p && !st->blob) {
        st->blob = dvi_blob_copy(m.value.p, m.value.n);
    }
    if (m.holder.p && !st->fetching && !st->blob) { /* where to fetch */
        free(st->addr);
        st->addr = dvi_bytes_dup(m.holder);
    }
    if (!again) { /* (held again: the frame's end wakes the fetchers) */
        dvi_fstate_finish_locked(c, st, DV_FINISHED, NULL);
    }
    return 0;
}

static int
s_on_erred(dv_client *c, const msgpack_object *f, uint32_t n)
{
    dvi_msg_erred m;
    if (dvi_msg_erred_read(f, n, &m) < 0) {
        return DV_EPROTO;
    }
    dvi_fstate *st = dvi_map_get(&c->futures, m.key);
    /* A finished result whose bytes were lost and cannot be computed
     * again errs after all. */
    int lost = st && st->status == DV_FINISHED && st->blob == NULL;
    if (st == NULL || (st->status != DV_PENDING && !lost)) {
        return 0;
    }
    if (lost) {
        st->fetching = 0;
        __atomic_store_n(&st->status, DV_PENDING, __ATOMIC_RELEASE);
    }
    char *text = dvi_bytes_dup(m.text);
    dvi_fstate_finish_locked(
        c, st, m.status == DV_CANCELLED ? DV_CANCELLED : DV_ERRED, text);
    free(text);
    return 0;
}

int
dvi_client_on_result_locked(dv_client *c, int type, const msgpack_object *f,
                            uint32_t n)
{
    return type == DVI_MSG_FINISHED ? s_on_finished(c, f, n)
                                    : s_on_erred(c, f, n);
}

static int
s_on_workers(dv_client *c, const msgpack_object *f, uint32_t n)
{
    dvi_msg_workers m;
    if (dvi_msg_workers_read(f, n, &m) < 0) {
        return DV_EPROTO;
    }
    for (size_t i = 0; i < c->nworkers; i++) {
        free(c->workers[i]);
    }
    c->nworkers = 0;
    const msgpack_object_array *a = m.ids;
    c->workers = dvi_realloc(c->workers, (a->size + 1) * sizeof(char *));
    for (uint32_t i = 0; i < a->size; i++) {
        char id[128];
        if (dvi_msg_str(&a->ptr[i], id, sizeof(id)) == 0) {
            c->workers[c->nworkers++] = dvi_strdup(id);
        }
    }
    return 0;
}

static int
s_on_msg_locked(dv_client *c, int type, const msgpack_object *f, uint32_t n)
{
    switch (type) {
    case DVI_MSG_FINISHED:
    case DVI_MSG_ERRED: return dvi_client_on_result_locked(c, type, f, n);
    case DVI_MSG_UPLOADED:
    case DVI_MSG_REPLY: return dvi_request_answer_locked(c, type, f, n);
    case DVI_MSG_WORKERS: return s_on_workers(c, f, n);
    case DVI_MSG_WELCOME: c->welcomed = 1; return 0;
    case DVI_MSG_PING:
        return dvi_beat_follow(&c->beat, c->loop, c->conn, f, n, s_on_silent,
                               c);
    case DVI_MSG_PONG: {
        dvi_msg_pong m; /* it arrived: that is all a PONG says */
        return dvi_msg_pong_read(f, n, &m);
    }
    case DVI_MSG_BYE: {
        dvi_msg_bye m;
        if (dvi_msg_bye_read(f, n, &m) < 0) {
            return DV_EPROTO;
        }
        return dvi_seterr(DV_ECONN, "the scheduler refused us: %.*s",
                          (int)m.reason.n, m.reason.p ? m.reason.p : "");
    }
    default:
        return dvi_seterr(DV_EPROTO, "unexpected %s from the scheduler",
                          dvi_msg_name(type));
    }
}

typedef struct s_frame {
    dv_client *c;
    int wake; /* some waiter wants to look again */
} s_frame;

/* One message of a frame from the scheduler, under the lock: taken for
 * each message, not the frame, so that a thread submitting waits for the
 * lock no longer than a message takes (and not for the decoding at all). */
static int
s_on_msg(void *ctx, int type, const msgpack_object *f, uint32_t n)
{
    s_frame *fr = ctx;
    dv_client *c = fr->c;
    dvi_client_lock_loop(c);
    int rc = s_on_msg_locked(c, type, f, n);
    fr->wake |= dvi_client_wake_needed_locked(c);
    uv_mutex_unlock(&c->lock);
    return rc;
}

static int
s_on_frame(dvi_conn *conn, const char *buf, size_t len)
{
    s_frame fr = {dvi_conn_data(conn), 0};
    int rc = dvi_conn_each_msg(conn, buf, len, s_on_msg, &fr);
    if (fr.wake) { /* once, after the lock: woken under it, they would block */
        uv_cond_broadcast(&fr.c->cond);
    }
    return rc;
}

/* The connection to the scheduler is gone (code, why): every pending
 * future and request fails, naming the scheduler. Loop thread. */
static void
s_lost(dv_client *c, int code, const char *why)
{
    dvi_beat_destroy(&c->beat);
    uv_mutex_lock(&c->lock);
    if (!c->stopping) {
        /* The reason names the scheduler once, not twice. */
        size_t n = strlen(c->sched_addr);
        if (n > 0 && strncmp(why, c->sched_addr, n) == 0 && why[n] == ':') {
            why += n + (why[n + 1] == ' ' ? 2 : 1);
        }
        c->lost = 1;
        c->lost_code = code;
        snprintf(c->lost_why, sizeof(c->lost_why), "%s", why);
        char text[400];
        snprintf(text, sizeof(text), "lost the scheduler at %s: %s",
                 c->sched_addr, why);
        dvi_map_entry *e;
        for (size_t i = 0; dvi_map_next(&c->futures, &i, &e);) {
            dvi_fstate *st = e->val;
            if (st->status == DV_PENDING) {
                st->elost = c->welcomed;
                dvi_fstate_finish_locked(c, st, DV_LOST, text);
            }
        }
        dvi_request_fail_all_locked(c, text);
    }
    uv_cond_broadcast(&c->cond);
    uv_mutex_unlock(&c->lock);
}

static void
s_on_close(dvi_conn *conn, const char *why)
{
    dv_client *c = dvi_conn_data(conn);
    c->conn = NULL;
    s_lost(c, dvi_conn_error(conn), why);
}

/* The scheduler has sent nothing for its heartbeat timeout: it is lost
 * as if its connection had closed (a stopped or cut-off scheduler may
 * never close it). */
static void
s_on_silent(void *ctx, const char *why)
{
    dv_client *c = ctx;
    char text[256];
    snprintf(text, sizeof(text), "it went silent: %s", why);
    dvi_conn *conn = c->conn;
    c->conn = NULL;
    s_lost(c, DV_ETIMEDOUT, text);
    dvi_conn_close(conn);
}

/* ---- The loop thread ---------------------------------------------------- */

size_t
dvi_client_take_fetchq_locked(dv_client *c, char ***keys, char ***addrs)
{
    size_t nf = c->nfetchq;
    *keys = *addrs = NULL;
    if (nf > 0) {
        *keys = dvi_malloc(nf * sizeof(char *));
        *addrs = dvi_malloc(nf * sizeof(char *));
        for (size_t i = 0; i < nf; i++) {
            (*keys)[i] = dvi_strdup(c->fetchq[i]->key);
            (*addrs)[i] = dvi_strdup(c->fetchq[i]->addr);
        }
        c->nfetchq = 0;
    }
    return nf;
}

static void
s_shutdown(dv_client *c)
{
    dvi_beat_destroy(&c->beat);
    dvi_conn_close(c->conn);
    c->conn = NULL;
    dvi_fetcher_destroy(&c->fetcher);
    dvi_embedded_stop(&c->embedded);
    uv_close((uv_handle_t *)&c->wake, NULL);
}

static void
s_wake_cb(uv_async_t *a)
{
    dv_client *c = a->data;
    dvi_client_lock_loop(c);
    int stopping = c->stopping;
    if (c->conn != NULL &&
        dvi_client_take_batch_locked(c, dvi_conn_outbox(c->conn), stopping)) {
        /* The next batch goes next turn, once the scheduler has this one;
         * a closing client sends them all. Usually a hand-over of the
         * buffers, not a copy. */
        uv_async_send(&c->wake);
    }
    char **keys = NULL, **addrs = NULL;
    size_t nf = dvi_client_take_fetchq_locked(c, &keys, &addrs);
    uv_mutex_unlock(&c->lock);
    for (size_t i = 0; i < nf; i++) {
        dvi_client_fetch(c, keys[i], addrs[i]);
        free(keys[i]);
        free(addrs[i]);
    }
    free(keys);
    free(addrs);
    if (stopping) {
        s_shutdown(c);
    }
}

static void
s_thread(void *arg)
{
    dv_client *c = arg;
    if (c->embedded != NULL) {
        dvi_alloc_this_thread(); /* its scheduler and workers trim */
    }
    /* Returns once s_shutdown has closed everything (and an embedded
     * cluster's children have gone); s_stop tears the loop down. */
    dvi_runtime_run(c->rt);
}

/* ---- Connecting --------------------------------------------------------- */

void
dvi_client_free(dv_client *c)
{
    dvi_ascompleted_free(c);
    dvi_future_free_all(c);
    dvi_fninfo_free_all(c);
    dvi_map_fini(&c->futures);
    for (size_t i = 0; i < c->nworkers; i++) {
        free(c->workers[i]);
    }
    free(c->workers);
    dvi_request_free_all(c);
    dvi_tunnel_close(&c->tunnel);
    free(c->fetchq);
    dvi_client_take_batch_locked(c, NULL, 1);
    dvi_outbox_fini(&c->out);
    dvi_tls_ctx_destroy(&c->tls);
    uv_mutex_destroy(&c->lock);
    uv_cond_destroy(&c->cond);
    free(c);
}

dv_client *
dvi_client_new(uv_loop_t *loop, uv_async_cb wake)
{
    static uv_once_t once = UV_ONCE_INIT;
    uv_once(&once, (void (*)(void))sodium_init);
    dv_client *c = dvi_calloc(1, sizeof(*c));
    c->loop = loop;
    dvi_client_lock_init(c);
    uv_cond_init(&c->cond);
    dvi_outbox_init(&c->out, NULL, NULL);
    c->batches_tail = &c->batches;
    dvi_map_init(&c->futures);
    dvi_map_init(&c->fninfo);
    dvi_pset_init(&c->live);
    uv_async_init(c->loop, &c->wake, wake);
    c->wake.data = c;
    c->fetcher = dvi_fetcher_new(c->loop, "client", dvi_client_on_fetched,
                                 dvi_client_on_fetch_failed, c);
    randombytes_buf(&c->nonce, sizeof(c->nonce));
    randombytes_buf(c->owner, sizeof(c->owner));
    return c;
}

static dv_client *
s_new(void)
{
    dvi_runtime *rt = dvi_runtime_new();
    if (rt == NULL) {
        return NULL;
    }
    dv_client *c = dvi_client_new(dvi_runtime_loop(rt), s_wake_cb);
    c->rt = rt;
    return c;
}

static int
s_dial(dv_client *c, const char *addr)
{
    snprintf(c->sched_addr, sizeof(c->sched_addr), "%s", addr);
    c->conn = dvi_conn_dial_secure(c->loop, addr, c->tls,
                                   DVI_PKI_ROLE_BIT(DVI_PKI_ROLE_SCHEDULER),
                                   s_on_frame, s_on_close, c);
    if (c->conn == NULL) {
        return dvi_last_code();
    }
    dvi_hello_send(c->conn, DVI_ROLE_CLIENT, "client", 0, NULL);
    if (c->tunnel != NULL) {
        /* Workers are out of reach: results come through the scheduler
         * (the answer, to request 0, is dropped). */
        dvi_msg_control m = {.verb = dvi_bytes_of("relay")};
        m.args = dvi_bytes_of("");
        dvi_msg_control_pack(dvi_conn_outbox(c->conn), &m);
    }
    return 0;
}

/* Dials addr (NULL: the scheduler profile name's connection file names)
 * with the client certificate of that profile (NULL: $DROVE_PROFILE,
 * else "default"). Returns 0, or DV_EAUTH when tcp needs credentials the
 * profile lacks, or another DV_E* code; the reason names the profile. */
static int
s_dial_profile(dv_client *c, const char *name, const char *addr)
{
    dvi_profile p;
    dvi_profile_conn pc;
    if (dvi_profile_init(&p, name) < 0) {
        return dvi_last_code();
    }
    if (addr == NULL) {
        int rc = dvi_profile_read_conn(&p, &pc);
        if (rc == DV_ENOTFOUND) {
            return dvi_seterr(DV_ENOTFOUND,
                              "profile '%s' (%s) has no connection file: "
                              "start `drove scheduler --profile %s` first",
                              p.name, p.dir, p.name);
        }
        if (rc < 0) {
            return rc;
        }
        addr = pc.client_addr;
    }
    c->tls = dvi_secure_identity(&p, DVI_PKI_ROLE_CLIENT);
    if (c->tls == NULL && dvi_secure_needs_tls(addr)) {
        char why[512];
        snprintf(why, sizeof(why), "%s", dv_last_error());
        return dvi_seterr(DV_EAUTH, "cannot connect to %s: %s", addr, why);
    }
    dvi_fetcher_set_tls(c->fetcher, c->tls);
    return s_dial(c, addr);
}

/* Stops the loop thread and frees everything; c may be half-built. */
static void
s_stop(dv_client *c, int started)
{
    uv_mutex_lock(&c->lock);
    c->stopping = 1;
    uv_mutex_unlock(&c->lock);
    if (started) {
        uv_async_send(&c->wake);
        uv_thread_join(&c->thread);
    } else {
        s_shutdown(c);
    }
    /* The loop thread has ended (or never ran): this thread finishes the
     * loop, letting an embedded cluster's children exit first. */
    dvi_runtime_destroy(&c->rt);
    dvi_client_free(c);
}

/* Starts an embedded cluster, or dials the scheduler where names. */
static int
s_start(dv_client *c, const char *where)
{
    if (strncmp(where, "local", 5) == 0 &&
        (where[5] == '\0' || where[5] == ':')) {
        c->embedded = dvi_embedded_start(c->loop, where);
        if (c->embedded == NULL) {
            return dvi_last_code();
        }
        c->expect_workers = dvi_embedded_nworkers(c->embedded);
        return s_dial(c, dvi_embedded_addr(c->embedded));
    }
    if (strncmp(where, "tcp://", 6) == 0) {
        return s_dial_profile(c, NULL, where);
    }
    if (strcmp(where, "profile") == 0 || strncmp(where, "profile:", 8) == 0) {
        return s_dial_profile(c, where[7] ? where + 8 : NULL, NULL);
    }
    if (strncmp(where, "ssh://", 6) == 0) {
        char name[DVI_PROFILE_NAME_MAX], addr[64];
        int rc = dvi_tunnel_open(where, &c->tunnel, name, sizeof(name), addr,
                                 sizeof(addr));
        return rc < 0 ? rc : s_dial_profile(c, name[0] ? name : NULL, addr);
    }
    return dvi_seterr(DV_EINVAL,
                      "cannot connect to '%s': want local, "
                      "local:threads=N, local:processes=N, tcp://HOST:PORT, "
                      "profile:NAME or ssh://[USER@]HOST[:PORT]/profile:NAME",
                      where);
}

/* How long the scheduler has to answer: $DROVE_CONNECT_TIMEOUT seconds
 * (default 10). A port that accepts and never answers (a silent server, a
 * worker's peer port, a stopped scheduler) fails then, never hangs. */
static double
s_connect_timeout(void)
{
    const char *v = getenv("DROVE_CONNECT_TIMEOUT");
    char *end;
    double t = v ? strtod(v, &end) : 0;
    return v && *v && *end == '\0' && t > 0 ? t : S_CONNECT_TIMEOUT_S;
}

/* Waits for the scheduler's welcome, then for an embedded cluster's
 * workers (given longer: they are processes starting), so the first
 * submissions spread over all of them. Returns 0, or DV_ECONN with the
 * reason set. */
static int
s_wait_ready(dv_client *c, const char *where)
{
    double timeout = s_connect_timeout();
    uint64_t deadline = dvi_deadline(timeout);
    uv_mutex_lock(&c->lock);
    while (!c->lost && !c->welcomed &&
           dvi_client_wait_locked(c, deadline) != DV_ETIMEDOUT) {
    }
    deadline = dvi_deadline(
        timeout > S_WORKERS_TIMEOUT_S ? timeout : S_WORKERS_TIMEOUT_S);
    while (!c->lost && c->welcomed && c->nworkers < (size_t)c->expect_workers &&
           dvi_client_wait_locked(c, deadline) != DV_ETIMEDOUT) {
    }
    int ok =
        c->welcomed && !c->lost && c->nworkers >= (size_t)c->expect_workers;
    int code = c->lost && c->lost_code == DV_EAUTH ? DV_EAUTH : DV_ECONN;
    char why[400];
    if (c->lost) {
        snprintf(why, sizeof(why), "%s: %s", where, c->lost_why);
    } else if (!c->welcomed) {
        snprintf(why, sizeof(why),
                 "%s: no answer from a drove scheduler within %g s (the "
                 "port accepts connections but does not answer: another "
                 "program, a worker's peer port, or a stopped scheduler; "
                 "$DROVE_CONNECT_TIMEOUT sets the wait)",
                 where, timeout);
    } else {
        snprintf(why, sizeof(why), "%s: %zu of %d workers started", where,
                 c->nworkers, c->expect_workers);
    }
    uv_mutex_unlock(&c->lock);
    return ok ? 0 : dvi_seterr(code, "cannot connect to %s", why);
}

static dv_client *s_connect(const char *where, const char *reason);

dv_client *
dv_connect(const char *where)
{
    dvi_worker_role_check();
    if (where != NULL && where[0] != '\0') {
        return s_connect(where, "as dv_connect was asked");
    }
    char pick[256], why[400];
    int rc = dvi_scheme_pick(pick, sizeof(pick), why, sizeof(why));
    if (rc < 0) {
        return NULL;
    }
    if (rc == 0) {
        dv_client *c = s_connect(pick, why);
        if (c == NULL) { /* say which scheme was meant */
            char err[512];
            snprintf(err, sizeof(err), "%s", dv_last_error());
            dvi_seterr(dv_last_code(), "%s: %s", why, err);
        }
        return c;
    }
    /* auto: the selected profile's cluster if one runs. */
    dvi_scheme_cluster(pick, sizeof(pick));
    dv_client *c = s_connect(pick, "DROVE_SCHEME=auto: a cluster of the "
                                   "selected profile runs");
    if (c != NULL) {
        return c;
    }
    char err[256];
    snprintf(err, sizeof(err), "%s", dv_last_error());
    dvi_scheme_fallback(pick, sizeof(pick), why, sizeof(why), err);
    return s_connect(pick, why);
}

/* Connects to where, its scheme chosen for reason. */
static dv_client *
s_connect(const char *where, const char *reason)
{
    dv_client *c = s_new();
    if (c == NULL) {
        return NULL;
    }
    int rc = s_start(c, where);
    if (rc < 0) {
        char why[512];
        snprintf(why, sizeof(why), "%s", dv_last_error());
        s_stop(c, 0);
        dvi_seterr(rc, "%s", why);
        return NULL;
    }
    snprintf(c->scheme, sizeof(c->scheme), "%s", dvi_scheme_of(where));
    snprintf(c->scheme_why, sizeof(c->scheme_why), "%s", reason);
    DVI_LOG(DVI_LOG_INFO, "CLIENT", "scheme %s (%s): %s", c->scheme, where,
            reason);
    uv_thread_create(&c->thread, s_thread, c);
    if ((rc = s_wait_ready(c, where)) < 0) {
        char why[512];
        snprintf(why, sizeof(why), "%s", dv_last_error());
        s_stop(c, 1);
        dvi_seterr(rc, "%s", why);
        return NULL;
    }
    return c;
}

void
dv_close(dv_client *c)
{
    if (c == NULL) {
        return;
    }
    s_stop(c, 1);
}

/* ---- Cluster information ------------------------------------------------ */

int
dv_nworkers(dv_client *c)
{
    if (c == NULL) {
        return dvi_seterr(DV_EINVAL, "dv_nworkers: no client");
    }
    uv_mutex_lock(&c->lock);
    int rc = dvi_client_check_locked(c);
    if (rc == 0) {
        rc = (int)c->nworkers;
    }
    uv_mutex_unlock(&c->lock);
    return rc;
}

int
dv_worker_id(dv_client *c, int i, char *buf, size_t size)
{
    if (c == NULL || buf == NULL || size == 0) {
        return dvi_seterr(DV_EINVAL, "dv_worker_id: bad arguments");
    }
    uv_mutex_lock(&c->lock);
    int rc = 0;
    if (i < 0 || (size_t)i >= c->nworkers) {
        rc = dvi_seterr(DV_ENOTFOUND, "no worker %d (there are %zu)", i,
                        c->nworkers);
    } else {
        snprintf(buf, size, "%s", c->workers[i]);
    }
    uv_mutex_unlock(&c->lock);
    return rc;
}
