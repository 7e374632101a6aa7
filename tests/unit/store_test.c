/* drove — unit: dvi_store, the results a worker holds, and its spilling.
 *
 * The worker serves results from the store while executor threads read
 * them as task inputs, so what matters is who holds which reference: the
 * store holds its own, a replaced or deleted result is released exactly
 * once (ASan reports a leak or a double free), and a reader's reference
 * outlives the store's. The counts of results and bytes must follow
 * every put, replacement and deletion.
 *
 * Spilling: past its target the store writes the least recently used
 * large results (a put or a get is a use) to files of its dvi_spill and
 * drops them from memory; a get reads one back, keeping its file (so it
 * spills again for free); deleting a spilled result removes its file;
 * results under DVI_STORE_SPILL_MIN never spill. On a loop without a
 * runtime the writes are synchronous; with one they run on its job
 * thread, and a result used or deleted while being written is handled
 * when the write ends. Spill directories of dead workers are removed,
 * live ones left alone.
 */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "common/blob.h"
#include "common/runtime.h"
#include "dvtest.h"
#include "worker/spill.h"
#include "worker/store.h"

#define S_BIG 8192 /* a result that may spill */

/* A fresh parent directory for spill directories. */
static void
s_parent(char *out, size_t size)
{
    snprintf(out, size, "%s/dvt-store-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    DVT_TRUE(mkdtemp(out) != NULL);
}

/* Files in dir (-1 if it cannot be read). */
static int
s_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        return -1;
    }
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        n += e->d_name[0] != '.';
    }
    closedir(d);
    return n;
}

/* Puts a result of len bytes, each byte c, under key. */
static void
s_put(dvi_store *s, const char *key, size_t len, char c)
{
    dvi_blob *b = dvi_blob_new(len, 0);
    memset(b->data, c, len);
    dvi_store_put(s, key, b);
    dvi_blob_rele(b);
}

/* The result under key is len bytes of c. */
static void
s_check(dvi_store *s, const char *key, size_t len, char c)
{
    dvi_blob *b = dvi_store_get(s, key);
    if (b == NULL) {
        DVT_FAIL("no result under %s: %s", key, dv_last_error());
    }
    DVT_EQ_I64(b->len, len);
    for (size_t i = 0; i < len; i++) {
        if (b->data[i] != c) {
            DVT_FAIL("%s: byte %zu is %d, not %d", key, i, b->data[i], c);
        }
    }
}

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

    /* A result that may spill, replaced: the old one leaves the byte
     * count (and the spill order) with its entry. */
    s_put(s, "c", S_BIG, 'x');
    s_put(s, "c", S_BIG / 2, 'y');
    s_check(s, "c", S_BIG / 2, 'y');
    DVT_EQ_I64(dvi_store_count(s), 2);
    DVT_EQ_I64(dvi_store_bytes(s), 14 + S_BIG / 2);
    DVT_EQ_I64(dvi_store_delete(s, "c"), 1);
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

