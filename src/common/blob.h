/* dvi_blob: an immutable, reference-counted byte buffer: an encoded value
 * in a worker's store, a frame on its way, an uploaded library.
 *
 * A blob made here (new, copy) is one allocation: the header, then its
 * bytes. A worker holds a million tiny results, each a blob: one malloc
 * of a few dozen bytes each, not a header and a buffer. A blob may also
 * adopt memory allocated elsewhere (a received frame, a large result
 * encoded in place), which it frees with itself.
 *
 * Several threads may hold references (executor threads read task inputs
 * while the worker loop serves them to peers); the count is atomic.
 */
#ifndef DVI_BLOB_H
#define DVI_BLOB_H

#include <stdatomic.h>
#include <stddef.h>

typedef struct dvi_blob {
    atomic_int refs;
    size_t len; /* bytes at data */
    char *data; /* after the header, or inside base */
    void *base; /* adopted memory, what free() takes; NULL when the bytes
                   follow the header in the blob's own allocation */
} dvi_blob;

/* A blob of len uninitialised bytes whose data + offset is 8-byte aligned,
 * so an array payload after a header of `offset` bytes can be used in
 * place. One allocation; a NUL byte follows the len bytes. Caller owns
 * one reference. Aborts when out of memory. */
dvi_blob *dvi_blob_new(size_t len, size_t offset);
/* A blob holding a copy of n bytes at p. */
dvi_blob *dvi_blob_copy(const void *p, size_t n);
/* A blob that takes ownership of malloc'ed memory base (data inside it). */
dvi_blob *dvi_blob_adopt(void *base, char *data, size_t len);
/* Whether the blob's bytes are memory it adopted, not its own. */
int dvi_blob_is_adopted(const dvi_blob *b);
dvi_blob *dvi_blob_hold(dvi_blob *b);
/* Drops a reference; frees at zero. Accepts NULL. */
void dvi_blob_rele(dvi_blob *b);

#endif
