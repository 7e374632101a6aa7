/* drove — integration: short calls use every core.
 *
 * A worker runs calls of a function proven short on its loop thread only
 * when that costs no parallelism (src/worker/runner.h). These tests run
 * two such calls submitted together that each wait, inside the call, for
 * the other to start, and assert that both saw the other: on
 * local:threads=2 (one loop carries the scheduler, the client and both
 * workers) and on a daemon `drove worker --threads 2`. Before, both ran
 * one after the other on the loop.
 */
#include "dvt_funcs.h"
#include "dvtest.h"

/* What a worker needs to see of a function before it counts as short. */
#define S_WARM_CALLS 48
/* How long a call waits for the other: far longer than a busy machine
 * delays a thread, and what a call run on the loop thread first costs. */
#define S_MEET_MS 3000

/* Runs meet(round, ms) n times at once, each pinned to worker (NULL:
 * any), and asserts what each returned. */
static void
s_meet(dv_client *c, int64_t round, int64_t ms, size_t n, const char *worker,
       int64_t want)
{
    dv_future *fs[S_WARM_CALLS];
    dv_arg args[2] = {dv_i64(round), dv_i64(ms)};
    dv_opts opts = DV_OPTS_INIT;
    opts.worker = worker;
    for (size_t i = 0; i < n; i++) {
        fs[i] = DVT_NOTNULL(dv_submit(c, "meet", 2, args, &opts));
    }
    for (size_t i = 0; i < n; i++) {
        DVT_EQ_I64(DVT_RESULT_I64(fs[i], 60.0) >= want, 1);
    }
    dvt_release_all(fs, n);
}

/* Two short calls submitted together on a cluster whose workers share
 * one process (local:threads, or a worker with two threads): both run at
 * once, each seeing the other. Run one after the other on a loop thread,
 * the first would wait S_MEET_MS in vain and return 1. */
static void
s_assert_parallel(dv_client *c, const char *worker)
{
    s_meet(c, 0, 0, S_WARM_CALLS, worker, 1); /* proven short */
    s_meet(c, 1, S_MEET_MS, 2, worker, 2);
}

static void
test_short_calls_overlap_on_local_threads(void **state)
{
    (void)state;
    dv_client *c = DVT_NOTNULL(dvt_connect("local:threads=2"));
    s_assert_parallel(c, NULL);
    dv_close(c);
}

static void
test_short_calls_overlap_on_worker_threads(void **state)
{
    (void)state;
    dvt_cluster cl;
    DVT_PASS(dvt_cluster_start(&cl, 1, 2));
    dv_client *c = DVT_NOTNULL(dvt_connect(cl.addr));
    dvt_wait_workers(c, 1, 30.0);
    s_assert_parallel(c, NULL);
    dv_close(c);
    dvt_cluster_stop(&cl);
}

int
main(void)
{
    dvt_init(170);
    (void)dvt_funcs_anchor(); /* keeps libdvt_funcs.so linked */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_short_calls_overlap_on_local_threads),
        cmocka_unit_test(test_short_calls_overlap_on_worker_threads),
    };
    return dvt_finish(
        cmocka_run_group_tests_name("parallel", tests, NULL, NULL));
}
