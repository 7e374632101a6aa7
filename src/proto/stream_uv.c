/* dvi_uvstream: reading, writing and closing over a libuv stream handle,
 * shared by the TCP and Unix transports. */
#include "stream_uv.h"

#include <stdlib.h>
#include <string.h>

#include "common/err.h"

/* A frame's buffers are listed on the stack when there are this few (a
 * frame with n spliced blobs has 2n + 1): libuv copies the list into its
 * request, so only frames with more blobs need a list of their own. */
#define S_SMALL_BUFS 9

/* Bytes that arrive after a shutdown began land here and are dropped. We
 * keep reading rather than stop: closing a socket with unread input sends
 * a reset, which can destroy what the peer has not read of our last
 * frames. Per thread, as each loop runs on one. */
static _Thread_local char s_discard[4096];

typedef struct s_write {
    uv_write_t req;
    dvi_outbox_frame f; /* owned until the write is done */
} s_write;

static const dvi_stream_ops s_ops;

void
dvi_uvstream_init(dvi_uvstream *u, uv_loop_t *loop)
{
    u->base.ops = &s_ops;
    u->base.loop = loop;
}

void
dvi_uvstream_hold(dvi_uvstream *u)
{
    u->busy++;
}

void
dvi_uvstream_rele(dvi_uvstream *u)
{
    if (--u->busy > 0 || !u->ending) {
        return;
    }
    if (u->fini) {
        u->fini(u);
    }
    dvi_stream_closed_fn cb = u->closed_cb;
    void *ctx = u->base.ctx;
    free(u);
    if (cb) {
        cb(ctx);
    }
}

static void
s_handle_closed(uv_handle_t *h)
{
    dvi_uvstream *u = h->data;
    free(h);
    dvi_uvstream_rele(u);
}

void
dvi_uvstream_set_handle(dvi_uvstream *u, uv_stream_t *h)
{
    uv_stream_t *old = u->h;
    h->data = u;
    u->h = h;
    dvi_uvstream_hold(u);
    if (old != NULL) {
        uv_close((uv_handle_t *)old, s_handle_closed);
    }
}

/* ---- Reading ------------------------------------------------------------ */

static void
s_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    dvi_uvstream *u = h->data;
    if (u->base.quiet) {
        *buf = uv_buf_init(s_discard, sizeof(s_discard));
        return;
    }
    u->base.user->alloc(u->base.ctx, suggested, buf);
}

static void
s_read_cb(uv_stream_t *h, ssize_t nread, const uv_buf_t *buf)
{
    dvi_uvstream *u = h->data;
    if (u->base.quiet) {
        return;
    }
    if (nread < 0) {
        dvi_stream_error(&u->base, nread == UV_EOF ? "closed by peer"
                                                   : uv_strerror((int)nread));
        return;
    }
    if (nread > 0) {
        u->base.user->read(u->base.ctx, (size_t)nread);
    }
}

/* Tells the user the stream is open, then reads (unless the user closed it
 * meanwhile). */
static int
s_open(dvi_uvstream *u)
{
    u->base.user->open(u->base.ctx);
    if (u->base.quiet) {
        return 0;
    }
    int rc = uv_read_start(u->h, s_alloc_cb, s_read_cb);
    if (rc < 0) {
        return dvi_seterr_uv(rc, u->base.peer);
    }
    return 0;
}

static int
s_start(dvi_stream *s)
{
    dvi_uvstream *u = (dvi_uvstream *)s;
    u->started = 1;
    return u->open ? s_open(u) : 0;
}

void
dvi_uvstream_opened(dvi_uvstream *u)
{
    u->open = 1;
    if (u->started && !u->base.quiet && s_open(u) < 0) {
        dvi_stream_error(&u->base, dv_last_error());
    }
}

/* ---- Writing ------------------------------------------------------------ */

static void
s_write_cb(uv_write_t *req, int status)
{
    s_write *w = (s_write *)req;
    dvi_uvstream *u = req->data;
    dvi_outbox_frame_fini(&w->f);
    free(w);
    if (status < 0 && status != UV_ECANCELED) {
        dvi_stream_error(&u->base, uv_strerror(status));
    }
}

