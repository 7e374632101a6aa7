/* dvi_conn: the framer. It writes each loop turn's batch of messages (a
 * dvi_outbox) into a stream as one frame, flushed just before the loop
 * sleeps, and cuts the frames it reads out of the stream's bytes. It never
 * knows what carries the bytes: stream.h does, and the address picks the
 * stream. */
#include "conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "drove.h"
#include "inbuf.h"
#include "stream.h"

/* A frame flushed before the stream opened (a dial still connecting). It
 * keeps its spliced blobs: they go out from their own memory later. */
typedef struct s_pending {
    struct s_pending *next;
    dvi_outbox_frame f;
} s_pending;

struct dvi_conn {
    dvi_stream *stream;      /* owned; the conn is freed after it closes */
    dvi_listener *lst;       /* accepted and not past its handshake: the
                                listener that counts it as pending, else NULL */
    dvi_conn *pprev, *pnext; /* lst's pending connections, oldest first */
    uint64_t deadline;       /* loop time (ms) the handshake must end by */
    size_t keylen;           /* the remote address: the peer text's first keylen
                                bytes ("tcp://IP", without the port) */
    dvi_outbox outbox;       /* this turn's messages (tells s_outbox_event) */
    uv_prepare_t prepare;    /* flushes the outbox before the loop sleeps */
    int refs;                /* the stream and prepare, not yet closed */
    int open;                /* the stream carries writes */
    int closing;             /* dvi_conn_close or a failure began */
    int ended;               /* the stream was told to end: nothing more goes */
    s_pending *pending;      /* frames waiting for the stream to open */
    s_pending **pending_tail;

    dvi_inbuf in;     /* input not yet consumed */
    size_t max_frame; /* once past the handshake */
    size_t cur_max;   /* in force: max_frame, or less before the handshake */
    int handshaking;  /* cur_max is the handshake's */
    int err;          /* the DV_E* code of the failure, for on_close */
    int accept_refs;  /* the user reads blobs by reference (accept_refs) */
    int delivering;   /* in on_frame: dvi_conn_keep allowed */
    size_t frame_end; /* while delivering: end of the frame in in.p */
    dvi_blob *kept;   /* while delivering: the blob that took the frame's
                         memory (held until the frame is parsed) */
    dvi_outbox_seg *byref; /* while delivering a hollow frame: its blobs, at
                              offsets of its payload (borrowed) */
    size_t nbyref;

    dvi_conn_frame_fn on_frame;
    dvi_conn_close_fn on_close;
    dvi_conn_open_fn on_open; /* NULL: nobody asked */
    void *data;
    uint64_t bytes_in, bytes_out;
    uint64_t frames_in; /* delivered whole */
};

struct dvi_listener {
    dvi_stream_listener *sl; /* owned */
    dvi_accept_fn on_accept;
    dvi_conn_frame_fn on_frame;
    dvi_conn_close_fn on_close;
    void *data;
    dvi_handshake_limits lim;
    dvi_conn *phead, *ptail; /* accepted, handshake not done: oldest first */
    size_t npending;
    uv_timer_t *timer;  /* the oldest pending one's deadline; malloc'ed, as
                           it closes after the listener is freed */
    uint64_t last_warn; /* loop time of the last warning about limits */
    unsigned unwarned;  /* connections closed since, not warned of */
};

static inline uint32_t
s_be32(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    return ((uint32_t)u[0] << 24) | ((uint32_t)u[1] << 16) |
           ((uint32_t)u[2] << 8) | u[3];
}

/* ---- Life cycle --------------------------------------------------------- */

static void
s_release(dvi_conn *c)
{
    if (--c->refs > 0) {
        return;
    }
    while (c->pending) {
        s_pending *p = c->pending;
        c->pending = p->next;
        dvi_outbox_frame_fini(&p->f);
        free(p);
    }
    dvi_outbox_fini(&c->outbox);
    dvi_inbuf_fini(&c->in);
    free(c);
}

static void
s_prepare_closed(uv_handle_t *h)
{
    s_release(h->data);
}

static void
s_stream_closed(void *ctx)
{
    s_release(ctx);
}

