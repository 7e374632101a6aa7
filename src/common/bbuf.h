/* dvi_bbuf: bytes being written, to become a blob of exactly their size.
 *
 * msgpack's sbuffer starts at 8 KiB and doubles: kept as a stored result,
 * a 2-byte value would cost 8 KiB. A bbuf starts in a small array inside
 * itself (on the writer's stack), moves to the heap only when that is
 * full, and is finished as a blob that holds what was written and no
 * more: a small value is copied into a blob of its size (one allocation),
 * a large one keeps its heap buffer, shrunk to fit (no copy).
 *
 * Not thread-safe; a bbuf lives on one thread's stack and must not be
 * copied while written (its bytes may be inside it).
 */
#ifndef DVI_BBUF_H
#define DVI_BBUF_H

#include <stddef.h>

#include "blob.h"

/* Bytes written inside the bbuf itself before it moves to the heap. */
#define DVI_BBUF_SMALL 256
/* Up to this many bytes, finishing copies into a blob of one allocation;
 * beyond it, the heap buffer is shrunk and adopted. */
#define DVI_BBUF_COPY_MAX (64 * 1024)

typedef struct dvi_bbuf {
    char *heap; /* NULL while the bytes are in small */
    size_t len; /* bytes written */
    size_t cap; /* bytes of room where they are */
    char small[DVI_BBUF_SMALL];
} dvi_bbuf;

void dvi_bbuf_init(dvi_bbuf *b);
/* Frees what the bbuf holds (nothing, unless it moved to the heap). */
void dvi_bbuf_fini(dvi_bbuf *b);
/* Appends n bytes at p; aborts when out of memory. Returns 0. Has the
 * shape of a msgpack_packer_write: msgpack_packer_init(&pk, &b,
 * dvi_bbuf_write). */
int dvi_bbuf_write(void *b, const char *p, size_t n);
/* The bytes written so far. Borrowed; valid until the next write. */
const char *dvi_bbuf_data(const dvi_bbuf *b);
/* A blob of exactly the bytes written; the bbuf is left empty (as after
 * init). Caller owns the blob; release with dvi_blob_rele. */
dvi_blob *dvi_bbuf_finish(dvi_bbuf *b);

#endif
