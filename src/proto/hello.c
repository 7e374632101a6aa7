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
    dvi_msg_hello m = {.version = DVI_PROTOCOL_VERSION, .role = (uint64_t)role};
    m.id = dvi_bytes_of(id);
    m.threads = (uint64_t)(threads > 0 ? threads : 0);
    m.addr = dvi_bytes_of(addr);
    dvi_msg_hello_pack(dvi_conn_outbox(c), &m);
    /* HELLO travels alone in the first frame, which the listener limits to
     * a few KiB until the handshake is done: what the caller adds next goes
     * in the next frame, under the ordinary limit. */
    dvi_conn_flush(c);
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
    dvi_msg_hello m;
    if (dvi_msg_hello_read(f, n, &m) < 0) {
        return DV_EPROTO;
    }
    if (m.id.n >= sizeof(out->id) || m.addr.n >= sizeof(out->addr) ||
        (m.id.n > 0 && memchr(m.id.p, '\0', m.id.n)) ||
        (m.addr.n > 0 && memchr(m.addr.p, '\0', m.addr.n))) {
        return dvi_seterr(DV_EPROTO,
                          "malformed HELLO: id or address of "
                          "%zu and %zu bytes",
                          m.id.n, m.addr.n);
    }
    out->role = m.role;
    out->threads = m.threads;
    memcpy(out->id, m.id.p ? m.id.p : "", m.id.n);
    memcpy(out->addr, m.addr.p ? m.addr.p : "", m.addr.n);
    return 0;
}
