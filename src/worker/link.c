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

struct dvi_link {
    uv_loop_t *loop;
    char *addr; /* the scheduler's address; NULL for an adopted socket */
    int fd;
    dvi_tls_ctx *tls; /* held; NULL: none */
    char name[128];   /* the address, or "fd N", for messages */
    const dvi_link_fns *fns;
    void *ctx;
    dvi_conn *conn; /* the attempt in progress, then the connection */
    int opened;     /* it opened: the scheduler's port accepted it */
    int joined;     /* welcomed: losing the connection is final */
    int ended;      /* lost was called */
    uint64_t timeout_ms;
    uint64_t deadline;  /* loop time (ms) of the end of the attempts */
    uint64_t wait_ms;   /* before the next attempt */
    unsigned attempts;  /* made so far */
    uv_timer_t *retry;  /* the next attempt (malloc'ed, as both timers
                           close after the link is freed) */
    uv_timer_t *expiry; /* fires at the deadline */
    char why[256];      /* why the last attempt failed */
};

static void s_retry_cb(uv_timer_t *t);

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
    char text[512];
    if ((code == DV_ECONN || code == DV_ETIMEDOUT) && l->timeout_ms > 0) {
        snprintf(text, sizeof(text),
                 "no scheduler answered at %s within %.3g s: %s", l->name,
                 (double)l->timeout_ms / 1000, l->why);
    } else if (code == DV_ECONN || code == DV_ETIMEDOUT) {
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
    return l->fns->frame(l->ctx, buf, len);
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

static void
s_on_close(dvi_conn *c, const char *why)
{
    dvi_link *l = dvi_conn_data(c);
    int code = dvi_conn_error(c);
    l->conn = NULL;
    if (l->joined) {
        s_end(l, code, why);
        return;
    }
    s_note_why(l, why);
    uint64_t now = uv_now(l->loop), deadline = l->deadline;
    /* Only a failure of the connection itself is worth another try: a
     * peer that spoke something else, or refused us, would do it again. */
    if (code != DV_ECONN || l->addr == NULL || l->timeout_ms == 0 ||
        now >= deadline) {
        s_give_up(l, code);
        return;
    }
    l->fns->down(l->ctx);
    int level = l->attempts == 1 ? DVI_LOG_NOTICE : DVI_LOG_DEBUG;
    DVI_LOG(level, "WORKER", "%s: %s; trying again for up to %.3g s", l->name,
            l->why, (double)(deadline - now) / 1000);
    uint64_t wait = l->wait_ms < deadline - now ? l->wait_ms : deadline - now;
    l->wait_ms =
        l->wait_ms * 2 < S_MAX_WAIT_MS ? l->wait_ms * 2 : S_MAX_WAIT_MS;
    uv_timer_start(l->retry, s_retry_cb, wait, 0);
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
    dvi_conn_set_on_open(l->conn, s_on_open);
    return 0;
}

static void
s_retry_cb(uv_timer_t *t)
{
    dvi_link *l = t->data;
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
    l->timeout_ms = timeout_ms;
    l->deadline = uv_now(loop) + timeout_ms;
    l->wait_ms = S_FIRST_WAIT_MS;
    l->retry = s_timer_new(l);
    l->expiry = s_timer_new(l);
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
    uv_timer_stop(l->expiry);
}

void
dvi_link_destroy(dvi_link **lp)
{
    dvi_link *l = *lp;
    if (l == NULL) {
        return;
    }
    *lp = NULL;
    dvi_conn_close(l->conn);
    uv_close((uv_handle_t *)l->retry, s_timer_closed);
    uv_close((uv_handle_t *)l->expiry, s_timer_closed);
    dvi_tls_ctx_rele(l->tls);
    free(l->addr);
    free(l);
}
