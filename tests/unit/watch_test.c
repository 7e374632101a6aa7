/* drove — unit: dvi_watch, the timer over a worker's calls that must end
 * by a time.
 *
 * On a real loop, with jobs whose start the test sets as an executor
 * thread would: a call past its limit is asked to stop (dv_call_cancelled
 * reads the flag) and reported overdue once, after its grace, then no
 * longer watched, and the loop ends (the timer keeps it alive only while
 * something is due); a cancelled call still queued is looked at until it
 * starts, and overdue a grace after that; a cancel withdrawn clears the
 * flag and reports nothing; a call removed is never reported.
 */
#include <stdlib.h>
#include <uv.h>

#include "common/runtime.h"
#include "dvtest.h"
#include "worker/watch.h"

#define GRACE_MS 40

typedef struct s_seen {
    dvi_job *job[4];
    int n;
    uint64_t at_ms[4];
    int stop[4]; /* the job's flag when it was reported */
} s_seen;

static void
s_overdue(void *ctx, dvi_job *job)
{
    s_seen *s = ctx;
    if (s->n < 4) {
        s->job[s->n] = job;
        s->at_ms[s->n] = uv_hrtime() / 1000000;
        s->stop[s->n] = atomic_load(&job->stop);
    }
    s->n++;
}

static void
s_start(dvi_job *job)
{
    atomic_store(&job->started_ns, uv_hrtime());
}

static void
test_limit_then_grace(void **state)
{
    dvi_runtime *rt = DVT_NOTNULL(dvi_runtime_new());
    s_seen seen = {0};
    dvi_watch *w =
        dvi_watch_new(dvi_runtime_loop(rt), GRACE_MS, s_overdue, &seen);
    dvi_job *job = calloc(1, sizeof(*job));
    job->timeout_ms = 30;
    dvi_watch_add(w, job);
    uint64_t t0 = uv_hrtime() / 1000000;
    s_start(job);
    DVT_EQ_I64(dvi_watch_count(w), 1);
    dvi_runtime_run(rt); /* ends once nothing is due */
    DVT_EQ_I64(seen.n, 1);
    DVT_TRUE(seen.job[0] == job);
    DVT_EQ_I64(seen.stop[0], 1);
    DVT_TRUE(job->deadline.timed_out);
    DVT_GE_I64(seen.at_ms[0] - t0, 30 + GRACE_MS);
    DVT_LT_I64(seen.at_ms[0] - t0, 30 + GRACE_MS + 500);
    DVT_EQ_I64(dvi_watch_count(w), 0);
    dvi_watch_destroy(&w);
    dvi_runtime_destroy(&rt);
    free(job);
}

static void
s_start_cb(uv_timer_t *t)
{
    s_start(t->data);
    uv_close((uv_handle_t *)t, NULL);
}

static void
test_cancel_of_a_queued_call(void **state)
{
    dvi_runtime *rt = DVT_NOTNULL(dvi_runtime_new());
    s_seen seen = {0};
    dvi_watch *w =
        dvi_watch_new(dvi_runtime_loop(rt), GRACE_MS, s_overdue, &seen);
    dvi_job *job = calloc(1, sizeof(*job));
    dvi_watch_add(w, job); /* no limit: not watched */
    DVT_EQ_I64(dvi_watch_count(w), 0);
    dvi_watch_cancel(w, job);
    DVT_EQ_I64(atomic_load(&job->stop), 1); /* asked at once */
    /* A thread takes it 100 ms later: its grace runs from then. */
    uv_timer_t start;
    uv_timer_init(dvi_runtime_loop(rt), &start);
    start.data = job;
    /* The timer counts from the loop's cached clock: read ours first, then
     * bring the loop's up to date, so it starts no earlier than t0. */
    uint64_t t0 = uv_hrtime() / 1000000;
    uv_update_time(dvi_runtime_loop(rt));
    uv_timer_start(&start, s_start_cb, 100, 0);
    dvi_runtime_run(rt);
    DVT_EQ_I64(seen.n, 1);
    DVT_TRUE(!job->deadline.timed_out);
    DVT_GE_I64(seen.at_ms[0] - t0, 100 + GRACE_MS);
    dvi_watch_destroy(&w);
    dvi_runtime_destroy(&rt);
    free(job);
}

static void
test_uncancel_and_remove(void **state)
{
    dvi_runtime *rt = DVT_NOTNULL(dvi_runtime_new());
    s_seen seen = {0};
    dvi_watch *w =
        dvi_watch_new(dvi_runtime_loop(rt), GRACE_MS, s_overdue, &seen);
    dvi_job *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
    b->timeout_ms = 10;
    dvi_watch_add(w, a);
    dvi_watch_add(w, b);
    s_start(a);
    s_start(b);
    dvi_watch_cancel(w, a);
    dvi_watch_uncancel(w, a); /* wanted again */
    DVT_EQ_I64(atomic_load(&a->stop), 0);
    DVT_EQ_I64(dvi_watch_count(w), 1);
    dvi_watch_remove(w, b); /* it returned */
    dvi_watch_remove(w, b); /* twice: nothing happens */
    DVT_EQ_I64(dvi_watch_count(w), 0);
    dvi_runtime_run(rt);
    DVT_EQ_I64(seen.n, 0);
    dvi_watch_destroy(&w);
    dvi_runtime_destroy(&rt);
    free(a);
    free(b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limit_then_grace),
        cmocka_unit_test(test_cancel_of_a_queued_call),
        cmocka_unit_test(test_uncancel_and_remove),
    };
    return cmocka_run_group_tests_name("watch", tests, NULL, NULL);
}
