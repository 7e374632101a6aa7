/* drove — integration: heartbeats, lost peers, and coming back.
 *
 * Daemons on 127.0.0.1 with a 1 s heartbeat and a 3 s timeout:
 *
 * - a task longer than the timeout does not make its worker look hung,
 *   not even one of a function that ran on the worker's loop thread;
 * - a worker stopped with SIGSTOP is dropped within the timeout; the
 *   tasks it ran or had queued, and those submitted while it is stopped,
 *   finish on the other worker; after SIGCONT it learns it was dropped,
 *   rejoins as a fresh worker, drops what its old session still delivers,
 *   and serves again; no result is wrong, none given twice;
 * - a client blocked in dv_result(f, -1) gets DV_ELOST naming the
 *   scheduler when the scheduler is killed (at once) or stopped (within
 *   the timeout), and so do dv_wait, dv_next_completed and dv_submit;
 * - a worker whose scheduler is killed and started again (same profile,
 *   same port) reconnects and serves the new one; one whose scheduler does
 *   not come back exits when its --reconnect-grace ends.
 *
 * The figures (time to drop a stopped worker, to tell the client, to
 * rejoin a restarted scheduler) are printed as `heartbeat_test: ...`.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dvt_funcs.h"
#include "dvtest.h"

#define S_TIMEOUT_S 3.0 /* --heartbeat-timeout below */

/* The daemons the running test started: a test that fails half-way must
 * not leave a scheduler (stopped, even) holding the profile's lock. */
static dvt_proc *s_live[8];
static int s_nlive;

static dvt_proc *
s_started(dvt_proc *p)
{
    if (s_nlive < (int)(sizeof(s_live) / sizeof(s_live[0]))) {
        s_live[s_nlive++] = p;
    }
    return p;
}

static int
s_teardown(void **state)
{
    for (int i = 0; i < s_nlive; i++) {
        if (dvt_proc_alive(s_live[i])) {
            kill(dvt_proc_pid(s_live[i]), SIGCONT);
        }
        dvt_proc_kill(s_live[i]);
    }
    s_nlive = 0;
    return 0;
}

/* Starts `drove scheduler` with a 1 s heartbeat and a 3 s timeout, on
 * address (NULL: where the profile recorded), and reads the address it
 * prints into out. */
static dvt_proc *
s_scheduler(const char *name, const char *address, char *out, size_t size)
{
    char *argv[10] = {(char *)dvt_drove_bin(), "scheduler", "--heartbeat", "1",
                      "--heartbeat-timeout",   "3"};
    int n = 6;
    if (address != NULL) {
        argv[n++] = "--address";
        argv[n++] = (char *)address;
    }
    argv[n] = NULL;
    dvt_proc *p = s_started(DVT_NOTNULL(dvt_spawn(name, argv)));
    DVT_PASS(dvt_proc_read_line(p, out, size, 20.0));
    return p;
}

/* Starts `drove worker --name name --threads threads` of the scheduler at
 * addr (NULL: the profile's connection file), and the extra arguments
 * (NULL-terminated). */
static dvt_proc *
s_worker(const char *name, const char *addr, const char *threads, ...)
{
    /* No nanny: the signals the tests send reach the worker itself. */
    char *argv[24] = {(char *)dvt_drove_bin(),
                      "worker",
                      "--no-nanny",
                      "--name",
                      (char *)name,
                      "--threads",
                      (char *)threads};
    int n = 7;
    if (addr != NULL) {
        argv[n++] = "--scheduler";
        argv[n++] = (char *)addr;
    }
    va_list ap;
    va_start(ap, threads);
    for (char *a; n < 23 && (a = va_arg(ap, char *)) != NULL;) {
        argv[n++] = a;
    }
    va_end(ap);
    argv[n] = NULL;
    char pname[64];
    snprintf(pname, sizeof(pname), "worker-%s", name);
    return s_started(DVT_NOTNULL(dvt_spawn(pname, argv)));
}

/* n calls of inc on 0..n-1, checked. */
static void
s_map_inc(dv_client *c, int n)
{
    dv_arg *args = calloc((size_t)n, sizeof(*args));
    dv_future **out = calloc((size_t)n, sizeof(*out));
    for (int i = 0; i < n; i++) {
        args[i] = dv_i64(i);
    }
    DVT_EQ_I64(dv_map(c, "inc", (size_t)n, args, out, NULL), n);
    for (int i = 0; i < n; i++) {
        DVT_EQ_I64(DVT_RESULT_I64(out[i], 30.0), i + 1);
    }
    dvt_release_all(out, (size_t)n);
    free(out);
    free(args);
}

/* Sends sig to pid after delay_s, from a child process (returned, to
 * reap): the test's main thread is meanwhile blocked in the call under
 * test. */
