/* drove — unit: values, their msgpack encoding and checked decoding.
 *
 * A value is what a task receives and returns, so a value that changes on
 * its way, or a decoder that trusts its input, is visible to every user.
 * These tests round-trip every type (nested lists, f64 and i64 arrays
 * whose payload sits at an odd offset in the encoding and must still come
 * out 8-byte aligned), arrays and bytes read in place from the blob they
 * were decoded from (held by the value, which outlives every other
 * reference to it), future references, element extraction, deep copies,
 * hostile encodings (each must fail with DV_EPROTO and a reason, leaving a
 * nil value), and the accessors on values of the wrong type.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/mpcheck.h"
#include "common/value.h"
#include "dvt_unit.h"
#include "dvtest.h"

/* ---- Helpers ------------------------------------------------------------ */

/* Encodes arg and decodes it into out (no future references). */
static void
s_roundtrip(const dv_arg *arg, dv_value *out)
{
    dvt_enc e;
    dvt_enc_init(&e);
    DVT_PASS(dvi_value_pack(&e.pk, arg, NULL, NULL));
    int rc = dvi_value_decode(e.sb.data, e.sb.size, out, NULL, NULL);
    dvt_enc_fini(&e);
    DVT_PASS(rc);
}

/* Re-encodes a decoded value and checks the bytes equal those of arg's
 * encoding: decoding loses nothing. */
static void
s_check_reencodes(const dv_arg *arg, const dv_value *v)
{
    dvt_enc a, b;
    dvt_enc_init(&a);
    dvt_enc_init(&b);
    DVT_PASS(dvi_value_pack(&a.pk, arg, NULL, NULL));
    dvi_value_pack_value(&b.pk, v);
    DVT_EQ_I64(a.sb.size, b.sb.size);
    DVT_TRUE(memcmp(a.sb.data, b.sb.data, a.sb.size) == 0);
    dvt_enc_fini(&a);
    dvt_enc_fini(&b);
}

static int
s_aligned8(const void *p)
{
    return ((uintptr_t)p & 7) == 0;
}

/* ---- Scalars ------------------------------------------------------------ */

static void
test_roundtrip_scalars(void **state)
{
    dv_value v;
    dv_arg a;

    a = dv_nil();
    s_roundtrip(&a, &v);
    DVT_EQ_I64(dv_value_type(&v), DV_NIL);
    dvi_value_fini(&v);

    for (int b = 0; b < 2; b++) {
        a = dv_bool(b);
        s_roundtrip(&a, &v);
        DVT_EQ_I64(dv_value_type(&v), DV_BOOL);
        DVT_EQ_I64(dv_value_bool(&v), b);
        dvi_value_fini(&v);
    }

    const int64_t ints[] = {
        0,     1,         -1,        31,         -32,       -33,
        127,   128,       255,       256,        -129,      65535,
        65536, INT32_MAX, INT32_MIN, UINT32_MAX, INT64_MAX, INT64_MIN};
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        a = dv_i64(ints[i]);
        s_roundtrip(&a, &v);
        DVT_EQ_I64(dv_value_type(&v), DV_I64);
        DVT_EQ_I64(dv_value_i64(&v), ints[i]);
        s_check_reencodes(&a, &v);
        dvi_value_fini(&v);
    }

    const double fs[] = {0.0,     -0.0,     0.5,      -1.25,    1e300,
                         -1e-300, 3.0e-320, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof(fs) / sizeof(fs[0]); i++) {
        a = dv_f64(fs[i]);
        s_roundtrip(&a, &v);
        DVT_EQ_I64(dv_value_type(&v), DV_F64);
        double got = dv_value_f64(&v);
        /* Bit-exact, so -0.0 stays negative. */
        DVT_TRUE(memcmp(&got, &fs[i], sizeof(got)) == 0);
        dvi_value_fini(&v);
    }
    a = dv_f64(NAN);
    s_roundtrip(&a, &v);
    DVT_TRUE(isnan(dv_value_f64(&v)));
    dvi_value_fini(&v);
}

