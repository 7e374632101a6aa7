/* drove — integration: the worker's nanny, cancels that stop work, and
 * time limits.
 *
 * Three `drove worker` daemons of one thread, each under its nanny, with
 * --cancel-grace 0.25 s. A worker process killed (the OOM killer's
 * SIGKILL) or crashed by a task (a segfault) is replaced and rejoins under
 * its name; a task that crashed three of them errs "killed worker" and the
 * cluster is whole again for the next map. A cancelled call that sleeps
 * for a minute without looking is stopped by restarting its worker
 * process, which is free again within a second; a call past its
 * dv_opts.timeout errs "timed out" the same way, not as a worker's death;
 * a call that checks dv_call_cancelled() returns by itself and its worker
 * process lives on. The same limits on local:processes and local:threads
 * (whose threads cannot be stopped, as drove.h says). Prints the figures:
 * from dv_cancel to the worker running a pinned task, and from a worker
 * process's death to its successor running one.
 */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dvt_funcs.h"
#include "dvtest.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define S_SLOW 3.0 /* sanitized processes start and run slower */
#else
#define S_SLOW 1.0
#endif

static dvt_cluster s_cl;

/* The worker process of the nanny with pid nanny (its child), or 0. */
static pid_t
s_child_of(pid_t nanny)
{
    DIR *d = opendir("/proc");
    pid_t found = 0;
    for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;) {
        char path[64], *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end != '\0' || pid <= 0) {
            continue;
        }
        snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
        char *text = dvt_read_file(path);
        char *close = text ? strrchr(text, ')') : NULL;
        char state;
        int ppid;
        if (close != NULL && sscanf(close + 1, " %c %d", &state, &ppid) == 2 &&
            ppid == (int)nanny && state != 'Z') {
            found = (pid_t)pid;
        }
        free(text);
    }
    if (d != NULL) {
        closedir(d);
    }
    return found;
}

/* Worker i's process now (the child of its nanny), waiting up to 5 s for
 * one to be there. */
static pid_t
s_worker_pid(int i)
{
    double deadline = dvt_now() + 5.0;
    pid_t pid;
    while ((pid = s_child_of(dvt_proc_pid(s_cl.workers[i]))) == 0 &&
           dvt_now() < deadline) {
        dvt_sleep(0.005);
    }
    return pid;
}

/* How many times needle occurs in the stderr logs of the three nannies
 * (their workers write there too). */
static int
s_in_logs(const char *needle)
{
    int n = 0;
    for (int i = 0; i < s_cl.nworkers; i++) {
        char *log = dvt_proc_log(s_cl.workers[i]);
        for (char *p = log; p != NULL && (p = strstr(p, needle)) != NULL; p++) {
            n++;
        }
        free(log);
    }
    return n;
}

/* Runs whoami pinned to worker id until it answers id, submitting again
 * while it errs (pinned to a worker that is stopping, or has left and
 * not yet rejoined). Returns the seconds from t0 to the answer. */
static double
s_pinned_runs(dv_client *c, const char *id, double t0, double timeout_s)
{
    double deadline = t0 + timeout_s;
    dv_opts opts = DV_OPTS_INIT;
    opts.worker = id;
    while (dvt_now() < deadline) {
        dv_future *f = dv_submit(c, "whoami", 0, NULL, &opts);
        DVT_TRUE(f != NULL);
        const dv_value *v = dv_result(f, deadline - dvt_now());
        if (v != NULL) {
            double t = dvt_now() - t0;
            DVT_EQ_STR(dv_value_str(v, NULL), id);
            dv_release(f);
            return t;
        }
        dv_release(f);
        dvt_sleep(0.002);
    }
    DVT_FAIL("no task pinned to worker %s ran within %g s", id, timeout_s);
    return -1;
}

/* The path of a marker file for one test, fresh. */
static void
s_path(char *buf, size_t size, const char *what)
{
    snprintf(buf, size, "%s/%s", dvt_home(), what);
    remove(buf);
}

/* Submits sleep_marked or sleep_coop (fn) for 60 s pinned to worker id,
 * with a time limit (0: none), once the worker is there, and waits until
 * the call runs. */
static dv_future *
s_start_sleeper(dv_client *c, const char *fn, const char *id, double timeout,
                const char *path)
{
    s_pinned_runs(c, id, dvt_now(), 20.0 * S_SLOW); /* it is there */
    dv_opts opts = DV_OPTS_INIT;
    opts.worker = id;
    opts.timeout = timeout;
    dv_future *f = DVT_NOTNULL(
        dv_submit(c, fn, 2, (dv_arg[]){dv_str(path), dv_i64(60000)}, &opts));
    DVT_TRUE(dvt_wait_text(NULL, path, id, 20.0));
    return f;
}

/* ---- The nanny ---------------------------------------------------------- */