static void
test_lru_order_and_read_back(void **state)
{
    /* No runtime on this loop: writes are synchronous. */
    uv_loop_t loop = {.data = NULL}; /* no runtime: uv_loop_init keeps it */
    uv_loop_init(&loop);
    char parent[PATH_MAX];
    s_parent(parent, sizeof(parent));
    dvi_spill *sp = DVT_NOTNULL(dvi_spill_new(&loop, parent));
    DVT_EQ_STR(dvi_spill_dir(sp), ""); /* made at the first write */
    dvi_store *s = dvi_store_new();
    dvi_store_set_spill(s, sp);
    s_put(s, "a", S_BIG, 'a');
    s_put(s, "b", S_BIG, 'b');
    s_put(s, "c", S_BIG, 'c');
    s_put(s, "tiny", 100, 't');
    s_check(s, "a", S_BIG, 'a'); /* a is now the most recently used */
    DVT_EQ_I64(dvi_store_bytes(s), 3 * S_BIG + 100);

    /* Room for one large result: b, then c, the least recently used. */
    dvi_store_set_target(s, S_BIG + 100);
    DVT_TRUE(dvi_store_is_spilled(s, "b"));
    DVT_TRUE(dvi_store_is_spilled(s, "c"));
    DVT_TRUE(!dvi_store_is_spilled(s, "a"));
    DVT_TRUE(!dvi_store_is_spilled(s, "tiny"));
    DVT_EQ_I64(dvi_store_count(s), 4);
    DVT_EQ_I64(dvi_store_bytes(s), S_BIG + 100);
    DVT_EQ_I64(dvi_store_spilled_count(s), 2);
    DVT_EQ_I64(dvi_store_spilled_bytes(s), 2 * S_BIG);
    const char *dir = dvi_spill_dir(sp);
    DVT_TRUE(strncmp(dir, parent, strlen(parent)) == 0);
    struct stat st;
    DVT_EQ_I64(stat(dir, &st), 0);
    DVT_EQ_I64(st.st_mode & 0777, 0700);
    DVT_EQ_I64(s_files(dir), 2);

    /* Reading c back makes it the most recent: a goes to disk for it.
     * c keeps its file, and goes back to disk without a write. */
    s_check(s, "c", S_BIG, 'c');
    DVT_TRUE(!dvi_store_is_spilled(s, "c"));
    DVT_TRUE(dvi_store_is_spilled(s, "a"));
    DVT_EQ_I64(s_files(dir), 3);
    dvi_spill_stats st1, st2;
    dvi_spill_stats_get(sp, &st1);
    DVT_EQ_I64(st1.writes, 3);
    DVT_EQ_I64(st1.reads, 1);
    s_check(s, "b", S_BIG, 'b');
    dvi_spill_stats_get(sp, &st2);
    DVT_EQ_I64(st2.writes, 3); /* c was dropped, not written again */
    DVT_TRUE(dvi_store_is_spilled(s, "c"));

    /* Deleting a spilled result removes its file; small ones never
     * spill, even with no room at all. */
    DVT_EQ_I64(dvi_store_delete(s, "a"), 1);
    DVT_EQ_I64(s_files(dir), 2);
    dvi_store_set_target(s, 0);
    DVT_TRUE(!dvi_store_is_spilled(s, "tiny"));
    DVT_EQ_I64(dvi_store_bytes(s), 100);
    s_check(s, "tiny", 100, 't');
    s_check(s, "b", S_BIG, 'b');
    s_check(s, "c", S_BIG, 'c');

    /* Replacing a spilled result removes its file too. */
    s_put(s, "b", 10, 'B');
    DVT_EQ_I64(s_files(dir), 1);
    s_check(s, "b", 10, 'B');
    DVT_EQ_I64(dvi_store_clear(s), 3);
    DVT_EQ_I64(s_files(dir), 0);
    dvi_store_destroy(&s);
    char kept[PATH_MAX];
    snprintf(kept, sizeof(kept), "%s", dir);
    dvi_spill_destroy(&sp);
    DVT_EQ_I64(stat(kept, &st), -1); /* the directory went with it */
    DVT_EQ_I64(rmdir(parent), 0);
    DVT_EQ_I64(uv_loop_close(&loop), 0);
}

static void
test_lost_file(void **state)
{
    uv_loop_t loop = {.data = NULL}; /* no runtime: uv_loop_init keeps it */
    uv_loop_init(&loop);
    char parent[PATH_MAX], path[PATH_MAX + 64];
    s_parent(parent, sizeof(parent));
    dvi_spill *sp = DVT_NOTNULL(dvi_spill_new(&loop, parent));
    dvi_store *s = dvi_store_new();
    dvi_store_set_spill(s, sp);
    dvi_store_set_target(s, 0);
    s_put(s, "gone", S_BIG, 'g');
    DVT_TRUE(dvi_store_is_spilled(s, "gone"));
    /* Its file vanishes behind the store's back: the result is lost, and
     * the reason names the file. */
    dvi_spill_path(sp, 1, path, sizeof(path));
    DVT_EQ_I64(unlink(path), 0);
    DVT_TRUE(dvi_store_get(s, "gone") == NULL);
    DVT_CONTAINS(dv_last_error(), path);
    DVT_EQ_I64(dvi_store_count(s), 0);
    DVT_EQ_I64(dvi_store_spilled_bytes(s), 0);
    dvi_store_destroy(&s);
    dvi_spill_destroy(&sp);
    DVT_EQ_I64(rmdir(parent), 0);
    /* A parent that is not a directory is refused, named. */
    DVT_TRUE(dvi_spill_new(&loop, "/dev/null") == NULL);
    DVT_CONTAINS(dv_last_error(), "/dev/null");
    DVT_EQ_I64(uv_loop_close(&loop), 0);
}

static void
s_block(void *ctx)
{
    uv_sem_wait(ctx);
}

