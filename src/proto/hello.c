/* HELLO: sending it, and checking the one received. */
#include "hello.h"

#include <string.h>

#include "common/err.h"
#include "drove.h"
#include "msg.h"

void
dvi_hello_send(dvi_conn *c, int role, const char *id, int threads,
               const char *addr)
{
    msgpack_packer *pk = dvi_conn_msg(c, DVI_MSG_HELLO, 5);
    msgpack_pack_int(pk, DVI_PROTOCOL_VERSION);
    msgpack_pack_int(pk, role);
    dvi_pack_str(pk, id);
    msgpack_pack_int(pk, threads);
    dvi_pack_str(pk, addr);
}

int
dvi_hello_parse(const msgpack_object *f, uint32_t n, dvi_hello *out)
{
    memset(out, 0, sizeof(*out));
    /* The version comes first and is checked before anything else, so a
     * future version with other fields still gets a clear answer. */
    if (dvi_msg_u64(&f[0], &out->version) < 0) {
        return dvi_seterr(DV_EPROTO, "malformed HELLO");
    }
    if (out->version != DVI_PROTOCOL_VERSION) {
        return dvi_seterr(DV_EVERSION,
                          "peer speaks protocol version %llu, "
                          "this is version %d",
                          (unsigned long long)out->version,
                          DVI_PROTOCOL_VERSION);
    }
    if (dvi_msg_u64(&f[1], &out->role) < 0 ||
        dvi_msg_str(&f[2], out->id, sizeof(out->id)) < 0 ||
        dvi_msg_u64(&f[3], &out->threads) < 0 ||
        (n > 4 && f[4].type != MSGPACK_OBJECT_NIL &&
         dvi_msg_str(&f[4], out->addr, sizeof(out->addr)) < 0)) {
        return dvi_seterr(DV_EPROTO, "malformed HELLO");
    }
    return 0;
}
