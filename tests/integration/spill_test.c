/* drove — integration: a worker under a memory limit spills, pauses and
 * gives everything back.
 *
 * test_results_three_times_the_limit: one `drove worker --memory-limit
 * 64M --spill-dir DIR` computes 200 distinct arrays of about 1 MiB
 * (make_f64s), all held by the client's futures: three times its limit.
 * While it runs, its spill directory (drove-spill-PID-XXXXXX in DIR, mode
 * 0700) holds files and its peak RSS stays under 1.125 times the limit; a
 * second round of tasks (f64s_stats) reads every result back from disk
 * as an input and gets the right length and sum; the client fetches
 * every result and checks it whole, then releases all but the last few,
 * and their files go; after SIGTERM, ended at once past its grace with a
 * task still running, the directory is gone.
 *
 * test_paused_worker_gets_no_new_tasks: w0 may spill nothing before it
 * pauses (--memory-target 1.0, --memory-pause 0.5 of a limit 12 MiB above
 * an idle worker's RSS, 17 under ASan), w1 has no limit. A 24 MiB result pinned
 * to w0 pushes it over its pause fraction: its log says paused, the scheduler's
 * too, twenty new tasks all run on w1, and a task pinned to w0 waits.
 * Releasing the result brings w0's memory down: it resumes and the
 * pinned task runs there. The times from the result to the pause and
 * from the release to the resumption are printed.
 *
 * test_dead_workers_directory_removed: a worker process killed with
 * SIGKILL leaves its spill directory behind; the one its nanny starts
 * next removes it. (The other tests run their workers without the nanny,
 * so that the process measured and signalled is the worker.)
 *
 * Sanitizers keep freed memory in quarantine (RSS does not fall) and add
 * their own: the workers run with ASan's quarantine off, and the limits
 * are set from an idle worker's RSS rather than fixed. Under
 * ThreadSanitizer, whose shadow memory keeps growing, the pause test is
 * skipped.
 */
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dvt_funcs.h"
#include "dvtest.h"

#define MIB (1024 * 1024)
#define S_NRESULTS 200
#define S_NDOUBLES (MIB / 8) /* result i has S_NDOUBLES + i doubles */
#define S_HELD 10            /* results still held when the worker stops */

#define S_MAX_WORKERS 8

/* Where w0 pauses, above an idle worker's RSS: below what the 24 MiB
 * result adds, above what a worker keeps once it is released. Under
 * AddressSanitizer a worker that made the result keeps about 14 MiB more
 * than an idle one (its allocator's caches: CI saw 42.7 MiB against a
 * line at 41), so the line sits higher there. */
#if defined(__SANITIZE_ADDRESS__)
#define S_PAUSE_ABOVE_IDLE_MIB 17
#else
#define S_PAUSE_ABOVE_IDLE_MIB 12
#endif

/* The peak RSS a worker under a limit of mib MiB stays below, in KiB. Under
 * ThreadSanitizer, whose shadow memory grows with what the process
 * touches, only what spilled and came back right is checked. */
#if defined(__SANITIZE_THREAD__)
#define S_RSS_BOUND_KIB(mib) INT64_MAX
#else
#define S_RSS_BOUND_KIB(mib) ((int64_t)(mib)*1024 * 9 / 8)
#endif

static char s_addr[128];
static dvt_proc *s_sched;
static dvt_proc *s_workers[S_MAX_WORKERS]; /* started by the running test */
static int s_nworkers;

/* Starts `drove worker --scheduler s_addr --threads 2 --name name` with
 * the extra arguments (NULL-terminated), without its nanny unless asked:
 * the process measured and signalled is then the worker itself. */
static dvt_proc *
s_worker_nanny(const char *name, int nanny, const char *const *extra)
{
    char *argv[24] = {(char *)dvt_drove_bin(),
                      "worker",
                      "--scheduler",
                      s_addr,
                      "--threads",
                      "2",
                      "--name",
                      (char *)name};
    int n = 8;
    if (!nanny) {
        argv[n++] = "--no-nanny";
    }
    for (; extra && *extra && n < 23; extra++) {
        argv[n++] = (char *)*extra;
    }
    argv[n] = NULL;
    char pname[64];
    snprintf(pname, sizeof(pname), "worker-%s", name);
    dvt_proc *p = DVT_NOTNULL(dvt_spawn(pname, argv));
    if (s_nworkers < S_MAX_WORKERS) {
        s_workers[s_nworkers++] = p;
    }
    return p;
}

