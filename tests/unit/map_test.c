/* drove — unit: dvi_map, the string-keyed hash table.
 *
 * The scheduler keeps every task, worker and published name in a dvi_map,
 * so a lost key is a lost task. These tests check the table against a
 * plain array on 100k random operations, provoke backward-shift deletion
 * on runs of colliding keys (including a run that wraps around the end of
 * the slot array), check that iteration, with or without deletion of
 * the current entry, visits every key exactly once, and that the table
 * shrinks as keys go, keeping every key left findable, without resizing
 * back and forth under churn.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/map.h"
#include "dvt_unit.h"
#include "dvtest.h"

#define NKEYS 20000
#define NOPS 100000

typedef struct s_item {
    char key[32];
    int present;
    int visits;
} s_item;

/* A small deterministic generator (xorshift64*), so a failure reproduces. */
static uint64_t s_rng = 88172645463325252ull;

static s_item *
s_items_new(size_t n, const char *prefix)
{
    s_item *items = calloc(n, sizeof(*items));
    assert_non_null(items);
    for (size_t i = 0; i < n; i++) {
        snprintf(items[i].key, sizeof(items[i].key), "%s%zu", prefix, i);
    }
    return items;
}

/* Finds n keys "c<number>" whose home slot in a table of cap slots is
 * home. Writes them into keys (each of size 16). */
static void
s_colliding_keys(char (*keys)[16], size_t n, size_t cap, size_t home)
{
    size_t found = 0;
    for (unsigned i = 0; found < n; i++) {
        char k[16];
        snprintf(k, sizeof(k), "c%u", i);
        if ((dvi_hash_str(k) & (cap - 1)) == home) {
            memcpy(keys[found++], k, sizeof(k));
        }
        assert_true(i < 10000000u);
    }
}

static void
test_empty(void **state)
{
    dvi_map m;
    dvi_map_init(&m);
    DVT_TRUE(dvi_map_get(&m, "nope") == NULL);
    DVT_TRUE(dvi_map_del(&m, "nope") == NULL);
    size_t i = 0;
    dvi_map_entry *e;
    DVT_EQ_I64(dvi_map_next(&m, &i, &e), 0);
    dvi_map_fini(&m);
    DVT_EQ_I64(m.len, 0);
}

static void
test_put_get_replace_del(void **state)
{
    dvi_map m;
    int a = 1, b = 2, c = 3;
    dvi_map_init(&m);
    DVT_TRUE(dvi_map_put(&m, "alpha", &a) == NULL);
    DVT_TRUE(dvi_map_put(&m, "beta", &b) == NULL);
    DVT_EQ_I64(m.len, 2);
    DVT_TRUE(dvi_map_get(&m, "alpha") == &a);
    DVT_TRUE(dvi_map_get(&m, "beta") == &b);
    DVT_TRUE(dvi_map_get(&m, "gamma") == NULL);
    /* A key equal by content but at another address finds the entry. */
    char copy[] = "alpha";
    DVT_TRUE(dvi_map_get(&m, copy) == &a);
    /* Replacing returns the old value and does not grow the count. */
    DVT_TRUE(dvi_map_put(&m, "alpha", &c) == &a);
    DVT_EQ_I64(m.len, 2);
    DVT_TRUE(dvi_map_get(&m, "alpha") == &c);
    DVT_TRUE(dvi_map_del(&m, "alpha") == &c);
    DVT_TRUE(dvi_map_get(&m, "alpha") == NULL);
    DVT_TRUE(dvi_map_del(&m, "alpha") == NULL);
    DVT_EQ_I64(m.len, 1);
    DVT_TRUE(dvi_map_get(&m, "beta") == &b);
    /* The empty string is a key like any other. */
    DVT_TRUE(dvi_map_put(&m, "", &a) == NULL);
    DVT_TRUE(dvi_map_get(&m, "") == &a);
    dvi_map_fini(&m);
}

static void
s_check_against(const dvi_map *m, const s_item *items, size_t n)
{
    size_t present = 0;
    for (size_t k = 0; k < n; k++) {
        void *got = dvi_map_get(m, items[k].key);
        if (items[k].present) {
            present++;
            if (got != &items[k]) {
                DVT_FAIL("key %s: got %p, want %p", items[k].key, got,
                         (void *)&items[k]);
            }
        } else if (got != NULL) {
            DVT_FAIL("deleted key %s still maps to %p", items[k].key, got);
        }
    }
    DVT_EQ_I64(m->len, present);
}

static void
test_find_updates_in_place(void **state)
{
    dvi_map m;
    int a = 1, b = 2;
    dvi_map_init(&m);
    DVT_TRUE(dvi_map_find(&m, "k") == NULL); /* empty table */
    dvi_map_put(&m, "k", &a);
    dvi_map_entry *e = dvi_map_find(&m, "k");
    DVT_TRUE(e != NULL);
    DVT_EQ_STR(e->key, "k");
    DVT_TRUE(e->val == &a);
    e->val = &b; /* changing the value in place is what find is for */
    DVT_TRUE(dvi_map_get(&m, "k") == &b);
    DVT_EQ_I64(m.len, 1);
    DVT_TRUE(dvi_map_find(&m, "other") == NULL);
    dvi_map_del(&m, "k");
    DVT_TRUE(dvi_map_find(&m, "k") == NULL);
    dvi_map_fini(&m);
}

