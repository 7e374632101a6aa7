/* drove — integration: the memory a stored result costs, and memory given
 * back once results are released.
 *
 * A million tiny tasks (inc), submitted with dv_map in waves and all held
 * at once, then all released. Measured from the outside, as VmRSS of
 * /proc/PID/status: the worker processes (the children of this process on
 * local:processes=2; the `drove worker` daemons on tcp) and, on tcp, the
 * `drove scheduler` daemon.
 *
 *   - With every result held, the workers together have grown by less
 *     than S_MAX_BYTES_PER_RESULT bytes per stored result (about 160
 *     now; about 4,300 when each result kept msgpack's 8 KiB starting
 *     buffer).
 *   - Once every future is released, each process settles back near
 *     where it started: within S_BACK_PCT percent plus S_BACK_KIB of its
 *     RSS before the run, waited for up to 30 s (now within a few hundred
 *     KiB; before, workers stayed near 2 GB and the scheduler at its
 *     peak of some 270 MB).
 *
 * The workers start at a few MiB, so the allowance is about 20 MiB: a
 * hundred times less than what a regression of either kind keeps.
 * Sanitizers bring their own allocators, whose figures mean nothing here:
 * a sanitized build runs twenty thousand tasks, checks their results and
 * skips the figures.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>

#include "dvt_funcs.h"
#include "dvtest.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define S_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define S_SANITIZED 1
#endif
#endif
#ifndef S_SANITIZED
#define S_SANITIZED 0
#endif

#define S_NTASKS (S_SANITIZED ? 20000 : 1000000)
#define S_WAVE 50000 /* calls per dv_map */
#define S_WARMUP 2000
#define S_MAX_BYTES_PER_RESULT 200
#define S_BACK_PCT 20
#define S_BACK_KIB (16 * 1024)
/* Growth so far past this many bytes per result ends the run early, so
 * that a regression does not take the machine's memory first. */
#define S_BAIL_BYTES_PER_RESULT 2000
#define S_MAX_PROCS 3

/* The processes watched: the workers, then (tcp) the scheduler. */
typedef struct s_watch {
    pid_t pid[S_MAX_PROCS];
    const char *name[S_MAX_PROCS];
    int n, nworkers;
    int64_t start[S_MAX_PROCS]; /* KiB */
} s_watch;

static void
s_find_processes(s_watch *w)
{
    w->n = 0;
    if (dvt_kind == DVT_TCP) {
        dvt_cluster *cl = DVT_NOTNULL(dvt_tcp_cluster());
        for (int i = 0; i < cl->nworkers && i < 2; i++) {
            w->name[w->n] = i == 0 ? "worker w0" : "worker w1";
            w->pid[w->n++] = dvt_proc_pid(cl->workers[i]);
        }
        w->nworkers = w->n;
        w->name[w->n] = "scheduler";
        w->pid[w->n++] = dvt_proc_pid(cl->sched);
        return;
    }
    /* local:processes=2: this process has no other children. */
    pid_t kids[8];
    int n = dvt_children(kids, 8);
    DVT_EQ_I64(n, 2);
    for (int i = 0; i < n; i++) {
        w->name[i] = i == 0 ? "worker process 0" : "worker process 1";
        w->pid[i] = kids[i];
    }
    w->n = w->nworkers = n;
}

static int64_t
s_rss(pid_t pid)
{
    int64_t kib = dvt_proc_rss_kib(pid);
    if (kib < 0) {
        DVT_FAIL("cannot read the RSS of pid %d", (int)pid);
    }
    return kib;
}

/* KiB the workers have grown by since the start. */
static int64_t
s_workers_growth(const s_watch *w)
{
    int64_t grown = 0;
    for (int i = 0; i < w->nworkers; i++) {
        grown += s_rss(w->pid[i]) - w->start[i];
    }
    return grown;
}

/* Runs inc(first + i) for i < n in waves, its futures in fs. */
static void
s_run(dv_client *c, dv_future **fs, size_t n, int64_t first, s_watch *w)
{
    dv_arg *args = calloc(S_WAVE, sizeof(*args));
    DVT_TRUE(args != NULL);
    for (size_t done = 0; done < n;) {
        size_t k = n - done < S_WAVE ? n - done : S_WAVE;
        for (size_t i = 0; i < k; i++) {
            args[i] = dv_i64(first + (int64_t)(done + i));
        }
        DVT_EQ_I64(dv_map(c, "inc", k, args, fs + done, NULL), k);
        DVT_PASS(dv_wait(fs + done, k, 120.0));
        done += k;
        int64_t grown = w ? s_workers_growth(w) : 0;
        if (w && done >= 100000 &&
            grown * 1024 > (int64_t)done * S_BAIL_BYTES_PER_RESULT) {
            DVT_FAIL("the workers grew by %lld KiB for %zu stored results "
                     "(%lld bytes each): stopping early",
                     (long long)grown, done,
                     (long long)(grown * 1024 / (int64_t)done));
        }
    }
    free(args);
    size_t probe[3] = {0, n / 2, n - 1};
    for (int i = 0; i < 3; i++) {
        DVT_EQ_I64(DVT_RESULT_I64(fs[probe[i]], 10.0),
                   first + (int64_t)probe[i] + 1);
    }
}