static pid_t
s_signal_later(pid_t pid, int sig, double delay_s)
{
    pid_t k = fork();
    DVT_TRUE(k >= 0);
    if (k == 0) {
        usleep((useconds_t)(delay_s * 1e6));
        kill(pid, sig);
        _exit(0);
    }
    return k;
}

/* n calls of pause_ms(ms), one after the other. */
static void
s_pauses(dv_client *c, int n, int64_t ms)
{
    for (int i = 0; i < n; i++) {
        dv_future *f = DVT_NOTNULL(DV_SUBMIT(c, "pause_ms", dv_i64(ms)));
        DVT_EQ_I64(DVT_RESULT_I64(f, 30.0), ms);
        dv_release(f);
    }
}

static void
test_long_tasks_do_not_look_hung(void **state)
{
    char addr[128];
    dvt_proc *s =
        s_scheduler("busy-scheduler", "tcp://127.0.0.1:0", addr, sizeof(addr));
    dvt_proc *w = s_worker("w-busy", addr, "1", NULL);
    dv_client *c = DVT_NOTNULL(dvt_connect(addr));
    dvt_wait_workers(c, 1, 30.0);
    /* Proven fast, pause_ms(0) runs on the worker's loop thread; one
     * slow call there, and it never does again, however fast its calls
     * are afterwards: else the long call below would hold the loop, and
     * the worker would look hung. */
    s_pauses(c, 20, 0);
    s_pauses(c, 1, 150);
    s_pauses(c, 150, 0);
    dv_future *f = DVT_NOTNULL(DV_SUBMIT(c, "pause_ms", dv_i64(6000)));
    while (dv_future_status(f) == DV_PENDING) {
        DVT_EQ_I64(dv_nworkers(c), 1);
        dvt_sleep(0.1);
    }
    DVT_EQ_I64(DVT_RESULT_I64(f, 1.0), 6000);
    dv_release(f);
    dv_close(c);
    char *log = dvt_proc_log(s);
    DVT_TRUE(strstr(log, "dropping it") == NULL);
    free(log);
    dvt_proc_kill(w);
    dvt_proc_kill(s);
}

static void
test_stopped_worker_is_dropped_and_rejoins(void **state)
{
    char addr[128], mark_long[256], mark[256];
    dvt_proc *s =
        s_scheduler("stop-scheduler", "tcp://127.0.0.1:0", addr, sizeof(addr));
    dvt_proc *w0 = s_worker("w0", addr, "2", "--log-level", "info", NULL);
    dvt_proc *w1 = s_worker("w1", addr, "1", NULL);
    dv_client *c = DVT_NOTNULL(dvt_connect(addr));
    dvt_wait_workers(c, 2, 30.0);

    /* On w0: a long task pinned there, and short ones that may run
     * anywhere, until w0 runs one of them too. */
    snprintf(mark_long, sizeof(mark_long), "%s/long", dvt_home());
    snprintf(mark, sizeof(mark), "%s/short", dvt_home());
    dv_future *pinned = dvt_sleep_marked(c, mark_long, 9000, "w0");
    enum { NSHORT = 4, NNEW = 20 };
    dv_future *shorts[NSHORT], *later[NNEW];
    for (int i = 0; i < NSHORT; i++) {
        shorts[i] = dvt_sleep_marked(c, mark, 1500, NULL);
    }
    DVT_TRUE(dvt_wait_text(NULL, mark_long, "w0", 30.0));
    DVT_TRUE(dvt_wait_text(NULL, mark, "w0", 30.0));
    DVT_EQ_I64(kill(dvt_proc_pid(w0), SIGSTOP), 0);
    double t0 = dvt_now();
    /* Submitted while it is stopped: some are placed on w0 before the
     * scheduler finds out. */
    for (int i = 0; i < NNEW; i++) {
        later[i] = DVT_NOTNULL(DV_SUBMIT(c, "inc", dv_i64(100 + i)));
    }
    dvt_wait_workers(c, 1, 15.0);
    double lost = dvt_now() - t0;
    fprintf(stderr,
            "heartbeat_test: a stopped worker was dropped after %.2f s "
            "(timeout %g s)\n",
            lost, S_TIMEOUT_S);
    DVT_TRUE(lost >= S_TIMEOUT_S - 0.5 && lost < S_TIMEOUT_S + 2.5);

    /* Everything w0 ran or held in its queue ran on w1 instead; the task
     * pinned to it errs, naming why. */
    for (int i = 0; i < NSHORT; i++) {
        DVT_EQ_STR(dv_value_str(DVT_RESULT(shorts[i], 30.0), NULL), "w1");
    }
    for (int i = 0; i < NNEW; i++) {
        DVT_EQ_I64(DVT_RESULT_I64(later[i], 30.0), 101 + i);
    }
    DVT_CONTAINS(DVT_ERROR(pinned, 10.0), "no heartbeat");
    double done = dvt_now() - t0;
    fprintf(stderr,
            "heartbeat_test: its tasks finished elsewhere %.2f s "
            "after SIGSTOP\n",
            done);
    DVT_TRUE(dvt_proc_alive(w0));

    DVT_EQ_I64(kill(dvt_proc_pid(w0), SIGCONT), 0);
    double back = dvt_wait_workers(c, 2, 20.0);
    fprintf(stderr, "heartbeat_test: after SIGCONT it rejoined in %.2f s\n",
            back);
    DVT_TRUE(dvt_wait_text(w0, NULL, "rejoined as a fresh worker", 10.0));
    DVT_TRUE(dvt_wait_text(w0, NULL,
                           "the scheduler said goodbye: declared lost", 1.0));
    /* The long task ends on w0 ~3 s after SIGCONT, in a session that is
     * over: its result goes nowhere. */
    DVT_TRUE(dvt_wait_text(w0, NULL, "dropped the late result of sleep_marked-",
                           15.0));

    /* Nothing changed its mind, and w0 serves again. */
    for (int i = 0; i < NSHORT; i++) {
        DVT_EQ_I64(dv_future_status(shorts[i]), DV_FINISHED);
        DVT_EQ_STR(dv_value_str(DVT_RESULT(shorts[i], 1.0), NULL), "w1");
    }
    DVT_EQ_I64(dv_future_status(pinned), DV_ERRED);
    dv_future *who = dvt_sleep_marked(c, "", 0, "w0");
    DVT_EQ_STR(dv_value_str(DVT_RESULT(who, 30.0), NULL), "w0");
    s_map_inc(c, 200);
    char *log = dvt_proc_log(s);
    DVT_CONTAINS(log, "worker w0 left: no heartbeat: nothing received for");
    free(log);

    dv_release(who);
    dv_release(pinned);
    dvt_release_all(shorts, NSHORT);
    dvt_release_all(later, NNEW);
    dv_close(c);
    dvt_proc_kill(w0);
    dvt_proc_kill(w1);
    dvt_proc_kill(s);
}