static uv_buf_t
s_buf(char *base, size_t len)
{
    /* uv_buf_init takes an unsigned int; a blob may be larger. */
    uv_buf_t b;
    b.base = base;
    b.len = len;
    return b;
}

/* Writes what the socket takes of bufs[0..n) at once, unless writes are
 * queued already (they go first). Returns the index of the first buffer
 * not wholly written, which is advanced past what was: n when all was.
 * A write that libuv queues (uv_write) costs an epoll_ctl when it is done,
 * as libuv stops watching for POLLOUT: on this machine's virtual CPUs
 * every system call costs a microsecond, and the loop wrote a frame every
 * few tasks. An error is left for uv_write to report as before. */
static size_t
s_try_write(dvi_uvstream *u, uv_buf_t *bufs, size_t n)
{
    int rc = uv_try_write(u->h, bufs, (unsigned)n);
    size_t done = rc > 0 ? (size_t)rc : 0, i = 0;
    while (i < n && done >= bufs[i].len) {
        done -= bufs[i++].len;
    }
    if (i < n) {
        bufs[i].base += done;
        bufs[i].len -= done;
    }
    return i;
}

/* Queues bufs[0..n), the rest of frame f, which the write then owns. */
static int
s_queue(dvi_uvstream *u, dvi_outbox_frame *f, uv_buf_t *bufs, size_t n)
{
    s_write *w = dvi_malloc(sizeof(*w));
    w->req.data = u;
    w->f = *f; /* f keeps its contents until the write is surely queued */
    int rc = uv_write(&w->req, u->h, bufs, (unsigned)n, s_write_cb);
    if (rc < 0) {
        free(w);
        return dvi_seterr_uv(rc, u->base.peer);
    }
    memset(f, 0, sizeof(*f));
    return 0;
}

static int
s_write_frame(dvi_stream *s, dvi_outbox_frame *f)
{
    dvi_uvstream *u = (dvi_uvstream *)s;
    uv_buf_t small[S_SMALL_BUFS], *bufs = small;
    size_t nbufs = 2 * f->nsegs + 1, n = 0, from = 0;
    if (nbufs > S_SMALL_BUFS) {
        bufs = dvi_malloc(nbufs * sizeof(*bufs));
    }
    for (size_t i = 0; i < f->nsegs; i++) {
        bufs[n++] = s_buf(f->buf + from, f->segs[i].at - from);
        bufs[n++] = s_buf(f->segs[i].blob->data, f->segs[i].blob->len);
        from = f->segs[i].at;
    }
    bufs[n++] = s_buf(f->buf + from, f->len - from);
    size_t first = s_try_write(u, bufs, n);
    int rc = 0;
    if (first == n) {
        dvi_outbox_frame_fini(f); /* all written: nothing to queue */
    } else {
        rc = s_queue(u, f, bufs + first, n - first);
    }
    if (bufs != small) {
        free(bufs); /* libuv copies the array of buffers, not their bytes */
    }
    return rc;
}

/* ---- Ending ------------------------------------------------------------- */

static void
s_shutdown_cb(uv_shutdown_t *req, int status)
{
    dvi_uvstream *u = req->data;
    uv_close((uv_handle_t *)u->h, s_handle_closed);
}

static void
s_close(dvi_stream *s, dvi_stream_closed_fn cb)
{
    dvi_uvstream *u = (dvi_uvstream *)s;
    dvi_assert(!u->ending);
    u->ending = 1;
    u->base.quiet = 1;
    u->closed_cb = cb;
    if (u->cancel) {
        u->cancel(u);
    }
    uv_close((uv_handle_t *)u->h, s_handle_closed);
}

static void
s_shutdown(dvi_stream *s, dvi_stream_closed_fn cb)
{
    dvi_uvstream *u = (dvi_uvstream *)s;
    if (!u->open) {
        s_close(s, cb);
        return;
    }
    dvi_assert(!u->ending);
    u->ending = 1;
    u->base.quiet = 1;
    u->closed_cb = cb;
    u->sreq.data = u;
    if (uv_shutdown(&u->sreq, u->h, s_shutdown_cb) < 0) {
        uv_close((uv_handle_t *)u->h, s_handle_closed);
    }
}

static const dvi_stream_ops s_ops = {
    .start = s_start,
    .write = s_write_frame,
    .shutdown = s_shutdown,
    .close = s_close,
};
