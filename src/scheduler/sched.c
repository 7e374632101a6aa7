/* dvi_sched: the scheduler's connections, around the core.
 *
 * Listens, accepts, reads the HELLO that says who a peer is, then hands
 * each message a peer sends to the core (session.c) and ends the turn.
 * The core answers into the peers' outboxes, which their connections
 * flush before the loop sleeps. A peer that sends something malformed is
 * dropped; its going away is an event of the core like any other. So is a
 * worker that falls silent (a stopped process, a network cut): heartbeats
 * (beat.h) on every session tell it from a quiet one, and the scheduler
 * drops it after the heartbeat timeout, as if its connection had closed.
 */
#include "sched.h"

#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "common/trim.h"
#include "core.h"
#include "durable.h"
#include "proto/hello.h"
#include "proto/msg.h"
#include "proto/secure.h"
#include "relay.h"
#include "session.h"

#define S_MAX_LISTENERS 4

struct dvi_sched {
    uv_loop_t *loop;
    dvi_core *core;
    dvi_trimmer *trim; /* gives back what forgotten tasks took */
    dvi_listener *listeners[S_MAX_LISTENERS];
    size_t nlisteners;
    dvi_session **peers; /* every connection, for closing */
    size_t npeers;
    dvi_sched_epitaph_fn epitaph; /* how a lost worker died, if known */
    void *epitaph_ctx;
    uint64_t beat_interval_ms;      /* heartbeats, as peers are told in PING */
    uint64_t beat_timeout_ms;       /* silence after which a peer is dropped */
    dvi_durable *durable;           /* --state, or NULL */
    char address[256];              /* the scheduler's, for status */
    dvi_sched_shutdown_fn shutdown; /* stops the loop, or NULL */
    void *shutdown_ctx;
    uv_timer_t *closing; /* shutting down: waits for the workers to go */
    dvi_relay *relay;    /* results fetched for tunnelled clients */
    uint64_t closing_since;
};

static void s_session_free(dvi_sched *s, dvi_session *p, const char *why);
static void s_turn(dvi_sched *s);

static void
s_peers_remove(dvi_sched *s, dvi_session *p)
{
    for (size_t i = 0; i < s->npeers; i++) {
        if (s->peers[i] == p) {
            s->peers[i] = s->peers[--s->npeers];
            return;
        }
    }
}

/* The worker has been silent for the heartbeat timeout: it is dropped as
 * if its connection had closed. Should it come back (SIGCONT, the network
 * healed), BYE tells it why, and nothing it sends reaches the core: the
 * session is gone, so it must rejoin as a fresh worker. */
static void
s_on_silent(void *ctx, const char *why)
{
    dvi_session *p = ctx;
    dvi_sched *s = p->sched;
    dvi_conn *conn = p->conn;
    char text[256];
    DVI_LOG(DVI_LOG_NOTICE, "SCHED", "%s %s at %s: %s: dropping it",
            p->worker ? "worker" : "client",
            p->worker ? dvi_sworker_id(p->worker) : dvi_sclient_name(p->client),
            dvi_conn_peer(conn), why);
    snprintf(text, sizeof(text), "declared lost: %s", why);
    dvi_msg_bye bye = {.reason = dvi_bytes_of(text)};
    dvi_msg_bye_pack(dvi_conn_outbox(conn), &bye);
    snprintf(text, sizeof(text), "no heartbeat: %s", why);
    s_session_free(s, p, text);
    dvi_conn_close(conn);
    s_turn(s);
}

