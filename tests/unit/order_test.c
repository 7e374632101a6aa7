/* drove — unit: the order in which a worker runs its ready tasks. An
 * embedded cluster in this process (local:threads=2, workers thread-0
 * and thread-1, one executor thread each) where thread-0 holds a queue:
 *
 *   - `gate` (200 ms: time for the messages that make edge ready or
 *     awaited to arrive, even under a sanitizer), then six fillers (20 ms each)
 * that no other task needs, and `edge`, which waits for gate and which a task
 * on thread-1 waits for (sent ahead there: its GET waits at thread-0). Edge
 * becomes ready after the fillers are queued, and must run next all the same:
 * right after gate (or after the one filler that gate's thread takes while the
 * loop hears gate is done), not 120 ms later behind all six.
 *
 *   - the same queue with edge a root queued after the fillers, and the
 *     task on thread-1 that waits for it submitted only once gate runs:
 *     when its GET comes, edge, already queued, moves to the head.
 *
 * Every task notes when it starts (the workers are threads of this
 * process); edge has a time limit, so it is not chained to gate (fuse.c)
 * and reaches the queue like any ready task.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "drove.h"

#define S_FILLERS 6

/* Start times by tag: 0 gate, 1 edge, 2 its reader, 3.. fillers. */
static _Atomic uint64_t s_started[3 + S_FILLERS];

/* spin(tag, ms, inputs...): notes its start, spins ms, returns tag. */
DV_FUNCTION(spin)
{
    int64_t tag = dv_value_i64(dv_arg_at(call, 0));
    int64_t ms = dv_value_i64(dv_arg_at(call, 1));
    if (tag < 0 || tag >= 3 + S_FILLERS) {
        return dv_fail(call, "spin: tag %lld", (long long)tag);
    }
    uint64_t now = uv_hrtime();
    s_started[tag] = now;
    while (uv_hrtime() < now + (uint64_t)ms * 1000000) {
    }
    return dv_return(call, dv_i64(tag));
}

static dv_future *
s_spin(dv_client *c, const char *worker, double timeout, int64_t tag,
       int64_t ms, dv_future *input)
{
    dv_opts o = DV_OPTS_INIT;
    o.worker = worker;
    o.timeout = timeout;
    dv_arg a[3] = {dv_i64(tag), dv_i64(ms), input ? dv_fut(input) : dv_nil()};
    dv_future *f = dv_submit(c, "spin", input ? 3 : 2, a, &o);
    assert_non_null(f);
    return f;
}

/* Connects, and queues on thread-0 gate and the fillers behind it. */
static dv_client *
s_queue(dv_future **fs)
{
    memset(s_started, 0, sizeof(s_started));
    dv_client *c = dv_connect("local:threads=2");
    assert_non_null(c);
    fs[0] = s_spin(c, "thread-0", 0, 0, 200, NULL);
    for (int i = 0; i < S_FILLERS; i++) {
        fs[3 + i] = s_spin(c, "thread-0", 0, 3 + i, 20, NULL);
    }
    return c;
}

/* Waits for every task, checks edge started after at most one filler
 * (gate's thread may have taken the first in the instant edge was made
 * ready or urgent), and closes. */
static void
s_check_edge_first(dv_client *c, dv_future **fs, const char *test)
{
    assert_int_equal(dv_wait_all(c, 60.0), 0);
    int before = 0;
    for (int i = 0; i < 3 + S_FILLERS; i++) {
        assert_int_equal(dv_future_status(fs[i]), DV_FINISHED);
        before += i >= 3 && s_started[i] < s_started[1];
    }
    fprintf(stderr,
            "order_test: %s: edge started %.1f ms after gate, after %d of "
            "%d fillers\n",
            test, (double)(s_started[1] - s_started[0]) / 1e6, before,
            S_FILLERS);
    assert_true(before <= 1);
    for (int i = 0; i < 3 + S_FILLERS; i++) {
        dv_release(fs[i]);
    }
    dv_close(c);
}

static void
test_awaited_task_runs_first(void **state)
{
    (void)state;
    dv_future *fs[3 + S_FILLERS];
    dv_client *c = s_queue(fs);
    fs[1] = s_spin(c, "thread-0", 60, 1, 1, fs[0]);
    fs[2] = s_spin(c, "thread-1", 0, 2, 1, fs[1]);
    s_check_edge_first(c, fs, "ready late");
}

static void
test_task_awaited_once_queued_runs_next(void **state)
{
    (void)state;
    dv_future *fs[3 + S_FILLERS];
    dv_client *c = s_queue(fs);
    fs[1] = s_spin(c, "thread-0", 0, 1, 1, NULL);
    /* Once gate runs, edge is queued behind the fillers. */
    for (int ms = 0; s_started[0] == 0; ms++) {
        assert_true(ms < 10000);
        uv_sleep(1);
    }
    fs[2] = s_spin(c, "thread-1", 0, 2, 1, fs[1]);
    s_check_edge_first(c, fs, "queued");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_awaited_task_runs_first),
        cmocka_unit_test(test_task_awaited_once_queued_runs_next),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
