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
#include "dvtest.h"

#define SKIP 77

static char s_ns[2][32];  /* the namespaces: host A, host B */
static const char *s_ip;  /* the ip command */
static int s_made;        /* namespaces made, to delete */
static dvt_proc *s_sched; /* in A */
static dvt_proc *s_wa;    /* in A */
static dvt_proc *s_wb;    /* in B */
static char s_addr[128];  /* what the scheduler printed */
static char s_dial[128];  /* A's address with the scheduler's port */
static dv_client *s_client;

/* Runs a shell command (formatted), its output to HOME/netns.log; returns
 * its exit status. */
static int
s_sh(const char *fmt, ...)
{
    char cmd[512], full[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    snprintf(full, sizeof(full), "%s >>%s/netns.log 2>&1", cmd, dvt_home());
    int rc = system(full);
    return rc == -1 ? -1 : WEXITSTATUS(rc);
}

static void
s_delete_namespaces(void)
{
    if (s_made) {
        s_sh("%s netns del %s", s_ip, s_ns[0]);
        s_sh("%s netns del %s", s_ip, s_ns[1]);
        s_made = 0;
    }
}

/* Makes hosts A and B. Returns 0, or SKIP (reason printed). */
static int
s_make_namespaces(void)
{
    static const char *const paths[] = {"/usr/sbin/ip", "/sbin/ip",
                                        "/usr/bin/ip", "/bin/ip"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        if (access(paths[i], X_OK) == 0) {
            s_ip = paths[i];
            break;
        }
    }
    if (s_ip == NULL || geteuid() != 0) {
        fprintf(stderr, "netns_test: skipped: %s\n",
                s_ip ? "needs root to make network namespaces"
                     : "no `ip` command (iproute2)");
        return SKIP;
    }
    snprintf(s_ns[0], sizeof(s_ns[0]), "dvn%da", (int)getpid());
    snprintf(s_ns[1], sizeof(s_ns[1]), "dvn%db", (int)getpid());
    if (s_sh("%s netns add %s", s_ip, s_ns[0]) != 0) {
        char path[256];
        snprintf(path, sizeof(path), "%s/netns.log", dvt_home());
        char *log = dvt_read_file(path);
        fprintf(stderr, "netns_test: skipped: `ip netns add` failed: %s\n",
                log ? log : "");
        free(log);
        return SKIP;
    }
    s_made = 1;
    atexit(s_delete_namespaces);
    const char *a = s_ns[0], *b = s_ns[1];
    int rc = s_sh("%s netns add %s", s_ip, b);
    /* The pair is made inside the namespaces: it never touches the host's
     * own network, and goes with them. */
    rc |= s_sh("%s link add %s netns %s type veth peer name %s netns %s", s_ip,
               a, a, b, b);
    rc |= s_sh("%s -n %s addr add 10.231.0.1/24 dev %s", s_ip, a, a);
    rc |= s_sh("%s -n %s addr add 10.231.0.2/24 dev %s", s_ip, b, b);
    for (int i = 0; i < 2; i++) {
        rc |= s_sh("%s -n %s link set lo up", s_ip, s_ns[i]);
        rc |= s_sh("%s -n %s link set %s up", s_ip, s_ns[i], s_ns[i]);
    }
    if (rc != 0) {
        char path[256];
        snprintf(path, sizeof(path), "%s/netns.log", dvt_home());
        char *log = dvt_read_file(path);
        fprintf(stderr, "netns_test: setting up the namespaces failed:\n%s\n",
                log ? log : "");
        free(log);
        return 1;
    }
    return 0;
}

/* Moves this process into host A (before any thread starts). */
static int
s_enter(const char *ns)
{
    char path[128];
    snprintf(path, sizeof(path), "/var/run/netns/%s", ns);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) {
        perror("netns_test: setns");
        return -1;
    }
    close(fd);
    return 0;
}

/* `ip netns exec NS drove ARGS...` (NULL-terminated). */
static dvt_proc *
s_spawn_in(const char *name, const char *ns, ...)
{
    char *argv[24] = {(char *)s_ip, "netns", "exec", (char *)ns,
                      (char *)dvt_drove_bin()};
    int n = 5;
    va_list ap;
    va_start(ap, ns);
    for (char *arg; n < 23 && (arg = va_arg(ap, char *)) != NULL;) {
        argv[n++] = arg;
    }
    va_end(ap);
    argv[n] = NULL;
    return dvt_spawn(name, argv);
}

static int
s_start_cluster(void)
{
    s_sched = s_spawn_in("scheduler-a", s_ns[0], "scheduler", "--address",
                         "tcp://0.0.0.0:0", NULL);
    if (s_sched == NULL ||
        dvt_proc_read_line(s_sched, s_addr, sizeof(s_addr), 20.0) != 0) {
        return -1;
    }
    /* Dial host A's address whatever the scheduler printed: the next
     * tests check the workers apart from what it prints. */
    snprintf(s_dial, sizeof(s_dial), "tcp://10.231.0.1:%s",
             strrchr(s_addr, ':') + 1);
    s_wa = s_spawn_in("worker-a", s_ns[0], "worker", "--scheduler", s_dial,
                      "--threads", "1", "--name", "wa", NULL);
    s_wb = s_spawn_in("worker-b", s_ns[1], "worker", "--scheduler", s_dial,
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
    int rc = s_make_namespaces();
    if (rc != 0) {
        return rc;
    }
    if (s_enter(s_ns[0]) != 0 || s_start_cluster() != 0) {
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
    s_delete_namespaces();
    return dvt_finish(failed);
}
