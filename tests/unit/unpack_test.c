/* drove — unit: dvi_unpack, msgpack-c's decoding into zones each thread
 * keeps for reuse.
 *
 * A frame's messages stay decoded while values inside them are decoded,
 * so zones are lent out several at a time: a decoding must never see its
 * objects change under another's, a large object must not leave its
 * zone holding memory for the next, malformed bytes and trailing bytes
 * are refused, and the zones of a thread that ends go with it (the
 * sanitizer build's leak check).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>
#include <uv.h>

#include "common/unpack.h"
#include "dvtest.h"

/* An array of n strings "s<i>" into sb. */
static void
s_pack_strings(msgpack_sbuffer *sb, int n)
{
    msgpack_packer pk;
    msgpack_sbuffer_init(sb);
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, (size_t)n);
    for (int i = 0; i < n; i++) {
        char s[32];
        int len = snprintf(s, sizeof(s), "s%d", i);
        msgpack_pack_str_with_body(&pk, s, (size_t)len);
    }
}

/* Whether o is the array s_pack_strings made of n strings. */
static int
s_is_strings(const msgpack_object *o, int n)
{
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != (size_t)n) {
        return 0;
    }
    for (int i = 0; i < n; i++) {
        char s[32];
        int len = snprintf(s, sizeof(s), "s%d", i);
        const msgpack_object *e = &o->via.array.ptr[i];
        if (e->type != MSGPACK_OBJECT_STR || e->via.str.size != (size_t)len ||
            memcmp(e->via.str.ptr, s, (size_t)len) != 0) {
            return 0;
        }
    }
    return 1;
}

/* A frame held while values inside it decode, end and decode again. */
static void
test_nested_decodings_keep_their_objects(void **state)
{
    (void)state;
    msgpack_sbuffer outer, inner;
    s_pack_strings(&outer, 50);
    s_pack_strings(&inner, 7);
    dvi_unpacked a, b, c, d;
    DVT_PASS(dvi_unpack(outer.data, outer.size, &a));
    for (int round = 0; round < 100; round++) {
        DVT_PASS(dvi_unpack(inner.data, inner.size, &b));
        DVT_PASS(dvi_unpack(inner.data, inner.size, &c));
        DVT_PASS(dvi_unpack(inner.data, inner.size, &d)); /* past the keep */
        DVT_TRUE(b.zone != a.zone && c.zone != b.zone && d.zone != c.zone);
        DVT_TRUE(s_is_strings(&b.data, 7) && s_is_strings(&c.data, 7) &&
                 s_is_strings(&d.data, 7));
        dvi_unpacked_fini(&c);
        dvi_unpacked_fini(&b);
        dvi_unpacked_fini(&d);
        DVT_TRUE(b.zone == NULL);
    }
    DVT_TRUE(s_is_strings(&a.data, 50));
    dvi_unpacked_fini(&a);
    msgpack_sbuffer_destroy(&outer);
    msgpack_sbuffer_destroy(&inner);
}

/* The zone given back is lent again, holding one chunk: the next small
 * decoding fits in it. One that had to grow (a large object) comes back
 * four times the size, up to 256 KiB, so a thread's frames stop making and
 * freeing chunks. */
static void
test_zones_reused_and_grown(void **state)
{
    (void)state;
    msgpack_sbuffer big, small;
    s_pack_strings(&big, 100000); /* 2.4 MB of objects */
    s_pack_strings(&small, 3);
    dvi_unpacked u;
    DVT_PASS(dvi_unpack(small.data, small.size, &u));
    msgpack_zone *z = u.zone;
    DVT_TRUE(z->chunk_size == MSGPACK_ZONE_CHUNK_SIZE);
    dvi_unpacked_fini(&u);
    DVT_PASS(dvi_unpack(small.data, small.size, &u));
    DVT_TRUE(u.zone == z); /* it fitted: the same zone again */
    dvi_unpacked_fini(&u);
    size_t sizes[] = {4 * MSGPACK_ZONE_CHUNK_SIZE, 16 * MSGPACK_ZONE_CHUNK_SIZE,
                      256u << 10, 256u << 10};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        DVT_PASS(dvi_unpack(big.data, big.size, &u));
        DVT_TRUE(s_is_strings(&u.data, 100000));
        dvi_unpacked_fini(&u);
        DVT_PASS(dvi_unpack(small.data, small.size, &u));
        DVT_TRUE(s_is_strings(&u.data, 3));
        DVT_TRUE(u.zone->chunk_size == sizes[i]);
        /* One chunk, the three strings' objects taken from it. */
        DVT_TRUE(u.zone->chunk_list.free < sizes[i]);
        dvi_unpacked_fini(&u);
    }
    msgpack_sbuffer_destroy(&big);
    msgpack_sbuffer_destroy(&small);
}

static void
test_malformed_and_trailing_refused(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    s_pack_strings(&sb, 5);
    dvi_unpacked u;
    u.zone = NULL;
    DVT_TRUE(dvi_unpack(sb.data, sb.size - 1, &u) < 0); /* cut short */
    DVT_TRUE(u.zone == NULL);
    char *more = malloc(sb.size + 1);
    memcpy(more, sb.data, sb.size);
    more[sb.size] = '\x01'; /* a second object */
    DVT_TRUE(dvi_unpack(more, sb.size + 1, &u) < 0);
    DVT_TRUE(u.zone == NULL);
    DVT_TRUE(dvi_unpack("\xc1", 1, &u) < 0); /* never used */
    DVT_PASS(dvi_unpack(sb.data, sb.size, &u));
    DVT_TRUE(s_is_strings(&u.data, 5));
    dvi_unpacked_fini(&u);
    free(more);
    msgpack_sbuffer_destroy(&sb);
}

static void
s_decode_in_thread(void *arg)
{
    msgpack_sbuffer *sb = arg;
    for (int i = 0; i < 10; i++) {
        dvi_unpacked u, v;
        if (dvi_unpack(sb->data, sb->size, &u) == 0) {
            if (dvi_unpack(sb->data, sb->size, &v) == 0) {
                dvi_unpacked_fini(&v);
            }
            dvi_unpacked_fini(&u);
        }
    }
}

/* Threads that decode and end take their zones with them (LeakSanitizer
 * checks it in the sanitizer build). */
static void
test_threads_keep_their_own(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    s_pack_strings(&sb, 20);
    uv_thread_t t[4];
    for (int i = 0; i < 4; i++) {
        DVT_PASS(uv_thread_create(&t[i], s_decode_in_thread, &sb));
    }
    for (int i = 0; i < 4; i++) {
        DVT_PASS(uv_thread_join(&t[i]));
    }
    msgpack_sbuffer_destroy(&sb);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nested_decodings_keep_their_objects),
        cmocka_unit_test(test_zones_reused_and_grown),
        cmocka_unit_test(test_malformed_and_trailing_refused),
        cmocka_unit_test(test_threads_keep_their_own),
    };
    return cmocka_run_group_tests_name("unpack", tests, NULL, NULL);
}
