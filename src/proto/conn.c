/* dvi_conn: framed, batched message connections over libuv streams and
 * in-process pairs, and the listeners that accept them. */
#include "conn.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "common/map.h"
#include "drove.h"

enum { S_TCP = 1, S_PIPE, S_INPROC };

#define S_HEADER 9 /* frame length (4) + array32 header (5) */
#define S_READ_CHUNK 65536
/* A batch this large goes out at once instead of growing further: frames
 * stay well under any receiver's maximum, and memory under control. */
#define S_FLUSH_AT ((size_t)64 << 20)

typedef struct s_frame {
    struct s_frame *next;
    char *buf; /* header included; malloc'ed */
    size_t len;
} s_frame;

/* A blob spliced into the frame being built, before out's byte `at`. */
typedef struct s_seg {
    size_t at;
    dvi_blob *blob;
} s_seg;

struct dvi_conn {
    uv_loop_t *loop;
    int kind;
    union {
        uv_handle_t handle;
        uv_stream_t stream;
        uv_tcp_t tcp;
        uv_pipe_t pipe;
    } h;
    uv_connect_t connect_req;
    uv_shutdown_t shutdown_req;
    uv_prepare_t prepare; /* flushes the batch before the loop sleeps */
    uv_idle_t idle;       /* delivers inproc frames on the next turn */
    int open_handles;     /* uv handles not yet closed; free at zero */
    int connected;        /* writes may go straight out */
    int closing;          /* dvi_conn_close or a failure began */
    int peer_gone;        /* inproc: the other end closed */

    msgpack_sbuffer out; /* the frame being built */
    msgpack_packer pk;
    uint32_t nmsgs; /* messages in out */
    s_seg *segs;    /* blobs spliced into out, in order */
    size_t nsegs, capsegs;
    size_t seg_bytes; /* their total size */
    s_frame *unsent;  /* frames waiting for the connection */
    s_frame **unsent_tail;

    char *rbuf; /* stream input, frames not yet complete */
    size_t rcap, rlen;
    size_t max_frame;
    size_t frame_end;    /* while delivering: end of the frame in rbuf */
    s_frame *delivering; /* while delivering an inproc frame: it */
    int can_take;        /* dvi_conn_take_frame allowed now */
    int taken;           /* the frame's memory was taken */
    dvi_conn *peer;      /* inproc: the other end, NULL once gone */
    s_frame *inbox;      /* inproc: frames from the peer, in order */
    s_frame **inbox_tail;

    dvi_conn_frame_fn on_frame;
    dvi_conn_close_fn on_close;
    void *data;
    char name[96];
    uint64_t bytes_in, bytes_out;
};

struct dvi_listener {
    uv_loop_t *loop;
    int kind;
    uv_tcp_t tcp;
    char name[96];
    dvi_accept_fn on_accept;
    dvi_conn_frame_fn on_frame;
    dvi_conn_close_fn on_close;
    void *data;
};

/* inproc://NAME listeners of this process. */
static uv_mutex_t s_inproc_lock;
static dvi_map s_inproc;
static uv_once_t s_inproc_once = UV_ONCE_INIT;

static void
s_inproc_init(void)
{
    uv_mutex_init(&s_inproc_lock);
    dvi_map_init(&s_inproc);
}

static inline uint32_t
s_be32(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    return ((uint32_t)u[0] << 24) | ((uint32_t)u[1] << 16) |
           ((uint32_t)u[2] << 8) | u[3];
}

static inline void
s_put_be32(char *p, uint32_t v)
{
    p[0] = (char)(v >> 24);
    p[1] = (char)(v >> 16);
    p[2] = (char)(v >> 8);
    p[3] = (char)v;
}

static void s_fail(dvi_conn *c, const char *why);
static void s_flush_frames(dvi_conn *c);

/* ---- Life cycle --------------------------------------------------------- */

static void
s_free_frames(s_frame *f)
{
    while (f) {
        s_frame *next = f->next;
        free(f->buf);
        free(f);
        f = next;
    }
}

