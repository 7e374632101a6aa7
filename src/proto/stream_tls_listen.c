/* The TLS listener and dialing helper.
 *
 * A TLS listener wraps an inner listener of any transport. Each stream
 * the inner listener accepts is wrapped as the accepting side and its
 * handshake begun here; only a stream whose handshake succeeded is handed
 * to the listener's user, open, with its peer's role known. A peer that
 * fails (another CA, no certificate, a role not accepted, plaintext,
 * garbage, silence past the deadline) never reaches the user: it is
 * closed here and reported to the refused callback, or logged. So a
 * daemon never spends anything on a peer it has not authenticated.
 *
 * Which addresses get TLS is secure.c's decision.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "drove.h"
#include "stream_tls.h"

typedef struct s_listener {
    dvi_stream_listener base; /* name: the inner's */
    dvi_stream_listener *inner;
    dvi_tls_ctx *ctx; /* held */
    unsigned roles;   /* the peer roles accepted */
    dvi_tls_refused_fn refused;
    dvi_stream **hs; /* streams in their handshake, owned */
    size_t nhs, caphs;
} s_listener;

/* ---- Listening ---------------------------------------------------------- */

static void
s_forget(s_listener *l, dvi_stream *s)
{
    for (size_t i = 0; i < l->nhs; i++) {
        if (l->hs[i] == s) {
            l->hs[i] = l->hs[--l->nhs];
            return;
        }
    }
}

static void
s_handed(void *owner, dvi_stream *s, const char *why)
{
    s_listener *l = owner;
    s_forget(l, s);
    if (why == NULL) {
        l->base.on_accept(l->base.ctx, s);
        return;
    }
    if (l->refused != NULL) {
        l->refused(l->base.ctx, s->peer, why);
    } else {
        DVI_LOG(DVI_LOG_WARN, "TLS", "%s: refused: %s", l->base.name, why);
    }
    dvi_stream_close(s, NULL);
}

/* How many handshakes of peers at the same IP as peer are under way. */
static size_t
s_same_ip(const s_listener *l, const char *peer)
{
    const char *colon = strrchr(peer, ':');
    size_t n = colon ? (size_t)(colon - peer) : strlen(peer), k = 0;
    for (size_t i = 0; i < l->nhs; i++) {
        const char *o = l->hs[i]->peer;
        k += strncmp(o, peer, n) == 0 && o[n] == ':';
    }
    return k;
}

static void
s_accepted(void *ctx, dvi_stream *inner)
{
    s_listener *l = ctx;
    /* Handshakes cost memory and CPU before the peer proved anything:
     * a flood of them is cut off, as dvi_listen does for HELLOs. */
    if (l->nhs >= DVI_TLS_HANDSHAKES_MAX ||
        s_same_ip(l, inner->peer) >= DVI_TLS_HANDSHAKES_PER_IP) {
        DVI_LOG(DVI_LOG_WARN, "TLS",
                "%s: refused %s: too many handshakes "
                "under way",
                l->base.name, inner->peer);
        dvi_stream_close(inner, NULL);
        return;
    }
    dvi_stream *s = dvi_tls_wrap(l->ctx, inner, 1, l->roles, NULL);
    if (s == NULL) {
        DVI_LOG(DVI_LOG_WARN, "TLS", "%s: %s", l->base.name, dv_last_error());
        return;
    }
    if (l->nhs == l->caphs) {
        l->caphs = l->caphs ? 2 * l->caphs : 8;
        l->hs = dvi_realloc(l->hs, l->caphs * sizeof(*l->hs));
    }
    l->hs[l->nhs++] = s;
    if (dvi_tls_begin(s, s_handed, l) < 0) {
        s_forget(l, s);
        DVI_LOG(DVI_LOG_WARN, "TLS", "%s: %s", l->base.name, dv_last_error());
        dvi_stream_close(s, NULL);
    }
}

static void
s_listener_close(dvi_stream_listener *base)
{
    s_listener *l = (s_listener *)base;
    dvi_stream_listener_close(l->inner);
    for (size_t i = 0; i < l->nhs; i++) {
        dvi_stream_close(l->hs[i], NULL);
    }
    free(l->hs);
    dvi_tls_ctx_rele(l->ctx);
    free(l);
}

static const dvi_stream_listener_ops s_listener_ops = {
    .close = s_listener_close,
};

dvi_stream_listener *
dvi_tls_listen(dvi_tls_ctx *tls, uv_loop_t *loop, const char *addr,
               unsigned peer_roles, dvi_stream_accept_fn on_accept, void *ctx,
               char *bound, size_t size)
{
    s_listener *l = dvi_calloc(1, sizeof(*l));
    char inner_bound[sizeof(l->base.name)];
    l->inner = dvi_stream_listen(loop, addr, s_accepted, l, inner_bound,
                                 sizeof(inner_bound));
    if (l->inner == NULL) {
        free(l);
        return NULL;
    }
    l->base.ops = &s_listener_ops;
    l->base.loop = loop;
    l->base.on_accept = on_accept;
    l->base.ctx = ctx;
    snprintf(l->base.name, sizeof(l->base.name), "%s", inner_bound);
    l->ctx = dvi_tls_ctx_hold(tls);
    l->roles = peer_roles;
    if (bound != NULL) {
        snprintf(bound, size, "%s", l->base.name);
    }
    return &l->base;
}

void
dvi_tls_listener_set_refused(dvi_stream_listener *l, dvi_tls_refused_fn fn)
{
    dvi_assert(l->ops == &s_listener_ops);
    ((s_listener *)l)->refused = fn;
}

/* ---- Dialing ------------------------------------------------------------ */

/* The HOST of "tcp://HOST:PORT", brackets removed. */
static int
s_host_of(const char *addr, char *host, size_t size)
{
    const char *hp = addr + strlen("tcp://");
    const char *colon = strrchr(hp, ':');
    size_t n = colon ? (size_t)(colon - hp) : 0;
    if (strncmp(addr, "tcp://", 6) != 0 || n == 0 || n >= size) {
        return dvi_seterr(DV_EINVAL,
                          "%s: a host can be checked only for tcp://HOST:PORT",
                          addr);
    }
    if (n >= 2 && hp[0] == '[' && hp[n - 1] == ']') {
        hp++;
        n -= 2;
    }
    memcpy(host, hp, n);
    host[n] = '\0';
    return 0;
}

dvi_stream *
dvi_tls_dial(dvi_tls_ctx *tls, uv_loop_t *loop, const char *addr,
             unsigned peer_roles, int check_host)
{
    char host[256];
    if (check_host && s_host_of(addr, host, sizeof(host)) < 0) {
        return NULL;
    }
    dvi_stream *inner = dvi_stream_dial(loop, addr);
    if (inner == NULL) {
        return NULL;
    }
    return dvi_tls_wrap(tls, inner, 0, peer_roles, check_host ? host : NULL);
}
