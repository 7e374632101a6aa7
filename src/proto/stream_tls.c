/* The TLS stream: a dvi_stream that encrypts into, and decrypts from, an
 * inner dvi_stream (see stream_tls.h). This file is the protocol: the
 * handshake, reading, writing and ending. The ciphertext buffers and the
 * BIO are tls_bio.c's, the certificate checks and their words
 * tls_ctx.c's, the listener and the tls+ schemes stream_tls_listen.c's.
 *
 * Copies. Ciphertext is read by OpenSSL where the inner stream put it,
 * and written by OpenSSL into the chunk that goes to the inner stream
 * (tls_bio.h). What remains is OpenSSL's own: to decrypt, the record
 * layer copies a record in, decrypts it in place and copies the
 * plaintext out, into the buffer our user's alloc gave (SSL_read); to
 * encrypt, it copies plaintext in, straight from the frame's buffer and
 * blobs (SSL_write of each part in turn), and encrypts it in place.
 *
 * Flow. Frames wait in a queue and are encrypted a slice at a time while
 * less than DVI_TLS_BUDGET bytes of ciphertext are in flight (written to the
 * inner stream and not yet sent). A chunk the socket takes at once comes
 * back at once, and the pump goes on there and then; a uv_prepare handle
 * takes the queue up again as the others come back. It runs before each
 * poll of the loop, after the write callbacks that gave chunks back,
 * without making the loop spin. (A uv_check handle, which runs after the
 * poll, would miss the chunks that a queued write completed at once gives
 * back in the next turn's pending phase: the loop would then sleep with
 * budget to spare.) So sending a large frame overlaps encrypting it, and
 * the memory it takes is bounded.
 */
#include "stream_tls.h"

#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "drove.h"
#include "tls_bio.h"

/* A frame waiting to be encrypted. */
typedef struct s_qframe {
    struct s_qframe *next;
    dvi_outbox_frame f;
} s_qframe;

typedef struct s_tls {
    dvi_stream base;
    dvi_stream *inner; /* owned; closed before this is freed */
    dvi_tls_ctx *ctx;  /* held */
    SSL *ssl;          /* owned, with its BIO */
    dvi_tls_bio io;    /* the ciphertext both ways */
    dvi_tls_auth auth; /* what the handshake checks and found */
    uv_prepare_t pump; /* resumes a backlog before each poll */
    uv_timer_t timer;  /* the handshake's deadline */
    int busy;          /* inner, pump, timer: closed callbacks due */

    s_qframe *qhead, **qtail; /* frames to encrypt, in order */
    size_t part, off;         /* in qhead: the part (a piece of its buffer
                                 or a blob) and its bytes encrypted */

    int inner_started; /* the inner stream was started */
    int inner_open;    /* ... and said open */
    int inner_failed;  /* ... and reported an error */
    int started;       /* the user called start */
    int sniffed;       /* the peer's first byte was checked */
    int hs_done;       /* SSL_do_handshake succeeded */
    int open;          /* both sides accepted each other */
    int failed;        /* an error was found (reported once) */
    int ending;        /* shutdown: drain the queue, then close_notify */
    int closing;       /* the inner stream is being ended */
    int pumping;       /* in s_pump_in (nested calls return at once) */
    dvi_stream_closed_fn closed_cb;
    dvi_tls_handed_fn handed; /* the listener's, until it hands s on */
    void *owner;
} s_tls;

static const dvi_stream_ops s_ops;
static void s_pump_in(s_tls *t);
static void s_pump_out(s_tls *t);
static void s_fail(s_tls *t, const char *why);

static void
s_pump_cb(uv_prepare_t *h)
{
    s_pump_out(h->data);
}

/* Writes the ciphertext made so far; reports a failed write. */
static void
s_flush_out(s_tls *t)
{
    dvi_tls_bio_flush(&t->io);
    if (t->io.failed) {
        s_fail(t, t->io.why);
    } else if (t->io.nflight > 0 && !t->closing) {
        uv_prepare_start(&t->pump, s_pump_cb);
    }
}

/* ---- Ending ------------------------------------------------------------- */

