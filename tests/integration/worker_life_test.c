/* drove — integration: a worker daemon's start and stop.
 *
 * A worker may start before its scheduler: it keeps trying, and joins
 * when the scheduler comes up. One whose scheduler never comes gives up
 * after --connect-timeout, naming the address; one pointed at a port that
 * speaks another protocol (an SSH server) says so at once. On SIGTERM a
 * busy worker lets its running task finish there (the future names the
 * worker that ran it) while the tasks it had not started run on the other
 * worker, and then exits 0; a second SIGTERM, or the end of --grace,
 * ends it at once even though a 30 s task is still running. Either way,
 * and when it ends its process to stop a call that would not, what only
 * it holds moves to the worker that stays first.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dvt_funcs.h"
#include "dvtest.h"

/* A TCP port on 127.0.0.1 that was free a moment ago. */
static int
s_free_port(void)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    DVT_TRUE(fd >= 0);
    DVT_EQ_I64(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    DVT_EQ_I64(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

/* Starts `drove worker --scheduler addr --threads 1 --name name` and the
 * extra arguments (NULL-terminated). */
static dvt_proc *
s_worker(const char *name, const char *addr, ...)
{
    char *argv[24] = {(char *)dvt_drove_bin(),
                      "worker",
                      "--scheduler",
                      (char *)addr,
                      "--threads",
                      "1",
                      "--name",
                      (char *)name};
    int n = 8;
    va_list ap;
    va_start(ap, addr);
    for (char *a; n < 23 && (a = va_arg(ap, char *)) != NULL;) {
        argv[n++] = a;
    }
    va_end(ap);
    argv[n] = NULL;
    char pname[64];
    snprintf(pname, sizeof(pname), "worker-%s", name);
    return DVT_NOTNULL(dvt_spawn(pname, argv));
}

/* Starts a scheduler on address (port 0 for any) and reads the address it
 * prints into out. */
static dvt_proc *
s_scheduler(const char *name, const char *address, char *out, size_t size)
{
    char *argv[] = {(char *)dvt_drove_bin(), "scheduler", "--address",
                    (char *)address, NULL};
    dvt_proc *p = DVT_NOTNULL(dvt_spawn(name, argv));
    DVT_PASS(dvt_proc_read_line(p, out, size, 20.0));
    return p;
}

/* Waits up to timeout_s for the process to exit; returns its exit code
 * (fails the test if it was killed by a signal or is still running). */
static int
s_exit_code(dvt_proc *p, double timeout_s)
{
    int status = 0;
    if (dvt_proc_wait(p, timeout_s, &status) != 0) {
        DVT_FAIL("%s still runs after %g s", dvt_proc_name(p), timeout_s);
    }
    if (!WIFEXITED(status)) {
        DVT_FAIL("%s ended with status 0x%x", dvt_proc_name(p), status);
    }
    return WEXITSTATUS(status);
}

static void
s_log_contains(dvt_proc *p, const char *needle)
{
    char *log = dvt_proc_log(p);
    DVT_CONTAINS(log, needle);
    free(log);
}

static void
test_worker_starts_before_scheduler(void **state)
{
    char addr[64], printed[128];
    snprintf(addr, sizeof(addr), "tcp://127.0.0.1:%d", s_free_port());
    dvt_proc *w = s_worker("early", addr, NULL);
    dvt_sleep(2.0);
    if (!dvt_proc_alive(w)) {
        dvt_proc_dump_log(w);
        DVT_FAIL("the worker gave up before its scheduler started");
    }
    dvt_proc *s = s_scheduler("late-scheduler", addr, printed, 128);
    DVT_EQ_STR(printed, addr);
    dv_client *c = DVT_NOTNULL(dvt_connect(addr));
    dvt_wait_workers(c, 1, 30.0);
    dv_future *f = DVT_NOTNULL(dv_submit(c, "whoami", 0, NULL, NULL));
    DVT_EQ_STR(dv_value_str(DVT_RESULT(f, 30.0), NULL), "early");
    dv_release(f);
    dv_close(c);
    /* It waited: for the profile the scheduler makes on its first start,
     * or (with a profile already there) for the scheduler's port. */
    char *log = dvt_proc_log(w);
    DVT_TRUE(strstr(log, "waiting up to") || strstr(log, "trying again"));
    free(log);
    dvt_proc_kill(w);
    dvt_proc_kill(s);
}

static void
test_no_scheduler_gives_up(void **state)
{
    char addr[64], want[160];
    snprintf(addr, sizeof(addr), "tcp://127.0.0.1:%d", s_free_port());
    double t0 = dvt_now();
    dvt_proc *w = s_worker("alone", addr, "--connect-timeout", "2", NULL);
    DVT_EQ_I64(s_exit_code(w, 30.0), 1);
    DVT_TRUE(dvt_now() - t0 >= 1.5); /* it kept trying */
    snprintf(want, sizeof(want),
             "drove worker: no scheduler answered at %s within 2 s: "
             "connection refused",
             addr);
    s_log_contains(w, want);
}

static void
test_port_of_another_protocol(void **state)
{
    /* A port that answers with an SSH banner: the worker says at once
     * that it does not speak TLS (drove's protocol on tcp), showing what
     * it sent, not that it sent a frame of 1.3 GB, and does not keep
     * trying for 60 s. */
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    DVT_EQ_I64(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    DVT_EQ_I64(listen(lfd, 4), 0);
    DVT_EQ_I64(getsockname(lfd, (struct sockaddr *)&sa, &len), 0);
    char addr[64];
    snprintf(addr, sizeof(addr), "tcp://127.0.0.1:%d", ntohs(sa.sin_port));
    dvt_proc *w = s_worker("ssh", addr, NULL);
    struct pollfd pfd = {lfd, POLLIN, 0};
    DVT_EQ_I64(poll(&pfd, 1, 20000), 1);
    int fd = accept(lfd, NULL, NULL);
    DVT_TRUE(fd >= 0);
    const char banner[] = "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n";
    DVT_EQ_I64(send(fd, banner, strlen(banner), MSG_NOSIGNAL),
               (int64_t)strlen(banner));
    DVT_EQ_I64(s_exit_code(w, 20.0), 1);
    s_log_contains(w, addr);
    s_log_contains(w, "does not speak TLS");
    s_log_contains(w, "SSH-2.0-OpenSSH_9.2p1");
    char *log = dvt_proc_log(w);
    DVT_TRUE(strstr(log, "frame of") == NULL);
    free(log);
    close(fd);
    close(lfd);
}

static void
test_sigterm_finishes_running_work(void **state)
{
    char addr[128], mark[256];
    dvt_proc *s =
        s_scheduler("stop-scheduler", "tcp://127.0.0.1:0", addr, sizeof(addr));
    dvt_proc *w0 = s_worker("w0", addr, "--grace", "60", NULL);
    dvt_proc *w1 = s_worker("w1", addr, NULL);
    dv_client *c = DVT_NOTNULL(dvt_connect(addr));
    dvt_wait_workers(c, 2, 30.0);
    snprintf(mark, sizeof(mark), "%s/running-on-w0", dvt_home());
    dv_future *running = dvt_sleep_marked(c, mark, 2000, "w0");
    DVT_TRUE(dvt_wait_text(NULL, mark, "\n", 30.0));
    /* More work than w1 alone takes at once: some of it waits on w0. */
    enum { N = 6 };
    dv_future *queued[N];
    for (int i = 0; i < N; i++) {
        queued[i] = dvt_sleep_marked(c, "", 300, NULL);
    }
    DVT_EQ_I64(kill(dvt_proc_pid(w0), SIGTERM), 0);
    /* The task running on w0 finished there... */
    DVT_EQ_STR(dv_value_str(DVT_RESULT(running, 60.0), NULL), "w0");
    /* ...and all the rest ran on w1, none erring. */
    for (int i = 0; i < N; i++) {
        DVT_EQ_STR(dv_value_str(DVT_RESULT(queued[i], 60.0), NULL), "w1");
    }
    DVT_EQ_I64(s_exit_code(w0, 30.0), 0);
    dvt_wait_workers(c, 1, 30.0);
    dv_release(running);
    dvt_release_all(queued, N);
    dv_close(c);
    s_log_contains(w0, "stopping (signal 15)");
    s_log_contains(s, "worker w0 is stopping");
    dvt_proc_kill(w1);
    dvt_proc_kill(s);
}

static void
test_second_signal_and_grace_end_it(void **state)
{
    char addr[128], mark[256];
    dvt_proc *s =
        s_scheduler("end-scheduler", "tcp://127.0.0.1:0", addr, sizeof(addr));
    dvt_proc *w = s_worker("w-signals", addr, "--grace", "60", NULL);
    dvt_proc *g = s_worker("w-grace", addr, "--grace", "1", NULL);
    dv_client *c = DVT_NOTNULL(dvt_connect(addr));
    dvt_wait_workers(c, 2, 30.0);

    snprintf(mark, sizeof(mark), "%s/long-signals", dvt_home());
    dv_future *f = dvt_sleep_marked(c, mark, 30000, "w-signals");
    DVT_TRUE(dvt_wait_text(NULL, mark, "\n", 30.0));
    DVT_EQ_I64(kill(dvt_proc_pid(w), SIGTERM), 0);
    dvt_sleep(1.0);
    DVT_TRUE(dvt_proc_alive(w)); /* its task has 60 s of grace */
    DVT_EQ_I64(kill(dvt_proc_pid(w), SIGTERM), 0);
    DVT_EQ_I64(s_exit_code(w, 10.0), 0);
    s_log_contains(w, "stopping now on signal 15");
    dv_release(f);

    snprintf(mark, sizeof(mark), "%s/long-grace", dvt_home());
    f = dvt_sleep_marked(c, mark, 30000, "w-grace");
    DVT_TRUE(dvt_wait_text(NULL, mark, "\n", 30.0));
    DVT_EQ_I64(kill(dvt_proc_pid(g), SIGTERM), 0);
    DVT_EQ_I64(s_exit_code(g, 15.0), 0);
    s_log_contains(g, "grace period is over");
    dv_release(f);
    dv_close(c);
    dvt_proc_kill(s);
}

/* Runs holder_of(f): the id of the worker that read f's result. */
static const char *
s_holder_of(dv_client *c, dv_future *f)
{
    dv_future *h = DVT_NOTNULL(DV_SUBMIT(c, "holder_of", dv_fut(f)));
    static char id[64];
    snprintf(id, sizeof(id), "%s", dv_value_str(DVT_RESULT(h, 30.0), NULL));
    dv_release(h);
    return id;
}

/* Makes, on w0 alone, a result pinned there (its run marked in mark), a
 * 300,001-byte one, and a scattered value; then starts w1 at addr. */
static dvt_proc *
s_results_on_w0(dv_client *c, const char *addr, const char *mark,
                dv_future *out[3])
{
    out[0] = dvt_sleep_marked(c, mark, 1, "w0");
    dv_opts o = DV_OPTS_INIT;
    o.worker = "w0";
    dv_arg n = dv_i64(300001);
    out[1] = DVT_NOTNULL(dv_submit(c, "make_bytes", 1, &n, &o));
    out[2] = DVT_NOTNULL(dv_scatter(c, dv_i64(424242)));
    DVT_EQ_I64(dv_wait(out, 3, 30.0), 0);
    dvt_proc *w1 = s_worker("w1", addr, NULL);
    dvt_wait_workers(c, 2, 30.0);
    return w1;
}

/* What s_results_on_w0 made is read on w1, after w0 left: none of it
 * computed again (the pinned one could not be: w0 is gone), the
 * scattered value (which has no lineage) still there. */
static void
s_results_on_w1(dv_client *c, const char *mark, dv_future *made[3])
{
    dvt_wait_workers(c, 1, 30.0);
    DVT_EQ_STR(s_holder_of(c, made[0]), "w1");
    DVT_EQ_STR(s_holder_of(c, made[1]), "w1");
    dv_future *e = DVT_NOTNULL(DV_SUBMIT(c, "echo", dv_fut(made[1])));
    size_t n = 0;
    DVT_TRUE(dv_value_bytes(DVT_RESULT(e, 30.0), &n) != NULL);
    DVT_EQ_I64(n, 300001);
    dv_future *i = DVT_NOTNULL(DV_SUBMIT(c, "inc", dv_fut(made[2])));
    DVT_EQ_I64(DVT_RESULT_I64(i, 30.0), 424243);
    DVT_EQ_I64(dvt_count_lines(mark), 1);
    dv_release(e);
    dv_release(i);
    dvt_release_all(made, 3);
}

/* A worker stopped by SIGTERM moves what only it holds to the worker
 * that stays before it exits (dask's retire_workers). */
static void
test_sigterm_moves_results_away(void **state)
{
    char addr[128], mark[256];
    dvt_proc *s =
        s_scheduler("move-scheduler", "tcp://127.0.0.1:0", addr, sizeof(addr));
    dvt_proc *w0 = s_worker("w0", addr, "--no-nanny", NULL);
    dv_client *c = DVT_NOTNULL(dvt_connect(addr));
    dvt_wait_workers(c, 1, 30.0);
    snprintf(mark, sizeof(mark), "%s/made-on-w0", dvt_home());
    dv_future *made[3];
    dvt_proc *w1 = s_results_on_w0(c, addr, mark, made);
    DVT_EQ_I64(kill(dvt_proc_pid(w0), SIGTERM), 0);
    DVT_EQ_I64(s_exit_code(w0, 30.0), 0);
    s_results_on_w1(c, mark, made);
    dv_close(c);
    s_log_contains(w0, "leaving");
    s_log_contains(s, "worker w0 is leaving");
    dvt_proc_kill(w1);
    dvt_proc_kill(s);
}

/* A worker that ends its process to stop a cancelled call that would not
 * stop moves what only it holds away first. */
static void
test_stopping_a_call_moves_results_away(void **state)
{
    char addr[128], mark[256], stuck_mark[256];
    dvt_proc *s = s_scheduler("stop-move-scheduler", "tcp://127.0.0.1:0", addr,
                              sizeof(addr));
    dvt_proc *w0 =
        s_worker("w0", addr, "--no-nanny", "--cancel-grace", "0.5", NULL);
    dv_client *c = DVT_NOTNULL(dvt_connect(addr));
    dvt_wait_workers(c, 1, 30.0);
    snprintf(mark, sizeof(mark), "%s/made-on-w0-stop", dvt_home());
    dv_future *made[3];
    dvt_proc *w1 = s_results_on_w0(c, addr, mark, made);
    snprintf(stuck_mark, sizeof(stuck_mark), "%s/stuck-on-w0", dvt_home());
    dv_future *stuck = dvt_sleep_marked(c, stuck_mark, 30000, "w0");
    DVT_TRUE(dvt_wait_text(NULL, stuck_mark, "\n", 30.0));
    DVT_EQ_I64(dv_cancel(stuck), 0);
    DVT_EQ_I64(s_exit_code(w0, 30.0), 75); /* to be started afresh */
    s_results_on_w1(c, mark, made);
    dv_release(stuck);
    dv_close(c);
    s_log_contains(w0, "ending the worker process");
    s_log_contains(s, "worker w0 is leaving");
    dvt_proc_kill(w1);
    dvt_proc_kill(s);
}

int
main(void)
{
    dvt_init(170);
    (void)dvt_funcs_anchor(); /* keeps libdvt_funcs.so linked */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_worker_starts_before_scheduler),
        cmocka_unit_test(test_no_scheduler_gives_up),
        cmocka_unit_test(test_port_of_another_protocol),
        cmocka_unit_test(test_sigterm_finishes_running_work),
        cmocka_unit_test(test_second_signal_and_grace_end_it),
        cmocka_unit_test(test_sigterm_moves_results_away),
        cmocka_unit_test(test_stopping_a_call_moves_results_away),
    };
    return dvt_finish(
        cmocka_run_group_tests_name("worker life", tests, NULL, NULL));
}
