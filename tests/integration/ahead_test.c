/* drove — integration: an input still being computed on another worker.
 *
 * A task whose inputs are all being computed goes at once ("ahead") to a
 * worker, which asks the worker computing each input for it with a GET
 * that waits there: the input travels as soon as it exists, with no round
 * trip through the scheduler. On a tcp cluster the scheduler is stopped
 * (SIGSTOP) while the input runs: the dependent must start anyway. If the
 * input fails, the dependent errs with its error, as it would have had it
 * waited at the scheduler. A dependent that ran and failed before its
 * input's DONE reached the scheduler runs no more often than its retries
 * say (two hand-made workers play that race out in order).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dvt_funcs.h"
#include "dvt_wire.h"
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

/* A worker made by hand, id, welcomed by the tcp cluster's scheduler. */
static dvt_peer *
s_fake_worker(const char *id)
{
    dvt_peer *p = dvt_peer_open(dvt_port_of(dvt_tcp_cluster()->addr),
                                dvt_home(), "worker");
    dvt_peer_send_hello(p, DVT_ROLE_WORKER, id, 1, "tcp://127.0.0.1:9");
    DVT_EQ_I64(dvt_peer_wait_msg(p, DVT_MSG_WELCOME, 15.0), 1);
    return p;
}

/* Waits for the COMPUTE of f's task on worker p. */
static void
s_expect_compute(dvt_peer *p, dv_future *f)
{
    char key[256];
    DVT_EQ_I64(dvt_peer_wait_key(p, DVT_MSG_COMPUTE, key, sizeof(key), 15.0),
               1);
    DVT_EQ_STR(key, dv_future_key(f));
}

/* A dependent sent ahead ran on its input, fetched from the input's
 * worker, and failed; its FAILED reached the scheduler before the input's
 * DONE (a worker holds a DONE no client waits for a moment, later.c). It
 * errs at once, or runs again once per dv_opts.retries: the input not
 * being done yet is no reason to run it again. */
static void
test_failed_ahead_runs_only_as_retries_say(void **state)
{
    dv_client *c = *state;
    dvt_peer *w0 = s_fake_worker("fake-w0");
    dvt_peer *w1 = s_fake_worker("fake-w1");

    for (int64_t retries = 0; retries <= 1; retries++) {
        dv_opts on = DV_OPTS_INIT;
        on.worker = "fake-w0";
        dv_arg n = dv_i64(1000 + retries);
        dv_future *x = DVT_NOTNULL(dv_submit(c, "inc", 1, &n, &on));
        s_expect_compute(w0, x);
        on.worker = "fake-w1";
        on.retries = (int)retries;
        dv_arg dep = dv_fut(x);
        dv_future *t = DVT_NOTNULL(dv_submit(c, "boom_after", 1, &dep, &on));
        s_expect_compute(w1, t); /* ahead: x is running */
        dvt_peer_send_failed(w1, dv_future_key(t), DVT_BLAME_TASK, "boom 42");
        if (retries > 0) {
            /* Tried again, once x is done: not before. */
            DVT_EQ_I64(dvt_peer_wait_msg(w1, DVT_MSG_COMPUTE, 0.3), -1);
        } else {
            DVT_CONTAINS(DVT_ERROR(t, 5.0), "boom 42");
        }
        const unsigned char made = 0x65; /* msgpack's 101 */
        dvt_peer_send_done(w0, dv_future_key(x), &made, 1);
        DVT_EQ_I64(DVT_RESULT_I64(x, 15.0), 101);
        if (retries > 0) {
            s_expect_compute(w1, t);
            dvt_peer_send_failed(w1, dv_future_key(t), DVT_BLAME_TASK,
                                 "boom 42");
        }
        DVT_CONTAINS(DVT_ERROR(t, 15.0), "boom 42");
        DVT_EQ_I64(dvt_peer_wait_msg(w1, DVT_MSG_COMPUTE, 0.3), -1);
        dv_release(t);
        dv_release(x);
    }
    dvt_peer_close(&w0);
    dvt_peer_close(&w1);
}

int
main(void)
{
    dvt_init(150);
    (void)dvt_funcs_anchor(); /* keeps libdvt_funcs.so linked */
    const struct CMUnitTest tcp[] = {
        cmocka_unit_test(test_input_from_a_peer_needs_no_scheduler),
        cmocka_unit_test(test_failed_ahead_runs_only_as_retries_say),
    };
    const struct CMUnitTest all[] = {
        cmocka_unit_test(test_failed_input_from_a_peer_fails_the_dependent),
    };
    int failed = dvt_run_clusters("ahead (tcp)", tcp, 2, DVT_TCP);
    failed |= dvt_run_clusters("ahead", all, 1, DVT_PROCESSES | DVT_TCP);
    return dvt_finish(failed);
}
