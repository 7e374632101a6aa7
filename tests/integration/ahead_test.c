/* drove — integration: an input still being computed on another worker.
 *
 * A task whose inputs are all being computed goes at once ("ahead") to a
 * worker, which asks the worker computing each input for it with a GET
 * that waits there: the input travels as soon as it exists, with no round
 * trip through the scheduler. On a tcp cluster the scheduler is stopped
 * (SIGSTOP) while the input runs: the dependent must start anyway. If the
 * input fails, the dependent errs with its error, as it would have had it
 * waited at the scheduler.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dvt_funcs.h"
#include "dvtest.h"

static void
test_input_from_a_peer_needs_no_scheduler(void **state)
{
    dv_client *c = *state;
    pid_t sched = dvt_proc_pid(dvt_tcp_cluster()->sched);
    char path[512];
    snprintf(path, sizeof(path), "%s/ahead-marker", dvt_home());
    remove(path);

    dv_opts on = DV_OPTS_INIT;
    on.worker = "w0";
    dv_arg ms = dv_i64(400);
    dv_future *a = DVT_NOTNULL(dv_submit(c, "sleep_ms", 1, &ms, &on));
    on.worker = "w1";
    dv_arg args[2] = {dv_str(path), dv_fut(a)};
    dv_future *b = DVT_NOTNULL(dv_submit(c, "sleep_marked", 2, args, &on));
    dvt_sleep(0.15); /* both on their workers, a running */
    DVT_EQ_I64(kill(sched, SIGSTOP), 0);
    int started = dvt_wait_text(NULL, path, "\n", 10.0);
    DVT_EQ_I64(kill(sched, SIGCONT), 0);
    DVT_TRUE(started); /* b ran on a's result, the scheduler stopped */
    DVT_EQ_STR(dv_value_str(DVT_RESULT(b, 30.0), NULL), "w1");
    dv_release(a);
    dv_release(b);
}

static void
test_failed_input_from_a_peer_fails_the_dependent(void **state)
{
    dv_client *c = *state;
    char w0[128], w1[128];
    dvt_two_workers(c, w0, w1, sizeof(w0));
    dv_opts on = DV_OPTS_INIT;
    on.worker = w0;
    dv_arg ms = dv_i64(200);
    dv_future *slow = DVT_NOTNULL(dv_submit(c, "sleep_ms", 1, &ms, &on));
    /* boom waits behind slow on w0 (a chain: sent ahead there). */
    dv_arg after = dv_fut(slow);
    dv_future *a = DVT_NOTNULL(dv_submit(c, "boom_after", 1, &after, &on));
    on.worker = w1;
    dv_arg dep = dv_fut(a);
    dv_future *b = DVT_NOTNULL(dv_submit(c, "inc", 1, &dep, &on));
    DVT_CONTAINS(DVT_ERROR(b, 30.0), "boom 42");
    DVT_CONTAINS(DVT_ERROR(a, 30.0), "boom 42");
    dv_release(slow);
    dv_release(a);
    dv_release(b);
}

int
main(void)
{
    dvt_init(150);
    (void)dvt_funcs_anchor(); /* keeps libdvt_funcs.so linked */
    const struct CMUnitTest tcp[] = {
        cmocka_unit_test(test_input_from_a_peer_needs_no_scheduler),
    };
    const struct CMUnitTest all[] = {
        cmocka_unit_test(test_failed_input_from_a_peer_fails_the_dependent),
    };
    int failed = dvt_run_clusters("ahead (tcp)", tcp, 1, DVT_TCP);
    failed |= dvt_run_clusters("ahead", all, 1, DVT_PROCESSES | DVT_TCP);
    return dvt_finish(failed);
}
