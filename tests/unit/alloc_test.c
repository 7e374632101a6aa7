/* drove — unit: drove's memory on mimalloc (src/common/alloc.c).
 *
 * This program is linked as libdrove.so is (--wrap for malloc, calloc,
 * realloc and free): its calls of them are drove's. On a thread that
 * said dvi_alloc_this_thread (an embedded cluster's), new blocks are
 * mimalloc's; on others, the process allocator's. Memory that came from
 * elsewhere (libc's strdup and getline, posix_memalign, jansson) goes
 * back to the process's allocator; blocks of 64 MiB and more come from it;
 * memory for the user is the process's; and a collection gives freed
 * memory back to the system at once, not when the thread next allocates.
 */
#include <jansson.h>
#include <mimalloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "dvtest.h"

void __real_free(void *p);

static int64_t
s_rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long long kib = -1;
    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        if (sscanf(line, "VmRSS: %lld", &kib) == 1) {
            break;
        }
    }
    if (f != NULL) {
        fclose(f);
    }
    return kib;
}

/* Runs fn(arg) on a thread of its own, to its end. */
static void
s_on_thread(void *(*fn)(void *), void *arg)
{
    pthread_t t;
    DVT_EQ_I64(pthread_create(&t, NULL, fn, arg), 0);
    DVT_EQ_I64(pthread_join(t, NULL), 0);
}

/* A user's thread: drove's calls there use the process's allocator. */
static void *
s_user_thread(void *arg)
{
    char *p = malloc(100);
    memcpy(p, "user", 5);
    *(int *)arg = mi_is_in_heap_region(p);
    free(p);
    return NULL;
}

static void
test_other_threads_use_the_process(void **state)
{
    int mine = -1;
    s_on_thread(s_user_thread, &mine);
    DVT_EQ_I64(mine, 0);
}

static void
test_own_blocks_are_mimallocs(void **state)
{
    dvi_alloc_this_thread(); /* this one is a cluster's, from now on */
    char *p = malloc(100);
    char *z = calloc(10, 10);
    memcpy(p, "drove", 6);
    DVT_TRUE(mi_is_in_heap_region(p) && mi_is_in_heap_region(z));
    DVT_EQ_I64(z[99], 0);
    p = realloc(p, 5000);
    DVT_TRUE(mi_is_in_heap_region(p));
    DVT_EQ_STR(p, "drove");
    free(p);
    free(z);
    free(NULL);
}

static void
test_foreign_blocks_go_back(void **state)
{
    /* libc's own allocations are the process allocator's. */
    char *s = strdup("from libc");
    DVT_TRUE(!mi_is_in_heap_region(s));
    s = realloc(s, 4096); /* stays where it is */
    DVT_TRUE(!mi_is_in_heap_region(s));
    DVT_EQ_STR(s, "from libc");
    free(s);

    char *line = NULL;
    size_t cap = 0;
    FILE *f = fmemopen("one line\n", 9, "r");
    DVT_TRUE(getline(&line, &cap, f) == 9);
    fclose(f);
    DVT_TRUE(!mi_is_in_heap_region(line));
    free(line);

    void *aligned = NULL;
    DVT_EQ_I64(posix_memalign(&aligned, 4096, 1 << 20), 0);
    free(aligned);

    json_t *o = json_pack("{s:i}", "n", 1);
    char *text = json_dumps(o, JSON_COMPACT);
    DVT_EQ_STR(text, "{\"n\":1}");
    free(text);
    json_decref(o);
}

static void
test_large_blocks_are_the_process(void **state)
{
    size_t big = (size_t)100 << 20;
    char *p = malloc(big);
    char *z = calloc(big, 1);
    DVT_TRUE(p != NULL && z != NULL);
    p[big - 1] = 'x';
    DVT_TRUE(!mi_is_in_heap_region(p));
    DVT_TRUE(!mi_is_in_heap_region(z) && z[big - 1] == 0);
    free(p);
    free(z);

    /* A small block grown past the limit moves, its bytes with it. */
    char *g = malloc(64);
    memcpy(g, "grown", 6);
    g = realloc(g, big);
    DVT_TRUE(!mi_is_in_heap_region(g));
    DVT_EQ_STR(g, "grown");
    g = realloc(g, 64); /* the process's now: stays there */
    DVT_EQ_STR(g, "grown");
    free(g);
}

static void
test_user_memory_is_the_process(void **state)
{
    char *u = dvi_user_malloc(32);
    DVT_TRUE(!mi_is_in_heap_region(u));
    __real_free(u); /* as the user frees it */
}

/* A million small blocks freed, then collected on the thread that made
 * them (a loop thread, say): the memory goes back to the system at once.
 * mimalloc's own delay would wait for that thread to take a page again,
 * and an idle role's threads never do. */
static void *
s_churn(void *arg)
{
    enum { N = 1000000 };
    int64_t *rss = arg;
    dvi_alloc_this_thread();
    void **blocks = malloc(N * sizeof(*blocks));
    dvi_alloc_collect();
    rss[0] = s_rss_kib();
    for (int i = 0; i < N; i++) {
        blocks[i] = malloc(64 + (size_t)(i % 5) * 16);
        memset(blocks[i], 1, 64);
    }
    rss[1] = s_rss_kib();
    for (int i = 0; i < N; i++) {
        free(blocks[i]);
    }
    free(blocks);
    dvi_alloc_collect();
    rss[2] = s_rss_kib();
    /* The thread goes on with a heap of its own. */
    char *p = malloc(32);
    memcpy(p, "after", 6);
    free(p);
    return NULL;
}

static void
test_collect_gives_back(void **state)
{
    int64_t rss[3];
    s_on_thread(s_churn, rss);
    fprintf(stderr,
            "dvtest: RSS %lld KiB, %lld KiB with 100 MB held, %lld KiB "
            "after the collection\n",
            (long long)rss[0], (long long)rss[1], (long long)rss[2]);
    DVT_TRUE(rss[1] - rss[0] > 50 * 1024);
    DVT_TRUE(rss[2] - rss[0] < 8 * 1024);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_other_threads_use_the_process),
        cmocka_unit_test(test_own_blocks_are_mimallocs),
        cmocka_unit_test(test_foreign_blocks_go_back),
        cmocka_unit_test(test_large_blocks_are_the_process),
        cmocka_unit_test(test_user_memory_is_the_process),
        cmocka_unit_test(test_collect_gives_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