/* dv_result(f, -1) returns DV_ELOST naming the scheduler within limit_s
 * of sig reaching it; so do dv_wait, dv_next_completed and dv_submit. */
static void
s_client_loses_scheduler(int sig, const char *name, const char *why,
                         double limit_s)
{
    char addr[128];
    dvt_proc *s = s_scheduler(name, "tcp://127.0.0.1:0", addr, sizeof(addr));
    dvt_proc *w = s_worker(name, addr, "1", NULL);
    dv_client *c = DVT_NOTNULL(dvt_connect(addr));
    dvt_wait_workers(c, 1, 30.0);
    dv_future *f = DVT_NOTNULL(DV_SUBMIT(c, "sleep_ms", dv_i64(60000)));
    pid_t killer = s_signal_later(dvt_proc_pid(s), sig, 1.0);
    double t0 = dvt_now();
    DVT_TRUE(dv_result(f, -1) == NULL);
    double took = dvt_now() - t0 - 1.0;
    fprintf(stderr,
            "heartbeat_test: after %s of the scheduler, dv_result "
            "returned DV_ELOST in %.2f s: %s\n",
            sig == SIGKILL ? "SIGKILL" : "SIGSTOP", took, dv_last_error());
    DVT_EQ_I64(dv_last_code(), DV_ELOST);
    DVT_TRUE(took < limit_s);
    DVT_CONTAINS(dv_last_error(), "lost the scheduler at ");
    DVT_CONTAINS(dv_last_error(), addr);
    DVT_CONTAINS(dv_last_error(), why);
    DVT_EQ_I64(dv_future_status(f), DV_LOST);
    DVT_CONTAINS(dv_future_error(f), addr);
    DVT_FAILS_WITH(DV_ELOST, dv_wait(&f, 1, -1));
    DVT_TRUE(dv_next_completed(c, &f, 1, -1) == NULL);
    DVT_EQ_I64(dv_last_code(), DV_ELOST);
    DVT_TRUE(DV_SUBMIT(c, "inc", dv_i64(1)) == NULL);
    DVT_EQ_I64(dv_last_code(), DV_ELOST);
    DVT_FAILS_WITH(DV_ELOST, dv_nworkers(c));
    dv_release(f);
    dv_close(c);
    waitpid(killer, NULL, 0);
    DVT_TRUE(dvt_wait_text(w, NULL, "dialling it again", S_TIMEOUT_S + 5.0));
    kill(dvt_proc_pid(s), SIGCONT);
    /* The worker, dialling the scheduler again, still runs the task of
     * its lost session: SIGTERM ends it at once all the same. */
    int status = -1;
    DVT_EQ_I64(kill(dvt_proc_pid(w), SIGTERM), 0);
    DVT_EQ_I64(dvt_proc_wait(w, 3.0, &status), 0);
    DVT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    dvt_proc_kill(s);
}

