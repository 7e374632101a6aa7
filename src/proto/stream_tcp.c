/* The tcp:// transport: uv_tcp streams with TCP_NODELAY.
 *
 * Dialing never blocks the loop. A numeric address connects at once; a
 * host name is resolved with uv_getaddrinfo (libuv's thread pool), then
 * each address it yields is tried in order, each on a fresh socket, so
 * "localhost" reaches a listener on 127.0.0.1 even when ::1 comes first.
 * Listening resolves a host name synchronously, which is only acceptable
 * at start-up, before the loop runs: that is the only time drove listens.
 */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "common/err.h"
#include "common/log.h"
#include "drove.h"
#include "stream.h"
#include "stream_uv.h"

/* A dialed stream: the libuv stream, plus the state of getting there. */
typedef struct s_dialer {
    dvi_uvstream u;
    uv_getaddrinfo_t gai;  /* in flight while resolving (u holds for it) */
    uv_connect_t creq;     /* the attempt in flight */
    struct addrinfo *res;  /* what the resolver found, freed when open */
    struct addrinfo *next; /* the next address to try, in res */
    int resolving;         /* gai is in flight */
    int last_err;          /* the last attempt's libuv error */
} s_dialer;

typedef struct s_listener {
    dvi_stream_listener base;
    uv_tcp_t tcp;
} s_listener;

/* ---- Addresses ---------------------------------------------------------- */

/* True when host is an IPv4 or IPv6 literal, which then fills ss. */
static int
s_numeric(const char *host, int port, struct sockaddr_storage *ss)
{
    return uv_ip4_addr(host, port, (struct sockaddr_in *)ss) == 0 ||
           uv_ip6_addr(host, port, (struct sockaddr_in6 *)ss) == 0;
}

/* "tcp://IP:PORT", or "tcp://[IP6]:PORT". */
static void
s_format(const struct sockaddr_storage *ss, char *out, size_t size)
{
    char ip[64] = "?";
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        uv_ip6_name(a, ip, sizeof(ip));
        snprintf(out, size, "tcp://[%s]:%d", ip, ntohs(a->sin6_port));
    } else {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        uv_ip4_name(a, ip, sizeof(ip));
        snprintf(out, size, "tcp://%s:%d", ip, ntohs(a->sin_port));
    }
}

/* Fills s->local with the local end of connected socket t: the interface
 * this host reaches the peer by. */
static void
s_name_local(uv_tcp_t *t, dvi_stream *s)
{
    struct sockaddr_storage ss = {0};
    int sslen = sizeof(ss);
    if (uv_tcp_getsockname(t, (struct sockaddr *)&ss, &sslen) == 0) {
        s_format(&ss, s->local, sizeof(s->local));
    }
}

/* ---- Dialing ------------------------------------------------------------ */

static void
s_fresh_socket(s_dialer *d)
{
    uv_tcp_t *t = dvi_malloc(sizeof(*t));
    uv_tcp_init(d->u.base.loop, t);
    dvi_uvstream_set_handle(&d->u, (uv_stream_t *)t);
}

static void s_connected(uv_connect_t *req, int status);

static void
s_give_up(s_dialer *d)
{
    char why[256];
    snprintf(why, sizeof(why), "%s: %s", d->u.base.peer,
             uv_strerror(d->last_err));
    dvi_stream_error(&d->u.base, why);
}

/* Tries the resolved addresses from d->next on, until one attempt is in
 * flight; gives up when none is left. */
static void
s_try_next(s_dialer *d)
{
    while (d->next != NULL) {
        const struct addrinfo *ai = d->next;
        d->next = ai->ai_next;
        int rc = uv_tcp_connect(&d->creq, (uv_tcp_t *)d->u.h, ai->ai_addr,
                                s_connected);
        if (rc == 0) {
            return;
        }
        d->last_err = rc; /* e.g. no IPv6 here: the next may do */
        s_fresh_socket(d);
    }
    s_give_up(d);
}

static void
s_connected(uv_connect_t *req, int status)
{
    s_dialer *d = req->data;
    if (d->u.ending) {
        return; /* cancelled by close, which frees the rest */
    }
    if (status == 0) {
        uv_tcp_nodelay((uv_tcp_t *)d->u.h, 1);
        s_name_local((uv_tcp_t *)d->u.h, &d->u.base);
        uv_freeaddrinfo(d->res);
        d->res = d->next = NULL;
        dvi_uvstream_opened(&d->u);
        return;
    }
    d->last_err = status;
    if (d->next == NULL) {
        s_give_up(d);
        return;
    }
    /* A socket whose connect failed is not reused: its state is
     * unspecified, and the next address may be of another family. */
    s_fresh_socket(d);
    s_try_next(d);
}

static void
s_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    s_dialer *d = req->data;
    d->resolving = 0;
    if (d->u.ending) {
        uv_freeaddrinfo(res);
    } else if (status < 0) {
        char why[320];
        snprintf(why, sizeof(why), "%s: cannot resolve host: %s",
                 d->u.base.peer, uv_strerror(status));
        dvi_stream_error(&d->u.base, why);
    } else {
        d->res = d->next = res;
        d->last_err = UV_EADDRNOTAVAIL; /* if it found no address at all */
        s_try_next(d);
    }
    dvi_uvstream_rele(&d->u); /* may free d: last */
}

static void
s_cancel(dvi_uvstream *u)
{
    s_dialer *d = (s_dialer *)u;
    if (d->resolving) {
        /* Fails if a thread is already resolving: s_resolved then frees
         * the result when it comes. */
        uv_cancel((uv_req_t *)&d->gai);
    }
}