static dvt_proc *
s_worker(const char *name, const char *const *extra)
{
    return s_worker_nanny(name, 0, extra);
}

/* After each test, whatever it left running: a failed test must not leave
 * workers that the next one counts. */
static int
s_teardown(void **state)
{
    for (int i = 0; i < s_nworkers; i++) {
        dvt_proc_kill(s_workers[i]);
    }
    s_nworkers = 0;
    return 0;
}

/* A field of /proc/PID/status in KiB ("VmHWM"), or -1. */
static int64_t
s_status_kib(pid_t pid, const char *field)
{
    char path[64], *text;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    if ((text = dvt_read_file(path)) == NULL) {
        return -1;
    }
    const char *at = strstr(text, field);
    int64_t kib = at ? strtoll(at + strlen(field) + 1, NULL, 10) : -1;
    free(text);
    return kib;
}

/* The sum of make_f64s(n): element i is i % 1024. */
static double
s_sum(int64_t n)
{
    int64_t r = n % 1024;
    return (double)(n / 1024) * (1023.0 * 1024.0 / 2) +
           (double)(r * (r - 1) / 2);
}

/* The spill directory in parent (exactly one, or fails), into out. */
static void
s_spill_dir(const char *parent, char *out, size_t size)
{
    DIR *d = opendir(parent);
    DVT_TRUE(d != NULL);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "drove-spill-", 12) == 0) {
            snprintf(out, size, "%s/%s", parent, e->d_name);
            n++;
        }
    }
    closedir(d);
    DVT_EQ_I64(n, 1);
}

static int
s_count_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        return -1;
    }
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        n += e->d_name[0] != '.';
    }
    closedir(d);
    return n;
}

/* Occurrences of needle in p's log. */
static int
s_log_count(dvt_proc *p, const char *needle)
{
    char *log = dvt_proc_log(p);
    int n = 0;
    for (const char *at = log; at && (at = strstr(at, needle)); at++) {
        n++;
    }
    free(log);
    return n;
}

/* The time of day in seconds (from its ISO-8601 stamp) of the first line
 * of p's log that contains needle, or -1. */
static double
s_log_time(dvt_proc *p, const char *needle)
{
    char *log = dvt_proc_log(p);
    const char *at = log ? strstr(log, needle) : NULL;
    double t = -1;
    while (at && at > log && at[-1] != '\n') {
        at--;
    }
    int h, m;
    double sec;
    if (at && sscanf(at, "%*d-%*d-%*dT%d:%d:%lfZ", &h, &m, &sec) == 3) {
        t = h * 3600 + m * 60 + sec;
    }
    free(log);
    return t;
}

/* Waits up to timeout_s for needle to appear at least `times` times in
 * p's log; returns the seconds waited, or -1 if it did not. */
static double
s_log_within(dvt_proc *p, const char *needle, int times, double timeout_s)
{
    double t0 = dvt_now();
    while (s_log_count(p, needle) < times) {
        if (dvt_now() - t0 > timeout_s) {
            return -1;
        }
        dvt_sleep(0.005);
    }
    return dvt_now() - t0;
}

/* As s_log_within, failing the test if it did not appear. */
static double
s_wait_log(dvt_proc *p, const char *needle, int times, double timeout_s)
{
    double waited = s_log_within(p, needle, times, timeout_s);
    if (waited < 0) {
        dvt_proc_dump_log(p);
        DVT_FAIL("%s did not log \"%s\" within %g s", dvt_proc_name(p), needle,
                 timeout_s);
    }
    return waited;
}

/* The RSS of an idle worker in MiB, rounded up, and at least 8: what
 * limits are set from (sanitizers add tens of MiB). */
static int64_t
s_idle_mib(dvt_proc *w)
{
    int64_t kib = dvt_proc_rss_kib(dvt_proc_pid(w));
    DVT_TRUE(kib > 0);
    return kib / 1024 + 1 > 8 ? kib / 1024 + 1 : 8;
}