static void
test_random_against_reference(void **state)
{
    s_item *items = s_items_new(NKEYS, "key-");
    dvi_map m;
    dvi_map_init(&m);
    for (int op = 0; op < NOPS; op++) {
        size_t k = dvt_rand(&s_rng) % NKEYS;
        s_item *it = &items[k];
        /* Slightly more inserts than deletes, so the table grows through
         * several sizes while deletions keep shifting runs back. */
        if (dvt_rand(&s_rng) % 100 < 55) {
            void *prev = dvi_map_put(&m, it->key, it);
            if (prev != (it->present ? it : NULL)) {
                DVT_FAIL("op %d: put %s returned %p", op, it->key, prev);
            }
            it->present = 1;
        } else {
            void *prev = dvi_map_del(&m, it->key);
            if (prev != (it->present ? it : NULL)) {
                DVT_FAIL("op %d: del %s returned %p", op, it->key, prev);
            }
            it->present = 0;
        }
        if (op % 10000 == 0) {
            s_check_against(&m, items, NKEYS);
        }
    }
    s_check_against(&m, items, NKEYS);
    /* The table never runs full: at most 3/4 of the slots are used. */
    DVT_TRUE(m.len * 4 <= m.cap * 3);
    dvi_map_fini(&m);
    free(items);
}

static void
test_delete_keeps_colliding_keys(void **state)
{
    /* Eight keys with the same home slot in a 16-slot table form one run;
     * deleting any of them must leave the others findable. */
    char keys[8][16];
    s_colliding_keys(keys, 8, 16, 3);
    for (int victim = 0; victim < 8; victim++) {
        dvi_map m;
        dvi_map_init(&m);
        for (int k = 0; k < 8; k++) {
            dvi_map_put(&m, keys[k], keys[k]);
        }
        DVT_EQ_I64(m.cap, 16);
        DVT_TRUE(dvi_map_del(&m, keys[victim]) == keys[victim]);
        for (int k = 0; k < 8; k++) {
            void *want = k == victim ? NULL : keys[k];
            if (dvi_map_get(&m, keys[k]) != want) {
                DVT_FAIL("after deleting %s, %s is %s", keys[victim], keys[k],
                         want ? "lost" : "still there");
            }
        }
        dvi_map_fini(&m);
    }
}

static void
test_delete_in_wrapping_run(void **state)
{
    /* Keys whose home is the last slot wrap to slots 0, 1, ...; keys homed
     * at 0 are pushed further. Deleting the one in the last slot must shift
     * the wrapped ones back across the end of the array. */
    char last[3][16], first[2][16];
    s_colliding_keys(last, 3, 16, 15);
    s_colliding_keys(first, 2, 16, 0);
    dvi_map m;
    dvi_map_init(&m);
    for (int k = 0; k < 3; k++) {
        dvi_map_put(&m, last[k], last[k]);
    }
    for (int k = 0; k < 2; k++) {
        dvi_map_put(&m, first[k], first[k]);
    }
    DVT_EQ_I64(m.cap, 16);
    DVT_TRUE(m.slots[15].key == last[0]);
    DVT_TRUE(dvi_map_del(&m, last[0]) == last[0]);
    for (int k = 1; k < 3; k++) {
        DVT_TRUE(dvi_map_get(&m, last[k]) == last[k]);
    }
    for (int k = 0; k < 2; k++) {
        DVT_TRUE(dvi_map_get(&m, first[k]) == first[k]);
    }
    /* The run was compacted: a key homed at 15 moved into slot 15. */
    DVT_TRUE(m.slots[15].key == last[1]);
    DVT_EQ_I64(m.len, 4);
    dvi_map_fini(&m);
}

static void
test_iteration_sees_every_key_once(void **state)
{
    size_t n = 5000;
    s_item *items = s_items_new(n, "it-");
    dvi_map m;
    dvi_map_init(&m);
    for (size_t k = 0; k < n; k++) {
        dvi_map_put(&m, items[k].key, &items[k]);
    }
    dvi_map_entry *e;
    size_t seen = 0;
    for (size_t i = 0; dvi_map_next(&m, &i, &e);) {
        s_item *it = e->val;
        DVT_EQ_STR(e->key, it->key);
        it->visits++;
        seen++;
    }
    DVT_EQ_I64(seen, n);
    for (size_t k = 0; k < n; k++) {
        if (items[k].visits != 1) {
            DVT_FAIL("key %s visited %d times", items[k].key, items[k].visits);
        }
    }
    dvi_map_fini(&m);
    free(items);
}

