/* drove — helpers for unit tests of the library's internals: an encoder
 * to build msgpack inputs, and a deterministic random generator, so that
 * a failure reproduces. Header-only: unit tests differ in what they link.
 */
#ifndef DVT_UNIT_H
#define DVT_UNIT_H

#include <msgpack.h>
#include <stdint.h>

/* A msgpack packer writing to a growing buffer. */
typedef struct dvt_enc {
    msgpack_sbuffer sb;
    msgpack_packer pk;
} dvt_enc;

static inline void
dvt_enc_init(dvt_enc *e)
{
    msgpack_sbuffer_init(&e->sb);
    msgpack_packer_init(&e->pk, &e->sb, msgpack_sbuffer_write);
}

static inline void
dvt_enc_fini(dvt_enc *e)
{
    msgpack_sbuffer_destroy(&e->sb);
}

/* The next number of an xorshift64* sequence; *state must not be 0. */
static inline uint64_t
dvt_rand(uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * 2685821657736338717ull;
}

#endif /* DVT_UNIT_H */
