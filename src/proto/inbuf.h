/* dvi_inbuf: the bytes a connection has read and not yet consumed.
 *
 * Reads land in it directly (the stream's alloc asks where), and the
 * framer cuts frames out of it in place. Small frames share a buffer
 * that grows a read chunk at a time and is compacted after each parse.
 *
 * A frame larger than a chunk gets a buffer of its own, of its exact
 * size, as soon as its length is known. Growing by doubling instead would
 * copy what came so far into fresh memory at every step: for a 256 MiB
 * result, over 200 MiB of copies, each page faulted in on the way. A
 * length read from a peer costs address space, not memory, until its
 * bytes come; the framer has refused a length over its maximum before.
 * Reads into it stop at the frame's end, and it ends on an 8-byte
 * boundary: a large result travels last in its frame (a worker sends the
 * frame at once), and an array value ends with its elements, which then
 * lie aligned where they landed and are read in place (common/value.h).
 *
 * Whoever keeps a frame's bytes can take the memory holding them.
 * Not thread-safe: a connection's, on its loop's thread.
 */
#ifndef DVI_INBUF_H
#define DVI_INBUF_H

#include <stddef.h>
#include <uv.h>

/* Input is read this much at a time; larger frames get their own buffer. */
#define DVI_INBUF_CHUNK ((size_t)64 << 10)

typedef struct dvi_inbuf {
    char *base; /* malloc'ed (what free() takes), or NULL */
    char *p;    /* the bytes not consumed yet begin here, inside base */
    size_t len; /* bytes at p */
    size_t cap; /* bytes p can hold */
} dvi_inbuf;

/* Frees the memory. The struct may be zeroed to begin with. */
void dvi_inbuf_fini(dvi_inbuf *ib);
/* Where the next read lands: after the bytes held. If they begin a frame
 * of more than a chunk whose payload is at most max bytes, room for the
 * rest of that frame exactly. buf->len is 0 when out of memory. */
void dvi_inbuf_alloc(dvi_inbuf *ib, size_t max, uv_buf_t *buf);
/* Drops the first n bytes held (frames consumed), keeping the rest at p;
 * the memory of a large frame is given back. */
void dvi_inbuf_consume(dvi_inbuf *ib, size_t n);
/* Appends the len bytes at malloc'ed base, which the inbuf owns from now
 * on (without a copy when it held nothing). 0, or -1 when out of memory
 * (base is then freed). */
int dvi_inbuf_adopt(dvi_inbuf *ib, char *base, size_t len);
/* Takes the memory holding the first n bytes: returns what to free()
 * when done with them, which stay where they are. The bytes after them
 * move to a buffer of their own. NULL when out of memory (nothing
 * changes). */
void *dvi_inbuf_take(dvi_inbuf *ib, size_t n);

#endif
