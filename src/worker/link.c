/* dvi_link: dialling the scheduler again until it answers, or a deadline. */
#include "link.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "drove.h"
#include "proto/secure.h"

#define S_FIRST_WAIT_MS 50
#define S_MAX_WAIT_MS 2000
/* Rejoining: how long one attempt may take to be welcomed. A stopped
 * scheduler's kernel still accepts connections, and a SYN sent into a cut
 * network is retried for minutes: give up on it, and dial afresh. */
#define S_ATTEMPT_MS 5000

struct dvi_link {
    uv_loop_t *loop;
    char *addr; /* the scheduler's address; NULL for an adopted socket */
    int fd;
    dvi_tls_ctx *tls; /* held; NULL: none */
    char name[128];   /* the address, or "fd N", for messages */
    const dvi_link_fns *fns;
    void *ctx;
    dvi_conn *conn;     /* the attempt in progress, then the connection */
    int opened;         /* it opened: the scheduler's port accepted it */
    int joined;         /* welcomed on the connection in use */
    int ended;          /* lost was called */
    int rejoining;      /* the attempts follow the loss of a welcomed one */
    uint64_t grace_ms;  /* to reach it again after losing it; 0: none */
    uint64_t window_ms; /* of the attempts now: the first connect timeout,
                           or grace_ms */
    dvi_link_addr_fn readdr; /* where the scheduler is now, or NULL */
    void *readdr_ctx;
    dvi_beat *beat;      /* heartbeats while joined, once pinged */
    uv_timer_t *attempt; /* rejoining: ends an attempt that hangs */
    char lost_why[256];  /* rejoining: why the welcomed one went */
    uint64_t deadline;   /* loop time (ms) of the end of the attempts */
    uint64_t wait_ms;    /* before the next attempt */
    unsigned attempts;   /* made so far */
    uv_timer_t *retry;   /* the next attempt (malloc'ed, as the timers
                            close after the link is freed) */
    uv_timer_t *expiry;  /* fires at the deadline */
    char why[256];       /* why the last attempt failed */
};

static void s_retry_cb(uv_timer_t *t);
static void s_expiry_cb(uv_timer_t *t);

static void
s_timer_closed(uv_handle_t *h)
{
    free(h);
}

static uv_timer_t *
s_timer_new(dvi_link *l)
{
    uv_timer_t *t = dvi_malloc(sizeof(*t));
    uv_timer_init(l->loop, t);
    t->data = l;
    return t;
}

/* The end of the link: tells the worker why, once. */
static void
s_end(dvi_link *l, int code, const char *why)
{
    uv_timer_stop(l->retry);
    uv_timer_stop(l->expiry);
    uv_timer_stop(l->attempt);
    dvi_beat_destroy(&l->beat);
    if (!l->ended) {
        l->ended = 1;
        l->fns->lost(l->ctx, code, why);
    }
}

/* Gives up before the scheduler welcomed the worker, naming the address
 * and, for a scheduler that never answered, how long it was given. */
static void
s_give_up(dvi_link *l, int code)
{
    char text[768];
    double window = (double)l->window_ms / 1000;
    int silent = code == DV_ECONN || code == DV_ETIMEDOUT;
    if (silent && l->rejoining) {
        snprintf(text, sizeof(text),
                 "lost the scheduler at %s (%s), and it did not come back "
                 "within %.3g s: %s",
                 l->name, l->lost_why, window, l->why);
    } else if (silent && l->window_ms > 0) {
        snprintf(text, sizeof(text),
                 "no scheduler answered at %s within %.3g s: %s", l->name,
                 window, l->why);
    } else if (silent) {
        snprintf(text, sizeof(text), "no scheduler answered at %s: %s", l->name,
                 l->why);
    } else {
        snprintf(text, sizeof(text), "the scheduler at %s: %s", l->name,
                 l->why);
    }
    s_end(l, code, text);
}

static int
s_on_frame(dvi_conn *c, const char *buf, size_t len)
{
    dvi_link *l = dvi_conn_data(c);
    return l->fns->frame(l->ctx, c, buf, len);
}

static void
s_on_open(dvi_conn *c)
{
    dvi_link *l = dvi_conn_data(c);
    l->opened = 1;
    l->fns->open(l->ctx, c);
}

/* Keeps why a connection failed, without the address it starts with (a
 * dial's reason names it; the final message names it once). */
static void
s_note_why(dvi_link *l, const char *why)
{
    size_t n = strlen(l->name);
    if (strncmp(why, l->name, n) == 0 && why[n] == ':' && why[n + 1] == ' ') {
        why += n + 2;
    }
    snprintf(l->why, sizeof(l->why), "%s", why);
}

