/* dvi_watch: a timer over the calls that must end by a time, with
 * dvi_deadline deciding what each of them needs. */
#include "watch.h"

#include <stdlib.h>

#include "common/err.h"
#include "common/pset.h"

/* How often to look at a watched call that has not started yet. */
#define S_POLL_MS 20

struct dvi_watch {
    uv_loop_t *loop;
    uv_timer_t *timer; /* malloc'ed: it closes after the watch is freed */
    uint64_t grace_ms;
    dvi_pset jobs; /* the dvi_job's watched */
    dvi_watch_overdue_fn overdue;
    void *ctx;
};

static void s_check(dvi_watch *w);

static uint64_t
s_now_ms(void)
{
    return uv_hrtime() / 1000000;
}

static void
s_timer_cb(uv_timer_t *t)
{
    s_check(t->data);
}

static void
s_timer_closed(uv_handle_t *h)
{
    free(h);
}

/* Makes the timer fire at most delay_ms from now. */
static void
s_arm(dvi_watch *w, uint64_t delay_ms)
{
    if (uv_is_active((uv_handle_t *)w->timer) &&
        uv_timer_get_due_in(w->timer) <= delay_ms) {
        return;
    }
    uv_timer_start(w->timer, s_timer_cb, delay_ms, 0);
}

static void
s_ask(dvi_job *job)
{
    atomic_store_explicit(&job->stop, 1, memory_order_relaxed);
}

/* Looks at every watched call: asks those due to stop, collects the
 * overdue, arms the timer for the next change, then tells of the
 * overdue (the callback may edit the set: it is not being walked). */
static void
s_check(dvi_watch *w)
{
    uint64_t now = s_now_ms(), next = DVI_DEADLINE_NEVER;
    dvi_job **overdue = NULL;
    size_t n = 0, cap = 0;
    void *p;
    for (size_t i = 0; (p = dvi_pset_next(&w->jobs, &i));) {
        dvi_job *job = p;
        uint64_t started =
            atomic_load_explicit(&job->started_ns, memory_order_acquire) /
            1000000;
        uint64_t due;
        int v =
            dvi_deadline_check(&job->deadline, started, now, w->grace_ms, &due);
        if (v != DVI_DEADLINE_RUNS) {
            s_ask(job);
        }
        if (v == DVI_DEADLINE_OVERDUE) {
            if (n == cap) {
                cap = cap ? cap * 2 : 4;
                overdue = dvi_realloc(overdue, cap * sizeof(*overdue));
            }
            overdue[n++] = job;
        }
        if (started == 0) {
            due = now + S_POLL_MS;
        }
        next = due < next ? due : next;
    }
    for (size_t i = 0; i < n; i++) {
        dvi_pset_del(&w->jobs, overdue[i]);
    }
    if (next != DVI_DEADLINE_NEVER) {
        uv_timer_start(w->timer, s_timer_cb, next > now ? next - now : 0, 0);
    }
    for (size_t i = 0; i < n; i++) {
        w->overdue(w->ctx, overdue[i]);
    }
    free(overdue);
}

dvi_watch *
dvi_watch_new(uv_loop_t *loop, uint64_t grace_ms, dvi_watch_overdue_fn overdue,
              void *ctx)
{
    dvi_watch *w = dvi_calloc(1, sizeof(*w));
    w->loop = loop;
    w->grace_ms = grace_ms;
    w->overdue = overdue;
    w->ctx = ctx;
    dvi_pset_init(&w->jobs);
    w->timer = dvi_malloc(sizeof(*w->timer));
    uv_timer_init(loop, w->timer);
    w->timer->data = w;
    return w;
}

void
dvi_watch_destroy(dvi_watch **wp)
{
    dvi_watch *w = *wp;
    if (w == NULL) {
        return;
    }
    *wp = NULL;
    uv_close((uv_handle_t *)w->timer, s_timer_closed);
    dvi_pset_fini(&w->jobs);
    free(w);
}

void
dvi_watch_add(dvi_watch *w, dvi_job *job)
{
    dvi_deadline_init(&job->deadline, job->timeout_ms);
    if (job->timeout_ms == 0) {
        return;
    }
    dvi_pset_add(&w->jobs, job);
    s_arm(w, S_POLL_MS);
}

void
dvi_watch_cancel(dvi_watch *w, dvi_job *job)
{
    dvi_deadline_cancel(&job->deadline, s_now_ms());
    s_ask(job); /* at once: the grace is for returning */
    dvi_pset_add(&w->jobs, job);
    s_arm(w, 0);
}

void
dvi_watch_uncancel(dvi_watch *w, dvi_job *job)
{
    if (!dvi_deadline_uncancel(&job->deadline)) {
        atomic_store_explicit(&job->stop, 0, memory_order_relaxed);
    }
    if (!dvi_deadline_pending(&job->deadline)) {
        dvi_pset_del(&w->jobs, job);
    }
}

void
dvi_watch_remove(dvi_watch *w, dvi_job *job)
{
    if (dvi_pset_del(&w->jobs, job) && w->jobs.len == 0) {
        uv_timer_stop(w->timer);
    }
}

size_t
dvi_watch_count(const dvi_watch *w)
{
    return w->jobs.len;
}
