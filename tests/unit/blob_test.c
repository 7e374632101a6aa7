/* drove — unit: dvi_blob, the reference-counted byte buffer.
 *
 * Workers keep encoded results in blobs and read f64/i64 arrays in place,
 * so the alignment promise of dvi_blob_new (data + offset is 8-byte
 * aligned) is what makes dv_value_f64s zero-copy safe. These tests check
 * that promise for every offset, copies, that a blob of its own is one
 * allocation (a worker holds millions of tiny ones), adoption, and that
 * the count frees the memory exactly once (ASan reports any leak or
 * double free).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/blob.h"
#include "dvtest.h"

static void
test_alignment_for_every_offset(void **state)
{
    for (size_t offset = 0; offset < 32; offset++) {
        for (size_t len = 0; len < 40; len += 13) {
            dvi_blob *b = dvi_blob_new(len + offset, offset);
            DVT_EQ_I64(((uintptr_t)(b->data + offset)) % 8, 0);
            DVT_EQ_I64(b->len, len + offset);
            /* The whole length is writable (ASan checks). */
            memset(b->data, 0x5a, b->len);
            dvi_blob_rele(b);
        }
    }
}

static void
test_copy_and_refcount(void **state)
{
    const char text[] = "an encoded value";
    dvi_blob *b = dvi_blob_copy(text, sizeof(text));
    DVT_EQ_I64(b->len, sizeof(text));
    DVT_EQ_STR(b->data, text);
    DVT_TRUE(dvi_blob_hold(b) == b);
    DVT_EQ_I64(atomic_load(&b->refs), 2);
    dvi_blob_rele(b);
    DVT_EQ_I64(atomic_load(&b->refs), 1);
    DVT_EQ_STR(b->data, text); /* still alive */
    dvi_blob_rele(b);
    dvi_blob_rele(NULL);

    dvi_blob *empty = dvi_blob_copy(NULL, 0);
    DVT_EQ_I64(empty->len, 0);
    dvi_blob_rele(empty);
}

static void
test_one_allocation(void **state)
{
    /* The bytes follow the header (after at most 7 bytes of padding), and
     * a NUL follows the bytes. */
    for (size_t offset = 0; offset < 8; offset++) {
        dvi_blob *b = dvi_blob_new(5, offset);
        const char *after = (const char *)(b + 1);
        DVT_TRUE(b->data >= after && b->data < after + 8);
        DVT_TRUE(!dvi_blob_is_adopted(b));
        DVT_EQ_I64(b->data[5], 0);
        dvi_blob_rele(b);
    }
    dvi_blob *c = dvi_blob_copy("xyz", 3);
    DVT_TRUE(c->data == (const char *)(c + 1));
    DVT_TRUE(!dvi_blob_is_adopted(c));
    dvi_blob_rele(c);
}

static void
test_adopt(void **state)
{
    char *base = malloc(64);
    assert_non_null(base);
    memcpy(base + 10, "payload", 7);
    dvi_blob *b = dvi_blob_adopt(base, base + 10, 7);
    DVT_TRUE(memcmp(b->data, "payload", 7) == 0);
    DVT_EQ_I64(b->len, 7);
    DVT_TRUE(dvi_blob_is_adopted(b));
    dvi_blob_rele(b); /* frees base: a leak would fail under ASan */
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alignment_for_every_offset),
        cmocka_unit_test(test_copy_and_refcount),
        cmocka_unit_test(test_one_allocation),
        cmocka_unit_test(test_adopt),
    };
    return cmocka_run_group_tests_name("blob", tests, NULL, NULL);
}
