/* dvi_hugepage: large buffers 2 MiB-aligned and advised with
 * madvise(MADV_HUGEPAGE), and a few kept for reuse (see hugepage.h). */
#include "hugepage.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#define S_HUGE ((size_t)2 << 20)
/* Buffers kept at most: a search of them is a short walk. */
#define S_SLOTS 64

typedef struct s_kept {
    void *p;
    size_t n;          /* bytes it holds at least */
    uint64_t since_ms; /* when it was kept (monotonic) */
} s_kept;

/* Buffers kept, by any thread: results are freed where their last
 * reference goes. */
static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static s_kept s_slots[S_SLOTS];
static size_t s_nslots;
static size_t s_bytes;
static size_t s_keep = DVI_HUGEPAGE_KEEP;
static size_t s_keep_from = DVI_HUGEPAGE_MIN;

static uint64_t
s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The kept buffer that fits n best, taken out; NULL if none. At most a
 * quarter of it is left unused. */
static void *
s_take(size_t n)
{
    size_t best = S_SLOTS;
    pthread_mutex_lock(&s_lock);
    for (size_t i = 0; i < s_nslots; i++) {
        size_t have = s_slots[i].n;
        if (have >= n && have - n <= n / 4 &&
            (best == S_SLOTS || have < s_slots[best].n)) {
            best = i;
        }
    }
    void *p = NULL;
    if (best < S_SLOTS) {
        p = s_slots[best].p;
        s_bytes -= s_slots[best].n;
        s_slots[best] = s_slots[--s_nslots];
    }
    pthread_mutex_unlock(&s_lock);
    return p;
}

void *
dvi_hugepage_alloc(size_t n)
{
    if (n < DVI_HUGEPAGE_MIN) {
        return malloc(n);
    }
    void *p = s_take(n);
    if (p != NULL) {
        return p;
    }
#ifdef MADV_HUGEPAGE
    if (posix_memalign(&p, S_HUGE, n) != 0) {
        return NULL;
    }
    size_t whole = n & ~(S_HUGE - 1); /* in whole huge pages */
    size_t past = whole < n ? S_HUGE - (n - whole) : 0;
    size_t len = past > 0 && past <= n / 8 ? whole + S_HUGE : whole;
    /* Advice: a kernel without huge pages refuses it, which is fine. */
    (void)madvise(p, len, MADV_HUGEPAGE);
    return p;
#else
    return malloc(n);
#endif
}

void
dvi_hugepage_free(void *p, size_t n)
{
    if (p == NULL) {
        return;
    }
    int kept = 0;
    if (n >= DVI_HUGEPAGE_MIN) {
        uint64_t now = s_now_ms();
        pthread_mutex_lock(&s_lock);
        if (n >= s_keep_from && s_nslots < S_SLOTS && s_bytes + n <= s_keep) {
            s_slots[s_nslots++] = (s_kept){p, n, now};
            s_bytes += n;
            kept = 1;
        }
        pthread_mutex_unlock(&s_lock);
    }
    if (!kept) {
        free(p);
    }
}

/* Takes out the kept buffers idle for min_age_ms or longer, and more
 * while over keep bytes, and frees them outside the lock. Returns the
 * bytes freed. */
static size_t
s_release(uint64_t min_age_ms, size_t keep)
{
    s_kept out[S_SLOTS];
    size_t nout = 0, bytes = 0;
    uint64_t now = s_now_ms();
    pthread_mutex_lock(&s_lock);
    for (size_t i = 0; i < s_nslots;) {
        if (now - s_slots[i].since_ms < min_age_ms && s_bytes <= keep) {
            i++;
            continue;
        }
        out[nout] = s_slots[i];
        s_bytes -= out[nout].n;
        bytes += out[nout++].n;
        s_slots[i] = s_slots[--s_nslots];
    }
    pthread_mutex_unlock(&s_lock);
    for (size_t i = 0; i < nout; i++) {
        free(out[i].p);
    }
    return bytes;
}

size_t
dvi_hugepage_trim(void)
{
    return s_release(0, 0);
}

size_t
dvi_hugepage_trim_idle(uint64_t idle_ms)
{
    return s_release(idle_ms, SIZE_MAX);
}

uint64_t
dvi_hugepage_idle_in(uint64_t idle_ms)
{
    uint64_t now = s_now_ms(), next = 0;
    pthread_mutex_lock(&s_lock);
    for (size_t i = 0; i < s_nslots; i++) {
        uint64_t age = now - s_slots[i].since_ms;
        uint64_t left = age < idle_ms ? idle_ms - age : 1;
        next = next == 0 || left < next ? left : next;
    }
    pthread_mutex_unlock(&s_lock);
    return next;
}

size_t
dvi_hugepage_kept(void)
{
    pthread_mutex_lock(&s_lock);
    size_t bytes = s_bytes;
    pthread_mutex_unlock(&s_lock);
    return bytes;
}

void
dvi_hugepage_keep_from(size_t bytes)
{
    pthread_mutex_lock(&s_lock);
    s_keep_from = bytes > s_keep_from ? bytes : s_keep_from;
    pthread_mutex_unlock(&s_lock);
}

void
dvi_hugepage_limit_keep(size_t bytes)
{
    pthread_mutex_lock(&s_lock);
    s_keep = bytes < s_keep ? bytes : s_keep;
    pthread_mutex_unlock(&s_lock);
    s_release(UINT64_MAX, bytes);
}