static int64_t
s_allowed(const s_watch *w, int i)
{
    return w->start[i] + w->start[i] * S_BACK_PCT / 100 + S_BACK_KIB;
}

/* Waits (at most timeout_s) until every watched process is back within
 * the allowance of its start and has stopped shrinking (a second without
 * dropping by more than 256 KiB), so that the readings stored in now are
 * where it settles, not a point on the way. Returns whether all are back. */
static int
s_wait_back(const s_watch *w, int64_t *now, double timeout_s)
{
    double deadline = dvt_now() + timeout_s;
    int64_t prev[S_MAX_PROCS];
    int steady = 0;
    for (int i = 0; i < w->n; i++) {
        prev[i] = INT64_MAX;
    }
    for (;;) {
        int back = 1, still = 1;
        for (int i = 0; i < w->n; i++) {
            now[i] = s_rss(w->pid[i]);
            back &= now[i] <= s_allowed(w, i);
            still &= now[i] > prev[i] - 256;
            prev[i] = now[i] < prev[i] ? now[i] : prev[i];
        }
        steady = still ? steady + 1 : 0;
        if ((back && steady >= 10) || dvt_now() > deadline) {
            return back;
        }
        dvt_sleep(0.1);
    }
}

static void
test_results_memory(void **state)
{
    dv_client *c = *state;
    size_t n = S_NTASKS;
    dv_future **fs = calloc(n, sizeof(*fs));
    DVT_TRUE(fs != NULL);
    s_watch w;
    s_find_processes(&w);

    /* Warm up: the functions found, the threads and buffers made. */
    s_run(c, fs, S_WARMUP, 1000000000, NULL);
    dvt_release_all(fs, S_WARMUP);
    dvt_sleep(0.5);
    for (int i = 0; i < w.n; i++) {
        w.start[i] = s_rss(w.pid[i]);
    }

    double t0 = dvt_now();
    s_run(c, fs, n, 0, S_SANITIZED ? NULL : &w);
    double run_s = dvt_now() - t0;
    int64_t held[S_MAX_PROCS], after[S_MAX_PROCS];
    for (int i = 0; i < w.n; i++) {
        held[i] = s_rss(w.pid[i]);
    }
    int64_t grown = s_workers_growth(&w);
    t0 = dvt_now();
    dvt_release_all(fs, n);
    double release_s = dvt_now() - t0;
    int back = s_wait_back(&w, after, S_SANITIZED ? 0 : 30.0);
    double back_s = dvt_now() - t0;

    fprintf(stderr, "dvtest: %zu tasks in %.1f s on %s; released in %.1f s\n",
            n, run_s, dvt_where, release_s);
    for (int i = 0; i < w.n; i++) {
        fprintf(stderr,
                "dvtest: %s: RSS %lld KiB at the start, %lld KiB with the "
                "results held, %lld KiB after release (%.1f s)\n",
                w.name[i], (long long)w.start[i], (long long)held[i],
                (long long)after[i], back_s);
    }
    double per = (double)grown * 1024.0 / (double)n;
    fprintf(stderr, "dvtest: workers: %.1f bytes per stored result\n", per);
    free(fs);
    if (S_SANITIZED) {
        fprintf(stderr, "dvtest: sanitized build: figures not checked\n");
        return;
    }
    DVT_LT_I64(grown * 1024, (int64_t)n * S_MAX_BYTES_PER_RESULT);
    for (int i = 0; i < w.n; i++) {
        if (!back) {
            fprintf(
                stderr, "dvtest: %s: after release %lld KiB, allowed %lld\n",
                w.name[i], (long long)after[i], (long long)s_allowed(&w, i));
        }
    }
    DVT_TRUE(back);
}

int
main(void)
{
    dvt_init(300);
    (void)dvt_funcs_anchor(); /* keeps libdvt_funcs.so linked */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_results_memory),
    };
    return dvt_finish(dvt_run_clusters("memory", tests,
                                       sizeof(tests) / sizeof(tests[0]),
                                       DVT_PROCESSES | DVT_TCP));
}