/* Ends the stream, after the writes given to it when graceful. */
static void
s_end(dvi_conn *c, int graceful)
{
    c->ended = 1;
    uv_close((uv_handle_t *)&c->prepare, s_prepare_closed);
    if (graceful) {
        dvi_stream_shutdown(c->stream, s_stream_closed);
    } else {
        dvi_stream_close(c->stream, s_stream_closed);
    }
}

/* Takes c out of its listener's pending connections, if it is one. */
static void
s_unpend(dvi_conn *c)
{
    dvi_listener *l = c->lst;
    if (l == NULL) {
        return;
    }
    *(c->pprev ? &c->pprev->pnext : &l->phead) = c->pnext;
    *(c->pnext ? &c->pnext->pprev : &l->ptail) = c->pprev;
    c->pprev = c->pnext = NULL;
    c->lst = NULL;
    l->npending--;
}

/* The connection failed (code, why): tells the role, then ends it. */
static void
s_fail(dvi_conn *c, int code, const char *why)
{
    if (c->closing) {
        return;
    }
    c->closing = 1;
    c->err = code;
    s_unpend(c);
    DVI_LOG(DVI_LOG_INFO, "CONN", "%s: %s", c->stream->peer, why);
    if (c->on_close) {
        c->on_close(c, why);
    }
    s_end(c, 0);
}

/* ---- Writing ------------------------------------------------------------ */

static void
s_write(dvi_conn *c, dvi_outbox_frame *f)
{
    size_t n = f->len + f->seg_bytes;
    if (dvi_stream_write(c->stream, f) < 0) {
        dvi_outbox_frame_fini(f);
        s_fail(c, DV_ECONN, dv_last_error());
        return;
    }
    c->bytes_out += n;
}

static void
s_flush(dvi_conn *c)
{
    dvi_outbox_frame f;
    if (c->ended || dvi_outbox_take(&c->outbox, &f) < 0) {
        return;
    }
    if (c->open) {
        s_write(c, &f);
        return;
    }
    s_pending *p = dvi_malloc(sizeof(*p));
    p->next = NULL;
    p->f = f;
    *c->pending_tail = p;
    c->pending_tail = &p->next;
}

static void
s_prepare_cb(uv_prepare_t *p)
{
    uv_prepare_stop(p);
    s_flush(p->data);
}

static void
s_outbox_event(void *ctx, int event)
{
    dvi_conn *c = ctx;
    if (event == DVI_OUTBOX_FULL) {
        s_flush(c);
    } else if (event == DVI_OUTBOX_ARMED && !c->ended) {
        uv_prepare_start(&c->prepare, s_prepare_cb);
    }
}

void
dvi_conn_flush(dvi_conn *c)
{
    s_flush(c);
}

dvi_outbox *
dvi_conn_outbox(dvi_conn *c)
{
    return &c->outbox;
}

/* ---- Reading ------------------------------------------------------------ */

static void
s_on_open(void *ctx)
{
    dvi_conn *c = ctx;
    c->open = 1;
    while (c->pending && !c->ended) {
        s_pending *p = c->pending;
        c->pending = p->next;
        if (c->pending == NULL) {
            c->pending_tail = &c->pending;
        }
        s_write(c, &p->f);
        free(p);
    }
    if (c->on_open != NULL && !c->closing) {
        c->on_open(c);
    }
}

static void
s_on_alloc(void *ctx, size_t hint, uv_buf_t *buf)
{
    dvi_conn *c = ctx;
    dvi_inbuf_alloc(&c->in, c->cur_max, buf);
}

/* Whether the n bytes at p, which should start a frame, look like text:
 * a peer that speaks another protocol (an SSH or HTTP server, a browser)
 * rather than a drove peer sending a huge frame. */
static int
s_looks_like_text(const char *p, size_t n)
{
    for (size_t i = 0; i < 4 && i < n; i++) {
        unsigned char b = (unsigned char)p[i];
        if ((b < 0x20 || b > 0x7e) && b != '\r' && b != '\n' && b != '\t') {
            return 0;
        }
    }
    return 1;
}

/* Refuses the frame of flen bytes at p (n bytes of it here) as larger
 * than max, saying why as precisely as the bytes allow. */
