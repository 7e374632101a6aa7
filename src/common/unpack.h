/* dvi_unpack: msgpack-c's decoding of one object, into a zone the thread
 * keeps for the next.
 *
 * msgpack_unpack_next makes an 8 KiB zone for every object it decodes and
 * frees it after: once per frame and once per task's arguments, where the
 * malloc, the free and the consolidation of small free blocks that a
 * block that large sets off cost as much as decoding a small message.
 * Each thread keeps a few cleared zones here instead (one per decoding
 * under way at once: a frame's messages decode values). A zone that had
 * to grow (a frame of many messages) comes back four times the size, up
 * to 256 KiB: growing mallocs a block, and clearing frees it, each time. */
#ifndef DVI_UNPACK_H
#define DVI_UNPACK_H

#include <msgpack.h>
#include <stddef.h>

typedef struct dvi_unpacked {
    msgpack_object data; /* points into zone, and into buf for bin, str
                            and ext bodies */
    msgpack_zone *zone;
    void *first; /* the zone's first chunk: another after it, it grew */
} dvi_unpacked;

/* Decodes buf, which must hold exactly one object, into u. Returns 0, or
 * -1 (u finished, no reason set: the caller says what was malformed).
 * Checks nothing else: bytes from outside the process go through
 * dvi_mpcheck first. */
int dvi_unpack(const char *buf, size_t len, dvi_unpacked *u);
/* Gives u's zone back to the thread, cleared; u's objects are gone. */
void dvi_unpacked_fini(dvi_unpacked *u);

#endif