static void
test_roundtrip_str_and_bytes(void **state)
{
    dv_value v;
    dv_arg a;
    size_t len = 99;

    a = dv_str("hello, world");
    s_roundtrip(&a, &v);
    DVT_EQ_I64(dv_value_type(&v), DV_STR);
    DVT_EQ_STR(dv_value_str(&v, &len), "hello, world");
    DVT_EQ_I64(len, 12);
    DVT_EQ_I64(dv_value_len(&v), 12);
    dvi_value_fini(&v);

    a = dv_str(NULL); /* NULL is the empty string */
    s_roundtrip(&a, &v);
    DVT_EQ_STR(dv_value_str(&v, &len), "");
    DVT_EQ_I64(len, 0);
    dvi_value_fini(&v);

    /* Long strings take the str16 and str32 forms. */
    size_t big = 70000;
    char *s = malloc(big + 1);
    assert_non_null(s);
    for (size_t i = 0; i < big; i++) {
        s[i] = (char)('a' + i % 26);
    }
    s[big] = '\0';
    a = dv_str(s);
    s_roundtrip(&a, &v);
    DVT_EQ_I64(dv_value_len(&v), big);
    DVT_TRUE(memcmp(dv_value_str(&v, NULL), s, big + 1) == 0);
    dvi_value_fini(&v);
    free(s);

    /* Bytes keep embedded zeros and every byte value. */
    unsigned char raw[256];
    for (int i = 0; i < 256; i++) {
        raw[i] = (unsigned char)(255 - i);
    }
    a = dv_bytes(raw, sizeof(raw));
    s_roundtrip(&a, &v);
    DVT_EQ_I64(dv_value_type(&v), DV_BYTES);
    const void *p = dv_value_bytes(&v, &len);
    DVT_EQ_I64(len, 256);
    DVT_TRUE(memcmp(p, raw, 256) == 0);
    DVT_TRUE(dv_value_str(&v, NULL) == NULL); /* bytes are not a str */
    s_check_reencodes(&a, &v);
    dvi_value_fini(&v);

    a = dv_bytes(NULL, 0);
    s_roundtrip(&a, &v);
    DVT_EQ_I64(dv_value_type(&v), DV_BYTES);
    DVT_EQ_I64(dv_value_len(&v), 0);
    dvi_value_fini(&v);
}

/* ---- Arrays and lists --------------------------------------------------- */

static void
test_roundtrip_arrays(void **state)
{
    dv_value v;
    dv_arg a;
    size_t n = 99;

    double fs[1000];
    int64_t is[1000];
    for (int i = 0; i < 1000; i++) {
        fs[i] = i * 0.25 - 100;
        is[i] = (int64_t)i * 1000003 - INT64_MAX / 2;
    }
    a = dv_f64s(fs, 1000);
    s_roundtrip(&a, &v);
    DVT_EQ_I64(dv_value_type(&v), DV_F64S);
    const double *gf = dv_value_f64s(&v, &n);
    DVT_EQ_I64(n, 1000);
    DVT_EQ_I64(dv_value_len(&v), 1000);
    DVT_TRUE(s_aligned8(gf));
    DVT_TRUE(memcmp(gf, fs, sizeof(fs)) == 0);
    DVT_TRUE(dv_value_i64s(&v, NULL) == NULL);
    s_check_reencodes(&a, &v);
    dvi_value_fini(&v);

    a = dv_i64s(is, 1000);
    s_roundtrip(&a, &v);
    DVT_EQ_I64(dv_value_type(&v), DV_I64S);
    const int64_t *gi = dv_value_i64s(&v, &n);
    DVT_EQ_I64(n, 1000);
    DVT_TRUE(s_aligned8(gi));
    DVT_TRUE(memcmp(gi, is, sizeof(is)) == 0);
    DVT_TRUE(dv_value_f64s(&v, NULL) == NULL);
    s_check_reencodes(&a, &v);
    dvi_value_fini(&v);

    /* Empty arrays keep their type. */
    a = dv_f64s(NULL, 0);
    s_roundtrip(&a, &v);
    DVT_EQ_I64(dv_value_type(&v), DV_F64S);
    DVT_EQ_I64(dv_value_len(&v), 0);
    dvi_value_fini(&v);
    a = dv_i64s(NULL, 0);
    s_roundtrip(&a, &v);
    DVT_EQ_I64(dv_value_type(&v), DV_I64S);
    dvi_value_fini(&v);
}

static void
test_array_payload_misaligned_in_buffer(void **state)
{
    /* Offsets 0..7 of the f64 payload within the encoded bytes: the
     * decoded elements are 8-byte aligned whatever the offset. */
    double fs[5] = {1.5, -2.5, 3.25, 1e10, -0.125};
    for (int pad = 0; pad < 8; pad++) {
        char padding[8] = "xxxxxxx";
        padding[pad] = '\0';
        dv_arg items[2] = {dv_str(padding), dv_f64s(fs, 5)};
        dv_arg list = dv_list(items, 2);
        dvt_enc e;
        dvt_enc_init(&e);
        DVT_PASS(dvi_value_pack(&e.pk, &list, NULL, NULL));
        /* Copy to an odd address so the buffer itself is misaligned. */
        char *buf = malloc(e.sb.size + 1);
        assert_non_null(buf);
        memcpy(buf + 1, e.sb.data, e.sb.size);
        dv_value v;
        DVT_PASS(dvi_value_decode(buf + 1, e.sb.size, &v, NULL, NULL));
        size_t n = 0;
        const double *got = dv_value_f64s(dv_value_at(&v, 1), &n);
        DVT_EQ_I64(n, 5);
        DVT_TRUE(s_aligned8(got));
        for (int i = 0; i < 5; i++) {
            DVT_EQ_F64(got[i], fs[i], 0);
        }
        dvi_value_fini(&v);
        free(buf);
        dvt_enc_fini(&e);
    }
}