static void
s_refuse_frame(dvi_conn *c, const char *p, size_t n, size_t flen, size_t max)
{
    char why[192];
    if (s_looks_like_text(p, n)) {
        char seen[41];
        size_t k = 0;
        for (; k < n && k < sizeof(seen) - 1; k++) {
            unsigned char b = (unsigned char)p[k];
            if (b == '\r' || b == '\n') {
                break;
            }
            seen[k] = b >= 0x20 && b <= 0x7e ? (char)b : '.';
        }
        seen[k] = '\0';
        snprintf(why, sizeof(why),
                 "the peer does not speak drove's protocol: it sent \"%s\"",
                 seen);
    } else {
        snprintf(why, sizeof(why), "frame of %zu bytes > max %zu%s", flen, max,
                 c->handshaking ? " before the handshake" : "");
    }
    DVI_LOG(DVI_LOG_WARN, "CONN", "%s: %s", c->stream->peer, why);
    s_fail(c, DV_EPROTO, why);
}

/* Delivers the frame of flen bytes at byte pos of the input; returns
 * on_frame's code, and whether a blob kept the frame's memory (what
 * followed the frame then starts the input). */
static int
s_deliver(dvi_conn *c, size_t pos, size_t flen, int *taken)
{
    c->frame_end = pos + 4 + flen;
    c->frames_in++;
    c->delivering = 1;
    int rc = c->on_frame(c, c->in.p + pos + 4, flen);
    c->delivering = 0;
    *taken = c->kept != NULL;
    dvi_blob_rele(c->kept); /* the frame's memory goes once it is parsed */
    c->kept = NULL;
    return rc;
}

/* Delivers the complete frames in the input, then keeps what is left.
 * Adopted bytes are delivered whatever their size (see s_on_adopt). */
static void
s_parse(dvi_conn *c, int adopted)
{
    size_t pos = 0;
    while (c->in.len - pos >= 4) {
        size_t flen = s_be32(c->in.p + pos);
        /* Read for each frame: a handshake done in the last one raises it. */
        size_t max = adopted ? SIZE_MAX : c->cur_max;
        if (flen > max) {
            s_refuse_frame(c, c->in.p + pos, c->in.len - pos, flen, max);
            return;
        }
        if (c->in.len - pos - 4 < flen) {
            break;
        }
        int taken;
        int rc = s_deliver(c, pos, flen, &taken);
        if (c->closing) {
            return;
        }
        if (rc < 0) {
            DVI_LOG(DVI_LOG_WARN, "CONN", "%s: %s", c->stream->peer,
                    dv_last_error());
            s_fail(c, rc, dv_last_error());
            return;
        }
        pos = taken ? 0 : pos + 4 + flen;
    }
    dvi_inbuf_consume(&c->in, pos);
}

static void
s_on_read(void *ctx, size_t n)
{
    dvi_conn *c = ctx;
    c->in.len += n;
    c->bytes_in += n;
    s_parse(c, 0);
}

static void
s_on_adopt(void *ctx, char *base, size_t len)
{
    dvi_conn *c = ctx;
    c->bytes_in += len;
    if (dvi_inbuf_adopt(&c->in, base, len) < 0) {
        s_fail(c, DV_ENOMEM, "out of memory for a frame");
        return;
    }
    /* The maximum guards memory against what a remote peer claims before
     * anything is allocated for it. Adopted bytes were built by a peer in
     * this process and are in memory already, so it does not apply. */
    s_parse(c, 1);
}

/* A whole frame from a peer in this process, its blobs by reference. A
 * user that reads them so (dvi_conn_accept_refs) gets the frame hollow
 * and the blobs themselves; any other gets the frame's bytes. */
static void
s_on_frame_refs(void *ctx, dvi_outbox_frame *f)
{
    dvi_conn *c = ctx;
    size_t whole = f->len + f->seg_bytes;
    if (!c->accept_refs || f->nsegs == 0 || c->in.len > 0 ||
        dvi_outbox_frame_hollow(f) < 0) {
        dvi_outbox_frame_flatten(f);
        s_on_adopt(c, f->buf, f->len);
        f->buf = NULL;
        dvi_outbox_frame_fini(f);
        return;
    }
    for (size_t i = 0; i < f->nsegs; i++) {
        f->segs[i].at -= 4; /* from the payload's start */
    }
    c->byref = f->segs;
    c->nbyref = f->nsegs;
    c->bytes_in += whole - f->len; /* what the blobs stand for */
    s_on_adopt(c, f->buf, f->len);
    c->byref = NULL;
    c->nbyref = 0;
    f->buf = NULL;
    dvi_outbox_frame_fini(f); /* the user holds what it kept */
}

