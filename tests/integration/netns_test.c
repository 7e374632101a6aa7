/* drove — integration: a cluster across two hosts.
 *
 * Two network namespaces joined by a veth pair play two hosts, A
 * (10.231.0.1) and B (10.231.0.2), with no route to anything else. The
 * scheduler listens on tcp://0.0.0.0:0 in A and must print A's address,
 * not 0.0.0.0. Worker wa runs in A with the default --listen, worker wb in
 * B with --listen tcp://0.0.0.0:0; the client (this process, moved into
 * A) runs tasks whose input was made on the other host, and fetches a
 * large result from B: each worker must have advertised an address the
 * other host can reach, not 127.0.0.1 or 0.0.0.0.
 *
 * Needs root and `ip netns` (the recipe of shared/recipes/sshd-mpi-netns.md,
 * part C). It makes its namespaces with names of its own and deletes
 * them when it ends; it skips (exit 77) only if they cannot be made.
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

static dvt_proc *s_sched; /* in A */
static dvt_proc *s_wa;    /* in A */
static dvt_proc *s_wb;    /* in B */
static char s_addr[128];  /* what the scheduler printed */
static char s_dial[128];  /* A's address with the scheduler's port */
static dv_client *s_client;

static int
s_start_cluster(void)
{
    s_sched = dvt_netns_spawn("scheduler-a", 0, "scheduler", "--address",
                              "tcp://0.0.0.0:0", NULL);
    if (s_sched == NULL ||
        dvt_proc_read_line(s_sched, s_addr, sizeof(s_addr), 20.0) != 0) {
        return -1;
    }
    /* Dial host A's address whatever the scheduler printed: the next
     * tests check the workers apart from what it prints. */
    snprintf(s_dial, sizeof(s_dial), "tcp://10.231.0.1:%s",
             strrchr(s_addr, ':') + 1);
    s_wa = dvt_netns_spawn("worker-a", 0, "worker", "--scheduler", s_dial,
                           "--threads", "1", "--name", "wa", NULL);
    s_wb = dvt_netns_spawn("worker-b", 1, "worker", "--scheduler", s_dial,
                           "--threads", "1", "--name", "wb", "--listen",
                           "tcp://0.0.0.0:0", NULL);
    if (s_wa == NULL || s_wb == NULL) {
        return -1;
    }
    s_client = dvt_connect(s_dial);
    double deadline = dvt_now() + 30.0;
    while (s_client && dv_nworkers(s_client) < 2 && dvt_now() < deadline) {
        dvt_sleep(0.02);
    }
    if (s_client == NULL || dv_nworkers(s_client) < 2) {
        fprintf(stderr, "netns_test: the cluster did not come up\n");
        dvt_proc_dump_log(s_sched);
        dvt_proc_dump_log(s_wa);
        dvt_proc_dump_log(s_wb);
        return -1;
    }
    return 0;
}

static dv_future *
s_on(const char *worker, const char *fn, dv_arg arg)
{
    dv_opts opts = DV_OPTS_INIT;
    opts.worker = worker;
    return DVT_NOTNULL(dv_submit(s_client, fn, 1, &arg, &opts));
}

static void
test_scheduler_prints_a_reachable_address(void **state)
{
    DVT_EQ_STR(s_addr, s_dial);
    char *log = dvt_proc_log(s_sched);
    DVT_CONTAINS(log, "reachable at tcp://10.231.0.1:");
    free(log);
}

static void
test_workers_advertise_reachable_addresses(void **state)
{
    char *log = dvt_proc_log(s_sched);
    DVT_CONTAINS(log, "worker wa joined from tcp://10.231.0.1:");
    DVT_CONTAINS(log, "(1 threads, peers at tcp://10.231.0.1:");
    DVT_CONTAINS(log, "worker wb joined from tcp://10.231.0.2:");
    DVT_CONTAINS(log, "(1 threads, peers at tcp://10.231.0.2:");
    free(log);
}

static void
test_inputs_cross_hosts(void **state)
{
    /* Made on one host, used on the other: each worker fetches from the
     * address the other advertised. */
    dv_future *x = s_on("wa", "inc", dv_i64(41));
    dv_future *y = s_on("wb", "inc", dv_fut(x));
    DVT_EQ_I64(DVT_RESULT_I64(y, 60.0), 43);
    dv_future *u = s_on("wb", "inc", dv_i64(9));
    dv_future *v = s_on("wa", "inc", dv_fut(u));
    DVT_EQ_I64(DVT_RESULT_I64(v, 60.0), 11);
    dv_future *fs[] = {x, y, u, v};
    dvt_release_all(fs, 4);
}

static void
test_client_fetches_from_the_other_host(void **state)
{
    /* 800 KB: too large to come back inline, the client (on A) fetches
     * it from wb (on B), and wa fetches it too. */
    dv_future *big = s_on("wb", "make_f64s", dv_i64(100000));
    size_t n = 0;
    const double *v = dv_value_f64s(DVT_RESULT(big, 60.0), &n);
    DVT_EQ_I64(n, 100000);
    DVT_EQ_F64(v[99999], 99999 % 1024, 0);
    dv_future *st = s_on("wa", "f64s_stats", dv_fut(big));
    DVT_EQ_I64(dv_value_i64(dv_value_at(DVT_RESULT(st, 60.0), 0)), 100000);
    dv_release(st);
    dv_release(big);
}

int
main(void)
{
    dvt_init(150);
    (void)dvt_funcs_anchor(); /* keeps libdvt_funcs.so linked */
    int rc = dvt_netns_make("dvn", "10.231.0");
    if (rc != 0) {
        return rc;
    }
    if (dvt_netns_enter(0) != 0 || s_start_cluster() != 0) {
        return dvt_finish(1);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scheduler_prints_a_reachable_address),
        cmocka_unit_test(test_workers_advertise_reachable_addresses),
        cmocka_unit_test(test_inputs_cross_hosts),
        cmocka_unit_test(test_client_fetches_from_the_other_host),
    };
    int failed = cmocka_run_group_tests_name("two hosts", tests, NULL, NULL);
    dv_close(s_client);
    dvt_proc_kill(s_wa);
    dvt_proc_kill(s_wb);
    dvt_proc_kill(s_sched);
    dvt_netns_delete();
    return dvt_finish(failed);
}
