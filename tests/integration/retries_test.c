/* drove — integration: how many times a call runs when it fails.
 *
 * drove.h documents two rules. dv_opts.retries is how many more times a
 * call whose function fails (dv_fail) is run: 1 + retries attempts at most.
 * A call whose worker dies is run again regardless, unless it was running
 * on 3 workers that died: then it errs as "killed worker", naming the
 * signal that killed the last one. Attempts are counted by lines the
 * functions append to a file before they fail or crash. Runs on
 * local:processes=2, where a crash takes down only a worker process.
 */
#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

#include "dvt_funcs.h"
#include "dvtest.h"

static void
s_path(char *buf, size_t size, const char *what, int retries)
{
    snprintf(buf, size, "%s/%s-%d", dvt_home(), what, retries);
}

static void
test_retries_rerun_failed_calls(void **state)
{
    dv_client *c = *state;
    char path[512];

    /* Fails twice, then succeeds: retries=2 is just enough. */
    s_path(path, sizeof(path), "fail-enough", 2);
    dv_opts opts = DV_OPTS_INIT;
    opts.retries = 2;
    dv_future *f = DVT_NOTNULL(dv_submit(
        c, "fail_marked", 2, (dv_arg[]){dv_str(path), dv_i64(2)}, &opts));
    DVT_EQ_I64(DVT_RESULT_I64(f, 30.0), 3);
    dv_release(f);
    DVT_EQ_I64(dvt_count_lines(path), 3);

    /* One retry too few: 1 + 1 attempts, then the last failure's text. */
    s_path(path, sizeof(path), "fail-short", 1);
    opts.retries = 1;
    f = DVT_NOTNULL(dv_submit(c, "fail_marked", 2,
                              (dv_arg[]){dv_str(path), dv_i64(2)}, &opts));
    DVT_CONTAINS(DVT_ERROR(f, 30.0), "fail_marked: attempt 2 fails");
    dv_release(f);
    DVT_EQ_I64(dvt_count_lines(path), 2);

    /* The default is one attempt. */
    s_path(path, sizeof(path), "fail-default", 0);
    f = DVT_NOTNULL(DV_SUBMIT(c, "fail_marked", dv_str(path), dv_i64(5)));
    DVT_CONTAINS(DVT_ERROR(f, 30.0), "attempt 1 fails");
    dv_release(f);
    DVT_EQ_I64(dvt_count_lines(path), 1);
}

static void
test_killed_worker_after_three_deaths(void **state)
{
    dv_client *c = *state;
    char path[512];
    s_path(path, sizeof(path), "crash", 0);
    dv_future *f = DVT_NOTNULL(DV_SUBMIT(c, "crash_marked", dv_str(path)));
    const char *error = DVT_ERROR(f, 60.0);
    DVT_CONTAINS(error, "killed worker");
    DVT_CONTAINS(error, "signal 11");
    dv_release(f);
    DVT_EQ_I64(dvt_count_lines(path), 3);

    /* And the client still works, on replaced workers. */
    f = DVT_NOTNULL(DV_SUBMIT(c, "inc", dv_i64(99)));
    DVT_EQ_I64(DVT_RESULT_I64(f, 30.0), 100);
    dv_release(f);
    /* The last dead worker's replacement joins shortly. */
    uint64_t deadline = uv_hrtime() + 10 * (uint64_t)1000000000;
    while (dv_nworkers(c) < 2 && uv_hrtime() < deadline) {
        uv_sleep(10);
    }
    DVT_EQ_I64(dv_nworkers(c), 2);
}

int
main(void)
{
    dvt_init(100);
    (void)dvt_funcs_anchor(); /* keeps libdvt_funcs.so linked */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retries_rerun_failed_calls),
        cmocka_unit_test(test_killed_worker_after_three_deaths),
    };
    return dvt_finish(dvt_run_clusters(
        "retries", tests, sizeof(tests) / sizeof(tests[0]), DVT_PROCESSES));
}