static void
test_roundtrip_nested_list(void **state)
{
    double fs[3] = {1, 2, 3};
    int64_t is[2] = {-7, 7};
    dv_arg inner2[2] = {dv_nil(), dv_i64s(is, 2)};
    dv_arg inner1[4] = {dv_f64(2.5), dv_list(inner2, 2), dv_str("deep"),
                        dv_list(NULL, 0)};
    dv_arg top[5] = {dv_i64(1), dv_str("a"), dv_list(inner1, 4), dv_f64s(fs, 3),
                     dv_bool(true)};
    dv_arg a = dv_list(top, 5);
    dv_value v;
    s_roundtrip(&a, &v);

    DVT_EQ_I64(dv_value_type(&v), DV_LIST);
    DVT_EQ_I64(dv_value_len(&v), 5);
    DVT_EQ_I64(dv_value_i64(dv_value_at(&v, 0)), 1);
    DVT_EQ_STR(dv_value_str(dv_value_at(&v, 1), NULL), "a");
    const dv_value *l1 = dv_value_at(&v, 2);
    DVT_EQ_I64(dv_value_type(l1), DV_LIST);
    DVT_EQ_I64(dv_value_len(l1), 4);
    DVT_EQ_F64(dv_value_f64(dv_value_at(l1, 0)), 2.5, 0);
    const dv_value *l2 = dv_value_at(l1, 1);
    DVT_EQ_I64(dv_value_type(dv_value_at(l2, 0)), DV_NIL);
    size_t n = 0;
    const int64_t *gi = dv_value_i64s(dv_value_at(l2, 1), &n);
    DVT_EQ_I64(n, 2);
    DVT_EQ_I64(gi[0], -7);
    DVT_EQ_I64(gi[1], 7);
    DVT_EQ_STR(dv_value_str(dv_value_at(l1, 2), NULL), "deep");
    DVT_EQ_I64(dv_value_type(dv_value_at(l1, 3)), DV_LIST);
    DVT_EQ_I64(dv_value_len(dv_value_at(l1, 3)), 0);
    DVT_TRUE(dv_value_at(dv_value_at(l1, 3), 0) == NULL);
    DVT_EQ_F64(dv_value_f64s(dv_value_at(&v, 3), NULL)[2], 3, 0);
    DVT_TRUE(dv_value_bool(dv_value_at(&v, 4)));
    DVT_TRUE(dv_value_at(&v, 5) == NULL);
    s_check_reencodes(&a, &v);

    /* A deep copy is equal and independent of the original. */
    dv_value c;
    dvi_value_copy(&c, &v);
    dvi_value_fini(&v);
    DVT_EQ_I64(dv_value_type(&v), DV_NIL);
    s_check_reencodes(&a, &c);
    DVT_TRUE(s_aligned8(dv_value_f64s(dv_value_at(&c, 3), NULL)));

    /* A value passed back as an argument (DV_VALUE) encodes the same. */
    dv_arg again = dv_value_arg(&c);
    dvt_enc e1, e2;
    dvt_enc_init(&e1);
    dvt_enc_init(&e2);
    DVT_PASS(dvi_value_pack(&e1.pk, &again, NULL, NULL));
    DVT_PASS(dvi_value_pack(&e2.pk, &a, NULL, NULL));
    DVT_EQ_I64(e1.sb.size, e2.sb.size);
    DVT_TRUE(memcmp(e1.sb.data, e2.sb.data, e1.sb.size) == 0);
    dvt_enc_fini(&e1);
    dvt_enc_fini(&e2);
    dvi_value_fini(&c);

    /* dvi_value_destroy frees a heap value and clears the pointer. */
    dv_value *h = malloc(sizeof(*h));
    assert_non_null(h);
    s_roundtrip(&a, h);
    dvi_value_destroy(&h);
    DVT_TRUE(h == NULL);
    dvi_value_destroy(&h); /* accepts NULL */
    dvi_value_destroy(NULL);
}

static void
test_pack_depth_limit(void **state)
{
    /* An argument nested deeper than DVI_VALUE_MAX_DEPTH is refused with
     * DV_ELIMIT rather than encoded into something no one can decode. */
    enum { DEPTH = DVI_VALUE_MAX_DEPTH + 5 };
    dv_arg chain[DEPTH + 1];
    chain[DEPTH] = dv_i64(1);
    for (int i = DEPTH - 1; i >= 0; i--) {
        chain[i] = dv_list(&chain[i + 1], 1);
    }
    dvt_enc e;
    dvt_enc_init(&e);
    DVT_FAILS_WITH(DV_ELIMIT, dvi_value_pack(&e.pk, &chain[0], NULL, NULL));
    DVT_CONTAINS(dv_last_error(), "deeper");
    dvt_enc_fini(&e);
}