static void
s_on_error(void *ctx, const char *why)
{
    dvi_conn *c = ctx;
    s_fail(c, c->stream->code ? c->stream->code : DV_ECONN, why);
}

static const dvi_stream_user s_user = {
    .open = s_on_open,
    .alloc = s_on_alloc,
    .read = s_on_read,
    .adopt = s_on_adopt,
    .error = s_on_error,
    .frame = s_on_frame_refs,
};

dvi_blob *
dvi_conn_keep(dvi_conn *c, const char *p, size_t n)
{
    dvi_assert(c->delivering);
    for (size_t i = 0; i < c->nbyref; i++) {
        dvi_blob *b = c->byref[i].blob;
        if (p == b->data && n == b->len) {
            return dvi_blob_hold(b); /* handed over by its peer */
        }
    }
    if (n > DVI_CONN_COPY_MAX && c->kept == NULL) {
        void *base = dvi_inbuf_take(&c->in, c->frame_end);
        if (base != NULL) {
            c->kept = dvi_blob_adopt(base, (char *)p, n);
            return dvi_blob_hold(c->kept);
        }
    }
    return dvi_blob_copy(p, n);
}

void
dvi_conn_accept_refs(dvi_conn *c)
{
    c->accept_refs = 1;
}

int
dvi_conn_each_msg(const dvi_conn *c, const char *buf, size_t len, dvi_msg_fn fn,
                  void *ctx)
{
    return dvi_msg_each_refs(buf, len, c->byref, c->nbyref,
                             !c->stream->in_process, fn, ctx);
}

/* ---- Making connections ------------------------------------------------- */

/* A conn over stream s (owned from now on), started. NULL with the reason
 * set if the stream cannot start; it is then closed. */
static dvi_conn *
s_new(dvi_stream *s, dvi_conn_frame_fn on_frame, dvi_conn_close_fn on_close,
      void *data)
{
    dvi_conn *c = dvi_calloc(1, sizeof(*c));
    c->stream = s;
    c->max_frame = c->cur_max = DVI_FRAME_MAX_DEFAULT;
    c->on_frame = on_frame;
    c->on_close = on_close;
    c->data = data;
    c->pending_tail = &c->pending;
    dvi_outbox_init(&c->outbox, s_outbox_event, c);
    uv_prepare_init(s->loop, &c->prepare);
    c->prepare.data = c;
    c->refs = 2;
    dvi_stream_set_user(s, &s_user, c);
    if (dvi_stream_start(s) < 0) {
        c->closing = 1;
        s_end(c, 0);
        return NULL;
    }
    return c;
}

dvi_conn *
dvi_conn_dial(uv_loop_t *loop, const char *addr, dvi_conn_frame_fn on_frame,
              dvi_conn_close_fn on_close, void *data)
{
    dvi_stream *s = dvi_stream_dial(loop, addr);
    return s ? s_new(s, on_frame, on_close, data) : NULL;
}

dvi_conn *
dvi_conn_from_stream(dvi_stream *s, dvi_conn_frame_fn on_frame,
                     dvi_conn_close_fn on_close, void *data)
{
    return s_new(s, on_frame, on_close, data);
}

dvi_stream *
dvi_conn_stream(const dvi_conn *c)
{
    return c->stream;
}

dvi_conn *
dvi_conn_from_fd(uv_loop_t *loop, int fd, dvi_conn_frame_fn on_frame,
                 dvi_conn_close_fn on_close, void *data)
{
    dvi_stream *s = dvi_stream_pipe_open(loop, fd);
    return s ? s_new(s, on_frame, on_close, data) : NULL;
}

void
dvi_conn_close(dvi_conn *c)
{
    if (c == NULL || c->closing) {
        return;
    }
    c->closing = 1;
    s_unpend(c);
    s_flush(c);
    /* Frames still pending never met an open stream: they are dropped. */
    s_end(c, c->open && c->pending == NULL);
}