static void
test_killed_process_is_replaced(void **state)
{
    dv_client *c = *state;
    pid_t before = s_worker_pid(0);
    DVT_TRUE(before > 0);
    double t0 = dvt_now();
    kill(before, SIGKILL); /* as the OOM killer would */
    double back = s_pinned_runs(c, "w0", t0, 10.0 * S_SLOW);
    fprintf(stderr,
            "dvtest: figure: worker process SIGKILLed -> its successor "
            "ran a pinned task: %.3f s\n",
            back);
    DVT_LT_I64(back * 1000, 2000 * S_SLOW);
    DVT_NE_I64(s_worker_pid(0), before);
    DVT_TRUE(dvt_proc_alive(s_cl.workers[0]));
    DVT_GE_I64(s_in_logs("worker process died of signal 9 (Killed); "
                         "restarting"),
               1);
}

static void
test_segfaults_err_killed_worker(void **state)
{
    dv_client *c = *state;
    char path[512];
    s_path(path, sizeof(path), "crash");
    int died = s_in_logs("died of signal 11 (Segmentation fault)");
    double t0 = dvt_now();
    dv_future *f = DVT_NOTNULL(DV_SUBMIT(c, "crash_marked", dv_str(path)));
    DVT_CONTAINS(DVT_ERROR(f, 60.0), "killed worker");
    dv_release(f);
    DVT_EQ_I64(dvt_count_lines(path), 3);
    /* The nannies bring every worker back, under its own name. */
    const char *ids[] = {"w0", "w1", "w2"};
    for (int i = 0; i < 3; i++) {
        s_pinned_runs(c, ids[i], dvt_now(), 20.0 * S_SLOW);
    }
    fprintf(stderr,
            "dvtest: figure: three crashes and the cluster whole "
            "again: %.3f s\n",
            dvt_now() - t0);
    DVT_EQ_I64(dv_nworkers(c), 3);
    DVT_EQ_I64(s_in_logs("worker process died of signal 11 (Segmentation "
                         "fault); restarting"),
               died + 3);
    for (int i = 0; i < 3; i++) {
        DVT_TRUE(dvt_proc_alive(s_cl.workers[i]));
    }
    /* And the next map runs, on all three. */
    enum { N = 300 };
    dv_arg args[N];
    dv_future *out[N];
    for (int i = 0; i < N; i++) {
        args[i] = dv_i64(i);
    }
    DVT_EQ_I64(dv_map(c, "inc", N, args, out, NULL), N);
    DVT_PASS(dv_wait(out, N, 60.0));
    for (int i = 0; i < N; i++) {
        DVT_EQ_I64(DVT_RESULT_I64(out[i], 5.0), i + 1);
    }
    dvt_release_all(out, N);
}

/* ---- Cancels and time limits on daemons --------------------------------- */

static void
test_cancel_frees_the_worker(void **state)
{
    dv_client *c = *state;
    char path[512];
    s_path(path, sizeof(path), "cancel");
    int ended = s_in_logs("ended itself to stop a call");
    dv_future *f = s_start_sleeper(c, "sleep_marked", "w1", 0, path);
    pid_t before = s_worker_pid(1);
    double t0 = dvt_now();
    DVT_PASS(dv_cancel(f));
    DVT_EQ_I64(dv_future_status(f), DV_CANCELLED);
    double freed = s_pinned_runs(c, "w1", t0, 10.0 * S_SLOW);
    fprintf(stderr,
            "dvtest: figure: dv_cancel of a 60 s sleep -> its worker ran "
            "a pinned task: %.3f s (grace 0.25 s)\n",
            freed);
    DVT_LT_I64(freed * 1000, 1000 * S_SLOW);
    DVT_NE_I64(s_worker_pid(1), before);
    DVT_EQ_I64(s_in_logs("ended itself to stop a call"), ended + 1);
    dv_release(f);
}

static void
test_timeout_stops_the_call(void **state)
{
    dv_client *c = *state;
    char path[512];
    s_path(path, sizeof(path), "timeout");
    double t0 = dvt_now();
    dv_future *f = s_start_sleeper(c, "sleep_marked", "w2", 0.5, path);
    const char *error = DVT_ERROR(f, 10.0 * S_SLOW);
    double took = dvt_now() - t0;
    fprintf(stderr,
            "dvtest: figure: a 60 s call with timeout 0.5 s erred "
            "after %.3f s: \"%s\"\n",
            took, error);
    DVT_CONTAINS(error, "timed out after 0.5 s");
    DVT_LT_I64(took * 1000, 3000 * S_SLOW);
    dv_release(f);
    /* The worker runs the next call. */
    s_pinned_runs(c, "w2", dvt_now(), 10.0 * S_SLOW);
    DVT_EQ_I64(dvt_count_lines(path), 1); /* not run again elsewhere */
}