static void
test_decode_deep_nesting(void **state)
{
    /* As deep as the check allows (32 lists) decodes; 100 fails cleanly. */
    for (int depth = 1; depth <= 100; depth++) {
        char buf[128];
        memset(buf, 0x91, (size_t)depth);
        buf[depth] = 0x05;
        dv_value v;
        int rc = dvi_value_decode(buf, (size_t)depth + 1, &v, NULL, NULL);
        if (depth <= 32) {
            DVT_PASS(rc);
            const dv_value *x = &v;
            for (int i = 0; i < depth; i++) {
                x = dv_value_at(x, 0);
            }
            DVT_EQ_I64(dv_value_i64(x), 5);
        } else {
            DVT_FAILS_WITH(DV_EPROTO, rc);
            DVT_EQ_I64(dv_value_type(&v), DV_NIL);
        }
        dvi_value_fini(&v);
    }
}

/* ---- Future references -------------------------------------------------- */

static void
test_futref_pack_parse(void **state)
{
    const int32_t idx[] = {-1, 0, 3, 255, 65536, INT32_MAX};
    const uint32_t slots[] = {0, 1, 7, 65535, UINT32_MAX, 2};
    for (size_t i = 0; i < sizeof(idx) / sizeof(idx[0]); i++) {
        dvt_enc e;
        dvt_enc_init(&e);
        dvi_futref_pack(&e.pk, slots[i], idx[i]);
        DVT_PASS(dvi_mpcheck(e.sb.data, e.sb.size));
        msgpack_unpacked u;
        size_t off = 0;
        msgpack_unpacked_init(&u);
        DVT_EQ_I64(msgpack_unpack_next(&u, e.sb.data, e.sb.size, &off),
                   MSGPACK_UNPACK_SUCCESS);
        DVT_EQ_I64(u.data.type, MSGPACK_OBJECT_EXT);
        DVT_EQ_I64(u.data.via.ext.type, DVI_EXT_FUTREF);
        /* A fixed 8 bytes: a reference costs the same for any key. */
        DVT_EQ_I64(u.data.via.ext.size, 8);
        int32_t index = 12345;
        uint32_t slot = 12345;
        DVT_PASS(dvi_futref_parse(u.data.via.ext.ptr, u.data.via.ext.size,
                                  &slot, &index));
        DVT_EQ_I64(index, idx[i]);
        DVT_EQ_I64(slot, slots[i]);
        msgpack_unpacked_destroy(&u);
        dvt_enc_fini(&e);
    }
    /* Both numbers are big-endian on the wire. */
    int32_t index;
    uint32_t slot;
    DVT_PASS(
        dvi_futref_parse("\x00\x00\x01\x02\x00\x00\x00\x03", 8, &slot, &index));
    DVT_EQ_I64(index, 258);
    DVT_EQ_I64(slot, 3);
    DVT_PASS(
        dvi_futref_parse("\xff\xff\xff\xff\x00\x01\x00\x00", 8, &slot, &index));
    DVT_EQ_I64(index, -1);
    DVT_EQ_I64(slot, 65536);
    /* Any other size is malformed. */
    for (size_t n = 0; n < 12; n++) {
        if (n == 8) {
            continue;
        }
        DVT_FAILS_WITH(DV_EPROTO, dvi_futref_parse("\0\0\0\0\0\0\0\0\0\0\0", n,
                                                   &slot, &index));
        DVT_NE_STR(dv_last_error(), "");
    }
}

typedef struct s_resolved {
    uint32_t slot[4];
    int32_t index[4];
    int n;
    int fail_at; /* call number that fails, or -1 */
} s_resolved;

static int
s_resolve(void *ctx, uint32_t slot, int32_t index, dv_value *out)
{
    s_resolved *r = ctx;
    if (r->n == r->fail_at) {
        return dvi_seterr(DV_ENOTFOUND, "no result for input %u", slot);
    }
    r->slot[r->n] = slot;
    r->index[r->n] = index;
    r->n++;
    memset(out, 0, sizeof(*out));
    out->type = DV_I64;
    out->u.i = 1000 + index;
    return 0;
}

static int
s_pack_fut(void *ctx, msgpack_packer *pk, dv_future *f)
{
    /* Tests pass small integers as stand-ins for futures: the integer is
     * the dependency's position. */
    dvi_futref_pack(pk, (uint32_t)(intptr_t)f, -1);
    return 0;
}