void
dvi_conn_set_on_open(dvi_conn *c, dvi_conn_open_fn fn)
{
    c->on_open = fn;
    if (c->open && !c->closing) {
        fn(c);
    }
}

void *
dvi_conn_data(const dvi_conn *c)
{
    return c->data;
}

void
dvi_conn_set_data(dvi_conn *c, void *data)
{
    c->data = data;
}

const char *
dvi_conn_peer(const dvi_conn *c)
{
    return c->stream->peer;
}

const char *
dvi_conn_local(const dvi_conn *c)
{
    return c->stream->local;
}

uint64_t
dvi_conn_bytes_out(const dvi_conn *c)
{
    return c->bytes_out;
}

uint64_t
dvi_conn_frames_in(const dvi_conn *c)
{
    return c->frames_in;
}

uint64_t
dvi_conn_bytes_in(const dvi_conn *c)
{
    return c->bytes_in;
}

void
dvi_conn_set_max_frame(dvi_conn *c, size_t max)
{
    c->max_frame = max;
    c->cur_max = c->handshaking && max > DVI_HANDSHAKE_FRAME_MAX
                     ? DVI_HANDSHAKE_FRAME_MAX
                     : max;
}

void
dvi_conn_handshake_done(dvi_conn *c)
{
    s_unpend(c);
    c->handshaking = 0;
    c->cur_max = c->max_frame;
}

int
dvi_conn_error(const dvi_conn *c)
{
    return c->err;
}

/* ---- Listening ---------------------------------------------------------- */

/* Says, at most once a second, why a listener closed connections that
 * had not completed their handshake: a flood must not flood the log. */
static void
s_warn_closed(dvi_listener *l, const char *why)
{
    uint64_t now = uv_now(l->sl->loop);
    if (l->last_warn != 0 && now - l->last_warn < 1000) {
        l->unwarned++;
        return;
    }
    if (l->unwarned > 0) {
        DVI_LOG(DVI_LOG_WARN, "CONN", "%s: %s (and %u more closed since)",
                l->sl->name, why, l->unwarned);
    } else {
        DVI_LOG(DVI_LOG_WARN, "CONN", "%s: %s", l->sl->name, why);
    }
    l->last_warn = now;
    l->unwarned = 0;
}

static void
s_timer_closed(uv_handle_t *h)
{
    free(h);
}

static void s_deadline_cb(uv_timer_t *t);

/* Sets the timer for the oldest pending connection's deadline. */
static void
s_arm(dvi_listener *l)
{
    if (l->phead == NULL) {
        uv_timer_stop(l->timer);
        return;
    }
    uint64_t now = uv_now(l->sl->loop);
    uint64_t due = l->phead->deadline;
    uv_timer_start(l->timer, s_deadline_cb, due > now ? due - now : 0, 0);
}

/* The oldest pending connection's deadline passed: it and every other one
 * past its deadline are closed. */
static void
s_deadline_cb(uv_timer_t *t)
{
    dvi_listener *l = t->data;
    uint64_t now = uv_now(l->sl->loop);
    char why[96];
    snprintf(why, sizeof(why), "no handshake within %.3g s",
             (double)l->lim.timeout_ms / 1000);
    while (l->phead != NULL && l->phead->deadline <= now) {
        dvi_conn *c = l->phead;
        s_warn_closed(l, why);
        s_fail(c, DV_ETIMEDOUT, why); /* leaves the list */
    }
    s_arm(l);
}

/* Makes room for one more pending connection from c's address, closing
 * the oldest pending ones over the limits: a flood of silent connections
 * then costs each of them its place, never a newcomer, nor an
 * established connection, its chance. */
