/* drove — unit: dvi_mpcheck, the bounds check of untrusted msgpack.
 *
 * Every frame and every stored value goes through dvi_mpcheck before
 * msgpack-c sees it, because msgpack-c allocates whatever a container
 * header claims. These tests feed it one well-formed object of every
 * msgpack format (each must pass, and must also decode with msgpack-c),
 * then the hostile shapes a peer could send: counts and lengths larger
 * than the buffer, truncated bodies, deep nesting, trailing bytes, and the
 * one byte msgpack never uses.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "common/mpcheck.h"
#include "dvtest.h"

typedef struct s_case {
    const char *what;
    const char *bytes;
    size_t len;
} s_case;

#define CASE(what, lit)            \
    {                              \
        what, lit, sizeof(lit) - 1 \
    }

/* One object of each format, in its shortest and widest encodings. */
static const s_case s_valid[] = {
    CASE("positive fixint", "\x00"),
    CASE("positive fixint 127", "\x7f"),
    CASE("negative fixint", "\xe0"),
    CASE("nil", "\xc0"),
    CASE("false", "\xc2"),
    CASE("true", "\xc3"),
    CASE("uint8", "\xcc\xff"),
    CASE("uint16", "\xcd\xff\xff"),
    CASE("uint32", "\xce\xff\xff\xff\xff"),
    CASE("uint64", "\xcf\xff\xff\xff\xff\xff\xff\xff\xff"),
    CASE("int8", "\xd0\x80"),
    CASE("int16", "\xd1\x80\x00"),
    CASE("int32", "\xd2\x80\x00\x00\x00"),
    CASE("int64", "\xd3\x80\x00\x00\x00\x00\x00\x00\x00"),
    CASE("float32", "\xca\x3f\x80\x00\x00"),
    CASE("float64", "\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00"),
    CASE("fixstr empty", "\xa0"),
    CASE("fixstr", "\xa5hello"),
    CASE("str8", "\xd9\x03"
                 "abc"),
    CASE("str16", "\xda\x00\x03"
                  "abc"),
    CASE("str32", "\xdb\x00\x00\x00\x03"
                  "abc"),
    CASE("bin8", "\xc4\x02\x00\xff"),
    CASE("bin16", "\xc5\x00\x02\x00\xff"),
    CASE("bin32", "\xc6\x00\x00\x00\x02\x00\xff"),
    CASE("fixext1", "\xd4\x01\xaa"),
    CASE("fixext2", "\xd5\x01\xaa\xbb"),
    CASE("fixext4", "\xd6\x01\xaa\xbb\xcc\xdd"),
    CASE("fixext8", "\xd7\x01\x00\x00\x00\x00\x00\x00\xf0\x3f"),
    CASE("fixext16", "\xd8\x02"
                     "0123456789abcdef"),
    CASE("ext8", "\xc7\x03\x0a\x00\x00\x00"),
    CASE("ext8 empty", "\xc7\x00\x01"),
    CASE("ext16", "\xc8\x00\x03\x0a\x00\x00\x00"),
    CASE("ext32", "\xc9\x00\x00\x00\x03\x0a\x00\x00\x00"),
    CASE("fixarray empty", "\x90"),
    CASE("fixarray", "\x93\x01\xa1x\xc0"),
    CASE("array16", "\xdc\x00\x02\x01\x02"),
    CASE("array32", "\xdd\x00\x00\x00\x02\x01\x02"),
    CASE("fixmap empty", "\x80"),
    CASE("fixmap", "\x82\xa1"
                   "a\x01\xa1"
                   "b\x92\x02\x03"),
    CASE("map16", "\xde\x00\x01\x01\x02"),
    CASE("map32", "\xdf\x00\x00\x00\x01\x01\x02"),
    CASE("nested", "\x92\x91\x81\xa1k\x93\xc3\xcb\x00\x00\x00\x00\x00\x00"
                   "\x00\x00\xc4\x00\xa0"),
};