static void
s_free(s_tls *t)
{
    while (t->qhead != NULL) {
        s_qframe *q = t->qhead;
        t->qhead = q->next;
        dvi_outbox_frame_fini(&q->f);
        free(q);
    }
    SSL_free(t->ssl);
    dvi_tls_bio_fini(&t->io);
    dvi_tls_ctx_rele(t->ctx);
    dvi_stream_closed_fn cb = t->closed_cb;
    void *ctx = t->base.ctx;
    free(t);
    if (cb) {
        cb(ctx);
    }
}

static void
s_rele(s_tls *t)
{
    if (--t->busy == 0) {
        s_free(t);
    }
}

static void
s_inner_closed(void *ctx)
{
    s_rele(ctx);
}

static void
s_handle_closed(uv_handle_t *h)
{
    s_rele(h->data);
}

/* Ends the inner stream: gracefully (what was written goes out first:
 * close_notify, or the alert of a failed handshake) or at once. */
static void
s_end(s_tls *t, int graceful)
{
    t->closing = 1;
    t->io.dropping = 1;
    t->base.quiet = 1;
    uv_close((uv_handle_t *)&t->pump, s_handle_closed);
    uv_close((uv_handle_t *)&t->timer, s_handle_closed);
    if (graceful && t->inner_open && !t->inner_failed) {
        dvi_stream_shutdown(t->inner, s_inner_closed);
    } else {
        dvi_stream_close(t->inner, s_inner_closed);
    }
}

/* The queue is empty after a shutdown: close_notify, then the end. */
static void
s_finish_shutdown(s_tls *t)
{
    if (t->open && !t->failed) {
        ERR_clear_error();
        SSL_shutdown(t->ssl);
        ERR_clear_error();
        s_flush_out(t);
    }
    s_end(t, 1);
}

static void
s_shutdown(dvi_stream *s, dvi_stream_closed_fn cb)
{
    s_tls *t = (s_tls *)s;
    dvi_assert(!t->ending && !t->closing);
    t->closed_cb = cb;
    t->base.quiet = 1;
    t->ending = 1;
    if (!t->open || t->failed) {
        /* A failed handshake's alert still goes out. */
        s_end(t, t->failed);
        return;
    }
    s_pump_out(t); /* finishes once the queue is empty */
}

static void
s_close(dvi_stream *s, dvi_stream_closed_fn cb)
{
    s_tls *t = (s_tls *)s;
    dvi_assert(!t->closing);
    t->closed_cb = cb;
    t->base.quiet = 1;
    t->handed = NULL;
    /* An alert of a failed handshake still goes out; data does not. */
    s_end(t, t->failed && !t->open);
}

/* Reports why once: to the listener while it owns the stream, else to the
 * user (unless it is quiet). Encrypting and decrypting stop. */
static void
s_fail(s_tls *t, const char *why)
{
    if (t->failed) {
        return;
    }
    t->failed = 1;
    uv_timer_stop(&t->timer);
    if (t->ending && !t->closing) {
        s_end(t, 0); /* the shutdown cannot finish */
        return;
    }
    if (t->handed != NULL) {
        dvi_tls_handed_fn handed = t->handed;
        t->handed = NULL;
        handed(t->owner, &t->base, why);
        return;
    }
    dvi_stream_error(&t->base, why);
}

/* ---- Plaintext out ------------------------------------------------------ */

/* The piece of frame f numbered part: even parts are pieces of its
 * buffer, odd ones its blobs. Returns 0 past the last part. */
static int
s_part(const dvi_outbox_frame *f, size_t part, const char **p, size_t *n)
{
    size_t i = part / 2;
    if (part >= 2 * f->nsegs + 1) {
        return 0;
    }
    if (part % 2 == 1) {
        *p = f->segs[i].blob->data;
        *n = f->segs[i].blob->len;
        return 1;
    }
    size_t from = i == 0 ? 0 : f->segs[i - 1].at;
    size_t to = i == f->nsegs ? f->len : f->segs[i].at;
    *p = f->buf + from;
    *n = to - from;
    return 1;
}

/* Encrypts n bytes at p; 0, or -1 after reporting why. */
static int
s_encrypt(s_tls *t, const char *p, size_t n)
{
    dvi_tls_bio_expect(&t->io, n);
    size_t w = 0;
    ERR_clear_error();
    if (!SSL_write_ex(t->ssl, p, n, &w) || w != n) {
        char why[320], reason[128];
        snprintf(why, sizeof(why), "%s: TLS: cannot encrypt: %s", t->base.peer,
                 dvi_ssl_reason(reason, sizeof(reason)));
        s_fail(t, why);
        return -1;
    }
    if (t->io.out != NULL && t->io.out->len >= DVI_TLS_SLICE) {
        s_flush_out(t); /* a chunk per slice */
    }
    return t->failed ? -1 : 0;
}