static void
s_handle_closed(uv_handle_t *h)
{
    dvi_conn *c = h->data;
    if (--c->open_handles > 0) {
        return;
    }
    msgpack_sbuffer_destroy(&c->out);
    for (size_t i = 0; i < c->nsegs; i++) {
        dvi_blob_rele(c->segs[i].blob);
    }
    free(c->segs);
    s_free_frames(c->unsent);
    s_free_frames(c->inbox);
    free(c->rbuf);
    free(c);
}

static void s_prepare_cb(uv_prepare_t *p);
static void s_idle_cb(uv_idle_t *i);

static dvi_conn *
s_new(uv_loop_t *loop, int kind, dvi_conn_frame_fn on_frame,
      dvi_conn_close_fn on_close, void *data)
{
    dvi_conn *c = dvi_calloc(1, sizeof(*c));
    c->loop = loop;
    c->kind = kind;
    c->max_frame = DVI_FRAME_MAX_DEFAULT;
    c->on_frame = on_frame;
    c->on_close = on_close;
    c->data = data;
    c->unsent_tail = &c->unsent;
    c->inbox_tail = &c->inbox;
    msgpack_sbuffer_init(&c->out);
    msgpack_packer_init(&c->pk, &c->out, msgpack_sbuffer_write);
    uv_prepare_init(loop, &c->prepare);
    uv_idle_init(loop, &c->idle);
    c->prepare.data = c;
    c->idle.data = c;
    c->h.handle.data = c;
    c->open_handles = 2;
    return c;
}

static void
s_close_handle(uv_handle_t *h)
{
    if (!uv_is_closing(h)) {
        uv_close(h, s_handle_closed);
    }
}

static void
s_close_handles(dvi_conn *c)
{
    s_close_handle((uv_handle_t *)&c->prepare);
    s_close_handle((uv_handle_t *)&c->idle);
    if (c->kind != S_INPROC) {
        s_close_handle(&c->h.handle);
    }
}

static void
s_inproc_detach(dvi_conn *c)
{
    dvi_conn *peer = c->peer;
    if (peer == NULL) {
        return;
    }
    c->peer = NULL;
    peer->peer = NULL;
    peer->peer_gone = 1;
    uv_idle_start(&peer->idle, s_idle_cb);
}

static void
s_shutdown_cb(uv_shutdown_t *req, int status)
{
    dvi_conn *c = req->data;
    s_close_handles(c);
}

void
dvi_conn_close(dvi_conn *c)
{
    if (c == NULL || c->closing) {
        return;
    }
    c->closing = 1;
    if (c->kind == S_INPROC) {
        s_flush_frames(c);
        s_inproc_detach(c);
        s_close_handles(c);
        return;
    }
    s_flush_frames(c);
    if (c->connected && c->unsent == NULL) {
        /* Let queued writes finish, then close. */
        c->shutdown_req.data = c;
        if (uv_shutdown(&c->shutdown_req, &c->h.stream, s_shutdown_cb) == 0) {
            return;
        }
    }
    s_close_handles(c);
}

static void
s_fail(dvi_conn *c, const char *why)
{
    if (c->closing) {
        return;
    }
    c->closing = 1;
    DVI_LOG(DVI_LOG_INFO, "CONN", "%s: %s", c->name, why);
    if (c->on_close) {
        c->on_close(c, why);
    }
    s_inproc_detach(c);
    s_close_handles(c);
}

/* ---- Writing ------------------------------------------------------------ */

typedef struct s_write {
    uv_write_t req;
    char *buf;
    s_seg *segs; /* blobs written from their own memory, held till done */
    size_t nsegs;
} s_write;

static void
s_write_cb(uv_write_t *req, int status)
{
    s_write *w = (s_write *)req;
    dvi_conn *c = req->data;
    for (size_t i = 0; i < w->nsegs; i++) {
        dvi_blob_rele(w->segs[i].blob);
    }
    free(w->segs);
    free(w->buf);
    free(w);
    if (status < 0 && status != UV_ECANCELED) {
        s_fail(c, uv_strerror(status));
    }
}

