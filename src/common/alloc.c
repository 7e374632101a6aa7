/* drove's memory on mimalloc, on an embedded cluster's threads.
 *
 * libdrove.so is linked with --wrap for malloc, calloc, realloc and free:
 * every call of them in drove's code lands here, and nowhere else (other
 * libraries and the program keep the process's allocator). On the
 * threads of an embedded cluster (its loop and its executors, a
 * local:processes worker's loop and executors, which say so with
 * dvi_alloc_this_thread) new blocks are mimalloc's; elsewhere (the
 * user's threads, a remote client's loop) the process allocator's. A
 * task's messages, blobs and records are made on one of those threads
 * and freed on another: glibc's arenas take a lock and miss their caches
 * for that, mimalloc hands the block back to its owner's list. On
 * local:threads=2 (bench/ab.sh, trivial tasks of 3.5 us) the CPU a task
 * fell 5%, its wall time 3-5%; with the user's threads on mimalloc too,
 * 10% and 6-7%, but what a thread frees goes back to the system only
 * once it leaves its heap (dvi_alloc_collect), which a program's main
 * thread cannot: 300,000 futures released, a client kept 85 MB (glibc:
 * 23). A local:processes worker's loop runs on a thread of its own for
 * that reason (role.c).
 *
 * Whoever made a block, free and realloc give it back to its allocator
 * (mi_is_in_heap_region), so memory from elsewhere (getline, json_dumps,
 * posix_memalign, a user's thread) is safe to free anywhere. Memory a
 * user frees with free() is made by dvi_user_malloc. Built without this
 * file (the static library and the drove binary, the sanitizers'
 * builds), drove uses the process's allocator throughout: err.c's weak
 * definitions stand.
 */
#include <mimalloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "err.h"

#define S_HIDDEN __attribute__((visibility("hidden")))

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);

S_HIDDEN void *__wrap_malloc(size_t n);
S_HIDDEN void *__wrap_calloc(size_t n, size_t size);
S_HIDDEN void *__wrap_realloc(void *p, size_t n);
S_HIDDEN void __wrap_free(void *p);

/* mimalloc knows its own blocks (mi_is_in_heap_region) only in the range
 * of addresses it asks the system for first, which a block of a gigabyte
 * or more is not given: blocks of 64 MiB and more come from the process's
 * allocator (which maps them anyway). */
#define S_MI_MAX ((size_t)64 << 20)

/* This thread's new blocks are mimalloc's (dvi_alloc_this_thread). Not
 * initial-exec: a library uploaded to a drove worker loads libdrove.so
 * with dlopen, which has no static TLS to give it (alloc.c is built with
 * TLS descriptors, which cost about as little). */
static __thread int s_mine;

S_HIDDEN void *
__wrap_malloc(size_t n)
{
    return s_mine && n < S_MI_MAX ? mi_malloc(n) : __real_malloc(n);
}

S_HIDDEN void *
__wrap_calloc(size_t n, size_t size)
{
    size_t bytes;
    if (s_mine && !__builtin_mul_overflow(n, size, &bytes) &&
        bytes < S_MI_MAX) {
        return mi_calloc(n, size);
    }
    return __real_calloc(n, size);
}

S_HIDDEN void *
__wrap_realloc(void *p, size_t n)
{
    if (p == NULL) {
        return __wrap_malloc(n);
    }
    if (!mi_is_in_heap_region(p)) {
        return __real_realloc(p, n); /* the process's: stays there */
    }
    if (s_mine && n < S_MI_MAX) {
        return mi_realloc(p, n);
    }
    void *q = __real_malloc(n);
    if (q != NULL) {
        size_t had = mi_usable_size(p);
        memcpy(q, p, had < n ? had : n);
        mi_free(p);
    }
    return q;
}

S_HIDDEN void
__wrap_free(void *p)
{
    if (p == NULL) {
        return;
    }
    if (mi_is_in_heap_region(p)) {
        mi_free(p);
    } else {
        __real_free(p);
    }
}

S_HIDDEN void *
dvi_user_malloc(size_t n)
{
    void *p = __real_malloc(n ? n : 1);
    if (p == NULL) {
        dvi_oom(n);
    }
    return p;
}

S_HIDDEN void
dvi_alloc_this_thread(void)
{
    s_mine = 1;
}

S_HIDDEN int
dvi_alloc_is_mimalloc(void)
{
    return 1;
}

/* mimalloc gives a freed span back to the system some milliseconds after
 * it is freed, and then only when its thread next takes a page from that
 * segment: an idle thread keeps it. A collection makes its thread leave
 * its heap and take a fresh one (the blocks it holds stay where they are,
 * as when a thread ends): leaving gives back every freed span at once
 * (abandoned_page_decommit), and so does a page freed while collecting
 * (the delays are 0 meanwhile; at 0 always, the CPU a task rose 65%).
 * Such threads are never the process's main thread, which cannot leave
 * its heap. One collection at a time, so that the options come back as
 * they were. */
static pthread_mutex_t s_collecting = PTHREAD_MUTEX_INITIALIZER;

S_HIDDEN void
dvi_alloc_collect(void)
{
    if (!s_mine) {
        return; /* nothing of mimalloc's is made here */
    }
    pthread_mutex_lock(&s_collecting);
    long span = mi_option_get(mi_option_decommit_delay);
    long segment = mi_option_get(mi_option_segment_decommit_delay);
    bool abandoned = mi_option_is_enabled(mi_option_abandoned_page_decommit);
    mi_option_set(mi_option_decommit_delay, 0);
    mi_option_set(mi_option_segment_decommit_delay, 0);
    mi_option_set_enabled(mi_option_abandoned_page_decommit, true);
    mi_collect(true);
    mi_thread_done();
    mi_thread_init();
    mi_option_set(mi_option_decommit_delay, span);
    mi_option_set(mi_option_segment_decommit_delay, segment);
    mi_option_set_enabled(mi_option_abandoned_page_decommit, abandoned);
    pthread_mutex_unlock(&s_collecting);
}
