/* drove — fuzz: dvi_mpcheck, the bounds check in front of msgpack-c.
 *
 * For any bytes, dvi_mpcheck must return without reading past the buffer
 * or recursing without bound. When it accepts, its model of msgpack must
 * agree with msgpack-c's: the buffer decodes as exactly one object that
 * uses every byte. (If the check accepted something msgpack-c rejects, a
 * decoder would fail later with a vaguer reason; if msgpack-c accepted
 * something the check rejects, a good peer would be dropped.)
 */
#include <stdint.h>
#include <stdlib.h>

#include <msgpack.h>

#include "common/mpcheck.h"
#include "drove.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    int rc = dvi_mpcheck(buf, size);
    if (rc != 0) {
        if (rc != DV_EPROTO) {
            abort();
        }
        return 0;
    }
    msgpack_unpacked u;
    size_t off = 0;
    msgpack_unpacked_init(&u);
    msgpack_unpack_return r = msgpack_unpack_next(&u, buf, size, &off);
    msgpack_unpacked_destroy(&u);
    if (r != MSGPACK_UNPACK_SUCCESS || off != size) {
        abort();
    }
    return 0;
}
