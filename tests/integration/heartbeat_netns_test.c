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
#include "dvtest.h"

#define SKIP 77

static char s_ns[2][32]; /* the namespaces: host A, host B */
static const char *s_ip; /* the ip command */
static int s_made;       /* namespaces made, to delete */

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

static void
s_print_netns_log(const char *what)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/netns.log", dvt_home());
    char *log = dvt_read_file(path);
    fprintf(stderr, "heartbeat_netns_test: %s: %s\n", what, log ? log : "");
    free(log);
}

/* Makes hosts A and B. Returns 0, SKIP or 1 (reason printed). */
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
        fprintf(stderr, "heartbeat_netns_test: skipped: %s\n",
                s_ip ? "needs root to make network namespaces"
                     : "no `ip` command (iproute2)");
        return SKIP;
    }
    snprintf(s_ns[0], sizeof(s_ns[0]), "dvh%da", (int)getpid());
    snprintf(s_ns[1], sizeof(s_ns[1]), "dvh%db", (int)getpid());
    if (s_sh("%s netns add %s", s_ip, s_ns[0]) != 0) {
        s_print_netns_log("skipped: `ip netns add` failed");
        return SKIP;
    }
    s_made = 1;
    atexit(s_delete_namespaces);
    const char *a = s_ns[0], *b = s_ns[1];
    int rc = s_sh("%s netns add %s", s_ip, b);
    rc |= s_sh("%s link add %s netns %s type veth peer name %s netns %s", s_ip,
               a, a, b, b);
    rc |= s_sh("%s -n %s addr add 10.233.0.1/24 dev %s", s_ip, a, a);
    rc |= s_sh("%s -n %s addr add 10.233.0.2/24 dev %s", s_ip, b, b);
    for (int i = 0; i < 2; i++) {
        rc |= s_sh("%s -n %s link set lo up", s_ip, s_ns[i]);
        rc |= s_sh("%s -n %s link set %s up", s_ip, s_ns[i], s_ns[i]);
    }
    if (rc != 0) {
        s_print_netns_log("setting up the namespaces failed");
        return 1;
    }
    return 0;
}

/* Moves this process into ns (before any thread starts). */
static int
s_enter(const char *ns)
{
    char path[128];
    snprintf(path, sizeof(path), "/var/run/netns/%s", ns);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) {
        perror("heartbeat_netns_test: setns");
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
    return DVT_NOTNULL(dvt_spawn(name, argv));
}

/* Waits up to timeout_s until the file at path (NULL: p's log) contains
 * needle. */
static void
s_wait_text(dvt_proc *p, const char *path, const char *needle, double timeout_s)
{
    double deadline = dvt_now() + timeout_s;
    for (;;) {
        char *text = path ? dvt_read_file(path) : dvt_proc_log(p);
        int found = text != NULL && strstr(text, needle) != NULL;
        free(text);
        if (found) {
            return;
        }
        if (dvt_now() > deadline) {
            DVT_FAIL("no \"%s\" in %s within %g s", needle,
                     path ? path : dvt_proc_name(p), timeout_s);
        }
        dvt_sleep(0.01);
    }
}

static dv_future *
s_on(dv_client *c, const char *worker, const char *fn, dv_arg arg)
{
    dv_opts opts = DV_OPTS_INIT;
    opts.worker = worker;
    return DVT_NOTNULL(dv_submit(c, fn, 1, &arg, &opts));
}

static void
test_cut_off_worker_is_dropped_and_rejoins(void **state)
{
    char addr[128], mark[256];
    dvt_proc *s = s_spawn_in("scheduler-a", s_ns[0], "scheduler", "--address",
                             "tcp://10.233.0.1:0", "--heartbeat", "1",
                             "--heartbeat-timeout", "3", NULL);
    DVT_PASS(dvt_proc_read_line(s, addr, sizeof(addr), 20.0));
    dvt_proc *wa = s_spawn_in("worker-a", s_ns[0], "worker", "--scheduler",
                              addr, "--threads", "1", "--name", "wa", NULL);
    dvt_proc *wb = s_spawn_in("worker-b", s_ns[1], "worker", "--scheduler",
                              addr, "--threads", "1", "--name", "wb", NULL);
    dv_client *c = DVT_NOTNULL(dvt_connect(addr));
    dvt_wait_workers(c, 2, 30.0);

    snprintf(mark, sizeof(mark), "%s/started", dvt_home());
    enum { NSLOW = 4, NNEW = 20 };
    dv_future *slow[NSLOW], *later[NNEW];
    for (int i = 0; i < NSLOW; i++) {
        dv_arg args[2] = {dv_str(mark), dv_i64(1500)};
        slow[i] = DVT_NOTNULL(dv_submit(c, "sleep_marked", 2, args, NULL));
    }
    s_wait_text(NULL, mark, "wb", 30.0);
    DVT_EQ_I64(s_sh("%s -n %s link set %s down", s_ip, s_ns[0], s_ns[0]), 0);
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
    s_wait_text(wb, NULL, "the scheduler went silent", 10.0);

    DVT_EQ_I64(s_sh("%s -n %s link set %s up", s_ip, s_ns[0], s_ns[0]), 0);
    double back = dvt_wait_workers(c, 2, 30.0);
    fprintf(stderr,
            "heartbeat_netns_test: with the link up again it "
            "rejoined in %.2f s\n",
            back);
    s_wait_text(wb, NULL, "rejoined as a fresh worker", 5.0);
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
    int rc = s_make_namespaces();
    if (rc != 0) {
        return rc;
    }
    if (s_enter(s_ns[0]) != 0) {
        return dvt_finish(1);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cut_off_worker_is_dropped_and_rejoins),
    };
    int failed = cmocka_run_group_tests_name("partition", tests, NULL, NULL);
    s_delete_namespaces();
    return dvt_finish(failed);
}
