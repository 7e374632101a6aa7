/* dvi_mpcheck: checks untrusted msgpack bytes before msgpack-c decodes them.
 *
 * msgpack-c's C unpacker allocates a container's elements as soon as it
 * reads the container's header, whatever the header claims. This walk
 * checks that every length and count fits in the bytes actually present,
 * that nesting stays shallow and that the total number of objects is
 * bounded, so that decoding a hostile frame costs at most a small multiple
 * of its size.
 */
#ifndef DVI_MPCHECK_H
#define DVI_MPCHECK_H

#include <stddef.h>

#define DVI_MPCHECK_MAX_DEPTH 32
#define DVI_MPCHECK_MAX_OBJECTS (64u * 1024 * 1024)

/* Returns 0 when buf holds exactly one well-formed object within limits,
 * else DV_EPROTO with the reason set. */
int dvi_mpcheck(const char *buf, size_t len);

#endif