static void
test_client_loses_killed_scheduler(void **state)
{
    /* The kernel closes the connection: no need to wait for silence. */
    s_client_loses_scheduler(SIGKILL, "killed-scheduler", "", 1.5);
}

static void
test_client_loses_stopped_scheduler(void **state)
{
    s_client_loses_scheduler(SIGSTOP, "stopped-scheduler", "went silent",
                             S_TIMEOUT_S + 2.0);
}

static void
test_worker_rejoins_restarted_scheduler(void **state)
{
    /* Both find each other through the default profile: the scheduler
     * listens where the connection file says, the worker dials what it
     * says. */
    char addr[128], again[128];
    dvt_proc *s = s_scheduler("restart-scheduler-1", NULL, addr, sizeof(addr));
    dvt_proc *w = s_worker("w-restart", NULL, "1", NULL);
    dv_client *c = DVT_NOTNULL(dvt_connect(addr));
    dvt_wait_workers(c, 1, 30.0);
    s_map_inc(c, 50);
    dv_close(c);

    DVT_EQ_I64(kill(dvt_proc_pid(s), SIGKILL), 0);
    dvt_proc_kill(s);
    DVT_TRUE(dvt_wait_text(w, NULL, "dialling it again for up to 60 s", 10.0));
    dvt_sleep(1.0); /* the worker dials a closed port meanwhile */
    s = s_scheduler("restart-scheduler-2", NULL, again, sizeof(again));
    double t0 = dvt_now();   /* it listens */
    DVT_EQ_STR(again, addr); /* the port it recorded */
    DVT_TRUE(dvt_wait_text(w, NULL, "rejoined as a fresh worker", 15.0));
    double back = dvt_now() - t0;
    fprintf(stderr,
            "heartbeat_test: a worker rejoined the restarted "
            "scheduler %.2f s after it listened\n",
            back);
    c = DVT_NOTNULL(dvt_connect(again));
    dvt_wait_workers(c, 1, 10.0);
    s_map_inc(c, 200);
    dv_close(c);
    DVT_TRUE(dvt_proc_alive(w));
    dvt_proc_kill(w);
    dvt_proc_kill(s);
}

static void
test_worker_exits_after_reconnect_grace(void **state)
{
    char addr[128];
    dvt_proc *s =
        s_scheduler("gone-scheduler", "tcp://127.0.0.1:0", addr, sizeof(addr));
    dvt_proc *w =
        s_worker("w-grace", addr, "1", "--reconnect-grace", "2", NULL);
    dv_client *c = DVT_NOTNULL(dvt_connect(addr));
    dvt_wait_workers(c, 1, 30.0);
    dv_close(c);
    /* The scheduler counts the worker before the worker has its welcome:
     * killed in between, it was never joined, and the worker tried again
     * for the first connection's 60 s instead of the grace. */
    DVT_TRUE(dvt_wait_text(w, NULL, ": joined, serving peers", 10.0));
    DVT_EQ_I64(kill(dvt_proc_pid(s), SIGKILL), 0);
    double t0 = dvt_now();
    int status = -1;
    int rc = dvt_proc_wait(w, 15.0, &status);
    double took = dvt_now() - t0;
    if (rc != 0 || took >= 6.0) {
        dvt_proc_dump_log(w); /* here, where CI's shortened output shows it */
    }
    DVT_EQ_I64(rc, 0);
    /* 2 s of grace, and at most 5 s to close down (the worker's exit
     * watchdog ends a close that hangs, and says where it hung). */
    DVT_TRUE(took >= 1.5 && took < 9.0);
    DVT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    DVT_TRUE(
        dvt_wait_text(w, NULL, "and it did not come back within 2 s", 1.0));
    dvt_proc_kill(s);
}

int
main(void)
{
    dvt_init(170);
    (void)dvt_funcs_anchor(); /* keeps libdvt_funcs.so linked */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_long_tasks_do_not_look_hung, s_teardown),
        cmocka_unit_test_teardown(test_stopped_worker_is_dropped_and_rejoins,
                                  s_teardown),
        cmocka_unit_test_teardown(test_client_loses_killed_scheduler,
                                  s_teardown),
        cmocka_unit_test_teardown(test_client_loses_stopped_scheduler,
                                  s_teardown),
        cmocka_unit_test_teardown(test_worker_rejoins_restarted_scheduler,
                                  s_teardown),
        cmocka_unit_test_teardown(test_worker_exits_after_reconnect_grace,
                                  s_teardown),
    };
    return dvt_finish(
        cmocka_run_group_tests_name("heartbeats", tests, NULL, NULL));
}