/* Inputs a hostile or broken peer could send. */
static const s_case s_invalid[] = {
    CASE("array32 claiming 2^32-1 elements",
         "\xdd\xff\xff\xff\xff\x01\x02\x03\x04\x05"),
    CASE("array16 claiming 65535 elements", "\xdc\xff\xff\x01\x02\x03"),
    CASE("fixarray one element short", "\x93\x01\x02"),
    CASE("map32 claiming 2^31 pairs",
         "\xdf\x80\x00\x00\x00\x01\x02\x03\x04\x05"),
    CASE("fixmap missing a value", "\x81\xa1k"),
    CASE("map16 claiming 65535 pairs", "\xde\xff\xff\x01\x02"),
    CASE("fixstr truncated", "\xa5hel"),
    CASE("str8 truncated", "\xd9\x05"
                           "ab"),
    CASE("str16 truncated", "\xda\x01\x00"
                            "abc"),
    CASE("str32 claiming 4 GiB", "\xdb\xff\xff\xff\xff"
                                 "abc"),
    CASE("str8 missing its length", "\xd9"),
    CASE("str16 length cut", "\xda\x00"),
    CASE("bin8 truncated", "\xc4\x10\x00\x01"),
    CASE("bin16 truncated", "\xc5\x00\x10\x00\x01"),
    CASE("bin32 claiming 4 GiB", "\xc6\xff\xff\xff\xff\x00"),
    CASE("ext8 truncated", "\xc7\x04\x01"
                           "ab"),
    CASE("ext8 missing its type", "\xc7\x00"),
    CASE("ext16 truncated", "\xc8\x00\x08\x01"
                            "abc"),
    CASE("ext32 claiming 4 GiB", "\xc9\xff\xff\xff\xff\x01"
                                 "abc"),
    CASE("fixext4 truncated", "\xd6\x01\xaa\xbb"),
    CASE("fixext16 truncated", "\xd8\x01"
                               "0123"),
    CASE("uint32 truncated", "\xce\x00\x01"),
    CASE("uint64 truncated", "\xcf\x00\x00\x00\x00"),
    CASE("float64 truncated", "\xcb\x3f\xf0"),
    CASE("int16 truncated", "\xd1\x80"),
    CASE("never used 0xc1", "\xc1"),
    CASE("0xc1 inside an array", "\x92\x01\xc1"),
    CASE("trailing byte", "\xc0\xc0"),
    CASE("two objects", "\x91\x01\x91\x01"),
    CASE("trailing garbage after a str", "\xa1x\xff\xff\xff"),
};

static int
s_msgpack_decodes(const char *buf, size_t len)
{
    msgpack_unpacked u;
    size_t off = 0;
    msgpack_unpacked_init(&u);
    int rc = msgpack_unpack_next(&u, buf, len, &off);
    msgpack_unpacked_destroy(&u);
    return rc == MSGPACK_UNPACK_SUCCESS && off == len;
}

static void
test_accepts_every_format(void **state)
{
    for (size_t i = 0; i < sizeof(s_valid) / sizeof(s_valid[0]); i++) {
        const s_case *c = &s_valid[i];
        int rc = dvi_mpcheck(c->bytes, c->len);
        if (rc != 0) {
            DVT_FAIL("%s rejected: %s", c->what, dv_last_error());
        }
        /* The check's model of msgpack agrees with msgpack-c's. */
        if (!s_msgpack_decodes(c->bytes, c->len)) {
            DVT_FAIL("%s: test input is not msgpack", c->what);
        }
    }
}

static void
test_rejects_hostile_inputs(void **state)
{
    for (size_t i = 0; i < sizeof(s_invalid) / sizeof(s_invalid[0]); i++) {
        const s_case *c = &s_invalid[i];
        int rc = dvi_mpcheck(c->bytes, c->len);
        if (rc != DV_EPROTO) {
            DVT_FAIL("%s: returned %d, want DV_EPROTO", c->what, rc);
        }
        /* The reason names the size, so a log line says what came in. */
        char len[32];
        snprintf(len, sizeof(len), "%zu", c->len);
        if (strncmp(c->what, "trailing", 8) == 0 ||
            strcmp(c->what, "two objects") == 0) {
            DVT_CONTAINS(dv_last_error(), "trailing");
        } else {
            DVT_CONTAINS(dv_last_error(), len);
        }
    }
}

static void
test_rejects_empty(void **state)
{
    DVT_FAILS_WITH(DV_EPROTO, dvi_mpcheck("", 0));
    DVT_FAILS_WITH(DV_EPROTO, dvi_mpcheck(NULL, 0));
}

static void
test_truncation_of_valid_objects(void **state)
{
    /* Every proper prefix of a well-formed object is rejected, and the
     * check never reads past len (ASan: copies of exactly len bytes). */
    for (size_t i = 0; i < sizeof(s_valid) / sizeof(s_valid[0]); i++) {
        const s_case *c = &s_valid[i];
        for (size_t cut = 0; cut < c->len; cut++) {
            char *p = malloc(cut ? cut : 1);
            assert_non_null(p);
            memcpy(p, c->bytes, cut);
            int rc = dvi_mpcheck(p, cut);
            free(p);
            if (rc != DV_EPROTO) {
                DVT_FAIL("%s cut to %zu bytes: returned %d", c->what, cut, rc);
            }
        }
    }
}