/* Encrypts the next slice of the queue's first frame; pops it when done.
 * 0, or -1 after a failure. */
static int
s_encrypt_next(s_tls *t)
{
    s_qframe *q = t->qhead;
    const char *p;
    size_t n;
    if (!s_part(&q->f, t->part, &p, &n)) {
        t->qhead = q->next;
        if (t->qhead == NULL) {
            t->qtail = &t->qhead;
        }
        dvi_outbox_frame_fini(&q->f); /* its blobs go back now */
        free(q);
        t->part = t->off = 0;
        return 0;
    }
    size_t take = n - t->off;
    take = take < DVI_TLS_SLICE ? take : DVI_TLS_SLICE;
    if (take > 0 && s_encrypt(t, p + t->off, take) < 0) {
        return -1;
    }
    t->off += take;
    if (t->off == n) {
        t->part++;
        t->off = 0;
    }
    return 0;
}

/* Encrypts queued frames while the inner stream keeps up, writes the
 * result, and finishes a shutdown once the queue is empty. Also the pump
 * handle's callback. */
static void
s_pump_out(s_tls *t)
{
    if (t->closing) {
        return;
    }
    dvi_tls_bio_reap(&t->io, t->qhead != NULL);
    for (;;) {
        while (t->qhead != NULL && !t->failed &&
               t->io.inflight < DVI_TLS_BUDGET) {
            if (s_encrypt_next(t) < 0) {
                return;
            }
        }
        s_flush_out(t);
        if (t->closing) {
            return;
        }
        /* Chunks the socket took at once are back already, and no write
         * callback will wake the loop for them: go on while they leave
         * budget, or a quiet loop would sleep with the queue unsent. */
        size_t before = t->io.inflight;
        dvi_tls_bio_reap(&t->io, t->qhead != NULL);
        if (t->qhead == NULL || t->failed || t->io.inflight == before) {
            break;
        }
    }
    if (t->qhead == NULL) {
        dvi_tls_bio_idle(&t->io);
        if (t->ending) {
            s_finish_shutdown(t);
            return;
        }
    }
    if (t->qhead == NULL && t->io.nflight == 0) {
        uv_prepare_stop(&t->pump);
    } else {
        uv_prepare_start(&t->pump, s_pump_cb);
    }
}

static int
s_write(dvi_stream *s, dvi_outbox_frame *f)
{
    s_tls *t = (s_tls *)s;
    if (t->failed) {
        dvi_outbox_frame_fini(f); /* the user was told; nobody reads it */
        return 0;
    }
    if (!t->open) {
        return dvi_seterr(DV_ECONN, "%s: not open yet", s->peer);
    }
    s_qframe *q = dvi_malloc(sizeof(*q));
    q->next = NULL;
    q->f = *f;
    memset(f, 0, sizeof(*f));
    *t->qtail = q;
    t->qtail = &q->next;
    s_pump_out(t);
    return 0;
}

/* ---- Handshake ---------------------------------------------------------- */

static void
s_hs_failed(s_tls *t, int rc)
{
    char why[512], words[340];
    dvi_tls_ctx_explain(t->ssl, &t->auth, rc, words, sizeof(words));
    snprintf(why, sizeof(why), "%s: %s", t->base.peer, words);
    DVI_LOG(DVI_LOG_DEBUG, "TLS", "%s", why);
    s_flush_out(t); /* the alert */
    t->base.code = DV_EAUTH;
    s_fail(t, why);
}

static void
s_opened(s_tls *t)
{
    DVI_LOG(DVI_LOG_DEBUG, "TLS", "%s: open (%s side, peer %s)", t->base.peer,
            t->auth.server ? "accepting" : "dialing", t->auth.peer_name);
    t->open = 1;
    /* This end's address is the transport's (a worker advertises it). */
    memcpy(t->base.local, t->inner->local, sizeof(t->base.local));
    uv_timer_stop(&t->timer);
    if (t->handed != NULL) {
        dvi_tls_handed_fn handed = t->handed;
        t->handed = NULL;
        handed(t->owner, &t->base, NULL);
    } else if (t->started && !t->base.quiet) {
        t->base.user->open(t->base.ctx);
    }
}