static void
s_check_round_two(dv_client *c, dv_future **fs)
{
    dv_arg args[S_NRESULTS];
    dv_future *gs[S_NRESULTS];
    for (int i = 0; i < S_NRESULTS; i++) {
        args[i] = dv_fut(fs[i]);
    }
    double t0 = dvt_now();
    DVT_EQ_I64(dv_map(c, "f64s_stats", S_NRESULTS, args, gs, NULL), S_NRESULTS);
    DVT_PASS(dv_wait(gs, S_NRESULTS, 120.0));
    fprintf(stderr, "dvtest: %d inputs read back by tasks in %.2f s\n",
            S_NRESULTS, dvt_now() - t0);
    for (int i = 0; i < S_NRESULTS; i++) {
        const dv_value *st = DVT_RESULT(gs[i], 10.0);
        int64_t n = S_NDOUBLES + i;
        DVT_EQ_I64(dv_value_i64(dv_value_at(st, 0)), n);
        DVT_EQ_F64(dv_value_f64(dv_value_at(st, 1)), s_sum(n), 0.0);
    }
    dvt_release_all(gs, S_NRESULTS);
}

static void
s_check_fetched(dv_future **fs)
{
    double t0 = dvt_now();
    for (int i = 0; i < S_NRESULTS; i++) {
        size_t n = 0;
        const double *v = dv_value_f64s(DVT_RESULT(fs[i], 30.0), &n);
        DVT_EQ_I64(n, S_NDOUBLES + i);
        double sum = 0;
        for (size_t k = 0; k < n; k++) {
            sum += v[k];
        }
        DVT_EQ_F64(sum, s_sum((int64_t)n), 0.0);
        if (i < S_NRESULTS - S_HELD) {
            dv_release(fs[i]); /* the client keeps no more than one */
        }
    }
    fprintf(stderr, "dvtest: %d results fetched by the client in %.2f s\n",
            S_NRESULTS, dvt_now() - t0);
}

static void
test_results_three_times_the_limit(void **state)
{
    char parent[512], dir[768], limit[32];
    snprintf(parent, sizeof(parent), "%s/spill", dvt_home());
    DVT_EQ_I64(mkdir(parent, 0700), 0);
    /* 64 MiB, or what a sanitized idle worker needs plus 32 MiB. */
    dvt_proc *probe = s_worker("probe", NULL);
    dv_client *c = DVT_NOTNULL(dvt_connect(s_addr));
    dvt_wait_workers(c, 1, 30.0);
    int64_t limit_mib = s_idle_mib(probe) + 32;
    limit_mib = limit_mib < 64 ? 64 : limit_mib;
    dvt_proc_kill(probe);
    dvt_wait_workers(c, 0, 30.0);
    snprintf(limit, sizeof(limit), "%lldM", (long long)limit_mib);
    const char *extra[] = {"--memory-limit", limit, "--spill-dir", parent,
                           "--grace",        "1",   NULL};
    dvt_proc *w = s_worker("s0", extra);
    dvt_wait_workers(c, 1, 30.0);

    dv_arg args[S_NRESULTS];
    dv_future *fs[S_NRESULTS];
    for (int i = 0; i < S_NRESULTS; i++) {
        args[i] = dv_i64(S_NDOUBLES + i);
    }
    double t0 = dvt_now();
    DVT_EQ_I64(dv_map(c, "make_f64s", S_NRESULTS, args, fs, NULL), S_NRESULTS);
    DVT_PASS(dv_wait(fs, S_NRESULTS, 120.0));
    double made_s = dvt_now() - t0;
    int64_t hwm = s_status_kib(dvt_proc_pid(w), "VmHWM");
    s_spill_dir(parent, dir, sizeof(dir));
    struct stat st;
    DVT_EQ_I64(stat(dir, &st), 0);
    DVT_EQ_I64(st.st_mode & 0777, 0700);
    /* Results past 60% of the limit go to disk, once the writes under way
     * are done. */
    int want = S_NRESULTS - (int)(limit_mib * 6 / 10);
    double deadline = dvt_now() + 10.0;
    while (s_count_files(dir) < want && dvt_now() < deadline) {
        dvt_sleep(0.01);
    }
    int files = s_count_files(dir);
    fprintf(stderr,
            "dvtest: %d results of ~1 MiB under a %lld MiB limit in %.2f s; "
            "%d spilled to %s; peak RSS %.1f MiB\n",
            S_NRESULTS, (long long)limit_mib, made_s, files, dir,
            (double)hwm / 1024);
    DVT_GE_I64(files, want);
    DVT_LT_I64(hwm, S_RSS_BOUND_KIB(limit_mib));
    DVT_TRUE(s_log_count(w, "spilling results to ") == 1);

    s_check_round_two(c, fs);
    s_check_fetched(fs);
    fprintf(stderr, "dvtest: s0 paused %d times, resumed %d times\n",
            s_log_count(w, ": paused: "), s_log_count(w, ": resumed: "));
    int64_t hwm_end = s_status_kib(dvt_proc_pid(w), "VmHWM");
    fprintf(stderr, "dvtest: peak RSS after reading back: %.1f MiB\n",
            (double)hwm_end / 1024);
    DVT_LT_I64(hwm_end, S_RSS_BOUND_KIB(limit_mib));

    /* Released, the results' files go, but for those of the last few,
     * still held. On SIGTERM with a task running past the grace, the
     * worker ends at once (_exit), and still takes its directory. */
    deadline = dvt_now() + 10.0;
    while (s_count_files(dir) > S_HELD && dvt_now() < deadline) {
        dvt_sleep(0.01);
    }
    DVT_LT_I64(s_count_files(dir), S_HELD + 1);
    dv_arg ms = dv_i64(60000);
    dv_future *busy = DVT_NOTNULL(dv_submit(c, "sleep_ms", 1, &ms, NULL));
    dvt_sleep(0.3);
    dvt_proc_kill(w);
    DVT_TRUE(s_log_count(w, "exiting with 1 tasks unfinished") == 1);
    DVT_EQ_I64(stat(dir, &st), -1);
    dv_release(busy);
    dvt_release_all(fs + S_NRESULTS - S_HELD, S_HELD);
    dv_close(c);
}

