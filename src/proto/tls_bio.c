/* dvi_tls_bio: a TLS stream's ciphertext buffers, and the BIO through
 * which OpenSSL reads and writes them in place (see tls_bio.h). */
#include "tls_bio.h"

#include <openssl/err.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/pki.h"
#include "drove.h"

/* A chunk holds a slice and the overhead of its records. */
#define S_CHUNK (DVI_TLS_SLICE + ((DVI_TLS_SLICE >> 14) + 2) * 64)
/* TLS 1.3 adds less than this to each record of 16 KiB. */
#define S_RECORD_OVERHEAD 64
/* The buffer ciphertext is read into: first room for one whole record,
 * so that a connection of small messages stays small; once a read fills
 * it, large, for few reads, but below glibc's mmap threshold (see
 * DVI_TLS_SLICE). */
#define S_CIN_SMALL ((size_t)17 << 10)
#define S_CIN_LARGE ((size_t)120 << 10)

void
dvi_tls_bio_init(dvi_tls_bio *io, dvi_stream *inner)
{
    memset(io, 0, sizeof(*io));
    io->inner = inner;
    io->want_cap = DVI_TLS_COPY_MAX;
}

static void
s_drop_spares(dvi_tls_bio *io)
{
    while (io->nspare > 0) {
        dvi_blob_rele(io->spare[--io->nspare]);
    }
}

void
dvi_tls_bio_fini(dvi_tls_bio *io)
{
    for (size_t i = 0; i < io->nflight; i++) {
        dvi_blob_rele(io->flight[i].b);
    }
    free(io->flight);
    s_drop_spares(io);
    dvi_blob_rele(io->out);
    free(io->cin);
    memset(io, 0, sizeof(*io));
}

/* ---- In ----------------------------------------------------------------- */

size_t
dvi_tls_bio_unread(const dvi_tls_bio *io)
{
    return io->alt ? io->alen - io->apos : io->clen - io->cpos;
}

const char *
dvi_tls_bio_next(const dvi_tls_bio *io)
{
    return io->alt ? io->alt + io->apos : io->cin + io->cpos;
}

void
dvi_tls_bio_alloc(dvi_tls_bio *io, int discard, uv_buf_t *buf)
{
    if (io->cpos == io->clen || discard) {
        io->cpos = io->clen = 0;
    } else if (io->cpos > 0 && io->ccap - io->clen < io->ccap / 4) {
        memmove(io->cin, io->cin + io->cpos, io->clen - io->cpos);
        io->clen -= io->cpos;
        io->cpos = 0;
    }
    if (io->cin == NULL) {
        io->cin = dvi_malloc(S_CIN_SMALL);
        io->ccap = S_CIN_SMALL;
    } else if (io->filled && io->ccap < S_CIN_LARGE) {
        /* A read filled it: the bytes come in bulk. */
        io->cin = dvi_realloc(io->cin, S_CIN_LARGE);
        io->ccap = S_CIN_LARGE;
    }
    buf->base = io->cin + io->clen;
    buf->len = io->ccap - io->clen;
}

void
dvi_tls_bio_read(dvi_tls_bio *io, size_t n)
{
    io->clen += n;
    io->filled |= io->clen == io->ccap;
}

void
dvi_tls_bio_append(dvi_tls_bio *io, const char *p, size_t n)
{
    if (io->ccap - io->clen < n) {
        io->ccap = io->clen + n > S_CIN_SMALL ? io->clen + n : S_CIN_SMALL;
        io->cin = dvi_realloc(io->cin, io->ccap);
    }
    memcpy(io->cin + io->clen, p, n);
    io->clen += n;
}

void
dvi_tls_bio_lend(dvi_tls_bio *io, char *base, size_t len)
{
    io->alt = base;
    io->apos = 0;
    io->alen = len;
}

void
dvi_tls_bio_unlend(dvi_tls_bio *io, int keep)
{
    char *base = io->alt;
    size_t from = io->apos, len = io->alen;
    io->alt = NULL;
    io->apos = io->alen = 0;
    if (keep && from < len) {
        dvi_tls_bio_append(io, base + from, len - from);
    }
}

/* ---- Out ---------------------------------------------------------------- */

void
dvi_tls_bio_expect(dvi_tls_bio *io, size_t n)
{
    size_t need = n + ((n >> 14) + 1) * S_RECORD_OVERHEAD;
    io->want_cap = need <= DVI_TLS_COPY_MAX ? DVI_TLS_COPY_MAX : S_CHUNK;
}

/* Makes room for n more bytes in the current chunk: a small one for small
 * writes (kept from write to write), a large one (reused while a backlog
 * lasts) for slices of large frames. */
static void
s_reserve(dvi_tls_bio *io, size_t n)
{
    if (io->out != NULL && io->out->len + n > io->out_cap) {
        dvi_tls_bio_flush(io);
    }
    dvi_blob *b = io->out;
    if (b != NULL && b->len + n <= io->out_cap &&
        (b->len > 0 || io->out_cap >= io->want_cap)) {
        return;
    }
    dvi_blob_rele(b); /* empty, and too small for what comes */
    size_t cap = n > io->want_cap ? n : io->want_cap;
    if (cap == S_CHUNK && io->nspare > 0) {
        io->out = io->spare[--io->nspare];
    } else {
        io->out = dvi_blob_new(cap, 0);
    }
    io->out->len = 0;
    io->out_cap = cap;
}