/* A welcomed connection went: dial again for the rejoin grace, or end. */
static void
s_rejoin(dvi_link *l, int code, const char *why)
{
    l->joined = 0;
    if (l->grace_ms == 0 || l->addr == NULL) {
        s_end(l, code, why);
        return;
    }
    l->rejoining = 1;
    snprintf(l->lost_why, sizeof(l->lost_why), "%s", why);
    l->window_ms = l->grace_ms;
    l->deadline = uv_now(l->loop) + l->grace_ms;
    l->wait_ms = S_FIRST_WAIT_MS;
    l->attempts = 0;
    l->fns->down(l->ctx, 1, code, why);
    DVI_LOG(DVI_LOG_NOTICE, "WORKER",
            "lost the scheduler at %s: %s; dialling it again for up to "
            "%.3g s",
            l->name, why, (double)l->grace_ms / 1000);
    uv_timer_start(l->expiry, s_expiry_cb, l->grace_ms, 0);
    uv_timer_start(l->retry, s_retry_cb, S_FIRST_WAIT_MS, 0);
}

/* The connection went (code, why): another attempt, or the end. */
static void
s_dropped(dvi_link *l, int code, const char *why)
{
    dvi_beat_destroy(&l->beat);
    uv_timer_stop(l->attempt);
    if (l->joined) {
        s_rejoin(l, code, why);
        return;
    }
    s_note_why(l, why);
    uint64_t now = uv_now(l->loop), deadline = l->deadline;
    /* Only a failure of the connection itself is worth another try: a
     * peer that spoke something else, or refused us, would do it again. */
    int again = code == DV_ECONN || (code == DV_ETIMEDOUT && l->rejoining);
    if (!again || l->addr == NULL || l->window_ms == 0 || now >= deadline) {
        s_give_up(l, code);
        return;
    }
    l->fns->down(l->ctx, 0, code, why);
    int level = l->attempts == 1 ? DVI_LOG_NOTICE : DVI_LOG_DEBUG;
    DVI_LOG(level, "WORKER", "%s: %s; trying again for up to %.3g s", l->name,
            l->why, (double)(deadline - now) / 1000);
    uint64_t wait = l->wait_ms < deadline - now ? l->wait_ms : deadline - now;
    l->wait_ms =
        l->wait_ms * 2 < S_MAX_WAIT_MS ? l->wait_ms * 2 : S_MAX_WAIT_MS;
    uv_timer_start(l->retry, s_retry_cb, wait, 0);
}

static void
s_on_close(dvi_conn *c, const char *why)
{
    dvi_link *l = dvi_conn_data(c);
    l->conn = NULL;
    s_dropped(l, dvi_conn_error(c), why);
}

/* Closes the connection in use without calling back, and goes on as if
 * it had failed with code and why. */
static void
s_cut(dvi_link *l, int code, const char *why)
{
    dvi_conn_close(l->conn);
    l->conn = NULL;
    s_dropped(l, code, why);
}

/* The scheduler has sent nothing for its heartbeat timeout. */
static void
s_on_silent(void *ctx, const char *why)
{
    char text[256];
    snprintf(text, sizeof(text), "the scheduler went silent: %s", why);
    s_cut(ctx, DV_ETIMEDOUT, text);
}

static void
s_attempt_cb(uv_timer_t *t)
{
    dvi_link *l = t->data;
    if (l->conn == NULL || l->joined) {
        return;
    }
    char why[160];
    snprintf(why, sizeof(why), "%s within %.3g s",
             l->opened ? "its port accepted the connection but nothing "
                         "answered"
                       : "no answer",
             (double)S_ATTEMPT_MS / 1000);
    s_cut(l, DV_ETIMEDOUT, why);
}

/* Dials (or adopts the socket). Returns 0, or a DV_E* code with the
 * reason set. */
static int
s_attempt(dvi_link *l)
{
    l->attempts++;
    l->opened = 0;
    if (l->addr != NULL) {
        l->conn = dvi_conn_dial_secure(l->loop, l->addr, l->tls,
                                       DVI_PKI_ROLE_BIT(DVI_PKI_ROLE_SCHEDULER),
                                       s_on_frame, s_on_close, l);
    } else {
        l->conn = dvi_conn_from_fd(l->loop, l->fd, s_on_frame, s_on_close, l);
    }
    if (l->conn == NULL) {
        return dvi_last_code();
    }
    if (l->rejoining) {
        uv_timer_start(l->attempt, s_attempt_cb, S_ATTEMPT_MS, 0);
    }
    dvi_conn_set_on_open(l->conn, s_on_open);
    return 0;
}