static void
s_send_frame(dvi_conn *c, char *buf, size_t len)
{
    c->bytes_out += len;
    if (c->kind == S_INPROC) {
        if (c->peer == NULL) {
            free(buf);
            return;
        }
        s_frame *f = dvi_malloc(sizeof(*f));
        f->next = NULL;
        f->buf = buf;
        f->len = len;
        *c->peer->inbox_tail = f;
        c->peer->inbox_tail = &f->next;
        uv_idle_start(&c->peer->idle, s_idle_cb);
        return;
    }
    if (!c->connected) {
        s_frame *f = dvi_malloc(sizeof(*f));
        f->next = NULL;
        f->buf = buf;
        f->len = len;
        *c->unsent_tail = f;
        c->unsent_tail = &f->next;
        return;
    }
    s_write *w = dvi_calloc(1, sizeof(*w));
    uv_buf_t b = uv_buf_init(buf, (unsigned)len);
    w->buf = buf;
    w->req.data = c;
    int rc = uv_write(&w->req, &c->h.stream, &b, 1, s_write_cb);
    if (rc < 0) {
        free(buf);
        free(w);
        s_fail(c, uv_strerror(rc));
    }
}

/* Copies the frame in buf (len bytes of out) and its spliced blobs into
 * one buffer, for transports that need contiguous frames. */
static char *
s_assemble(dvi_conn *c, char *buf, size_t len)
{
    char *whole = dvi_malloc(len + c->seg_bytes);
    size_t from = 0, to = 0;
    for (size_t i = 0; i < c->nsegs; i++) {
        memcpy(whole + to, buf + from, c->segs[i].at - from);
        to += c->segs[i].at - from;
        from = c->segs[i].at;
        memcpy(whole + to, c->segs[i].blob->data, c->segs[i].blob->len);
        to += c->segs[i].blob->len;
        dvi_blob_rele(c->segs[i].blob);
    }
    memcpy(whole + to, buf + from, len - from);
    free(buf);
    c->nsegs = 0;
    c->seg_bytes = 0;
    return whole;
}

/* Writes a frame whose blobs go out from their own memory. */
static void
s_write_spliced(dvi_conn *c, char *buf, size_t len)
{
    s_write *w = dvi_calloc(1, sizeof(*w));
    uv_buf_t *bufs = dvi_calloc(2 * c->nsegs + 1, sizeof(*bufs));
    size_t n = 0, from = 0;
    for (size_t i = 0; i < c->nsegs; i++) {
        bufs[n++] = uv_buf_init(buf + from, (unsigned)(c->segs[i].at - from));
        bufs[n++] =
            uv_buf_init(c->segs[i].blob->data, (unsigned)c->segs[i].blob->len);
        from = c->segs[i].at;
    }
    bufs[n++] = uv_buf_init(buf + from, (unsigned)(len - from));
    c->bytes_out += len + c->seg_bytes;
    w->buf = buf;
    w->segs = c->segs;
    w->nsegs = c->nsegs;
    w->req.data = c;
    c->segs = NULL;
    c->nsegs = c->capsegs = 0;
    c->seg_bytes = 0;
    int rc = uv_write(&w->req, &c->h.stream, bufs, (unsigned)n, s_write_cb);
    free(bufs); /* libuv copies the array of buffers, not their bytes */
    if (rc < 0) {
        s_write_cb(&w->req, UV_ECANCELED);
        s_fail(c, uv_strerror(rc));
    }
}

static void
s_flush_frames(dvi_conn *c)
{
    if (c->nmsgs == 0) {
        return;
    }
    size_t len = c->out.size;
    char *buf = msgpack_sbuffer_release(&c->out);
    s_put_be32(buf, (uint32_t)(len + c->seg_bytes - 4));
    buf[4] = (char)0xdd;
    s_put_be32(buf + 5, c->nmsgs);
    c->nmsgs = 0;
    if (c->nsegs == 0) {
        s_send_frame(c, buf, len);
    } else if (c->kind == S_INPROC || !c->connected) {
        size_t whole = len + c->seg_bytes;
        s_send_frame(c, s_assemble(c, buf, len), whole);
    } else {
        s_write_spliced(c, buf, len);
    }
}

