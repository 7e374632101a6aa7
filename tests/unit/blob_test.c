/* drove — unit: dvi_blob, the reference-counted byte buffer.
 *
 * Workers keep encoded results in blobs and read f64/i64 arrays in place,
 * so the alignment promise of dvi_blob_new (data + offset is 8-byte
 * aligned) is what makes dv_value_f64s zero-copy safe. These tests check
 * that promise for every offset, copies, that a blob of its own is one
 * allocation (a worker holds millions of tiny ones), adoption, that
 * the count frees the memory exactly once (ASan reports any leak or
 * double free), and that a large result's memory goes to the next large
 * result of about its size instead of back to the system, within limits.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/blob.h"
#include "common/hugepage.h"
#include "dvtest.h"

#define S_MIB ((size_t)1 << 20)

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

/* A large blob's memory is kept when it goes, and the next blob of about
 * its size (not a quarter smaller, never larger) gets it: no fresh pages
 * to fault in. */
static void
test_large_memory_is_reused(void **state)
{
    dvi_hugepage_trim();
    dvi_blob *a = dvi_blob_new(8 * S_MIB, 0);
    memset(a->data, 1, a->len); /* written whole, as a result is */
    void *where = a;
    dvi_blob_rele(a);
    DVT_TRUE(dvi_hugepage_kept() >= 8 * S_MIB);

    dvi_blob *larger = dvi_blob_new(9 * S_MIB, 0);
    DVT_TRUE((void *)larger != where);
    dvi_blob *smaller = dvi_blob_new(6 * S_MIB, 0);
    DVT_TRUE((void *)smaller != where);
    dvi_blob *about = dvi_blob_new(7 * S_MIB, 8);
    DVT_TRUE((void *)about == where);
    memset(about->data, 2, about->len); /* all of it is there (ASan) */
    DVT_EQ_I64(((uintptr_t)(about->data + 8)) % 8, 0);

    dvi_blob_rele(larger);
    dvi_blob_rele(smaller);
    dvi_blob_rele(about);
    DVT_TRUE(dvi_hugepage_kept() >= 22 * S_MIB);
    DVT_TRUE(dvi_hugepage_trim() >= 22 * S_MIB);
    DVT_EQ_I64(dvi_hugepage_kept(), 0);

    /* Small blobs are never kept. */
    dvi_blob_rele(dvi_blob_new(S_MIB, 0));
    DVT_EQ_I64(dvi_hugepage_kept(), 0);
}

/* A large received frame (an adopted blob) is kept when it goes, as a
 * result is, and the next buffer of its size reuses it: the receiver of
 * a 256 MiB input faulted in fresh pages every time. */
static void
test_adopted_memory_is_reused(void **state)
{
    dvi_hugepage_trim();
    char *base = DVT_NOTNULL(malloc(12 * S_MIB));
    memset(base, 3, 12 * S_MIB);
    dvi_blob_rele(dvi_blob_adopt(base, base + 64, 12 * S_MIB - 64));
    DVT_TRUE(dvi_hugepage_kept() >= 12 * S_MIB);
    void *again = dvi_hugepage_alloc(11 * S_MIB);
    DVT_TRUE(again == base);
    memset(again, 4, 11 * S_MIB); /* all of it is there (ASan) */
    dvi_hugepage_free(again, 11 * S_MIB);
    DVT_EQ_I64(dvi_hugepage_trim(), 11 * S_MIB);
}

/* The trimmer frees only what has been kept unused a while: a buffer
 * just kept stays for the next result, and says when it will be idle
 * long enough; one kept as long as asked goes. */
static void
test_idle_buffers_go(void **state)
{
    dvi_hugepage_trim();
    dvi_blob_rele(dvi_blob_new(8 * S_MIB, 0));
    DVT_EQ_I64(dvi_hugepage_trim_idle(60000), 0);
    uint64_t next = dvi_hugepage_idle_in(60000);
    DVT_TRUE(next > 50000 && next <= 60000);
    DVT_TRUE(dvi_hugepage_kept() >= 8 * S_MIB);
    DVT_TRUE(dvi_hugepage_trim_idle(0) >= 8 * S_MIB);
    DVT_EQ_I64(dvi_hugepage_idle_in(60000), 0);
    DVT_EQ_I64(dvi_hugepage_kept(), 0);
}

/* What is kept stays within DVI_HUGEPAGE_KEEP; from a floor up only (a
 * daemon, whose heap reuses smaller buffers itself); once limited (a
 * worker under a small memory limit: 0), nothing more is kept. */
static void
test_kept_within_limits(void **state)
{
    enum { N = 40 };
    dvi_blob *v[N];
    for (size_t i = 0; i < N; i++) {
        v[i] = dvi_blob_new(8 * S_MIB, 0);
    }
    for (size_t i = 0; i < N; i++) {
        dvi_blob_rele(v[i]);
    }
    size_t kept = dvi_hugepage_kept();
    DVT_TRUE(kept > 0 && kept <= DVI_HUGEPAGE_KEEP);

    dvi_hugepage_limit_keep(16 * S_MIB + 1024);
    DVT_TRUE(dvi_hugepage_kept() <= 16 * S_MIB + 1024);
    dvi_hugepage_trim();
    dvi_hugepage_keep_from(10 * S_MIB);
    dvi_blob_rele(dvi_blob_new(8 * S_MIB, 0));
    DVT_EQ_I64(dvi_hugepage_kept(), 0);
    dvi_blob_rele(dvi_blob_new(12 * S_MIB, 0));
    DVT_TRUE(dvi_hugepage_kept() >= 12 * S_MIB);
    dvi_hugepage_limit_keep(0);
    DVT_EQ_I64(dvi_hugepage_kept(), 0);
    dvi_hugepage_limit_keep(DVI_HUGEPAGE_KEEP); /* never raises it */
    dvi_blob_rele(dvi_blob_new(12 * S_MIB, 0));
    DVT_EQ_I64(dvi_hugepage_kept(), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alignment_for_every_offset),
        cmocka_unit_test(test_copy_and_refcount),
        cmocka_unit_test(test_one_allocation),
        cmocka_unit_test(test_adopt),
        cmocka_unit_test(test_large_memory_is_reused),
        cmocka_unit_test(test_adopted_memory_is_reused),
        cmocka_unit_test(test_idle_buffers_go),
        cmocka_unit_test(test_kept_within_limits), /* last: it limits */
    };
    return cmocka_run_group_tests_name("blob", tests, NULL, NULL);
}