/* Rejoining: asks where the scheduler is now (a restarted one may have
 * had to take another port, and says so in the profile). */
static void
s_readdr(dvi_link *l)
{
    char a[sizeof(l->name)];
    if (!l->rejoining || l->readdr == NULL ||
        l->readdr(l->readdr_ctx, a, sizeof(a)) < 0 || strcmp(a, l->addr) == 0) {
        return;
    }
    DVI_LOG(DVI_LOG_NOTICE, "WORKER", "the scheduler is now at %s (was %s)", a,
            l->addr);
    free(l->addr);
    l->addr = dvi_strdup(a);
    snprintf(l->name, sizeof(l->name), "%s", a);
}

static void
s_retry_cb(uv_timer_t *t)
{
    dvi_link *l = t->data;
    s_readdr(l);
    int rc = s_attempt(l);
    if (rc < 0) {
        s_note_why(l, dv_last_error());
        s_give_up(l, rc);
    }
}

static void
s_expiry_cb(uv_timer_t *t)
{
    dvi_link *l = t->data;
    if (l->joined || l->ended) {
        return;
    }
    if (l->conn != NULL) {
        /* Still connecting (a silent network), or connected to a port
         * that never answers HELLO. */
        snprintf(l->why, sizeof(l->why), "%s",
                 l->opened ? "its port accepted the connection but nothing "
                             "answered"
                           : "no answer");
        dvi_conn_close(l->conn);
        l->conn = NULL;
    }
    s_give_up(l, DV_ETIMEDOUT);
}

dvi_link *
dvi_link_new(uv_loop_t *loop, const char *addr, int fd, uint64_t timeout_ms,
             dvi_tls_ctx *tls, const dvi_link_fns *fns, void *ctx)
{
    dvi_link *l = dvi_calloc(1, sizeof(*l));
    l->loop = loop;
    l->tls = tls ? dvi_tls_ctx_hold(tls) : NULL;
    l->addr = addr ? dvi_strdup(addr) : NULL;
    l->fd = fd;
    if (addr != NULL) {
        snprintf(l->name, sizeof(l->name), "%s", addr);
    } else {
        snprintf(l->name, sizeof(l->name), "fd %d", fd);
    }
    l->fns = fns;
    l->ctx = ctx;
    l->window_ms = timeout_ms;
    l->deadline = uv_now(loop) + timeout_ms;
    l->wait_ms = S_FIRST_WAIT_MS;
    l->retry = s_timer_new(l);
    l->expiry = s_timer_new(l);
    l->attempt = s_timer_new(l);
    if (timeout_ms > 0 && addr != NULL) {
        uv_timer_start(l->expiry, s_expiry_cb, timeout_ms, 0);
    }
    if (s_attempt(l) < 0) {
        dvi_link_destroy(&l);
        return NULL;
    }
    return l;
}

void
dvi_link_fail(dvi_link *l, int code, const char *why)
{
    dvi_conn_close(l->conn);
    l->conn = NULL;
    s_end(l, code, why);
}

void
dvi_link_joined(dvi_link *l)
{
    l->joined = 1;
    l->rejoining = 0;
    uv_timer_stop(l->expiry);
    uv_timer_stop(l->attempt);
}

void
dvi_link_set_rejoin(dvi_link *l, uint64_t grace_ms, dvi_link_addr_fn addr,
                    void *ctx)
{
    l->grace_ms = grace_ms;
    l->readdr = addr;
    l->readdr_ctx = ctx;
}

int
dvi_link_on_ping(dvi_link *l, const msgpack_object *f, uint32_t n)
{
    if (!l->joined) {
        return dvi_beat_answer(l->conn, f, n);
    }
    return dvi_beat_follow(&l->beat, l->loop, l->conn, f, n, s_on_silent, l);
}

void
dvi_link_destroy(dvi_link **lp)
{
    dvi_link *l = *lp;
    if (l == NULL) {
        return;
    }
    *lp = NULL;
    dvi_beat_destroy(&l->beat);
    dvi_conn_close(l->conn);
    uv_close((uv_handle_t *)l->retry, s_timer_closed);
    uv_close((uv_handle_t *)l->expiry, s_timer_closed);
    uv_close((uv_handle_t *)l->attempt, s_timer_closed);
    dvi_tls_ctx_rele(l->tls);
    free(l->addr);
    free(l);
}