void
dvi_conn_put_blob(dvi_conn *c, dvi_blob *b)
{
    if (c->nsegs == c->capsegs) {
        c->capsegs = c->capsegs ? c->capsegs * 2 : 4;
        c->segs = dvi_realloc(c->segs, c->capsegs * sizeof(*c->segs));
    }
    c->segs[c->nsegs].at = c->out.size;
    c->segs[c->nsegs].blob = dvi_blob_hold(b);
    c->nsegs++;
    c->seg_bytes += b->len;
}

void *
dvi_conn_take_frame(dvi_conn *c)
{
    if (!c->can_take) {
        return NULL;
    }
    c->can_take = 0;
    if (c->delivering) {
        void *base = c->delivering->buf;
        c->delivering->buf = NULL;
        return base;
    }
    /* The rest of the read buffer moves to a new one. */
    size_t rest = c->rlen - c->frame_end;
    size_t cap = rest > S_READ_CHUNK ? rest : S_READ_CHUNK;
    char *next = malloc(cap);
    if (next == NULL) {
        return NULL;
    }
    memcpy(next, c->rbuf + c->frame_end, rest);
    void *base = c->rbuf;
    c->rbuf = next;
    c->rcap = cap;
    c->rlen = rest;
    c->taken = 1;
    return base;
}

void
dvi_conn_flush(dvi_conn *c)
{
    s_flush_frames(c);
}

static void
s_prepare_cb(uv_prepare_t *p)
{
    dvi_conn *c = p->data;
    uv_prepare_stop(p);
    s_flush_frames(c);
}

static void
s_begin(dvi_conn *c, uint32_t n)
{
    if (c->out.size + c->seg_bytes >= S_FLUSH_AT) {
        s_flush_frames(c);
    }
    if (c->nmsgs == 0) {
        static const char zero[S_HEADER];
        msgpack_sbuffer_write(&c->out, zero, S_HEADER);
        if (!c->closing) {
            uv_prepare_start(&c->prepare, s_prepare_cb);
        }
    }
    c->nmsgs += n;
}

msgpack_packer *
dvi_conn_msg(dvi_conn *c, int type, uint32_t nfields)
{
    s_begin(c, 1);
    msgpack_pack_array(&c->pk, nfields + 1);
    msgpack_pack_int(&c->pk, type);
    return &c->pk;
}

void
dvi_conn_append(dvi_conn *c, const char *bytes, size_t len, uint32_t n)
{
    if (n == 0) {
        return;
    }
    s_begin(c, n);
    msgpack_sbuffer_write(&c->out, bytes, len);
}

/* ---- Reading ------------------------------------------------------------ */

static void
s_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    dvi_conn *c = h->data;
    size_t want = c->rlen + S_READ_CHUNK;
    if (c->rlen >= 4) {
        /* Grow towards a large frame as its bytes arrive, doubling, so a
         * peer that only claims a huge frame costs nothing; an oversize
         * one is refused after this read. */
        size_t flen = 4 + (size_t)s_be32(c->rbuf);
        size_t doubled = c->rlen * 2;
        if (flen > want && flen <= c->max_frame + 4) {
            want = doubled > want ? doubled : want;
            want = want < flen ? want : flen;
        }
    }
    if (want > c->rcap) {
        char *p = realloc(c->rbuf, want);
        if (p == NULL) {
            buf->base = NULL;
            buf->len = 0;
            return;
        }
        c->rbuf = p;
        c->rcap = want;
    }
    buf->base = c->rbuf + c->rlen;
    buf->len = c->rcap - c->rlen;
}