/* The peer's first byte must begin a TLS record of a handshake (or an
 * alert): a plaintext peer is refused at once, even when it sent too few
 * bytes for OpenSSL to judge. 0 if it does (or nothing came yet), -1 if
 * the stream failed. */
static int
s_sniff(s_tls *t)
{
    if (dvi_tls_bio_unread(&t->io) == 0) {
        return 0;
    }
    t->sniffed = 1;
    unsigned char c = (unsigned char)dvi_tls_bio_next(&t->io)[0];
    if (c == 0x16 || c == 0x15) {
        return 0;
    }
    /* Text says what the port is (an SSH banner, an HTTP reply). */
    const char *p = dvi_tls_bio_next(&t->io);
    size_t n = dvi_tls_bio_unread(&t->io), k = 0;
    char text[48];
    while (k < n && k < sizeof(text) - 1 && p[k] >= 0x20 && p[k] < 0x7f) {
        text[k] = p[k];
        k++;
    }
    text[k] = '\0';
    char why[300];
    if (k >= 4) {
        snprintf(why, sizeof(why),
                 "%s: TLS handshake failed: the %s does not speak TLS (it "
                 "sent \"%s\")",
                 t->base.peer, t->auth.server ? "client" : "server", text);
    } else {
        snprintf(why, sizeof(why),
                 "%s: TLS handshake failed: the %s does not speak TLS (its "
                 "first byte is 0x%02x, not a TLS record)",
                 t->base.peer, t->auth.server ? "client" : "server", c);
    }
    DVI_LOG(DVI_LOG_DEBUG, "TLS", "%s", why);
    t->base.code = DV_EAUTH;
    s_fail(t, why);
    return -1;
}

/* Advances the handshake: 1 if it is over, 0 if it waits for bytes, -1
 * if it failed. */
static int
s_handshake(s_tls *t)
{
    ERR_clear_error();
    int rc = SSL_do_handshake(t->ssl);
    int err = rc == 1 ? SSL_ERROR_NONE : SSL_get_error(t->ssl, rc);
    if (rc == 1 && t->auth.peer_role == DVI_PKI_ROLE_NONE) {
        /* Never reached: verification checks the role. Fail closed. */
        t->base.code = DV_EAUTH;
        s_fail(t, "authentication failed: the peer's role was not checked");
        return -1;
    }
    if (rc == 1) {
        s_flush_out(t);
        t->hs_done = 1;
        if (t->auth.server) {
            s_opened(t);
        }
        return 1;
    }
    if (err == SSL_ERROR_WANT_READ) {
        s_flush_out(t);
        return 0;
    }
    s_hs_failed(t, rc);
    return -1;
}

/* The dialer waits for the server's ticket, which says the server
 * accepted our certificate (tls_ctx.c): 1 once it came (or data, which
 * says as much), 0 while waiting, -1 if the server refused us. */
static int
s_confirm(s_tls *t)
{
    char c;
    size_t n = 0;
    ERR_clear_error();
    int rc = SSL_peek_ex(t->ssl, &c, 1, &n);
    int err = rc ? SSL_ERROR_NONE : SSL_get_error(t->ssl, rc);
    s_flush_out(t);
    if (t->auth.confirmed || rc) {
        s_opened(t);
        return 1;
    }
    if (err == SSL_ERROR_WANT_READ) {
        return 0;
    }
    s_hs_failed(t, rc);
    return -1;
}

static void
s_timed_out(uv_timer_t *h)
{
    s_tls *t = h->data;
    char why[256];
    snprintf(why, sizeof(why), "%s: TLS handshake timed out after %.1f s",
             t->base.peer, (double)dvi_tls_ctx_handshake_timeout(t->ctx) / 1e3);
    DVI_LOG(DVI_LOG_DEBUG, "TLS", "%s", why);
    s_fail(t, why);
}

/* ---- Plaintext in ------------------------------------------------------- */

/* Decrypts what is there into the user's buffer: 1 if bytes went up, 0
 * if more ciphertext is needed, -1 if the stream failed or ended. */