static int
s_on_hello(dvi_sched *s, dvi_session *p, const msgpack_object *f, uint32_t n)
{
    dvi_hello h;
    int rc = dvi_hello_parse(f, n, &h);
    if (rc == DV_EVERSION) {
        dvi_msg_bye bye = {.reason = dvi_bytes_of("protocol version "
                                                  "mismatch")};
        dvi_msg_bye_pack(dvi_conn_outbox(p->conn), &bye);
        dvi_conn_flush(p->conn);
    }
    if (rc < 0) {
        return rc;
    }
    dvi_outbox *out = dvi_conn_outbox(p->conn);
    if (h.role != DVI_ROLE_WORKER && h.role != DVI_ROLE_CLIENT) {
        return dvi_seterr(DV_EPROTO, "HELLO with unknown role %llu",
                          (unsigned long long)h.role);
    }
    /* A certificate says what its holder may be: a client's cannot join
     * as a worker and receive other clients' tasks. */
    int cert = dvi_conn_peer_role(p->conn);
    int want =
        h.role == DVI_ROLE_WORKER ? DVI_PKI_ROLE_WORKER : DVI_PKI_ROLE_CLIENT;
    if (cert != DVI_SECURE_TRUSTED && cert != want) {
        return dvi_seterr(DV_EAUTH,
                          "authentication failed: %s has a %s certificate "
                          "and said it is a %s",
                          dvi_conn_peer(p->conn), dvi_pki_role_name(cert),
                          dvi_pki_role_name(want));
    }
    int in_process = dvi_conn_stream(p->conn)->in_process;
    if (h.role == DVI_ROLE_WORKER) {
        if (h.threads == 0 || h.threads > 4096 || h.addr[0] == '\0') {
            return dvi_seterr(DV_EPROTO, "worker HELLO without threads or "
                                         "address");
        }
        p->worker = dvi_core_worker_join(s->core, h.id, h.addr, (int)h.threads,
                                         out, in_process);
        DVI_LOG(DVI_LOG_NOTICE, "SCHED",
                "worker %s joined from %s (%d threads, peers at %s)",
                dvi_sworker_id(p->worker), dvi_conn_peer(p->conn),
                (int)h.threads, h.addr);
    } else {
        p->client = dvi_core_client_join(s->core, out, in_process);
        DVI_LOG(DVI_LOG_INFO, "SCHED", "%s connected from %s",
                dvi_sclient_name(p->client), dvi_conn_peer(p->conn));
    }
    p->role = (int)h.role;
    dvi_conn_handshake_done(p->conn);
    if (s->beat_interval_ms > 0) {
        /* The first PING follows WELCOME: it tells the peer the settings
         * to expect, and to hold the scheduler to. A silent client is
         * pinged but kept: it costs no worker anything, and one stopped in
         * a debugger must find its work on resuming (a cut-off one goes
         * when TCP gives up on the PINGs). */
        p->beat =
            dvi_beat_new(s->loop, p->conn, s->beat_interval_ms,
                         s->beat_timeout_ms, p->worker ? s_on_silent : NULL, p);
        dvi_beat_announce(p->beat);
    }
    return 0;
}

static int
s_on_msg(void *ctx, int type, const msgpack_object *f, uint32_t n)
{
    dvi_session *p = ctx;
    if (p->role == 0) {
        if (type != DVI_MSG_HELLO) {
            return dvi_seterr(DV_EPROTO, "%s before HELLO", dvi_msg_name(type));
        }
        return s_on_hello(p->sched, p, f, n);
    }
    return dvi_session_msg(p, type, f, n);
}

/* Ends a turn: the core settles and places, and the trimmer hears how
 * many task records are left. */
static void
s_turn(dvi_sched *s)
{
    dvi_core_turn(s->core);
    dvi_core_stats cs;
    dvi_core_stats_get(s->core, &cs);
    /* A task record with its key, arguments, slot and indices: ~256 B. */
    dvi_trimmer_note(s->trim, cs.tasks * 256);
}

static int
s_on_frame(dvi_conn *conn, const char *buf, size_t len)
{
    dvi_session *p = dvi_conn_data(conn);
    dvi_sched *s = p->sched;
    int rc = dvi_conn_each_msg(conn, buf, len, s_on_msg, p);
    s_turn(s);
    return rc;
}

static void
s_session_free(dvi_sched *s, dvi_session *p, const char *why)
{
    s_peers_remove(s, p);
    dvi_beat_destroy(&p->beat);
    if (p->worker) {
        char how[256];
        const char *id = dvi_sworker_id(p->worker);
        if (s->epitaph &&
            s->epitaph(s->epitaph_ctx, id, how, sizeof(how)) == 0) {
            why = how;
        }
        dvi_core_worker_leave(s->core, p->worker, why);
    }
    if (p->client) {
        dvi_core_client_leave(s->core, p->client);
    }
    free(p);
}