static void
s_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    dvi_conn *c = s->data;
    if (c->closing) {
        return;
    }
    if (nread < 0) {
        s_fail(c, nread == UV_EOF ? "closed by peer" : uv_strerror(nread));
        return;
    }
    if (nread == 0 && buf->base == NULL) {
        s_fail(c, "out of memory for a frame");
        return;
    }
    c->rlen += (size_t)nread;
    c->bytes_in += (size_t)nread;
    size_t pos = 0;
    while (c->rlen - pos >= 4) {
        size_t flen = s_be32(c->rbuf + pos);
        if (flen > c->max_frame) {
            char why[128];
            snprintf(why, sizeof(why), "frame of %zu bytes > max %zu", flen,
                     c->max_frame);
            DVI_LOG(DVI_LOG_WARN, "CONN", "%s: %s", c->name, why);
            s_fail(c, why);
            return;
        }
        if (c->rlen - pos - 4 < flen) {
            break;
        }
        c->frame_end = pos + 4 + flen;
        c->can_take = 1;
        int rc = c->on_frame(c, c->rbuf + pos + 4, flen);
        c->can_take = 0;
        if (c->closing) {
            return;
        }
        if (rc < 0) {
            DVI_LOG(DVI_LOG_WARN, "CONN", "%s: %s", c->name, dv_last_error());
            s_fail(c, dv_last_error());
            return;
        }
        if (c->taken) {
            c->taken = 0; /* what followed the frame now starts rbuf */
            pos = 0;
            continue;
        }
        pos += 4 + flen;
    }
    if (pos > 0) {
        memmove(c->rbuf, c->rbuf + pos, c->rlen - pos);
        c->rlen -= pos;
    }
    if (c->rcap > 4 * S_READ_CHUNK && c->rlen < S_READ_CHUNK) {
        /* Give back the memory of a large frame once it is consumed. */
        char *p = realloc(c->rbuf, S_READ_CHUNK);
        if (p != NULL) {
            c->rbuf = p;
            c->rcap = S_READ_CHUNK;
        }
    }
}

static void
s_idle_cb(uv_idle_t *i)
{
    dvi_conn *c = i->data;
    uv_idle_stop(i);
    while (c->inbox && !c->closing) {
        s_frame *f = c->inbox;
        c->inbox = f->next;
        if (c->inbox == NULL) {
            c->inbox_tail = &c->inbox;
        }
        c->bytes_in += f->len;
        c->delivering = f;
        c->can_take = 1;
        int rc = c->on_frame(c, f->buf + 4, f->len - 4);
        c->can_take = 0;
        c->delivering = NULL;
        free(f->buf);
        free(f);
        if (!c->closing && rc < 0) {
            s_fail(c, dv_last_error());
        }
    }
    if (c->peer_gone && !c->closing) {
        s_fail(c, "closed by peer");
    }
}

static void
s_start_reading(dvi_conn *c)
{
    c->connected = 1;
    int rc = uv_read_start(&c->h.stream, s_alloc_cb, s_read_cb);
    if (rc < 0) {
        s_fail(c, uv_strerror(rc));
        return;
    }
    s_frame *f = c->unsent;
    c->unsent = NULL;
    c->unsent_tail = &c->unsent;
    while (f) {
        s_frame *next = f->next;
        c->bytes_out -= f->len; /* counted again when really sent */
        s_send_frame(c, f->buf, f->len);
        free(f);
        f = next;
    }
}

/* ---- Dialing ------------------------------------------------------------ */

