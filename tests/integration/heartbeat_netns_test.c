/* drove — integration: a worker cut off by the network, and back.
 *
 * Two network namespaces joined by a veth pair play two hosts: A
 * (10.233.0.1) runs the scheduler (1 s heartbeat, 3 s timeout), worker wa
 * and this process, the client; B (10.233.0.2) runs worker wb. Taking the
 * link down cuts wb off without closing anything: no FIN, no RST, only
 * silence. The scheduler must drop wb within the timeout and run its
 * tasks (the one it was running, and those submitted meanwhile) on wa;
 * wb must give the scheduler up likewise and keep dialling it. With the
 * link up again, wb rejoins as a fresh worker and serves, inputs crossing
 * hosts as before.
 *
 * Needs root and `ip netns` (shared/recipes/sshd-mpi-netns.md, part C,
 * as netns_test); skips (exit 77) only if the namespaces cannot be made.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dvt_funcs.h"
#include "dvt_netns.h"
#include "dvtest.h"

static dv_future *
s_on(dv_client *c, const char *worker, const char *fn, dv_arg arg)
{
    dv_opts opts = DV_OPTS_INIT;
    opts.worker = worker;
    return DVT_NOTNULL(dv_submit(c, fn, 1, &arg, &opts));
}

/* `drove ARGS...` in host's namespace; the test fails if it cannot
 * start. */
#define s_spawn(name, host, ...) \
    DVT_NOTNULL(dvt_netns_spawn(name, host, __VA_ARGS__))

static void
test_cut_off_worker_is_dropped_and_rejoins(void **state)
{
    char addr[128], mark[256];
    dvt_proc *s = s_spawn("scheduler-a", 0, "scheduler", "--address",
                          "tcp://10.233.0.1:0", "--heartbeat", "1",
                          "--heartbeat-timeout", "3", NULL);
    DVT_PASS(dvt_proc_read_line(s, addr, sizeof(addr), 20.0));
    dvt_proc *wa = s_spawn("worker-a", 0, "worker", "--scheduler", addr,
                           "--threads", "1", "--name", "wa", NULL);
    dvt_proc *wb = s_spawn("worker-b", 1, "worker", "--scheduler", addr,
                           "--threads", "1", "--name", "wb", NULL);
    dv_client *c = DVT_NOTNULL(dvt_connect(addr));
    dvt_wait_workers(c, 2, 30.0);

    snprintf(mark, sizeof(mark), "%s/started", dvt_home());
    enum { NSLOW = 4, NNEW = 20 };
    dv_future *slow[NSLOW], *later[NNEW];
    for (int i = 0; i < NSLOW; i++) {
        dv_arg args[2] = {dv_str(mark), dv_i64(1500)};
        slow[i] = DVT_NOTNULL(dv_submit(c, "sleep_marked", 2, args, NULL));
    }
    DVT_TRUE(dvt_wait_text(NULL, mark, "wb", 30.0));
    DVT_EQ_I64(dvt_netns_ip("-n %s link set %s down", dvt_netns_host(0),
                            dvt_netns_host(0)),
               0);
    double t0 = dvt_now();
    for (int i = 0; i < NNEW; i++) {
        later[i] = DVT_NOTNULL(DV_SUBMIT(c, "inc", dv_i64(i)));
    }
    dvt_wait_workers(c, 1, 15.0);
    double lost = dvt_now() - t0;
    fprintf(stderr,
            "heartbeat_netns_test: a worker cut off was dropped after "
            "%.2f s (timeout 3 s)\n",
            lost);
    DVT_TRUE(lost >= 2.5 && lost < 5.5);
    for (int i = 0; i < NSLOW; i++) {
        DVT_EQ_STR(dv_value_str(DVT_RESULT(slow[i], 30.0), NULL), "wa");
    }
    for (int i = 0; i < NNEW; i++) {
        DVT_EQ_I64(DVT_RESULT_I64(later[i], 30.0), i + 1);
    }
    DVT_TRUE(dvt_wait_text(wb, NULL, "the scheduler went silent", 10.0));

    DVT_EQ_I64(dvt_netns_ip("-n %s link set %s up", dvt_netns_host(0),
                            dvt_netns_host(0)),
               0);
    double back = dvt_wait_workers(c, 2, 30.0);
    fprintf(stderr,
            "heartbeat_netns_test: with the link up again it "
            "rejoined in %.2f s\n",
            back);
    DVT_TRUE(dvt_wait_text(wb, NULL, "rejoined as a fresh worker", 5.0));
    char *log = dvt_proc_log(s);
    DVT_CONTAINS(log, "worker wb left: no heartbeat: nothing received for");
    free(log);

    /* It serves again, across hosts both ways. */
    dv_future *x = s_on(c, "wa", "inc", dv_i64(41));
    dv_future *y = s_on(c, "wb", "inc", dv_fut(x));
    dv_future *z = s_on(c, "wa", "inc", dv_fut(y));
    DVT_EQ_I64(DVT_RESULT_I64(z, 30.0), 44);
    dv_future *who = s_on(c, "wb", "whoami", dv_nil());
    DVT_EQ_STR(dv_value_str(DVT_RESULT(who, 30.0), NULL), "wb");
    dv_future *fs[] = {x, y, z, who};
    dvt_release_all(fs, 4);
    dvt_release_all(slow, NSLOW);
    dvt_release_all(later, NNEW);
    dv_close(c);
    dvt_proc_kill(wa);
    dvt_proc_kill(wb);
    dvt_proc_kill(s);
}

int
main(void)
{
    dvt_init(150);
    (void)dvt_funcs_anchor(); /* keeps libdvt_funcs.so linked */
    int rc = dvt_netns_make("dvh", "10.233.0");
    if (rc != 0) {
        return rc;
    }
    if (dvt_netns_enter(0) != 0) {
        return dvt_finish(1);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cut_off_worker_is_dropped_and_rejoins),
    };
    int failed = cmocka_run_group_tests_name("partition", tests, NULL, NULL);
    dvt_netns_delete();
    return dvt_finish(failed);
}