static void
test_shrinks_and_keeps_every_key(void **state)
{
    /* A map that held many keys gives its slots back as they go, down to
     * DVI_MAP_KEEP_CAP, and every key left stays findable through each
     * shrinking. */
    s_item *items = s_items_new(NKEYS, "sh-");
    dvi_map m;
    dvi_map_init(&m);
    for (size_t k = 0; k < NKEYS; k++) {
        dvi_map_put(&m, items[k].key, &items[k]);
        items[k].present = 1;
    }
    size_t peak = m.cap;
    DVT_GE_I64(peak, NKEYS * 4 / 3);
    /* Delete in a scattered order down to 100 keys, checking all along. */
    size_t left = NKEYS;
    for (size_t step = 0; left > 100; step++) {
        size_t k = (step * 7919) % NKEYS;
        if (!items[k].present) {
            continue;
        }
        DVT_TRUE(dvi_map_del(&m, items[k].key) == &items[k]);
        items[k].present = 0;
        left--;
        DVT_TRUE(m.len * 4 <= m.cap * 3);
        if (left % 1000 == 0) {
            s_check_against(&m, items, NKEYS);
        }
    }
    s_check_against(&m, items, NKEYS);
    DVT_EQ_I64(m.len, 100);
    DVT_EQ_I64(m.cap, DVI_MAP_KEEP_CAP); /* shrunk, down to what it keeps */
    for (size_t k = 0; k < NKEYS; k++) {
        if (items[k].present) {
            dvi_map_del(&m, items[k].key);
            items[k].present = 0;
        }
    }
    DVT_EQ_I64(m.len, 0);
    DVT_EQ_I64(m.cap, DVI_MAP_KEEP_CAP);
    dvi_map_fini(&m);
    free(items);
}

static void
test_churn_does_not_resize(void **state)
{
    /* Just past a growth and just past a shrink, adding and deleting one
     * key over and over leaves the table as it is. (Two shrinks, each to
     * a quarter, end at DVI_MAP_KEEP_CAP.) */
    s_item *items = s_items_new(16 * DVI_MAP_KEEP_CAP, "ch-");
    dvi_map m;
    dvi_map_init(&m);
    size_t n = 0;
    while (m.cap < 16 * DVI_MAP_KEEP_CAP) {
        dvi_map_put(&m, items[n].key, &items[n]);
        n++;
    }
    for (int round = 0; round < 2; round++) {
        size_t cap = m.cap;
        for (int i = 0; i < 1000; i++) {
            dvi_map_put(&m, items[n].key, &items[n]);
            DVT_TRUE(dvi_map_del(&m, items[n].key) == &items[n]);
            DVT_TRUE(dvi_map_del(&m, items[n - 1].key) == &items[n - 1]);
            dvi_map_put(&m, items[n - 1].key, &items[n - 1]);
            DVT_EQ_I64(m.cap, cap);
        }
        /* Then delete until the table shrinks (to a quarter), and churn
         * there. */
        while (m.cap == cap) {
            n--;
            DVT_TRUE(dvi_map_del(&m, items[n].key) == &items[n]);
        }
        DVT_EQ_I64(m.cap, cap / 4);
    }
    for (size_t k = 0; k < n; k++) {
        DVT_TRUE(dvi_map_get(&m, items[k].key) == &items[k]);
    }
    /* Emptied, it keeps DVI_MAP_KEEP_CAP slots for the next graph. */
    while (n > 0) {
        n--;
        DVT_TRUE(dvi_map_del(&m, items[n].key) == &items[n]);
    }
    DVT_EQ_I64(m.cap, DVI_MAP_KEEP_CAP);
    dvi_map_fini(&m);
    free(items);
}

static void
test_hash_spreads_similar_keys(void **state)
{
    /* Keys that differ in one character must not share a home slot much
     * more often than chance: count distinct homes of 1024 keys in 1024
     * slots (chance gives about 1 - 1/e = 63% distinct). */
    static unsigned char used[1024];
    memset(used, 0, sizeof(used));
    int distinct = 0;
    for (int i = 0; i < 1024; i++) {
        char k[48];
        snprintf(k, sizeof(k), "inc-%032x", i);
        unsigned h = (unsigned)(dvi_hash_str(k) & 1023);
        distinct += !used[h];
        used[h] = 1;
    }
    DVT_GE_I64(distinct, 560);
    DVT_NE_I64(dvi_hash_str("a"), dvi_hash_str("b"));
    DVT_EQ_I64(dvi_hash_str("same"), dvi_hash_str("same"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_put_get_replace_del),
        cmocka_unit_test(test_find_updates_in_place),
        cmocka_unit_test(test_random_against_reference),
        cmocka_unit_test(test_delete_keeps_colliding_keys),
        cmocka_unit_test(test_delete_in_wrapping_run),
        cmocka_unit_test(test_iteration_sees_every_key_once),
        cmocka_unit_test(test_shrinks_and_keeps_every_key),
        cmocka_unit_test(test_churn_does_not_resize),
        cmocka_unit_test(test_hash_spreads_similar_keys),
    };
    return cmocka_run_group_tests_name("map", tests, NULL, NULL);
}
