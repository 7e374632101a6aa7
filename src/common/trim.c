/* dvi_trimmer: malloc_trim on the job thread after a large drop in what a
 * role holds, at most once per interval. */
#include "trim.h"

#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "err.h"
#include "hugepage.h"
#include "runtime.h"

struct dvi_trimmer {
    uv_loop_t *loop;
    dvi_runtime *rt;  /* runs the trims; NULL: never trims */
    uv_timer_t timer; /* a due trim waiting for the interval to end */
    uint64_t held;    /* bytes, as last noted */
    uint64_t peak;    /* most held since the last trim started */
    uint64_t last_ms; /* when the last trim started (loop time) */
    uint64_t trims;   /* started so far */
    int running;      /* a trim is on the job thread */
    int closing;      /* destroyed: freed once closed and not running */
    int closed;       /* the timer's close callback has run */
    /* Called on the loop after each trim; NULL: none. */
    void (*on_done)(void *);
    void *on_done_ctx;
};

static void
s_maybe_free(dvi_trimmer *t)
{
    if (t->closing && t->closed && !t->running) {
        free(t);
    }
}

/* The heaps' free pages go back to the system. */
static void
s_heaps(void)
{
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}

/* The job thread's trims, which touch nothing of the trimmer (the loop
 * owns it). Large buffers kept for reuse go first: those unused for a
 * while, or all when urged (s_work_all). */
static void
s_work(void *ctx)
{
    (void)ctx;
    dvi_hugepage_trim_idle(DVI_HUGEPAGE_IDLE_MS);
    s_heaps();
}

static void
s_work_all(void *ctx)
{
    (void)ctx;
    dvi_hugepage_trim();
    s_heaps();
}

static int
s_due(const dvi_trimmer *t)
{
    uint64_t drop = t->peak - t->held;
    return drop >= DVI_TRIM_MIN_DROP && drop >= t->peak / 4;
}

static void s_done(void *ctx);
static void s_on_timer(uv_timer_t *h);

/* Queues a trim on the job thread: of all kept buffers, or only idle
 * ones. */
static void
s_queue(dvi_trimmer *t, int all)
{
    if (dvi_runtime_queue_job(t->rt, all ? s_work_all : s_work, s_done, t) <
        0) {
        return; /* no job thread: memory stays, nothing else is wrong */
    }
    t->running = 1;
    t->last_ms = uv_now(t->loop);
    t->peak = t->held;
    t->trims++;
}

/* Starts the due trim, or arms the timer if the last one was too recent. */
static void
s_start(dvi_trimmer *t)
{
    uint64_t now = uv_now(t->loop);
    if (t->trims > 0 && now - t->last_ms < DVI_TRIM_INTERVAL_MS) {
        if (!uv_is_active((uv_handle_t *)&t->timer)) {
            uv_timer_start(&t->timer, s_on_timer,
                           DVI_TRIM_INTERVAL_MS - (now - t->last_ms), 0);
        }
        return;
    }
    s_queue(t, 0);
}

static void
s_on_timer(uv_timer_t *h)
{
    dvi_trimmer *t = h->data;
    if (!t->running && (s_due(t) || dvi_hugepage_kept() > 0)) {
        s_start(t);
    }
}

static void
s_done(void *ctx)
{
    dvi_trimmer *t = ctx;
    t->running = 0;
    /* mimalloc's heaps are per thread: the loop's, which most of the
     * freeing went to, is collected on the loop, others' by their own. */
    dvi_alloc_collect();
    if (t->on_done != NULL && !t->closing) {
        t->on_done(t->on_done_ctx);
    }
    if (t->closing) {
        s_maybe_free(t);
    } else if (s_due(t)) {
        s_start(t); /* more went while it ran: after the interval */
    } else if (!uv_is_active((uv_handle_t *)&t->timer)) {
        /* Buffers kept for reuse go once they have been idle a while. */
        uint64_t in = dvi_hugepage_idle_in(DVI_HUGEPAGE_IDLE_MS);
        if (in > 0) {
            uv_timer_start(&t->timer, s_on_timer, in, 0);
        }
    }
}

dvi_trimmer *
dvi_trimmer_new(uv_loop_t *loop)
{
    dvi_trimmer *t = dvi_calloc(1, sizeof(*t));
    t->loop = loop;
    t->rt = dvi_runtime_of(loop);
    uv_timer_init(loop, &t->timer);
    t->timer.data = t;
    uv_unref((uv_handle_t *)&t->timer);
    return t;
}

static void
s_closed(uv_handle_t *h)
{
    dvi_trimmer *t = h->data;
    t->closed = 1;
    s_maybe_free(t);
}

void
dvi_trimmer_destroy(dvi_trimmer **tp)
{
    dvi_trimmer *t = *tp;
    if (t == NULL) {
        return;
    }
    *tp = NULL;
    t->closing = 1;
    uv_close((uv_handle_t *)&t->timer, s_closed);
}

void
dvi_trimmer_note(dvi_trimmer *t, uint64_t held)
{
    t->held = held;
    if (held > t->peak) {
        t->peak = held;
        return;
    }
    if (t->rt != NULL && !t->running && s_due(t)) {
        s_start(t);
    }
}

void
dvi_trimmer_urge(dvi_trimmer *t)
{
    if (t->rt != NULL && !t->running && !t->closing) {
        s_queue(t, 1);
    }
}

void
dvi_trimmer_on_done(dvi_trimmer *t, void (*fn)(void *), void *ctx)
{
    t->on_done = fn;
    t->on_done_ctx = ctx;
}

uint64_t
dvi_trimmer_trims(const dvi_trimmer *t)
{
    return t->trims;
}

#define S_TRIM_THRESHOLD (256 << 20)
#define S_MMAP_THRESHOLD (32 << 20)

void
dvi_trim_tune_process(void)
{
    mallopt(M_MMAP_THRESHOLD, S_MMAP_THRESHOLD);
    mallopt(M_TRIM_THRESHOLD, S_TRIM_THRESHOLD);
    /* The heap reuses buffers up to the threshold now; larger ones it
     * would map afresh each time, and are kept aside for reuse. */
    dvi_hugepage_keep_from(S_MMAP_THRESHOLD);
}

void
dvi_trim_tune_limit(uint64_t limit)
{
    /* malloc_trim never shrinks the top of a thread's arena, where an
     * executor's large results were: only free() does, past this. */
    uint64_t t = limit / 16;
    mallopt(M_TRIM_THRESHOLD, t < S_TRIM_THRESHOLD ? (int)t : S_TRIM_THRESHOLD);
    dvi_hugepage_limit_keep((size_t)t); /* large buffers kept aside too */
}