static void
test_cooperative_call_returns(void **state)
{
    dv_client *c = *state;
    char path[512];
    s_path(path, sizeof(path), "coop");
    dv_future *f = s_start_sleeper(c, "sleep_coop", "w0", 0, path);
    pid_t before = s_worker_pid(0);
    DVT_PASS(dv_cancel(f));
    DVT_TRUE(dvt_wait_text(NULL, path, "cancelled after", 2.0 * S_SLOW));
    dv_release(f);
    /* Past its grace, the same process still serves. */
    dvt_sleep(0.5);
    s_pinned_runs(c, "w0", dvt_now(), 5.0 * S_SLOW);
    DVT_EQ_I64(s_worker_pid(0), before);

    /* A time limit the same way: it errs as timed out. */
    s_path(path, sizeof(path), "coop-timeout");
    f = s_start_sleeper(c, "sleep_coop", "w0", 0.3, path);
    DVT_CONTAINS(DVT_ERROR(f, 10.0 * S_SLOW), "timed out after 0.3 s");
    DVT_TRUE(dvt_wait_text(NULL, path, "cancelled after", 1.0));
    dv_release(f);
    DVT_EQ_I64(s_worker_pid(0), before);
}

/* ---- Embedded clusters -------------------------------------------------- */

/* local:processes replaces a process that ended to stop a call;
 * local:threads cannot stop one: it errs on time, the thread runs on. */
static void
test_embedded_timeout(void **state)
{
    dv_client *c = *state;
    dv_opts opts = DV_OPTS_INIT;
    opts.timeout = -1;
    DVT_TRUE(dv_submit(c, "inc", 1, (dv_arg[]){dv_i64(1)}, &opts) == NULL);
    DVT_EQ_I64(dv_last_code(), DV_EINVAL);
    DVT_CONTAINS(dv_last_error(), "dv_opts.timeout is -1");
    opts.timeout = 0.3;
    double t0 = dvt_now();
    dv_future *f = DVT_NOTNULL(dv_submit(
        c, "sleep_ms", 1,
        (dv_arg[]){dv_i64(dvt_kind == DVT_THREADS ? 2500 : 60000)}, &opts));
    DVT_CONTAINS(DVT_ERROR(f, 10.0 * S_SLOW), "timed out after 0.3 s");
    double took = dvt_now() - t0;
    DVT_LT_I64(took * 1000, 2400 * S_SLOW);
    dv_release(f);
    f = DVT_NOTNULL(DV_SUBMIT(c, "inc", dv_i64(1)));
    DVT_EQ_I64(DVT_RESULT_I64(f, 10.0 * S_SLOW), 2);
    dv_release(f);
}

static void
test_embedded_cooperative_cancel(void **state)
{
    dv_client *c = *state;
    char path[512];
    s_path(path, sizeof(path), dvt_kind == DVT_THREADS ? "t-coop" : "p-coop");
    dv_future *f =
        DVT_NOTNULL(DV_SUBMIT(c, "sleep_coop", dv_str(path), dv_i64(60000)));
    DVT_TRUE(dvt_wait_text(NULL, path, "\n", 20.0));
    DVT_PASS(dv_cancel(f));
    DVT_TRUE(dvt_wait_text(NULL, path, "cancelled after", 2.0 * S_SLOW));
    dv_release(f);
}

static int
s_daemons_setup(void **state)
{
    /* Under their nannies; a short grace keeps the test short. */
    static const char *const args[] = {"--cancel-grace", "0.25", NULL};
    if (dvt_cluster_start_args(&s_cl, 3, 1, args) != 0) {
        return -1;
    }
    *state = dvt_connect(s_cl.addr);
    return *state ? 0 : -1;
}

static int
s_daemons_teardown(void **state)
{
    dv_close(*state);
    dvt_cluster_stop(&s_cl);
    return 0;
}

int
main(void)
{
    dvt_init(240);
    (void)dvt_funcs_anchor(); /* keeps libdvt_funcs.so linked */
    const struct CMUnitTest daemons[] = {
        cmocka_unit_test(test_killed_process_is_replaced),
        cmocka_unit_test(test_segfaults_err_killed_worker),
        cmocka_unit_test(test_cancel_frees_the_worker),
        cmocka_unit_test(test_timeout_stops_the_call),
        cmocka_unit_test(test_cooperative_call_returns),
    };
    int failed = cmocka_run_group_tests_name(
        "nanny on daemons", daemons, s_daemons_setup, s_daemons_teardown);
    const struct CMUnitTest embedded[] = {
        cmocka_unit_test(test_embedded_timeout),
        cmocka_unit_test(test_embedded_cooperative_cancel),
    };
    failed += dvt_run_clusters("limits", embedded,
                               sizeof(embedded) / sizeof(embedded[0]),
                               DVT_THREADS | DVT_PROCESSES);
    return dvt_finish(failed);
}