static void
test_writes_on_the_job_thread(void **state)
{
    dvi_runtime *rt = DVT_NOTNULL(dvi_runtime_new());
    char parent[PATH_MAX];
    s_parent(parent, sizeof(parent));
    dvi_spill *sp = DVT_NOTNULL(dvi_spill_new(dvi_runtime_loop(rt), parent));
    dvi_store *s = dvi_store_new();
    dvi_store_set_spill(s, sp);
    /* The job thread waits on a semaphore: the writes queue behind it. */
    uv_sem_t gate;
    uv_sem_init(&gate, 0);
    DVT_PASS(dvi_runtime_queue_job(rt, s_block, NULL, &gate));
    s_put(s, "used", S_BIG, 'u');
    s_put(s, "dropped", S_BIG, 'd');
    s_put(s, "idle", S_BIG, 'i');
    s_put(s, "recent", S_BIG, 'r');
    dvi_store_set_target(s, S_BIG);
    /* Three writes under way: still in memory, and readable. */
    DVT_EQ_I64(dvi_store_bytes(s), 4 * S_BIG);
    DVT_EQ_I64(dvi_store_spilled_count(s), 0);
    s_check(s, "used", S_BIG, 'u'); /* used meanwhile: it stays */
    DVT_EQ_I64(dvi_store_delete(s, "dropped"), 1);
    uv_sem_post(&gate);
    dvi_spill_wait(sp);
    /* "used" stayed in memory, its file a clean copy; over the target,
     * the least recently used in memory then, "recent", was written. */
    DVT_TRUE(!dvi_store_is_spilled(s, "used"));
    DVT_TRUE(dvi_store_is_spilled(s, "idle"));
    DVT_TRUE(dvi_store_is_spilled(s, "recent"));
    DVT_EQ_I64(dvi_store_bytes(s), S_BIG);
    DVT_EQ_I64(s_files(dvi_spill_dir(sp)), 3); /* not "dropped"'s */
    s_check(s, "idle", S_BIG, 'i');
    s_check(s, "recent", S_BIG, 'r');
    dvi_spill_wait(sp);
    dvi_store_destroy(&s);
    dvi_spill_destroy(&sp);
    uv_sem_destroy(&gate);
    DVT_EQ_I64(rmdir(parent), 0);
    dvi_runtime_destroy(&rt);
}

static void
test_stale_directories(void **state)
{
    uv_loop_t loop = {.data = NULL}; /* no runtime: uv_loop_init keeps it */
    uv_loop_init(&loop);
    char parent[PATH_MAX], dead[PATH_MAX + 64], file[PATH_MAX + 80];
    s_parent(parent, sizeof(parent));
    /* A dead worker's: no process has pid 2^22 + 1 (over pid_max). */
    snprintf(dead, sizeof(dead), "%s/%s4194305-abcdef", parent,
             DVI_SPILL_PREFIX);
    DVT_EQ_I64(mkdir(dead, 0700), 0);
    snprintf(file, sizeof(file), "%s/1", dead);
    FILE *f = fopen(file, "w");
    DVT_TRUE(f != NULL);
    fputs("spilled", f);
    fclose(f);
    /* A live one: this process's, locked. */
    dvi_spill *live = DVT_NOTNULL(dvi_spill_new(&loop, parent));
    dvi_store *s = dvi_store_new();
    dvi_store_set_spill(s, live);
    dvi_store_set_target(s, 0);
    s_put(s, "x", S_BIG, 'x');
    struct stat st;
    DVT_EQ_I64(stat(dead, &st), -1); /* removed by dvi_spill_new */
    DVT_EQ_I64(mkdir(dead, 0700), 0);
    DVT_EQ_I64(dvi_spill_clean_stale(parent), 1);
    DVT_EQ_I64(stat(dead, &st), -1);
    DVT_EQ_I64(stat(dvi_spill_dir(live), &st), 0);
    s_check(s, "x", S_BIG, 'x');
    dvi_store_destroy(&s);
    dvi_spill_destroy(&live);
    DVT_EQ_I64(rmdir(parent), 0);
    DVT_EQ_I64(uv_loop_close(&loop), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get_delete_and_counts),
        cmocka_unit_test(test_many_keys),
        cmocka_unit_test(test_lru_order_and_read_back),
        cmocka_unit_test(test_lost_file),
        cmocka_unit_test(test_writes_on_the_job_thread),
        cmocka_unit_test(test_stale_directories),
    };
    return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
