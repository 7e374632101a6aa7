/* dvi_tls_bio: the ciphertext of one TLS stream, between OpenSSL and the
 * inner stream, with as few copies as OpenSSL allows.
 *
 * OpenSSL reads and writes ciphertext through a BIO of ours (a memory BIO
 * whose memory is the stream's own). Its read takes bytes straight from
 * the buffer the inner stream read into, or from the buffer the inner
 * stream handed over (inproc's adopt). Its write appends to a chunk that
 * goes to the inner stream as it is. Compared with a pair of BIO_s_mem,
 * that saves a copy of every byte each way.
 *
 * Small output (a small frame, the handshake) is copied into a frame of
 * its own and the chunk kept for the next write. Large output goes out in
 * chunks written as blob segments, which this module keeps a reference
 * to: when the inner stream has written a chunk it lets go of it, which
 * shows here as a count of one. That is how the TLS stream knows how much
 * ciphertext is still in flight, and so when to wait before encrypting
 * more; the chunks of a backlog are reused while they are warm.
 *
 * Not for: TLS itself (stream_tls.c). One stream's, on its loop's thread.
 */
#ifndef DVI_TLS_BIO_H
#define DVI_TLS_BIO_H

#include <openssl/bio.h>
#include <stddef.h>
#include <uv.h>

#include "common/blob.h"
#include "stream.h"

/* Plaintext a large frame gives SSL_write at a time: six full records,
 * and a chunk per slice. A chunk stays below glibc's mmap threshold (128
 * KiB): memory from mmap costs page faults each time. */
#define DVI_TLS_SLICE ((size_t)96 << 10)
/* Ciphertext this large goes out as a chunk followed in flight; smaller is
 * copied into a frame of its own. */
#define DVI_TLS_COPY_MAX ((size_t)16 << 10)
/* Ciphertext in flight (written to the inner stream, not yet sent) before
 * a TLS stream waits for the loop to encrypt more: enough to keep a
 * socket busy between two turns. */
#define DVI_TLS_BUDGET ((size_t)4 << 20)
/* Chunks kept for reuse while a backlog lasts: a budget's worth, so that
 * a large frame is encrypted into memory already mapped, not into fresh
 * pages (whose faults cost more than the encryption). */
#define DVI_TLS_SPARES (DVI_TLS_BUDGET / DVI_TLS_SLICE + 2)

typedef struct dvi_tls_chunk {
    dvi_blob *b;
    size_t cap; /* bytes b->data can hold */
} dvi_tls_chunk;

typedef struct dvi_tls_bio {
    dvi_stream *inner; /* where output goes; borrowed */

    char *cin; /* ciphertext the inner read: cin[cpos..clen) is unread */
    size_t cpos, clen, ccap;
    int filled; /* a read filled cin: it grows to its large size */
    char *alt;  /* a buffer the inner handed over, read first; borrowed */
    size_t apos, alen;

    dvi_blob *out;         /* the chunk the BIO appends to; NULL if none */
    size_t out_cap;        /* bytes its data can hold */
    size_t want_cap;       /* the size of the next chunk (dvi_tls_bio_expect) */
    dvi_tls_chunk *flight; /* chunks the inner holds, and we too */
    size_t nflight, capflight;
    size_t inflight; /* their bytes */
    dvi_blob *spare[DVI_TLS_SPARES];
    size_t nspare;

    int dropping;  /* output is thrown away: the inner stream is gone */
    int failed;    /* a write to the inner stream failed */
    char why[256]; /* why, once failed */
} dvi_tls_bio;

/* Sets io up to write to inner. */
void dvi_tls_bio_init(dvi_tls_bio *io, dvi_stream *inner);
/* Frees the buffers and lets go of the chunks. */
void dvi_tls_bio_fini(dvi_tls_bio *io);
/* A BIO reading and writing through io, for SSL_set_bio. Caller owns.
 * NULL with the reason set. */
BIO *dvi_tls_bio_new(dvi_tls_bio *io);

/* ---- In ----------------------------------------------------------------- */

/* Where the inner stream may read ciphertext to (the inner's alloc): the
 * free end of cin, which holds at most 120 KiB while bytes wait unread
 * (then nothing is left: the inner stream fails). With discard, what
 * waits unread is dropped first. */
void dvi_tls_bio_alloc(dvi_tls_bio *io, int discard, uv_buf_t *buf);
/* n bytes landed where the last alloc said. */
void dvi_tls_bio_read(dvi_tls_bio *io, size_t n);
/* Lends len bytes at base (adopted from the inner stream) to be read in
 * place, before cin. Ends with dvi_tls_bio_unlend. */
void dvi_tls_bio_lend(dvi_tls_bio *io, char *base, size_t len);
/* Ends a loan; bytes OpenSSL left unread are copied to cin if keep. The
 * caller frees base. */
void dvi_tls_bio_unlend(dvi_tls_bio *io, int keep);
/* Appends n bytes to cin (bytes adopted while others wait unread). */
void dvi_tls_bio_append(dvi_tls_bio *io, const char *p, size_t n);
/* Bytes not yet read by OpenSSL, and the first of them. */
size_t dvi_tls_bio_unread(const dvi_tls_bio *io);
const char *dvi_tls_bio_next(const dvi_tls_bio *io);

/* ---- Out ---------------------------------------------------------------- */

/* The next SSL_write encrypts n bytes: sizes the chunk for it. */
void dvi_tls_bio_expect(dvi_tls_bio *io, size_t n);
/* Writes the ciphertext made so far to the inner stream. A failure is
 * recorded (failed, why). */
void dvi_tls_bio_flush(dvi_tls_bio *io);
/* Lets go of the chunks the inner stream has written; keeps a few for
 * reuse if a backlog waits. */
void dvi_tls_bio_reap(dvi_tls_bio *io, int backlog);
/* Gives back the memory a large frame needed. */
void dvi_tls_bio_idle(dvi_tls_bio *io);

#endif