/* Splits "tcp://HOST:PORT" into a socket address. */
static int
s_parse_tcp(const char *addr, struct sockaddr_storage *ss)
{
    char host[256];
    const char *hp = addr + 6;
    const char *colon = strrchr(hp, ':');
    if (strncmp(addr, "tcp://", 6) != 0 || colon == NULL ||
        (size_t)(colon - hp) >= sizeof(host) || colon == hp) {
        return dvi_seterr(DV_EINVAL, "bad address '%s' (want tcp://HOST:PORT)",
                          addr);
    }
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end != '\0' || port < 0 || port > 65535 || end == colon + 1) {
        return dvi_seterr(DV_EINVAL, "bad port in '%s'", addr);
    }
    memcpy(host, hp, (size_t)(colon - hp));
    host[colon - hp] = '\0';
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = '\0';
    }
    if (uv_ip4_addr(host, (int)port, (struct sockaddr_in *)ss) == 0 ||
        uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)ss) == 0) {
        return 0;
    }
    /* A host name: resolved here, once, when connecting or binding. */
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(host, NULL, &hints, &res);
    if (rc != 0 || res == NULL) {
        return dvi_seterr(DV_ECONN, "%s: cannot resolve host: %s", addr,
                          gai_strerror(rc));
    }
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
    freeaddrinfo(res);
    return 0;
}

static void
s_connect_cb(uv_connect_t *req, int status)
{
    dvi_conn *c = req->data;
    if (c->closing) {
        return;
    }
    if (status < 0) {
        char why[160];
        snprintf(why, sizeof(why), "%s: %s", c->name, uv_strerror(status));
        s_fail(c, why);
        return;
    }
    s_start_reading(c);
}

static dvi_conn *
s_dial_inproc(uv_loop_t *loop, const char *addr, dvi_conn_frame_fn on_frame,
              dvi_conn_close_fn on_close, void *data)
{
    uv_once(&s_inproc_once, s_inproc_init);
    uv_mutex_lock(&s_inproc_lock);
    dvi_listener *l = dvi_map_get(&s_inproc, addr);
    uv_mutex_unlock(&s_inproc_lock);
    if (l == NULL) {
        dvi_seterr(DV_ECONN, "%s: nothing listens there", addr);
        return NULL;
    }
    if (l->loop != loop) {
        /* In-process pairs share one loop: delivery needs no locks. */
        dvi_seterr(DV_EINVAL, "%s: listener runs on another loop", addr);
        return NULL;
    }
    dvi_conn *a = s_new(loop, S_INPROC, on_frame, on_close, data);
    dvi_conn *b = s_new(loop, S_INPROC, l->on_frame, l->on_close, NULL);
    a->peer = b;
    b->peer = a;
    a->connected = b->connected = 1;
    snprintf(a->name, sizeof(a->name), "%s", addr);
    snprintf(b->name, sizeof(b->name), "inproc peer of %s", addr);
    l->on_accept(l, b);
    return a;
}

dvi_conn *
dvi_conn_dial(uv_loop_t *loop, const char *addr, dvi_conn_frame_fn on_frame,
              dvi_conn_close_fn on_close, void *data)
{
    if (strncmp(addr, "inproc://", 9) == 0) {
        return s_dial_inproc(loop, addr, on_frame, on_close, data);
    }
    struct sockaddr_storage ss;
    if (s_parse_tcp(addr, &ss) < 0) {
        return NULL;
    }
    dvi_conn *c = s_new(loop, S_TCP, on_frame, on_close, data);
    snprintf(c->name, sizeof(c->name), "%s", addr);
    uv_tcp_init(loop, &c->h.tcp);
    c->open_handles++;
    uv_tcp_nodelay(&c->h.tcp, 1);
    c->connect_req.data = c;
    int rc = uv_tcp_connect(&c->connect_req, &c->h.tcp,
                            (const struct sockaddr *)&ss, s_connect_cb);
    if (rc < 0) {
        dvi_seterr_uv(rc, addr);
        c->closing = 1;
        s_close_handles(c);
        return NULL;
    }
    return c;
}

dvi_conn *
dvi_conn_from_fd(uv_loop_t *loop, int fd, dvi_conn_frame_fn on_frame,
                 dvi_conn_close_fn on_close, void *data)
{
    dvi_conn *c = s_new(loop, S_PIPE, on_frame, on_close, data);
    snprintf(c->name, sizeof(c->name), "fd %d", fd);
    uv_pipe_init(loop, &c->h.pipe, 0);
    c->open_handles++;
    int rc = uv_pipe_open(&c->h.pipe, fd);
    if (rc < 0) {
        dvi_seterr_uv(rc, c->name);
        c->closing = 1;
        s_close_handles(c);
        return NULL;
    }
    s_start_reading(c);
    return c;
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
    return c->name;
}