static void
test_paused_worker_gets_no_new_tasks(void **state)
{
#if defined(__SANITIZE_THREAD__)
    /* ThreadSanitizer's shadow memory grows a worker's RSS by tens of MiB
     * as it runs, past a pause line set 12 MiB above an idle one. */
    skip();
#endif
    dvt_proc *w1 =
        s_worker("w1", (const char *[]){"--memory-limit", "none", NULL});
    dv_client *c = DVT_NOTNULL(dvt_connect(s_addr));
    dvt_wait_workers(c, 1, 30.0);
    /* w0 pauses S_PAUSE_ABOVE_IDLE_MIB above an idle worker's RSS, and
     * spills nothing. */
    char limit[32];
    snprintf(limit, sizeof(limit), "%lldM",
             (long long)(s_idle_mib(w1) + S_PAUSE_ABOVE_IDLE_MIB) * 2);
    const char *extra[] = {"--memory-limit",
                           limit,
                           "--memory-target",
                           "1.0",
                           "--memory-pause",
                           "0.5",
                           NULL};
    dvt_proc *w0 = s_worker("w0", extra);
    dvt_wait_workers(c, 2, 30.0);

    /* A 24 MiB result pinned to w0 takes it past its pause fraction. */
    dv_opts pin = DV_OPTS_INIT;
    pin.worker = "w0";
    dv_arg big = dv_i64(3 * MIB);
    dv_future *fill = DVT_NOTNULL(dv_submit(c, "make_f64s", 1, &big, &pin));
    DVT_RESULT(fill, 30.0);
    double to_pause = s_wait_log(w0, ": paused: ", 1, 10.0);
    s_wait_log(s_sched, "worker w0 paused", 1, 10.0);
    /* Nothing new goes to w0: tasks anyone may run go to w1, and one
     * pinned to w0 waits. */
    dv_future *pinned = DVT_NOTNULL(dv_submit(c, "whoami", 0, NULL, &pin));
    dv_future *any[20];
    for (int i = 0; i < 20; i++) {
        any[i] = DVT_NOTNULL(dv_submit(c, "whoami", 0, NULL, NULL));
    }
    for (int i = 0; i < 20; i++) {
        DVT_EQ_STR(dv_value_str(DVT_RESULT(any[i], 30.0), NULL), "w1");
    }
    DVT_TRUE(dv_result(pinned, 0.5) == NULL);
    DVT_EQ_I64(dv_future_status(pinned), DV_PENDING);

    /* Released, the results leave w0's memory: it resumes. */
    double t0 = dvt_now();
    dv_release(fill);
    s_wait_log(w0, ": resumed: ", 1, 20.0);
    double to_resume = dvt_now() - t0;
    s_wait_log(s_sched, "worker w0 resumed", 1, 10.0);
    DVT_EQ_STR(dv_value_str(DVT_RESULT(pinned, 30.0), NULL), "w0");
    fprintf(stderr,
            "dvtest: w0 paused %.3f s after its 24 MiB result was done, "
            "and resumed %.3f s after its release; the scheduler knew "
            "%.0f ms and %.0f ms after w0 logged each\n",
            to_pause, to_resume,
            (s_log_time(s_sched, "worker w0 paused") -
             s_log_time(w0, "w0: paused: ")) *
                1000,
            (s_log_time(s_sched, "worker w0 resumed") -
             s_log_time(w0, "w0: resumed: ")) *
                1000);
    dv_release(pinned);
    dvt_release_all(any, 20);
    dv_close(c);
    dvt_proc_kill(w0);
    dvt_proc_kill(w1);
}

