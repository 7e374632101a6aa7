/* dvi_outbox: messages batched into one frame for one peer.
 *
 * A role that talks to a peer never writes to a socket: it adds messages
 * to the peer's outbox, and whoever owns the outbox takes the batch as one
 * frame when it is time (a connection just before its loop sleeps; a unit
 * test whenever it likes). This is what lets the scheduler core run with
 * no sockets at all, and what makes tiny tasks cheap: many messages, one
 * frame, one write.
 *
 * A frame is a 4-byte big-endian payload length, then a msgpack array of
 * messages; each message is a msgpack array whose first element is its
 * type. Large byte strings can be spliced in by reference (put_blob), so
 * they travel from their own memory without a copy.
 *
 * Not thread-safe: one thread at a time (a client guards its outbox with
 * its lock).
 */
#ifndef DVI_OUTBOX_H
#define DVI_OUTBOX_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

#include "common/blob.h"

/* Bytes before the first message of a frame: the length (4) and an array32
 * header (5), filled in when the frame is taken. */
#define DVI_OUTBOX_HEADER 9

/* What the outbox tells its owner. */
enum dvi_outbox_event {
    DVI_OUTBOX_ARMED = 1, /* the first message went into an empty outbox */
    DVI_OUTBOX_FULL = 2   /* the batch passed DVI_OUTBOX_FLUSH_AT bytes: take
                             it now (called before the next message) */
};

/* A batch this large goes out at once instead of growing further: frames
 * stay well under any receiver's maximum, and memory under control. */
#define DVI_OUTBOX_FLUSH_AT ((size_t)64 << 20)

typedef void (*dvi_outbox_notify_fn)(void *ctx, int event);

/* A blob spliced into a frame before byte `at` of its buffer. */
typedef struct dvi_outbox_seg {
    size_t at;
    dvi_blob *blob; /* held by the segment */
} dvi_outbox_seg;

/* A taken frame: buf holds the header and every message byte except the
 * spliced blobs, which go in at their offsets. The whole frame is
 * len + seg_bytes bytes. The taker owns buf (free()) and the segments'
 * references (dvi_outbox_frame_fini releases both). */
typedef struct dvi_outbox_frame {
    char *buf;
    size_t len;
    dvi_outbox_seg *segs;
    size_t nsegs;
    size_t seg_bytes;
    uint32_t nmsgs;
} dvi_outbox_frame;

typedef struct dvi_outbox {
    msgpack_sbuffer sb; /* header and messages of the frame being built */
    msgpack_packer pk;
    uint32_t nmsgs;
    dvi_outbox_seg *segs;
    size_t nsegs, capsegs;
    size_t seg_bytes;
    dvi_outbox_notify_fn notify; /* may be NULL */
    void *ctx;
} dvi_outbox;

void dvi_outbox_init(dvi_outbox *o, dvi_outbox_notify_fn notify, void *ctx);
/* Frees what the outbox holds, messages not taken included. */
void dvi_outbox_fini(dvi_outbox *o);

/* Starts a message of the given type with nfields fields and returns the
 * packer to pack exactly nfields objects into, at once. */
msgpack_packer *dvi_outbox_msg(dvi_outbox *o, int type, uint32_t nfields);
/* Puts the bytes of b in the frame at this point, without copying them:
 * call it right after packing a bin header of b->len bytes in place of the
 * body. The outbox holds a reference until the frame is released. */
void dvi_outbox_put_blob(dvi_outbox *o, dvi_blob *b);
/* Appends n already-encoded messages (as dvi_outbox_msg would have packed
 * them). */
void dvi_outbox_append(dvi_outbox *o, const char *bytes, size_t len,
                       uint32_t n);
/* Moves every message of src to the end of dst, leaving src empty; into an
 * empty dst nothing is copied (the buffers change hands). */
void dvi_outbox_move(dvi_outbox *dst, dvi_outbox *src);
/* Messages waiting in the outbox. */
uint32_t dvi_outbox_count(const dvi_outbox *o);

/* Takes the batch as one frame (header filled in) and leaves the outbox
 * empty. Returns 0, or -1 if it holds no message (out untouched). */
int dvi_outbox_take(dvi_outbox *o, dvi_outbox_frame *out);
/* Copies a taken frame into one contiguous malloc'ed buffer of
 * len + seg_bytes bytes (for transports that need it), releasing its
 * segments; the frame then has no segments. */
void dvi_outbox_frame_flatten(dvi_outbox_frame *f);
/* For a reader in this process, which can take blobs by reference: makes
 * taken frame f hollow. Each spliced blob, and the bin header before it,
 * becomes a bin of one byte in buf (c4 01 00), and its segment's `at` the
 * offset in buf of that byte; buf is then the whole frame (len bytes, its
 * length rewritten), seg_bytes is 0, and the segments still hold their
 * blobs. dvi_msg_each_refs reads each such bin as its blob's bytes.
 * Returns 0; or -1, f untouched, if a blob does not follow a bin header
 * of its length (the frame is not a batch of messages). */
int dvi_outbox_frame_hollow(dvi_outbox_frame *f);
/* Frees a taken frame's buffer and releases its segments. */
void dvi_outbox_frame_fini(dvi_outbox_frame *f);

#endif