static int
s_read_some(s_tls *t)
{
    size_t have = dvi_tls_bio_unread(&t->io) + (size_t)SSL_pending(t->ssl);
    if (have == 0) {
        return 0;
    }
    uv_buf_t buf;
    t->base.user->alloc(t->base.ctx, have, &buf);
    if (buf.len == 0) {
        s_fail(t, uv_strerror(UV_ENOBUFS));
        return -1;
    }
    size_t got = 0, n = 0;
    int err = SSL_ERROR_NONE;
    while (got < buf.len) {
        ERR_clear_error();
        if (!SSL_read_ex(t->ssl, buf.base + got, buf.len - got, &n)) {
            err = SSL_get_error(t->ssl, 0);
            break;
        }
        got += n;
    }
    if (got > 0) {
        t->base.user->read(t->base.ctx, got);
    }
    if (err == SSL_ERROR_NONE || err == SSL_ERROR_WANT_READ) {
        return got > 0 ? 1 : 0;
    }
    char why[320], reason[128];
    if (err == SSL_ERROR_ZERO_RETURN) {
        snprintf(why, sizeof(why), "closed by peer");
    } else {
        snprintf(why, sizeof(why), "%s: TLS: %s", t->base.peer,
                 dvi_ssl_reason(reason, sizeof(reason)));
    }
    ERR_clear_error();
    s_fail(t, why);
    return -1;
}

/* Feeds the ciphertext that arrived through the handshake and up to the
 * user, as far as it goes. */
static void
s_pump_in(s_tls *t)
{
    if (t->pumping) {
        return; /* the outer call goes on where this one would */
    }
    t->pumping = 1;
    while (!t->failed && !t->closing) {
        int r;
        if (!t->sniffed && s_sniff(t) < 0) {
            break;
        }
        if (!t->hs_done) {
            r = s_handshake(t);
        } else if (!t->open) {
            r = s_confirm(t);
        } else if (!t->started || t->base.quiet) {
            r = 0; /* a listener's, not handed on yet; or ending */
        } else {
            r = s_read_some(t);
        }
        if (r <= 0) {
            break;
        }
    }
    t->pumping = 0;
    if (!t->closing) {
        s_flush_out(t); /* what reading wrote: a key update */
    }
}

/* ---- The inner stream's user -------------------------------------------- */

static void
s_inner_open(void *ctx)
{
    s_tls *t = ctx;
    t->inner_open = 1;
    /* The deadline counts from here: a dial that cannot connect fails
     * with its own reason. */
    uint64_t ms = dvi_tls_ctx_handshake_timeout(t->ctx);
    if (ms > 0) {
        uv_timer_start(&t->timer, s_timed_out, ms, 0);
    }
    s_pump_in(t); /* the dialer says hello */
}

static void
s_inner_alloc(void *ctx, size_t hint, uv_buf_t *buf)
{
    s_tls *t = ctx;
    /* Nobody reads any more after shutdown or close: drop what came. */
    dvi_tls_bio_alloc(&t->io, t->base.quiet, buf);
}

static void
s_inner_read(void *ctx, size_t n)
{
    s_tls *t = ctx;
    dvi_tls_bio_read(&t->io, n);
    s_pump_in(t);
}

static void
s_inner_adopt(void *ctx, char *base, size_t len)
{
    s_tls *t = ctx;
    if (dvi_tls_bio_unread(&t->io) > 0) {
        dvi_tls_bio_append(&t->io, base, len); /* after what waits */
    } else {
        dvi_tls_bio_lend(&t->io, base, len); /* read in place */
    }
    s_pump_in(t);
    if (t->io.alt != NULL) {
        dvi_tls_bio_unlend(&t->io, !t->closing);
    }
    free(base);
}

static void
s_inner_error(void *ctx, const char *why)
{
    s_tls *t = ctx;
    t->inner_failed = 1;
    t->io.dropping = 1;
    if (t->closing) {
        return;
    }
    if (t->inner_open && !t->open && !t->failed) {
        char msg[400];
        snprintf(msg, sizeof(msg), "%s: TLS handshake failed: %s", t->base.peer,
                 why);
        s_fail(t, msg);
        return;
    }
    if (t->open && strcmp(why, "closed by peer") == 0) {
        /* An end without close_notify may have been cut short by anyone
         * on the path: say so (the framer drops a frame cut in two). */
        why = "closed by peer without TLS close_notify";
    }
    s_fail(t, why); /* a dial that failed, or the end after open */
}

static const dvi_stream_user s_inner_user = {
    .open = s_inner_open,
    .alloc = s_inner_alloc,
    .read = s_inner_read,
    .adopt = s_inner_adopt,
    .error = s_inner_error,
};