/* The first child process of pid, or 0 (waits up to 10 s for one). */
static pid_t
s_child_of(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid,
             (int)pid);
    for (double deadline = dvt_now() + 10.0; dvt_now() < deadline;) {
        char *text = dvt_read_file(path);
        long child = text ? strtol(text, NULL, 10) : 0;
        free(text);
        if (child > 0) {
            return (pid_t)child;
        }
        dvt_sleep(0.01);
    }
    return 0;
}

/* A worker process killed (SIGKILL: the OOM killer, say) leaves its spill
 * directory; the one its nanny starts next removes it, and says so. */
static void
test_dead_workers_directory_removed(void **state)
{
    char parent[512], dir[768];
    snprintf(parent, sizeof(parent), "%s/spill-dead", dvt_home());
    DVT_EQ_I64(mkdir(parent, 0700), 0);
    const char *extra[] = {
        "--memory-limit", "64M", "--memory-target", "0.1", "--spill-dir",
        parent,           NULL};
    dvt_proc *k0 = s_worker_nanny("k0", 1, extra);
    dv_client *c = DVT_NOTNULL(dvt_connect(s_addr));
    dvt_wait_workers(c, 1, 30.0);
    enum { N = 16 };
    dv_arg args[N];
    dv_future *fs[N];
    for (int i = 0; i < N; i++) {
        args[i] = dv_i64(S_NDOUBLES + 5000 + i);
    }
    DVT_EQ_I64(dv_map(c, "make_f64s", N, args, fs, NULL), N);
    DVT_PASS(dv_wait(fs, N, 60.0));
    s_spill_dir(parent, dir, sizeof(dir));
    /* Spilling follows the memory watch's reading, not the results: on a
     * loaded machine it may come after the last one is done. */
    for (double deadline = dvt_now() + 30.0;
         s_count_files(dir) <= 0 && dvt_now() < deadline;) {
        dvt_sleep(0.02);
    }
    DVT_TRUE(s_count_files(dir) > 0);
    pid_t child = s_child_of(dvt_proc_pid(k0));
    DVT_TRUE(child > 0);
    DVT_EQ_I64(kill(child, SIGKILL), 0);
    s_wait_log(k0, "removed 1 spill directories", 1, 30.0);
    struct stat st;
    DVT_EQ_I64(stat(dir, &st), -1);
    dvt_release_all(fs, N);
    dv_close(c);
}

int
main(void)
{
    dvt_init(300);
    (void)dvt_funcs_anchor();
    /* Freed memory must leave the workers' RSS, also under ASan. */
    char asan[512];
    const char *was = getenv("ASAN_OPTIONS");
    snprintf(asan, sizeof(asan), "%s%squarantine_size_mb=0", was ? was : "",
             was && was[0] ? ":" : "");
    setenv("ASAN_OPTIONS", asan, 1);
    char *argv[] = {(char *)dvt_drove_bin(), "scheduler", "--address",
                    "tcp://127.0.0.1:0", NULL};
    s_sched = dvt_spawn("scheduler", argv);
    if (s_sched == NULL ||
        dvt_proc_read_line(s_sched, s_addr, sizeof(s_addr), 20.0) != 0) {
        return dvt_finish(1);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_results_three_times_the_limit,
                                  s_teardown),
        cmocka_unit_test_teardown(test_paused_worker_gets_no_new_tasks,
                                  s_teardown),
        cmocka_unit_test_teardown(test_dead_workers_directory_removed,
                                  s_teardown),
    };
    return dvt_finish(cmocka_run_group_tests_name("spill", tests, NULL, NULL));
}