static void
s_fini(dvi_uvstream *u)
{
    uv_freeaddrinfo(((s_dialer *)u)->res);
}

/* Begins resolving host, or connecting to its literal address. */
static int
s_begin(s_dialer *d, const char *host, int port)
{
    struct sockaddr_storage ss;
    if (s_numeric(host, port, &ss)) {
        return uv_tcp_connect(&d->creq, (uv_tcp_t *)d->u.h,
                              (const struct sockaddr *)&ss, s_connected);
    }
    char service[16];
    snprintf(service, sizeof(service), "%d", port);
    struct addrinfo hints = {0};
    hints.ai_socktype = SOCK_STREAM;
    int rc = uv_getaddrinfo(d->u.base.loop, &d->gai, s_resolved, host, service,
                            &hints);
    if (rc == 0) {
        d->resolving = 1;
        dvi_uvstream_hold(&d->u);
    }
    return rc;
}

static dvi_stream *
s_dial(uv_loop_t *loop, const char *addr)
{
    char host[256];
    int port;
    if (dvi_addr_split(addr, host, sizeof(host), &port) < 0) {
        return NULL;
    }
    s_dialer *d = dvi_calloc(1, sizeof(*d));
    dvi_uvstream_init(&d->u, loop);
    d->u.cancel = s_cancel;
    d->u.fini = s_fini;
    d->gai.data = d;
    d->creq.data = d;
    snprintf(d->u.base.peer, sizeof(d->u.base.peer), "%s", addr);
    s_fresh_socket(d);
    int rc = s_begin(d, host, port);
    if (rc < 0) {
        dvi_seterr_uv(rc, addr);
        dvi_stream_close(&d->u.base, NULL);
        return NULL;
    }
    return &d->u.base;
}

/* ---- Listening ---------------------------------------------------------- */

static void
s_listener_closed(uv_handle_t *h)
{
    free(h->data);
}

static void
s_accept_cb(uv_stream_t *server, int status)
{
    s_listener *l = server->data;
    if (status < 0) {
        DVI_LOG(DVI_LOG_WARN, "CONN", "%s: accept: %s", l->base.name,
                uv_strerror(status));
        return;
    }
    dvi_uvstream *u = dvi_calloc(1, sizeof(*u));
    dvi_uvstream_init(u, l->base.loop);
    uv_tcp_t *t = dvi_malloc(sizeof(*t));
    uv_tcp_init(l->base.loop, t);
    dvi_uvstream_set_handle(u, (uv_stream_t *)t);
    if (uv_accept(server, u->h) < 0) {
        dvi_stream_close(&u->base, NULL);
        return;
    }
    uv_tcp_nodelay(t, 1);
    u->open = 1;
    struct sockaddr_storage ss = {0};
    int sslen = sizeof(ss);
    uv_tcp_getpeername(t, (struct sockaddr *)&ss, &sslen);
    s_format(&ss, u->base.peer, sizeof(u->base.peer));
    s_name_local(t, &u->base);
    l->base.on_accept(l->base.ctx, &u->base);
}

/* The socket address to bind: a literal, or the first address the
 * resolver gives for a host name (blocking: at start-up only). */
static int
s_bind_address(const char *addr, struct sockaddr_storage *ss)
{
    char host[256];
    int port;
    if (dvi_addr_split(addr, host, sizeof(host), &port) < 0) {
        return dvi_last_code();
    }
    if (s_numeric(host, port, ss)) {
        return 0;
    }
    char service[16];
    snprintf(service, sizeof(service), "%d", port);
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    int rc = getaddrinfo(host, service, &hints, &res);
    if (rc != 0 || res == NULL) {
        return dvi_seterr(DV_ECONN, "%s: cannot resolve host: %s", addr,
                          gai_strerror(rc));
    }
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return 0;
}

static void
s_listener_close(dvi_stream_listener *base)
{
    s_listener *l = (s_listener *)base;
    uv_close((uv_handle_t *)&l->tcp, s_listener_closed);
}

static const dvi_stream_listener_ops s_listener_ops = {
    .close = s_listener_close,
};

static dvi_stream_listener *
s_listen(uv_loop_t *loop, const char *addr, dvi_stream_accept_fn on_accept,
         void *ctx)
{
    struct sockaddr_storage ss;
    if (s_bind_address(addr, &ss) < 0) {
        return NULL;
    }
    s_listener *l = dvi_calloc(1, sizeof(*l));
    l->base.ops = &s_listener_ops;
    l->base.loop = loop;
    l->base.on_accept = on_accept;
    l->base.ctx = ctx;
    uv_tcp_init(loop, &l->tcp);
    l->tcp.data = l;
    int rc = uv_tcp_bind(&l->tcp, (const struct sockaddr *)&ss, 0);
    if (rc == 0) {
        rc = uv_listen((uv_stream_t *)&l->tcp, 511, s_accept_cb);
    }
    if (rc < 0) {
        dvi_seterr_uv(rc, addr);
        uv_close((uv_handle_t *)&l->tcp, s_listener_closed);
        return NULL;
    }
    int sslen = sizeof(ss);
    uv_tcp_getsockname(&l->tcp, (struct sockaddr *)&ss, &sslen);
    s_format(&ss, l->base.name, sizeof(l->base.name));
    return &l->base;
}

const dvi_stream_transport dvi_stream_tcp = {"tcp://", s_dial, s_listen};