static void
s_on_close(dvi_conn *conn, const char *why)
{
    dvi_session *p = dvi_conn_data(conn);
    dvi_sched *s = p->sched;
    s_session_free(s, p, why);
    s_turn(s);
}

static dvi_session *
s_session_new(dvi_sched *s, dvi_conn *conn)
{
    dvi_session *p = dvi_calloc(1, sizeof(*p));
    p->sched = s;
    p->core = s->core;
    p->conn = conn;
    dvi_conn_set_data(conn, p);
    s->peers = dvi_realloc(s->peers, (s->npeers + 1) * sizeof(*s->peers));
    s->peers[s->npeers++] = p;
    return p;
}

static void
s_on_accept(dvi_listener *l, dvi_conn *conn)
{
    s_session_new(dvi_listener_data(l), conn);
}

/* ---- Life cycle --------------------------------------------------------- */

dvi_sched *
dvi_sched_new(uv_loop_t *loop, const char *const *addrs, size_t n,
              dvi_tls_ctx *tls, char *bound, size_t size)
{
    unsigned roles = DVI_PKI_ROLE_BIT(DVI_PKI_ROLE_WORKER) |
                     DVI_PKI_ROLE_BIT(DVI_PKI_ROLE_CLIENT);
    dvi_sched *s = dvi_calloc(1, sizeof(*s));
    s->loop = loop;
    s->core = dvi_core_new();
    s->trim = dvi_trimmer_new(loop);
    s->relay = dvi_relay_new(s->core, loop, tls);
    for (size_t i = 0; i < n && i < S_MAX_LISTENERS; i++) {
        char b[256];
        dvi_listener *l =
            dvi_listen_secure(loop, addrs[i], tls, roles, s_on_accept,
                              s_on_frame, s_on_close, s, b, sizeof(b));
        if (l == NULL) {
            dvi_sched_destroy(&s);
            return NULL;
        }
        if (i == 0 && bound) {
            snprintf(bound, size, "%s", b);
        }
        s->listeners[s->nlisteners++] = l;
    }
    return s;
}

void
dvi_sched_set_heartbeat(dvi_sched *s, uint64_t interval_ms, uint64_t timeout_ms)
{
    s->beat_interval_ms = interval_ms;
    s->beat_timeout_ms = timeout_ms;
}

void
dvi_sched_set_epitaph(dvi_sched *s, dvi_sched_epitaph_fn fn, void *ctx)
{
    s->epitaph = fn;
    s->epitaph_ctx = ctx;
}

void
dvi_sched_set_durable(dvi_sched *s, dvi_durable **d, dvi_tls_ctx *tls)
{
    dvi_durable_start(*d, s->core, s->loop, tls);
    s->durable = *d;
    *d = NULL;
}

int
dvi_sched_adopt_fd(dvi_sched *s, int fd)
{
    dvi_conn *c = dvi_conn_from_fd(s->loop, fd, s_on_frame, s_on_close, NULL);
    if (c == NULL) {
        return DV_ECONN;
    }
    s_session_new(s, c);
    return 0;
}

/* ---- Control ------------------------------------------------------------ */

void
dvi_sched_set_control(dvi_sched *s, const char *address,
                      dvi_sched_shutdown_fn fn, void *ctx)
{
    snprintf(s->address, sizeof(s->address), "%s", address ? address : "");
    s->shutdown = fn;
    s->shutdown_ctx = ctx;
}

static void
s_timer_closed(uv_handle_t *h)
{
    free(h);
}

/* Shutting down: the loop stops once no worker is connected, or after 5
 * s (one that did not hear BYE exits when it finds the scheduler gone). */
static void
s_on_closing(uv_timer_t *t)
{
    dvi_sched *s = t->data;
    size_t workers = 0;
    for (size_t i = 0; i < s->npeers; i++) {
        workers += s->peers[i]->worker != NULL;
    }
    if (workers == 0 || uv_now(s->loop) - s->closing_since > 5000) {
        uv_timer_stop(t);
        s->shutdown(s->shutdown_ctx);
    }
}