/* ---- The stream --------------------------------------------------------- */

static int
s_start_inner(s_tls *t)
{
    t->inner_started = 1;
    return dvi_stream_start(t->inner);
}

static int
s_start(dvi_stream *s)
{
    s_tls *t = (s_tls *)s;
    t->started = 1;
    if (!t->inner_started) {
        return s_start_inner(t);
    }
    /* Handed on by a listener: open already, perhaps with bytes. */
    if (t->open && !t->base.quiet) {
        t->base.user->open(t->base.ctx);
        s_pump_in(t);
    }
    return 0;
}

int
dvi_tls_begin(dvi_stream *s, dvi_tls_handed_fn handed, void *owner)
{
    s_tls *t = (s_tls *)s;
    t->handed = handed;
    t->owner = owner;
    return s_start_inner(t);
}

static const dvi_stream_ops s_ops = {
    .start = s_start,
    .write = s_write,
    .shutdown = s_shutdown,
    .close = s_close,
};

/* The SSL object and its BIO; 0, or -1 with the reason set. */
static int
s_ssl_init(s_tls *t, int server, const char *host)
{
    BIO *b = dvi_tls_bio_new(&t->io);
    if (b == NULL) {
        return dvi_last_code();
    }
    t->ssl = dvi_tls_ctx_ssl_new(t->ctx, &t->auth, server, host);
    if (t->ssl == NULL) {
        BIO_free(b);
        return dvi_last_code();
    }
    SSL_set_bio(t->ssl, b, b); /* one reference, owned by the SSL */
    return 0;
}

dvi_stream *
dvi_tls_wrap(dvi_tls_ctx *tls, dvi_stream *inner, int server,
             unsigned peer_roles, const char *host)
{
    s_tls *t = dvi_calloc(1, sizeof(*t));
    t->base.ops = &s_ops;
    t->base.loop = inner->loop;
    memcpy(t->base.peer, inner->peer, sizeof(t->base.peer));
    t->inner = inner;
    t->ctx = dvi_tls_ctx_hold(tls);
    t->auth.roles = peer_roles;
    t->qtail = &t->qhead;
    dvi_tls_bio_init(&t->io, inner);
    uv_prepare_init(inner->loop, &t->pump);
    uv_timer_init(inner->loop, &t->timer);
    t->pump.data = t->timer.data = t;
    t->busy = 3;
    dvi_stream_set_user(inner, &s_inner_user, t);
    if (s_ssl_init(t, server, host) < 0) {
        int code = dvi_last_code();
        char why[512];
        snprintf(why, sizeof(why), "%s", dv_last_error());
        s_end(t, 0);
        dvi_seterr(code, "%s", why);
        return NULL;
    }
    return &t->base;
}

/* ---- Questions ---------------------------------------------------------- */

int
dvi_tls_is_tls(const dvi_stream *s)
{
    return s != NULL && s->ops == &s_ops;
}

int
dvi_tls_peer_role(const dvi_stream *s)
{
    if (!dvi_tls_is_tls(s) || !((const s_tls *)s)->open) {
        return DVI_PKI_ROLE_NONE;
    }
    return ((const s_tls *)s)->auth.peer_role;
}

const char *
dvi_tls_peer_name(const dvi_stream *s)
{
    if (!dvi_tls_is_tls(s) || !((const s_tls *)s)->open) {
        return "";
    }
    return ((const s_tls *)s)->auth.peer_name;
}

int
dvi_tls_check_peer_role(const dvi_stream *s, unsigned roles)
{
    int role = dvi_tls_peer_role(s);
    if (role == DVI_PKI_ROLE_NONE) {
        return dvi_seterr(DV_EPROTO,
                          "%s: authentication failed: not an open TLS stream",
                          s->peer);
    }
    if (!(roles & DVI_PKI_ROLE_BIT(role))) {
        return dvi_seterr(DV_EPROTO,
                          "%s: authentication failed: the peer's certificate "
                          "is for a %s, which may not do this",
                          s->peer, dvi_pki_role_name(role));
    }
    return 0;
}

const char *
dvi_tls_cipher(const dvi_stream *s)
{
    if (!dvi_tls_is_tls(s) || !((const s_tls *)s)->open) {
        return "";
    }
    return SSL_get_cipher_name(((const s_tls *)s)->ssl);
}