/* A large chunk as a frame: a segment the inner stream holds until it is
 * written, followed in the flight. */
static void
s_chunk_frame(dvi_tls_bio *io, dvi_blob *b, dvi_outbox_frame *f)
{
    /* The chunk's last byte travels in the frame's own buffer: a write
     * that ends with an empty buffer costs libuv a write(2) of 0 bytes. */
    b->len--;
    f->buf = dvi_malloc(1);
    f->buf[0] = b->data[b->len];
    f->len = 1;
    f->segs = dvi_malloc(sizeof(*f->segs));
    f->segs[0].at = 0;
    f->segs[0].blob = dvi_blob_hold(b);
    f->nsegs = 1;
    f->seg_bytes = b->len;
    if (io->nflight == io->capflight) {
        io->capflight = io->capflight ? 2 * io->capflight : 8;
        io->flight =
            dvi_realloc(io->flight, io->capflight * sizeof(*io->flight));
    }
    io->flight[io->nflight].b = b;
    io->flight[io->nflight++].cap = io->out_cap;
    io->inflight += b->len;
}

void
dvi_tls_bio_flush(dvi_tls_bio *io)
{
    dvi_blob *b = io->out;
    if (b == NULL || b->len == 0) {
        return;
    }
    if (io->dropping || io->failed) {
        b->len = 0;
        return;
    }
    dvi_outbox_frame f = {0};
    if (b->len <= DVI_TLS_COPY_MAX) {
        f.buf = dvi_malloc(b->len);
        memcpy(f.buf, b->data, b->len);
        f.len = b->len;
        b->len = 0; /* the chunk is kept for the next write */
    } else {
        io->out = NULL;
        s_chunk_frame(io, b, &f);
    }
    if (dvi_stream_write(io->inner, &f) < 0) {
        dvi_outbox_frame_fini(&f);
        io->failed = 1;
        snprintf(io->why, sizeof(io->why), "%s", dv_last_error());
    }
}

void
dvi_tls_bio_reap(dvi_tls_bio *io, int backlog)
{
    size_t kept = 0;
    for (size_t i = 0; i < io->nflight; i++) {
        dvi_blob *b = io->flight[i].b;
        if (atomic_load_explicit(&b->refs, memory_order_acquire) > 1) {
            io->flight[kept++] = io->flight[i];
            continue;
        }
        io->inflight -= b->len;
        if (backlog && io->nspare < DVI_TLS_SPARES &&
            io->flight[i].cap == S_CHUNK) {
            io->spare[io->nspare++] = b;
        } else {
            dvi_blob_rele(b);
        }
    }
    io->nflight = kept;
}

void
dvi_tls_bio_idle(dvi_tls_bio *io)
{
    s_drop_spares(io);
    if (io->out != NULL && io->out->len == 0 &&
        io->out_cap > DVI_TLS_COPY_MAX) {
        dvi_blob_rele(io->out);
        io->out = NULL;
    }
}

/* ---- The BIO ------------------------------------------------------------ */

static int
s_bio_read(BIO *b, char *buf, int len)
{
    dvi_tls_bio *io = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    size_t avail = dvi_tls_bio_unread(io);
    if (avail == 0 || len <= 0) {
        BIO_set_retry_read(b);
        return -1;
    }
    size_t n = avail < (size_t)len ? avail : (size_t)len;
    memcpy(buf, dvi_tls_bio_next(io), n);
    *(io->alt ? &io->apos : &io->cpos) += n;
    return (int)n;
}

static int
s_bio_write(BIO *b, const char *buf, int len)
{
    dvi_tls_bio *io = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (len <= 0) {
        return 0;
    }
    s_reserve(io, (size_t)len);
    memcpy(io->out->data + io->out->len, buf, (size_t)len);
    io->out->len += (size_t)len;
    return len;
}

static long
s_bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    /* OpenSSL flushes after each flight of handshake messages; the TLS
     * stream writes to the inner stream after each call into OpenSSL. */
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int
s_bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static BIO_METHOD *s_method;
static uv_once_t s_method_once = UV_ONCE_INIT;

static void
s_method_init(void)
{
    BIO_METHOD *m =
        BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "dvi_tls_bio");
    if (m != NULL && (!BIO_meth_set_read(m, s_bio_read) ||
                      !BIO_meth_set_write(m, s_bio_write) ||
                      !BIO_meth_set_ctrl(m, s_bio_ctrl) ||
                      !BIO_meth_set_create(m, s_bio_create))) {
        BIO_meth_free(m);
        m = NULL;
    }
    s_method = m;
}

BIO *
dvi_tls_bio_new(dvi_tls_bio *io)
{
    uv_once(&s_method_once, s_method_init);
    BIO *b = s_method ? BIO_new(s_method) : NULL;
    if (b == NULL) {
        dvi_seterr_ssl(DV_ENOMEM, "cannot make a TLS BIO");
        return NULL;
    }
    BIO_set_data(b, io);
    return b;
}