static void
test_futures_in_arguments(void **state)
{
    dv_future *fs[2] = {(dv_future *)(intptr_t)7, (dv_future *)(intptr_t)8};
    dv_arg items[3] = {dv_i64(1), dv_fut((dv_future *)(intptr_t)5),
                       dv_futs(fs, 2)};
    dv_arg a = dv_list(items, 3);

    /* Without a packer for futures, a future is not a value. */
    dvt_enc e;
    dvt_enc_init(&e);
    DVT_FAILS_WITH(DV_EINVAL, dvi_value_pack(&e.pk, &a, NULL, NULL));
    dvt_enc_fini(&e);

    dvt_enc_init(&e);
    DVT_PASS(dvi_value_pack(&e.pk, &a, s_pack_fut, NULL));
    s_resolved r = {.fail_at = -1};
    dv_value v;
    DVT_PASS(dvi_value_decode(e.sb.data, e.sb.size, &v, s_resolve, &r));
    DVT_EQ_I64(r.n, 3);
    DVT_EQ_I64(r.slot[0], 5);
    DVT_EQ_I64(r.slot[1], 7);
    DVT_EQ_I64(r.slot[2], 8);
    DVT_EQ_I64(r.index[0], -1);
    DVT_EQ_I64(dv_value_i64(dv_value_at(&v, 1)), 999);
    DVT_EQ_I64(dv_value_len(dv_value_at(&v, 2)), 2);
    dvi_value_fini(&v);

    /* No resolver: a reference cannot appear (it would be in a result). */
    DVT_FAILS_WITH(DV_EPROTO,
                   dvi_value_decode(e.sb.data, e.sb.size, &v, NULL, NULL));
    DVT_CONTAINS(dv_last_error(), "reference");
    DVT_EQ_I64(dv_value_type(&v), DV_NIL);

    /* A resolver's error is passed up unchanged, and what was decoded
     * before it is freed (ASan checks). */
    s_resolved r2 = {.fail_at = 1};
    DVT_FAILS_WITH(DV_ENOTFOUND,
                   dvi_value_decode(e.sb.data, e.sb.size, &v, s_resolve, &r2));
    DVT_CONTAINS(dv_last_error(), "input 7");
    DVT_EQ_I64(dv_value_type(&v), DV_NIL);
    dvt_enc_fini(&e);
}

/* ---- Element extraction ------------------------------------------------- */

static void
test_decode_at(void **state)
{
    double fs[2] = {0.5, 1.5};
    dv_arg inner[2] = {dv_i64(1), dv_i64(2)};
    dv_arg items[4] = {dv_i64(10), dv_str("x"), dv_list(inner, 2),
                       dv_f64s(fs, 2)};
    dv_arg a = dv_list(items, 4);
    dvt_enc e;
    dvt_enc_init(&e);
    DVT_PASS(dvi_value_pack(&e.pk, &a, NULL, NULL));
    dv_value v;

    DVT_PASS(dvi_value_decode_at(e.sb.data, e.sb.size, 0, &v));
    DVT_EQ_I64(dv_value_i64(&v), 10);
    dvi_value_fini(&v);
    DVT_PASS(dvi_value_decode_at(e.sb.data, e.sb.size, 1, &v));
    DVT_EQ_STR(dv_value_str(&v, NULL), "x");
    dvi_value_fini(&v);
    DVT_PASS(dvi_value_decode_at(e.sb.data, e.sb.size, 2, &v));
    DVT_EQ_I64(dv_value_type(&v), DV_LIST);
    DVT_EQ_I64(dv_value_i64(dv_value_at(&v, 1)), 2);
    dvi_value_fini(&v);
    DVT_PASS(dvi_value_decode_at(e.sb.data, e.sb.size, 3, &v));
    DVT_TRUE(s_aligned8(dv_value_f64s(&v, NULL)));
    DVT_EQ_F64(dv_value_f64s(&v, NULL)[1], 1.5, 0);
    dvi_value_fini(&v);
    /* -1 is the whole value. */
    DVT_PASS(dvi_value_decode_at(e.sb.data, e.sb.size, -1, &v));
    DVT_EQ_I64(dv_value_len(&v), 4);
    dvi_value_fini(&v);
    /* Past the end. */
    DVT_FAILS_WITH(DV_EPROTO, dvi_value_decode_at(e.sb.data, e.sb.size, 4, &v));
    DVT_CONTAINS(dv_last_error(), "element 4");
    DVT_EQ_I64(dv_value_type(&v), DV_NIL);
    dvt_enc_fini(&e);

    /* An element of something that is not a list. */
    dv_arg one = dv_i64(5);
    dvt_enc_init(&e);
    DVT_PASS(dvi_value_pack(&e.pk, &one, NULL, NULL));
    DVT_FAILS_WITH(DV_EPROTO, dvi_value_decode_at(e.sb.data, e.sb.size, 0, &v));
    DVT_EQ_I64(dv_value_type(&v), DV_NIL);
    dvt_enc_fini(&e);

    /* A malformed buffer fails for any index. */
    DVT_FAILS_WITH(DV_EPROTO, dvi_value_decode_at("\x92\x01", 2, 0, &v));
    DVT_FAILS_WITH(DV_EPROTO, dvi_value_decode_at("\x92\x01", 2, -1, &v));
    DVT_EQ_I64(dv_value_type(&v), DV_NIL);
}

