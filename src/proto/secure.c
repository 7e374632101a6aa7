/* dvi_secure: TLS for every tcp:// address, plain streams for the rest. */
#include "secure.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "common/err.h"
#include "drove.h"
#include "stream_tls.h"

static int
s_is_tcp(const char *addr)
{
    return strncmp(addr, "tcp://", 6) == 0;
}

int
dvi_secure_plaintext(const char *addr)
{
    const char *v = getenv(DVI_ENV_TEST_PLAINTEXT);
    char host[256];
    int port;
    return v != NULL && strcmp(v, "1") == 0 && s_is_tcp(addr) &&
           dvi_addr_split(addr, host, sizeof(host), &port) == 0 &&
           dvi_addr_is_loopback(host);
}

int
dvi_secure_needs_tls(const char *addr)
{
    return s_is_tcp(addr) && !dvi_secure_plaintext(addr);
}

static int
s_no_identity(const char *addr)
{
    return dvi_seterr(DV_EAUTH,
                      "authentication failed: %s needs TLS and this process "
                      "has no credentials",
                      addr);
}

dvi_stream *
dvi_secure_dial(uv_loop_t *loop, const char *addr, dvi_tls_ctx *tls,
                unsigned peer_roles)
{
    if (!dvi_secure_needs_tls(addr)) {
        return dvi_stream_dial(loop, addr);
    }
    if (tls == NULL) {
        s_no_identity(addr);
        return NULL;
    }
    return dvi_tls_dial(tls, loop, addr, peer_roles, 0);
}

dvi_stream_listener *
dvi_secure_listen(uv_loop_t *loop, const char *addr, dvi_tls_ctx *tls,
                  unsigned peer_roles, dvi_stream_accept_fn on_accept,
                  void *ctx, char *bound, size_t size)
{
    if (!dvi_secure_needs_tls(addr)) {
        return dvi_stream_listen(loop, addr, on_accept, ctx, bound, size);
    }
    if (tls == NULL) {
        s_no_identity(addr);
        return NULL;
    }
    char b[256];
    dvi_stream_listener *l = dvi_tls_listen(tls, loop, addr, peer_roles,
                                            on_accept, ctx, b, sizeof(b));
    if (l != NULL) {
        /* Peers dial the inner address; TLS is implied by tcp://. */
        size_t skip = strncmp(b, "tls+", 4) == 0 ? 4 : 0;
        snprintf(bound, size, "%s", b + skip);
    }
    return l;
}

dvi_conn *
dvi_conn_dial_secure(uv_loop_t *loop, const char *addr, dvi_tls_ctx *tls,
                     unsigned peer_roles, dvi_conn_frame_fn on_frame,
                     dvi_conn_close_fn on_close, void *data)
{
    dvi_stream *s = dvi_secure_dial(loop, addr, tls, peer_roles);
    return s ? dvi_conn_from_stream(s, on_frame, on_close, data) : NULL;
}

dvi_listener *
dvi_listen_secure(uv_loop_t *loop, const char *addr, dvi_tls_ctx *tls,
                  unsigned peer_roles, dvi_accept_fn on_accept,
                  dvi_conn_frame_fn on_frame, dvi_conn_close_fn on_close,
                  void *data, char *bound, size_t size)
{
    /* dvi_listen_stream takes the accept callback over. */
    dvi_stream_listener *sl =
        dvi_secure_listen(loop, addr, tls, peer_roles, NULL, NULL, bound, size);
    return sl ? dvi_listen_stream(sl, on_accept, on_frame, on_close, data)
              : NULL;
}

dvi_tls_ctx *
dvi_secure_identity(const dvi_profile *p, int role)
{
    /* The role's certificate first: its absence says what to do. */
    dvi_pki_cert *self = dvi_profile_cert(p, role);
    dvi_pki_cert *ca = self ? dvi_profile_ca(p) : NULL;
    dvi_tls_ctx *tls = ca ? dvi_tls_ctx_new(ca, self) : NULL;
    if (tls == NULL) {
        char why[512];
        snprintf(why, sizeof(why), "%s", dv_last_error());
        dvi_seterr(DV_EAUTH, "authentication failed: %s", why);
    }
    dvi_pki_cert_destroy(&self);
    dvi_pki_cert_destroy(&ca);
    return tls;
}

int
dvi_conn_peer_role(const dvi_conn *c)
{
    const dvi_stream *s = dvi_conn_stream(c);
    return dvi_tls_is_tls(s) ? dvi_tls_peer_role(s) : DVI_SECURE_TRUSTED;
}