static void
s_shut_down(dvi_sched *s)
{
    DVI_LOG(DVI_LOG_NOTICE, "SCHED",
            "shutting down, as a client asked: telling %zu workers to exit",
            dvi_core_nworkers(s->core));
    dvi_msg_bye bye = {.reason = dvi_bytes_of("the scheduler shuts down"),
                       .final = 1};
    for (size_t i = 0; i < s->npeers; i++) {
        if (s->peers[i]->role != 0) {
            dvi_outbox *out = dvi_conn_outbox(s->peers[i]->conn);
            dvi_msg_bye_pack(out, &bye);
            dvi_msg_bye_pack_tail(out, &bye);
        }
    }
    for (size_t i = 0; i < s->nlisteners; i++) {
        dvi_listener_close(s->listeners[i]); /* nobody new */
    }
    s->nlisteners = 0;
    s->closing = dvi_malloc(sizeof(*s->closing));
    uv_timer_init(s->loop, s->closing);
    s->closing->data = s;
    s->closing_since = uv_now(s->loop);
    uv_timer_start(s->closing, s_on_closing, 20, 20);
}

static void
s_reply(dvi_sclient *cl, uint64_t req, int status, const char *text)
{
    dvi_msg_reply r = {.req = req, .status = status};
    r.text = dvi_bytes_of(text);
    dvi_msg_reply_pack(dvi_sclient_outbox(cl), &r);
}

void
dvi_sched_control(dvi_sched *s, dvi_sclient *cl, const dvi_msg_control *m)
{
    char *args = dvi_bytes_dup(m->args);
    char text[512];
    if (dvi_bytes_eq(m->verb, "status")) {
        char *json = dvi_core_status_json(s->core, s->address);
        s_reply(cl, m->req, json ? 0 : DV_ENOMEM, json);
        free(json);
    } else if (dvi_bytes_eq(m->verb, "retire")) {
        int rc =
            dvi_core_retire(s->core, args ? args : "", "a client asked it to");
        if (rc < 0) {
            snprintf(text, sizeof(text), "%s", dv_last_error());
        } else {
            snprintf(text, sizeof(text), "%d", rc); /* how many */
        }
        s_reply(cl, m->req, rc < 0 ? rc : 0, text);
    } else if (dvi_bytes_eq(m->verb, "relay")) {
        dvi_sclient_set_relay(cl, s->relay);
        s_reply(cl, m->req, 0, "");
    } else if (dvi_bytes_eq(m->verb, "shutdown") && s->shutdown != NULL) {
        s_reply(cl, m->req, 0, "shutting down");
        if (s->closing == NULL) {
            s_shut_down(s);
        }
    } else if (dvi_bytes_eq(m->verb, "shutdown")) {
        s_reply(cl, m->req, DV_EPERM,
                "this scheduler ends with its client (an embedded cluster)");
    } else {
        snprintf(text, sizeof(text), "unknown request '%.*s'", (int)m->verb.n,
                 m->verb.p ? m->verb.p : "");
        s_reply(cl, m->req, DV_EINVAL, text);
    }
    free(args);
}

void
dvi_sched_destroy(dvi_sched **sp)
{
    dvi_sched *s = *sp;
    if (s == NULL) {
        return;
    }
    *sp = NULL;
    if (s->closing != NULL) {
        uv_close((uv_handle_t *)s->closing, s_timer_closed);
    }
    for (size_t i = 0; i < s->nlisteners; i++) {
        dvi_listener_close(s->listeners[i]);
    }
    /* What --state queued is written, and its requests answered, while
     * the core and the connections are still there. */
    dvi_durable_destroy(&s->durable);
    /* No events while closing: the core frees its records with itself. */
    for (size_t i = 0; i < s->npeers; i++) {
        dvi_beat_destroy(&s->peers[i]->beat);
        dvi_conn_close(s->peers[i]->conn);
        free(s->peers[i]);
    }
    dvi_relay_destroy(&s->relay);
    dvi_core_destroy(&s->core);
    dvi_trimmer_destroy(&s->trim);
    free(s->peers);
    free(s);
}

const dvi_core *
dvi_sched_core(const dvi_sched *s)
{
    return s->core;
}

void
dvi_sched_set_trace(dvi_sched *s, dvi_trace *t)
{
    dvi_core_set_trace(s->core, t);
}

size_t
dvi_sched_nworkers(const dvi_sched *s)
{
    return dvi_core_nworkers(s->core);
}