/* ---- Hostile encodings -------------------------------------------------- */

typedef struct s_bad {
    const char *what;
    const char *bytes;
    size_t len;
    const char *reason; /* a word the reason must contain */
} s_bad;

#define BAD(what, lit, reason)             \
    {                                      \
        what, lit, sizeof(lit) - 1, reason \
    }

static const s_bad s_bad_values[] = {
    BAD("array32 claiming 2^32-1 elements",
        "\xdd\xff\xff\xff\xff\x01\x02\x03\x04\x05", "10 bytes"),
    BAD("str32 claiming 4 GiB",
        "\xdb\xff\xff\xff\xff"
        "abc",
        "8 bytes"),
    BAD("truncated str8",
        "\xd9\x10"
        "abc",
        "5 bytes"),
    BAD("truncated bin", "\xc4\x04\x00", "3 bytes"),
    BAD("truncated f64 array", "\xc7\x10\x01\x00\x00\x00", "6 bytes"),
    BAD("empty buffer", "", "0 bytes"),
    BAD("trailing bytes", "\x01\x02", "trailing"),
    BAD("uint64 above INT64_MAX", "\xcf\x80\x00\x00\x00\x00\x00\x00\x00",
        "int64"),
    BAD("a map", "\x81\x01\x02", "type"),
    BAD("a map inside a list", "\x92\x01\x80", "type"),
    BAD("unknown ext type", "\xd4\x05\x00", "ext type 5"),
    BAD("negative ext type", "\xd4\xff\x00", "ext type -1"),
    BAD("f64 array of 7 bytes", "\xc7\x07\x01\x00\x00\x00\x00\x00\x00\x00",
        "7 bytes"),
    BAD("i64 array of 12 bytes",
        "\xc7\x0c\x02"
        "012345678901",
        "12 bytes"),
    BAD("f64 array not whole, in a list", "\x92\xc0\xd5\x01\x00\x00",
        "2 bytes"),
    BAD("future reference in a result", "\xc7\x05\x0a\xff\xff\xff\xffk",
        "reference"),
};

static void
test_hostile_inputs(void **state)
{
    for (size_t i = 0; i < sizeof(s_bad_values) / sizeof(s_bad_values[0]);
         i++) {
        const s_bad *b = &s_bad_values[i];
        /* Exactly len bytes on the heap, so ASan sees any overread. */
        char *buf = malloc(b->len ? b->len : 1);
        assert_non_null(buf);
        memcpy(buf, b->bytes, b->len);
        dv_value v;
        memset(&v, 0xa5, sizeof(v)); /* garbage: decode must reset it */
        dvi_seterr(0, "stale");
        int rc = dvi_value_decode(buf, b->len, &v, NULL, NULL);
        free(buf);
        if (rc != DV_EPROTO) {
            DVT_FAIL("%s: returned %d, want DV_EPROTO", b->what, rc);
        }
        if (strstr(dv_last_error(), b->reason) == NULL) {
            DVT_FAIL("%s: reason \"%s\" lacks \"%s\"", b->what, dv_last_error(),
                     b->reason);
        }
        DVT_EQ_I64(dv_value_type(&v), DV_NIL);
        dvi_value_fini(&v); /* safe on the nil left behind */
    }
}

static void
test_float32_decodes_as_f64(void **state)
{
    dv_value v;
    DVT_PASS(dvi_value_decode("\xca\x3f\xc0\x00\x00", 5, &v, NULL, NULL));
    DVT_EQ_I64(dv_value_type(&v), DV_F64);
    DVT_EQ_F64(dv_value_f64(&v), 1.5, 0);
    dvi_value_fini(&v);
}

/* ---- Accessors ---------------------------------------------------------- */