/* n nested one-element arrays around a nil. Caller frees. */
static char *
s_nested(size_t n, size_t *len)
{
    char *p = malloc(n + 1);
    assert_non_null(p);
    memset(p, 0x91, n);
    p[n] = (char)0xc0;
    *len = n + 1;
    return p;
}

static void
test_depth_limit(void **state)
{
    size_t len;
    char *p = s_nested(100, &len);
    DVT_FAILS_WITH(DV_EPROTO, dvi_mpcheck(p, len));
    free(p);

    /* The limit is exact: DVI_MPCHECK_MAX_DEPTH containers pass, and
     * msgpack-c can decode them; one more does not pass. */
    p = s_nested(DVI_MPCHECK_MAX_DEPTH, &len);
    DVT_PASS(dvi_mpcheck(p, len));
    DVT_TRUE(s_msgpack_decodes(p, len));
    free(p);
    p = s_nested(DVI_MPCHECK_MAX_DEPTH + 1, &len);
    DVT_FAILS_WITH(DV_EPROTO, dvi_mpcheck(p, len));
    free(p);

    /* Maps count too: 100 nested single-pair maps. */
    char m[201];
    for (int i = 0; i < 100; i++) {
        m[2 * i] = (char)0x81;
        m[2 * i + 1] = (char)0xc0; /* key nil, then the next map */
    }
    m[200] = (char)0xc0;
    DVT_FAILS_WITH(DV_EPROTO, dvi_mpcheck(m, sizeof(m)));
}

static void
test_deep_nesting_does_not_exhaust_stack(void **state)
{
    /* A megabyte of array headers must be rejected quickly, not walked
     * recursively a million levels deep. */
    size_t len;
    char *p = s_nested(1 << 20, &len);
    DVT_FAILS_WITH(DV_EPROTO, dvi_mpcheck(p, len));
    free(p);
}

static void
test_wide_but_honest_array(void **state)
{
    /* 100k nils in an array32: every element is present, so it passes. */
    size_t n = 100000;
    char *p = malloc(5 + n);
    assert_non_null(p);
    p[0] = (char)0xdd;
    p[1] = 0;
    p[2] = (char)(n >> 16);
    p[3] = (char)(n >> 8);
    p[4] = (char)n;
    memset(p + 5, 0xc0, n);
    DVT_PASS(dvi_mpcheck(p, 5 + n));
    /* One element missing. */
    DVT_FAILS_WITH(DV_EPROTO, dvi_mpcheck(p, 5 + n - 1));
    free(p);
}

static void
test_object_count_limit(void **state)
{
    /* An array32 of DVI_MPCHECK_MAX_OBJECTS nils is, with the array
     * itself, one object too many, however honest its bytes. */
    size_t n = DVI_MPCHECK_MAX_OBJECTS;
    char *p = malloc(5 + n);
    assert_non_null(p);
    p[0] = (char)0xdd;
    p[1] = (char)(n >> 24);
    p[2] = (char)(n >> 16);
    p[3] = (char)(n >> 8);
    p[4] = (char)n;
    memset(p + 5, 0xc0, n);
    DVT_FAILS_WITH(DV_EPROTO, dvi_mpcheck(p, 5 + n));
    free(p);
}

static void
test_packed_by_msgpack_c(void **state)
{
    /* What our own encoder (msgpack-c's packer) writes always passes. */
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 6);
    msgpack_pack_int64(&pk, INT64_MIN);
    msgpack_pack_uint64(&pk, UINT64_MAX);
    msgpack_pack_str(&pk, 300);
    static char body[70000];
    msgpack_pack_str_body(&pk, body, 300);
    msgpack_pack_bin(&pk, sizeof(body));
    msgpack_pack_bin_body(&pk, body, sizeof(body));
    msgpack_pack_ext(&pk, 256, 1);
    msgpack_pack_ext_body(&pk, body, 256);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_nil(&pk);
    msgpack_pack_array(&pk, 0);
    DVT_PASS(dvi_mpcheck(sb.data, sb.size));
    DVT_FAILS_WITH(DV_EPROTO, dvi_mpcheck(sb.data, sb.size - 1));
    msgpack_sbuffer_destroy(&sb);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts_every_format),
        cmocka_unit_test(test_rejects_hostile_inputs),
        cmocka_unit_test(test_rejects_empty),
        cmocka_unit_test(test_truncation_of_valid_objects),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_deep_nesting_does_not_exhaust_stack),
        cmocka_unit_test(test_wide_but_honest_array),
        cmocka_unit_test(test_object_count_limit),
        cmocka_unit_test(test_packed_by_msgpack_c),
    };
    return cmocka_run_group_tests_name("mpcheck", tests, NULL, NULL);
}
