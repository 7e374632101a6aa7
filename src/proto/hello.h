/* The handshake: HELLO, the first message of every connection, which
 * carries the protocol version and says who is calling. */
#ifndef DVI_HELLO_H
#define DVI_HELLO_H

#include <msgpack.h>
#include <stdint.h>

#include "conn.h"

typedef struct dvi_hello {
    uint64_t version;
    uint64_t role; /* enum dvi_role */
    uint64_t threads;
    char id[128];
    char addr[128]; /* a worker's peer address, or "" */
} dvi_hello;

/* Queues a HELLO of this process's protocol version on c, in a frame of
 * its own (the first of the connection). */
void dvi_hello_send(dvi_conn *c, int role, const char *id, int threads,
                    const char *addr);
/* Reads a HELLO's fields. Returns 0, DV_EPROTO for a malformed one, or
 * DV_EVERSION (reason set, naming both versions) for another version. */
int dvi_hello_parse(const msgpack_object *f, uint32_t n, dvi_hello *out);

#endif