static void
test_accessors_on_wrong_types(void **state)
{
    double fs[2] = {1, 2};
    dv_arg items[1] = {dv_i64(3)};
    dv_arg args[] = {dv_nil(),       dv_bool(true),    dv_i64(7),
                     dv_f64(2.75),   dv_str("s"),      dv_bytes("b", 1),
                     dv_f64s(fs, 2), dv_i64s(NULL, 0), dv_list(items, 1)};
    for (size_t k = 0; k < sizeof(args) / sizeof(args[0]); k++) {
        dv_value v;
        s_roundtrip(&args[k], &v);
        int t = dv_value_type(&v);
        DVT_EQ_I64(t, args[k].type);
        if (t != DV_I64 && t != DV_F64 && t != DV_BOOL) {
            DVT_EQ_I64(dv_value_i64(&v), 0);
            DVT_EQ_F64(dv_value_f64(&v), 0, 0);
        }
        if (t != DV_BOOL) {
            DVT_TRUE(!dv_value_bool(&v));
        }
        if (t != DV_STR) {
            DVT_TRUE(dv_value_str(&v, NULL) == NULL);
        }
        if (t != DV_STR && t != DV_BYTES) {
            size_t len = 77;
            DVT_TRUE(dv_value_bytes(&v, &len) == NULL);
            DVT_EQ_I64(len, 77); /* untouched */
        }
        if (t != DV_F64S) {
            DVT_TRUE(dv_value_f64s(&v, NULL) == NULL);
        }
        if (t != DV_I64S) {
            DVT_TRUE(dv_value_i64s(&v, NULL) == NULL);
        }
        if (t != DV_LIST) {
            DVT_TRUE(dv_value_at(&v, 0) == NULL);
        }
        if (t == DV_NIL || t == DV_BOOL || t == DV_I64 || t == DV_F64) {
            DVT_EQ_I64(dv_value_len(&v), 0);
        }
        dvi_value_fini(&v);
    }
    /* Numbers convert into each other. */
    dv_value v;
    dv_arg a = dv_f64(-2.75);
    s_roundtrip(&a, &v);
    DVT_EQ_I64(dv_value_i64(&v), -2); /* truncated */
    dvi_value_fini(&v);
    a = dv_i64(-9);
    s_roundtrip(&a, &v);
    DVT_EQ_F64(dv_value_f64(&v), -9.0, 0);
    dvi_value_fini(&v);
    /* A str's bytes are available as bytes too. */
    a = dv_str("abc");
    s_roundtrip(&a, &v);
    size_t len = 0;
    DVT_TRUE(memcmp(dv_value_bytes(&v, &len), "abc", 3) == 0);
    DVT_EQ_I64(len, 3);
    dvi_value_fini(&v);
    /* NULL is nil for every accessor. */
    DVT_EQ_I64(dv_value_type(NULL), DV_NIL);
    DVT_EQ_I64(dv_value_i64(NULL), 0);
    DVT_EQ_F64(dv_value_f64(NULL), 0, 0);
    DVT_TRUE(!dv_value_bool(NULL));
    DVT_TRUE(dv_value_str(NULL, NULL) == NULL);
    DVT_TRUE(dv_value_bytes(NULL, NULL) == NULL);
    DVT_TRUE(dv_value_f64s(NULL, NULL) == NULL);
    DVT_TRUE(dv_value_i64s(NULL, NULL) == NULL);
    DVT_EQ_I64(dv_value_len(NULL), 0);
    DVT_TRUE(dv_value_at(NULL, 0) == NULL);
}

static void
test_i64_of_bool_is_zero(void **state)
{
    /* drove.h: dv_value_i64 gives "the number as int64 (a DV_F64 is
     * truncated; others give 0)": a DV_BOOL is not a number. */
    dv_value v;
    dv_arg a = dv_bool(true);
    s_roundtrip(&a, &v);
    DVT_EQ_I64(dv_value_i64(&v), 0);
    DVT_EQ_F64(dv_value_f64(&v), 0, 0);
    dvi_value_fini(&v);
}

static void
test_pack_unknown_type(void **state)
{
    dv_arg a = dv_nil();
    a.type = 42;
    dvt_enc e;
    dvt_enc_init(&e);
    DVT_FAILS_WITH(DV_EINVAL, dvi_value_pack(&e.pk, &a, NULL, NULL));
    DVT_CONTAINS(dv_last_error(), "42");
    dvt_enc_fini(&e);
    /* A DV_VALUE argument with a NULL value encodes as nil. */
    a = dv_value_arg(NULL);
    dv_value v;
    s_roundtrip(&a, &v);
    DVT_EQ_I64(dv_value_type(&v), DV_NIL);
    dvi_value_fini(&v);
}

/* An argument that points nowhere but claims elements is refused when it
 * is encoded, with a reason naming its constructor: dv_submit returns
 * NULL then, instead of crashing the client or failing on a worker. */
static void
test_null_pointers_refused(void **state)
{
    const dv_arg bad[] = {dv_list(NULL, 3), dv_f64s(NULL, 10), dv_i64s(NULL, 1),
                          dv_bytes(NULL, 4)};
    const char *names[] = {"dv_list", "dv_f64s", "dv_i64s", "dv_bytes"};
    for (int i = 0; i < 4; i++) {
        dvt_enc e;
        dvt_enc_init(&e);
        DVT_FAILS_WITH(DV_EINVAL, dvi_value_pack(&e.pk, &bad[i], NULL, NULL));
        DVT_CONTAINS(dv_last_error(), names[i]);
        /* Nested in a list, too. */
        dv_arg outer = dv_list(&bad[i], 1);
        DVT_FAILS_WITH(DV_EINVAL, dvi_value_pack(&e.pk, &outer, NULL, NULL));
        dvt_enc_fini(&e);
    }
    /* Empty is fine, whatever the pointer. */
    dvt_enc e;
    dvt_enc_init(&e);
    dv_arg empty = dv_f64s(NULL, 0);
    DVT_PASS(dvi_value_pack(&e.pk, &empty, NULL, NULL));
    dvt_enc_fini(&e);
}

