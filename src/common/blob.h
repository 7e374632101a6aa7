/* dvi_blob: an immutable, reference-counted byte buffer: an encoded value
 * in a worker's store, a frame on its way, an uploaded library.
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
    char *data; /* inside base */
    void *base; /* what free() takes */
} dvi_blob;

/* A blob of len uninitialised bytes whose data + offset is 8-byte aligned,
 * so an array payload after a header of `offset` bytes can be used in
 * place. Caller owns one reference. Aborts when out of memory. */
dvi_blob *dvi_blob_new(size_t len, size_t offset);
/* A blob holding a copy of n bytes at p. */
dvi_blob *dvi_blob_copy(const void *p, size_t n);
/* A blob that takes ownership of malloc'ed memory base (data inside it). */
dvi_blob *dvi_blob_adopt(void *base, char *data, size_t len);
dvi_blob *dvi_blob_hold(dvi_blob *b);
/* Drops a reference; frees at zero. Accepts NULL. */
void dvi_blob_rele(dvi_blob *b);

#endif
