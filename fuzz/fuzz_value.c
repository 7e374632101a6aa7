/* drove — fuzz: the msgpack value decoder (dvi_value_decode).
 *
 * Values arrive from peers (task arguments, results, transfers), so any
 * byte string must either decode or fail with DV_EPROTO, without crashing,
 * reading out of bounds or leaking. A value that decodes must survive a
 * round trip: its re-encoding decodes again to the same bytes, its deep
 * copy encodes the same, and element extraction (dvi_value_decode_at)
 * agrees with the whole decode. Future references are resolved by a stub
 * that fails for odd dependency positions, to exercise the unwinding.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/value.h"

static int
s_resolve(void *ctx, uint32_t slot, int32_t index, dv_value *out)
{
    if (slot % 2 == 1) {
        return DV_ENOTFOUND;
    }
    out->type = DV_I64;
    out->u.i = index;
    return 0;
}

static void
s_encode(const dv_value *v, msgpack_sbuffer *sb)
{
    msgpack_packer pk;
    msgpack_sbuffer_init(sb);
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    dvi_value_pack_value(&pk, v);
}

static void
s_check(int cond)
{
    if (!cond) {
        abort(); /* an invariant broke: libFuzzer saves the input */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    dv_value v;
    int rc = dvi_value_decode(buf, size, &v, s_resolve, NULL);
    if (rc < 0) {
        s_check(v.type == DV_NIL);
        dvi_value_fini(&v);
        return 0;
    }

    /* Re-encode, decode again, re-encode: the two encodings match (the
     * first may differ from the input: float32 becomes float64, ints get
     * their shortest form). */
    msgpack_sbuffer a, b;
    s_encode(&v, &a);
    dv_value w;
    s_check(dvi_value_decode(a.data, a.size, &w, NULL, NULL) == 0);
    s_encode(&w, &b);
    s_check(a.size == b.size && memcmp(a.data, b.data, a.size) == 0);

    /* A deep copy encodes the same. */
    dv_value c;
    msgpack_sbuffer cb;
    dvi_value_copy(&c, &v);
    s_encode(&c, &cb);
    s_check(cb.size == a.size && memcmp(cb.data, a.data, a.size) == 0);

    /* Zero-copy arrays are 8-byte aligned. */
    if (v.type == DV_F64S || v.type == DV_I64S) {
        s_check(((uintptr_t)v.u.f64s & 7) == 0);
    }

    /* Each element, extracted alone, encodes like the element of the
     * whole (checked for the first few). */
    if (w.type == DV_LIST) {
        for (size_t i = 0; i < w.len && i < 4; i++) {
            dv_value e;
            msgpack_sbuffer eb, wb;
            s_check(dvi_value_decode_at(a.data, a.size, (int32_t)i, &e) ==
                    0);
            s_encode(&e, &eb);
            s_encode(&w.u.items[i], &wb);
            s_check(eb.size == wb.size &&
                    memcmp(eb.data, wb.data, eb.size) == 0);
            msgpack_sbuffer_destroy(&eb);
            msgpack_sbuffer_destroy(&wb);
            dvi_value_fini(&e);
        }
        dv_value past;
        s_check(dvi_value_decode_at(a.data, a.size, (int32_t)w.len,
                                    &past) == DV_EPROTO);
    }

    msgpack_sbuffer_destroy(&a);
    msgpack_sbuffer_destroy(&b);
    msgpack_sbuffer_destroy(&cb);
    dvi_value_fini(&v);
    dvi_value_fini(&w);
    dvi_value_fini(&c);
    return 0;
}