static void
s_make_room(dvi_listener *l, dvi_conn *c)
{
    const char *key = c->stream->peer;
    size_t same = 0;
    dvi_conn *oldest_same = NULL;
    for (dvi_conn *p = l->phead; p != NULL; p = p->pnext) {
        if (p->keylen == c->keylen &&
            memcmp(p->stream->peer, key, c->keylen) == 0) {
            oldest_same = oldest_same ? oldest_same : p;
            same++;
        }
    }
    char why[192];
    if (same >= l->lim.per_addr && oldest_same != NULL) {
        snprintf(why, sizeof(why),
                 "over %u connections from %.*s without a handshake: "
                 "closing the oldest",
                 l->lim.per_addr, (int)c->keylen, key);
        s_warn_closed(l, why);
        s_fail(oldest_same, DV_ELIMIT, why);
    }
    if (l->npending >= l->lim.total && l->phead != NULL) {
        snprintf(why, sizeof(why),
                 "over %u connections without a handshake: closing the "
                 "oldest",
                 l->lim.total);
        s_warn_closed(l, why);
        s_fail(l->phead, DV_ELIMIT, why);
    }
}

/* c awaits its handshake: a small maximum frame, a deadline, and a place
 * among the listener's pending connections. */
static void
s_pend(dvi_listener *l, dvi_conn *c)
{
    const char *peer = c->stream->peer;
    const char *colon = strrchr(peer, ':');
    c->keylen = strncmp(peer, "tcp://", 6) == 0 && colon != NULL
                    ? (size_t)(colon - peer)
                    : strlen(peer);
    s_make_room(l, c);
    c->handshaking = 1;
    dvi_conn_set_max_frame(c, c->max_frame);
    c->deadline = uv_now(l->sl->loop) + l->lim.timeout_ms;
    c->lst = l;
    c->pprev = l->ptail;
    *(l->ptail ? &l->ptail->pnext : &l->phead) = c;
    l->ptail = c;
    if (l->npending++ == 0) {
        s_arm(l);
    }
}

static void
s_accepted(void *ctx, dvi_stream *s)
{
    dvi_listener *l = ctx;
    dvi_conn *c = s_new(s, l->on_frame, l->on_close, NULL);
    if (c == NULL) {
        DVI_LOG(DVI_LOG_WARN, "CONN", "%s: %s", l->sl->name, dv_last_error());
        return;
    }
    s_pend(l, c);
    l->on_accept(l, c);
}

dvi_listener *
dvi_listen_stream(dvi_stream_listener *sl, dvi_accept_fn on_accept,
                  dvi_conn_frame_fn on_frame, dvi_conn_close_fn on_close,
                  void *data)
{
    dvi_listener *l = dvi_calloc(1, sizeof(*l));
    l->on_accept = on_accept;
    l->on_frame = on_frame;
    l->on_close = on_close;
    l->data = data;
    l->lim = (dvi_handshake_limits){
        DVI_HANDSHAKE_TIMEOUT_MS, DVI_HANDSHAKE_PER_ADDR, DVI_HANDSHAKE_TOTAL};
    l->sl = sl;
    /* Nothing is accepted before the loop runs: taking over is safe. */
    sl->on_accept = s_accepted;
    sl->ctx = l;
    l->timer = dvi_malloc(sizeof(*l->timer));
    uv_timer_init(sl->loop, l->timer);
    l->timer->data = l;
    return l;
}

dvi_listener *
dvi_listen(uv_loop_t *loop, const char *addr, dvi_accept_fn on_accept,
           dvi_conn_frame_fn on_frame, dvi_conn_close_fn on_close, void *data,
           char *bound, size_t size)
{
    dvi_stream_listener *sl =
        dvi_stream_listen(loop, addr, s_accepted, NULL, bound, size);
    return sl ? dvi_listen_stream(sl, on_accept, on_frame, on_close, data)
              : NULL;
}

void
dvi_listener_set_handshake(dvi_listener *l, const dvi_handshake_limits *lim)
{
    l->lim = *lim;
    l->lim.per_addr = lim->per_addr ? lim->per_addr : 1;
    l->lim.total = lim->total ? lim->total : 1;
}

size_t
dvi_listener_pending(const dvi_listener *l)
{
    return l->npending;
}

void *
dvi_listener_data(const dvi_listener *l)
{
    return l->data;
}

void
dvi_listener_close(dvi_listener *l)
{
    if (l == NULL) {
        return;
    }
    /* Pending connections live on, past any deadline: whoever closes the
     * listener closes them too (the scheduler and the worker's server
     * do). */
    while (l->phead != NULL) {
        s_unpend(l->phead);
    }
    uv_close((uv_handle_t *)l->timer, s_timer_closed);
    dvi_stream_listener_close(l->sl);
    free(l);
}
