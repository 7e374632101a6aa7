/* drove — unit: dvi_store, the results a worker holds.
 *
 * The worker serves results from the store while executor threads read
 * them as task inputs, so what matters is who holds which reference: the
 * store holds its own, a replaced or deleted result is released exactly
 * once (ASan reports a leak or a double free), and a reader's reference
 * outlives the store's. The counts of results and bytes must follow
 * every put, replacement and deletion.
 */
#include <stdio.h>
#include <string.h>

#include "common/blob.h"
#include "dvtest.h"
#include "worker/store.h"

static void
test_put_get_delete_and_counts(void **state)
{
    dvi_store *s = DVT_NOTNULL(dvi_store_new());
    DVT_EQ_I64(dvi_store_count(s), 0);
    DVT_EQ_I64(dvi_store_bytes(s), 0);
    DVT_TRUE(dvi_store_get(s, "a") == NULL);

    dvi_blob *a = dvi_blob_copy("alpha", 5);
    dvi_store_put(s, "a", a);
    DVT_EQ_I64(atomic_load(&a->refs), 2); /* the store's and ours */
    dvi_blob_rele(a);
    DVT_TRUE(dvi_store_get(s, "a") == a);
    DVT_EQ_I64(dvi_store_count(s), 1);
    DVT_EQ_I64(dvi_store_bytes(s), 5);

    /* Replacing releases the old result and recounts the bytes. */
    dvi_blob *a2 = dvi_blob_copy("a longer alpha", 14);
    dvi_store_put(s, "a", a2);
    dvi_blob_rele(a2);
    DVT_TRUE(dvi_store_get(s, "a") == a2);
    DVT_EQ_I64(dvi_store_count(s), 1);
    DVT_EQ_I64(dvi_store_bytes(s), 14);

    /* The same blob again under its own key changes nothing. */
    dvi_store_put(s, "a", a2);
    DVT_EQ_I64(atomic_load(&a2->refs), 1);
    DVT_EQ_I64(dvi_store_bytes(s), 14);

    dvi_blob *b = dvi_blob_copy("beta", 4);
    dvi_store_put(s, "b", b);
    DVT_EQ_I64(dvi_store_count(s), 2);
    DVT_EQ_I64(dvi_store_bytes(s), 18);

    /* A reader's reference outlives the deletion. */
    DVT_EQ_I64(dvi_store_delete(s, "b"), 1);
    DVT_EQ_I64(dvi_store_delete(s, "b"), 0);
    DVT_TRUE(dvi_store_get(s, "b") == NULL);
    DVT_TRUE(memcmp(b->data, "beta", 4) == 0);
    dvi_blob_rele(b);
    DVT_EQ_I64(dvi_store_count(s), 1);
    DVT_EQ_I64(dvi_store_bytes(s), 14);

    dvi_store_destroy(&s);
    DVT_TRUE(s == NULL);
    dvi_store_destroy(&s);
}

static void
test_many_keys(void **state)
{
    /* Enough keys to grow the table several times, with long keys held
     * inline; half deleted, the rest released by destroy. */
    dvi_store *s = dvi_store_new();
    char key[300];
    uint64_t bytes = 0;
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof(key), "task-%d-%0200d", i, i);
        dvi_blob *v = dvi_blob_copy(key, (size_t)(i % 97));
        dvi_store_put(s, key, v);
        dvi_blob_rele(v);
        bytes += (uint64_t)(i % 97);
    }
    DVT_EQ_I64(dvi_store_count(s), 5000);
    DVT_EQ_I64(dvi_store_bytes(s), bytes);
    for (int i = 0; i < 5000; i += 2) {
        snprintf(key, sizeof(key), "task-%d-%0200d", i, i);
        DVT_EQ_I64(dvi_store_delete(s, key), 1);
        bytes -= (uint64_t)(i % 97);
    }
    DVT_EQ_I64(dvi_store_count(s), 2500);
    DVT_EQ_I64(dvi_store_bytes(s), bytes);
    for (int i = 1; i < 5000; i += 2) {
        snprintf(key, sizeof(key), "task-%d-%0200d", i, i);
        dvi_blob *v = DVT_NOTNULL(dvi_store_get(s, key));
        DVT_EQ_I64(v->len, i % 97);
        DVT_TRUE(memcmp(v->data, key, v->len) == 0);
    }
    dvi_store_destroy(&s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get_delete_and_counts),
        cmocka_unit_test(test_many_keys),
    };
    return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