/* The encoding of [f64s(n), bytes(m), i64s(2), "s"] in a blob whose
 * f64 elements lie at offset `shift` mod 8 from an aligned address. */
static dvi_blob *
s_encoded_in_blob(size_t n, size_t shift)
{
    double *x = malloc(n * sizeof(*x));
    for (size_t i = 0; i < n; i++) {
        x[i] = (double)i / 4;
    }
    int64_t y[2] = {-5, 5};
    dv_arg items[] = {dv_f64s(x, n), dv_bytes("raw\0bytes", 9), dv_i64s(y, 2),
                      dv_str("s")};
    dv_arg list = dv_list(items, 4);
    dvt_enc e;
    dvt_enc_init(&e);
    DVT_PASS(dvi_value_pack(&e.pk, &list, NULL, NULL));
    free(x);
    /* The list header (1 byte) and the ext16 header (4) precede the
     * elements: 5 bytes. */
    dvi_blob *b = dvi_blob_new(e.sb.size, (5 + 8 - shift) % 8);
    memcpy(b->data, e.sb.data, e.sb.size);
    dvt_enc_fini(&e);
    return b;
}

static void
test_decoded_in_place_from_a_blob(void **state)
{
    /* Aligned arrays and byte strings are read where they are: the value
     * points into the blob and holds it, so the blob outlives its other
     * owners; a deep copy shares the bytes. Strings (which need a NUL)
     * and arrays that are not aligned are copied. */
    dvi_blob *b = s_encoded_in_blob(1000, 0);
    dv_value v;
    DVT_PASS(dvi_value_decode_blob(b, &v, NULL, NULL));
    size_t n = 0;
    const double *x = dv_value_f64s(dv_value_at(&v, 0), &n);
    DVT_EQ_I64(n, 1000);
    DVT_TRUE(x > (const double *)b->data &&
             (const char *)(x + n) <= b->data + b->len);
    const char *raw = dv_value_bytes(dv_value_at(&v, 1), &n);
    DVT_EQ_I64(n, 9);
    DVT_TRUE(raw > b->data && raw < b->data + b->len);
    const char *str = dv_value_str(dv_value_at(&v, 3), NULL);
    DVT_TRUE(str < b->data || str >= b->data + b->len);
    DVT_EQ_STR(str, "s");
    dv_value c;
    dvi_value_copy(&c, &v);
    DVT_TRUE(dv_value_f64s(dv_value_at(&c, 0), NULL) == x);
    dvi_blob_rele(b); /* the values hold it now */
    dvi_value_fini(&v);
    DVT_EQ_F64(dv_value_f64s(dv_value_at(&c, 0), NULL)[999], 999.0 / 4, 0);
    DVT_TRUE(
        memcmp(dv_value_bytes(dv_value_at(&c, 1), NULL), "raw\0bytes", 9) == 0);
    DVT_EQ_I64(dv_value_i64s(dv_value_at(&c, 2), NULL)[0], -5);
    dvi_value_fini(&c);

    /* Not aligned in the blob: copied into aligned memory. */
    b = s_encoded_in_blob(1000, 3);
    DVT_PASS(dvi_value_decode_blob(b, &v, NULL, NULL));
    x = dv_value_f64s(dv_value_at(&v, 0), &n);
    DVT_TRUE(s_aligned8(x));
    DVT_TRUE((const char *)x < b->data || (const char *)x >= b->data + b->len);
    DVT_EQ_F64(x[4], 1, 0);
    dvi_blob_rele(b);
    dvi_value_fini(&v);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_null_pointers_refused),
        cmocka_unit_test(test_roundtrip_scalars),
        cmocka_unit_test(test_roundtrip_str_and_bytes),
        cmocka_unit_test(test_roundtrip_arrays),
        cmocka_unit_test(test_array_payload_misaligned_in_buffer),
        cmocka_unit_test(test_roundtrip_nested_list),
        cmocka_unit_test(test_pack_depth_limit),
        cmocka_unit_test(test_decode_deep_nesting),
        cmocka_unit_test(test_futref_pack_parse),
        cmocka_unit_test(test_futures_in_arguments),
        cmocka_unit_test(test_decode_at),
        cmocka_unit_test(test_hostile_inputs),
        cmocka_unit_test(test_float32_decodes_as_f64),
        cmocka_unit_test(test_accessors_on_wrong_types),
        cmocka_unit_test(test_i64_of_bool_is_zero),
        cmocka_unit_test(test_pack_unknown_type),
        cmocka_unit_test(test_decoded_in_place_from_a_blob),
    };
    return cmocka_run_group_tests_name("value", tests, NULL, NULL);
}