uint64_t
dvi_conn_bytes_out(const dvi_conn *c)
{
    return c->bytes_out;
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
    dvi_listener *l = server->data;
    if (status < 0) {
        DVI_LOG(DVI_LOG_WARN, "CONN", "%s: accept: %s", l->name,
                uv_strerror(status));
        return;
    }
    dvi_conn *c = s_new(l->loop, S_TCP, l->on_frame, l->on_close, NULL);
    uv_tcp_init(l->loop, &c->h.tcp);
    c->open_handles++;
    if (uv_accept(server, &c->h.stream) < 0) {
        c->closing = 1;
        s_close_handles(c);
        return;
    }
    uv_tcp_nodelay(&c->h.tcp, 1);
    struct sockaddr_storage ss;
    int sslen = sizeof(ss);
    char ip[64] = "?";
    int port = 0;
    if (uv_tcp_getpeername(&c->h.tcp, (struct sockaddr *)&ss, &sslen) == 0) {
        if (ss.ss_family == AF_INET6) {
            uv_ip6_name((struct sockaddr_in6 *)&ss, ip, sizeof(ip));
            port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        } else {
            uv_ip4_name((struct sockaddr_in *)&ss, ip, sizeof(ip));
            port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        }
    }
    snprintf(c->name, sizeof(c->name), "tcp://%s:%d", ip, port);
    s_start_reading(c);
    if (!c->closing) {
        l->on_accept(l, c);
    }
}

dvi_listener *
dvi_listen(uv_loop_t *loop, const char *addr, dvi_accept_fn on_accept,
           dvi_conn_frame_fn on_frame, dvi_conn_close_fn on_close, void *data,
           char *bound, size_t size)
{
    dvi_listener *l = dvi_calloc(1, sizeof(*l));
    l->loop = loop;
    l->on_accept = on_accept;
    l->on_frame = on_frame;
    l->on_close = on_close;
    l->data = data;
    snprintf(l->name, sizeof(l->name), "%s", addr);
    if (strncmp(addr, "inproc://", 9) == 0) {
        l->kind = S_INPROC;
        uv_once(&s_inproc_once, s_inproc_init);
        uv_mutex_lock(&s_inproc_lock);
        int taken = dvi_map_get(&s_inproc, l->name) != NULL;
        if (!taken) {
            dvi_map_put(&s_inproc, l->name, l);
        }
        uv_mutex_unlock(&s_inproc_lock);
        if (taken) {
            free(l);
            dvi_seterr(DV_ECONN, "%s: address in use", addr);
            return NULL;
        }
        snprintf(bound, size, "%s", addr);
        return l;
    }
    struct sockaddr_storage ss;
    if (s_parse_tcp(addr, &ss) < 0) {
        free(l);
        return NULL;
    }
    l->kind = S_TCP;
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
    char ip[64];
    uv_tcp_getsockname(&l->tcp, (struct sockaddr *)&ss, &sslen);
    if (ss.ss_family == AF_INET6) {
        uv_ip6_name((struct sockaddr_in6 *)&ss, ip, sizeof(ip));
        snprintf(l->name, sizeof(l->name), "tcp://[%s]:%d", ip,
                 ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
    } else {
        uv_ip4_name((struct sockaddr_in *)&ss, ip, sizeof(ip));
        snprintf(l->name, sizeof(l->name), "tcp://%s:%d", ip,
                 ntohs(((struct sockaddr_in *)&ss)->sin_port));
    }
    snprintf(bound, size, "%s", l->name);
    return l;
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
    if (l->kind == S_INPROC) {
        uv_mutex_lock(&s_inproc_lock);
        dvi_map_del(&s_inproc, l->name);
        uv_mutex_unlock(&s_inproc_lock);
        free(l);
        return;
    }
    uv_close((uv_handle_t *)&l->tcp, s_listener_closed);
}
