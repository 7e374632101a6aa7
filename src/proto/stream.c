/* dvi_stream: what every transport shares, and the one place where an
 * address's scheme picks the transport. */
#include "stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "drove.h"

/* Every scheme drove understands. TLS wraps tcp (secure.h). */
static const dvi_stream_transport *const s_transports[] = {
    &dvi_stream_tcp,
    &dvi_stream_unix,
    &dvi_stream_inproc,
};

static const dvi_stream_transport *
s_transport_of(const char *addr)
{
    size_t n = sizeof(s_transports) / sizeof(s_transports[0]);
    for (size_t i = 0; i < n; i++) {
        const char *scheme = s_transports[i]->scheme;
        if (strncmp(addr, scheme, strlen(scheme)) == 0) {
            return s_transports[i];
        }
    }
    dvi_seterr(DV_EINVAL,
               "bad address '%s' (want tcp://HOST:PORT, unix:///PATH or "
               "inproc://NAME)",
               addr);
    return NULL;
}

dvi_stream *
dvi_stream_dial(uv_loop_t *loop, const char *addr)
{
    const dvi_stream_transport *t = s_transport_of(addr);
    return t ? t->dial(loop, addr) : NULL;
}

dvi_stream_listener *
dvi_stream_listen(uv_loop_t *loop, const char *addr,
                  dvi_stream_accept_fn on_accept, void *ctx, char *bound,
                  size_t size)
{
    const dvi_stream_transport *t = s_transport_of(addr);
    dvi_stream_listener *l = t ? t->listen(loop, addr, on_accept, ctx) : NULL;
    if (l != NULL) {
        snprintf(bound, size, "%s", l->name);
    }
    return l;
}

void
dvi_stream_set_user(dvi_stream *s, const dvi_stream_user *user, void *ctx)
{
    s->user = user;
    s->ctx = ctx;
}

void
dvi_stream_error(dvi_stream *s, const char *why)
{
    if (s->quiet) {
        return;
    }
    /* Quiet first: the user closes the stream from inside this call. */
    s->quiet = 1;
    s->user->error(s->ctx, why);
}

void
dvi_stream_deliver(dvi_stream *s, char *base, size_t len)
{
    if (s->user->adopt != NULL) {
        s->user->adopt(s->ctx, base, len);
        return;
    }
    size_t done = 0;
    while (done < len && !s->quiet) {
        uv_buf_t buf;
        s->user->alloc(s->ctx, len - done, &buf);
        if (buf.len == 0) {
            dvi_stream_error(s, uv_strerror(UV_ENOBUFS));
            break;
        }
        size_t n = buf.len < len - done ? buf.len : len - done;
        memcpy(buf.base, base + done, n);
        done += n;
        s->user->read(s->ctx, n);
    }
    free(base);
}
