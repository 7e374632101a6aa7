/* drove — integration: daemons killed with SIGKILL while tasks run.
 *
 * On a tcp cluster of a scheduler and two workers, tasks are running when
 * worker w0 is killed with kill -9. The user must still get every result
 * (the scheduler runs the lost tasks again on w1), see the cluster shrink
 * to one worker, and go on submitting work. Then the scheduler itself is
 * killed: waiting futures must end as lost, promptly and with a reason,
 * instead of hanging, and the worker left must wait for it to come back.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dvt_funcs.h"
#include "dvtest.h"

static void
test_kill_9_worker_mid_task(void **state)
{
    dv_client *c = *state;
    dvt_cluster *cl = dvt_tcp_cluster();
    enum { N = 6 };
    dv_arg args[N];
    dv_future *out[N];

    for (int i = 0; i < N; i++) {
        args[i] = dv_i64(400 + i);
    }
    /* Impure sleeps of about 0.4 s: both workers are busy for ~1.2 s. */
    DVT_EQ_I64(dv_map(c, "sleep_ms", N, args, out, NULL), N);
    dvt_sleep(0.2);
    DVT_TRUE(kill(dvt_proc_pid(cl->workers[0]), SIGKILL) == 0);
    int status = 0;
    DVT_EQ_I64(dvt_proc_wait(cl->workers[0], 10.0, &status), 0);

    for (int i = 0; i < N; i++) {
        DVT_EQ_I64(DVT_RESULT_I64(out[i], 60.0), 400 + i);
    }
    dvt_release_all(out, N);

    /* The scheduler notices, and the survivor does the new work. */
    double deadline = dvt_now() + 15.0;
    while (dv_nworkers(c) != 1 && dvt_now() < deadline) {
        dvt_sleep(0.02);
    }
    DVT_EQ_I64(dv_nworkers(c), 1);
    char id[64];
    DVT_PASS(dv_worker_id(c, 0, id, sizeof(id)));
    DVT_EQ_STR(id, "w1");
    for (int i = 0; i < N; i++) {
        args[i] = dv_i64(900 + i);
    }
    DVT_EQ_I64(dv_map(c, "inc", N, args, out, NULL), N);
    for (int i = 0; i < N; i++) {
        DVT_EQ_I64(DVT_RESULT_I64(out[i], 30.0), 901 + i);
    }
    dvt_release_all(out, N);
}

static void
test_kill_9_scheduler(void **state)
{
    dv_client *c = *state;
    dvt_cluster *cl = dvt_tcp_cluster();
    dv_future *f = DVT_NOTNULL(DV_SUBMIT(c, "sleep_ms", dv_i64(1500)));
    dvt_sleep(0.2);
    DVT_TRUE(kill(dvt_proc_pid(cl->sched), SIGKILL) == 0);

    double t0 = dvt_now();
    DVT_TRUE(dv_result(f, 20.0) == NULL);
    DVT_LT_I64((int64_t)(dvt_now() - t0), 10);
    DVT_EQ_I64(dv_future_status(f), DV_LOST);
    DVT_TRUE(dv_future_error(f) != NULL && dv_future_error(f)[0] != '\0');
    fprintf(stderr, "dvtest: the lost future's error: \"%s\"\n",
            dv_future_error(f));
    dv_release(f);

    /* New work is refused with a reason, not queued forever. */
    DVT_TRUE(DV_SUBMIT(c, "inc", dv_i64(1)) == NULL);
    DVT_TRUE(dv_last_error()[0] != '\0');

    /* The workers wait for it to come back (--reconnect-grace, 60 s by
     * default: heartbeat_test shows them rejoining, and exiting when it
     * ends); the test's exit kills them. */
    double deadline = dvt_now() + 15.0;
    char *log = NULL;
    while (dvt_now() < deadline) {
        free(log);
        log = dvt_proc_log(cl->workers[1]);
        if (log && strstr(log, "dialling it again")) {
            break;
        }
        dvt_sleep(0.05);
    }
    DVT_CONTAINS(log, "lost the scheduler at");
    DVT_CONTAINS(log, "dialling it again for up to 60 s");
    free(log);
    DVT_TRUE(dvt_proc_alive(cl->workers[1]));
}

int
main(void)
{
    dvt_init(100);
    (void)dvt_funcs_anchor(); /* keeps libdvt_funcs.so linked */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill_9_worker_mid_task),
        cmocka_unit_test(test_kill_9_scheduler),
    };
    return dvt_finish(dvt_run_clusters(
        "faults", tests, sizeof(tests) / sizeof(tests[0]), DVT_TCP));
}
