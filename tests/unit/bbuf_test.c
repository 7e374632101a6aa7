/* drove — unit: dvi_bbuf, bytes written to become an exact-size blob.
 *
 * A worker's results are encoded into a bbuf and kept as the blob it
 * finishes as, so what matters is that the blob holds exactly the bytes
 * written (no 8 KiB starting buffer behind a 2-byte value), that a small
 * one is a single allocation, that growing past the inline array and past
 * the copy limit keeps every byte, and that nothing leaks (ASan).
 */
#include <msgpack.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/bbuf.h"
#include "dvtest.h"

/* Whether the blob's bytes follow its header in its own allocation. */
static int
s_is_inline(const dvi_blob *b)
{
    const char *after = (const char *)(b + 1);
    return !dvi_blob_is_adopted(b) && b->data >= after && b->data < after + 8;
}

static void
test_small_value_is_exact_and_inline(void **state)
{
    dvi_bbuf bb;
    msgpack_packer pk;
    dvi_bbuf_init(&bb);
    msgpack_packer_init(&pk, &bb, dvi_bbuf_write);
    msgpack_pack_int64(&pk, 42);
    DVT_TRUE(bb.heap == NULL);
    dvi_blob *b = dvi_bbuf_finish(&bb);
    DVT_EQ_I64(b->len, 1);
    DVT_EQ_I64((unsigned char)b->data[0], 42);
    DVT_TRUE(s_is_inline(b));
    DVT_EQ_I64(bb.len, 0); /* left empty, as after init */
    dvi_blob_rele(b);

    dvi_bbuf_init(&bb);
    b = dvi_bbuf_finish(&bb);
    DVT_EQ_I64(b->len, 0);
    dvi_blob_rele(b);
}

/* Writes n pseudo-random bytes in pieces of varying size, checks them in
 * the finished blob, and returns whether it was adopted. */
static int
s_write_and_check(size_t n)
{
    char *want = malloc(n + 1);
    assert_non_null(want);
    for (size_t i = 0; i < n; i++) {
        want[i] = (char)(i * 131 + i / 7);
    }
    dvi_bbuf bb;
    dvi_bbuf_init(&bb);
    for (size_t at = 0, piece = 1; at < n; piece = piece * 3 % 997 + 1) {
        size_t k = piece < n - at ? piece : n - at;
        DVT_EQ_I64(dvi_bbuf_write(&bb, want + at, k), 0);
        at += k;
        DVT_EQ_I64(bb.len, at);
        DVT_TRUE(memcmp(dvi_bbuf_data(&bb), want, at) == 0);
    }
    dvi_blob *b = dvi_bbuf_finish(&bb);
    DVT_EQ_I64(b->len, n);
    DVT_TRUE(memcmp(b->data, want, n) == 0);
    int adopted = dvi_blob_is_adopted(b);
    DVT_TRUE(adopted || s_is_inline(b));
    dvi_blob_rele(b);
    free(want);
    return adopted;
}

static void
test_growing_keeps_every_byte(void **state)
{
    /* Inside the bbuf, just past it, on the heap, and past the copy
     * limit, where the heap buffer itself becomes the blob. */
    DVT_TRUE(!s_write_and_check(DVI_BBUF_SMALL));
    DVT_TRUE(!s_write_and_check(DVI_BBUF_SMALL + 1));
    DVT_TRUE(!s_write_and_check(5000));
    DVT_TRUE(!s_write_and_check(DVI_BBUF_COPY_MAX));
    DVT_TRUE(s_write_and_check(DVI_BBUF_COPY_MAX + 1));
    DVT_TRUE(s_write_and_check(3 * 1000 * 1000));
}

static void
test_fini_frees_heap(void **state)
{
    dvi_bbuf bb;
    char chunk[1000];
    memset(chunk, 'x', sizeof(chunk));
    dvi_bbuf_init(&bb);
    for (int i = 0; i < 100; i++) {
        dvi_bbuf_write(&bb, chunk, sizeof(chunk));
    }
    DVT_TRUE(bb.heap != NULL);
    dvi_bbuf_fini(&bb); /* a leak would fail under ASan */
    DVT_TRUE(bb.heap == NULL);
    DVT_EQ_I64(bb.len, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_value_is_exact_and_inline),
        cmocka_unit_test(test_growing_keeps_every_byte),
        cmocka_unit_test(test_fini_frees_heap),
    };
    return cmocka_run_group_tests_name("bbuf", tests, NULL, NULL);
}
