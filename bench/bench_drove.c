/* The drove benchmarks on one cluster, printing `CLUSTER.name: value unit`.
 *
 *   bench_drove --cluster threads|processes|tcp|tcp_tls|tcp_plain|
 *                         tcp_state|tcp_nodash|tcp_dash
 *               [--drove PATH] [--fns SO] [--quick] [--only LIST]
 *               [--no-floors]
 *
 * threads and processes are the embedded clusters local:threads=2 and
 * local:processes=2; tcp starts `drove scheduler` and two `drove worker
 * --threads 1` daemons on 127.0.0.1 (mutual TLS, with a profile made in
 * a temporary DROVE_HOME) and uploads the task library (fns.c); its
 * workers fetch from each other by their socket files, as workers of one
 * host do (src/proto/samehost.h); tcp_tls is tcp with DROVE_SAMEHOST=0:
 * the workers fetch over TLS, as workers of two hosts do; tcp_plain is the same
 * in plain TCP (the test-only DROVE_TEST_PLAINTEXT switch), to show what TLS
 * costs; tcp_state is tcp with the scheduler keeping `--state` in the run's
 * directory, with a result published (so that completions look their keys up),
 * to show what that costs; tcp_nodash is tcp with the scheduler's dashboard
 * off, tcp_dash with it on and a client polling /api/status once a second
 * during the map (as the page does): map_throughput, read in pairs, is what it
 * costs. Measured, in this order (--only picks some: startup, tree, transfer,
 * map, submit, roundtrip, chain, fanout, stored, pending):
 *
 *   daemons_startup           tcp only: spawning the scheduler until a
 *                             client sees both workers
 *   upload_library            tcp only: dv_upload_library of fns.c
 *   publish_median            tcp_state only: dv_publish of a finished
 *                             result, answered once on disk (20 names)
 *   scheduler_cpu             tcp kinds: CPU seconds the scheduler daemon
 *                             used over the whole run, at its end
 *   startup_to_first_result   exec of a fresh process to its first result
 *   connect_to_first_result   dv_connect to the first result, in that fresh
 *                             process (tcp: daemons already running, the
 *                             no-op upload included)
 *   tree_reduce_16x1m         the binary tree reduction of sixteen arrays of
 *                             1,000,000 doubles (seed 001), result fetched
 *                             (median of 5; the goal is <= 100 ms), the
 *                             cluster's first reduction left out:
 *     _first                  that first one: its workers write 248 MB
 *                             they never held, which a virtual machine's
 *                             host backs only as it is first written
 *                             (275-420 ms here, against 24-32 ms for the
 *                             runs after; the median of 3 with it read
 *                             30-153 ms from one run to the next)
 *   transfer_256mib_*         a 256 MiB array made on one worker, consumed
 *                             by a task pinned on the other; timed from the
 *                             consumer's submission, the maker being done
 *                             (_time, _bandwidth); on threads, processes,
 *                             tcp and tcp_tls in alternation with its
 *                             floors:
 *     _tcp_floor, _vs_tcp     256 MiB sent over plain TCP on 127.0.0.1 to
 *                             another process, into a buffer in memory
 *                             already (the wire's speed); the
 *                             median of the pairs' bandwidth ratios,
 *                             drove/TCP (5 pairs; the goal is >= 0.8)
 *     _unix_floor, _vs_unix   processes: the same over a Unix socket,
 *                             what its workers talk over
 *     _memcpy_floor, _vs_memcpy  threads: a memcpy into a buffer in
 *                             memory already
 *   map_throughput            dv_map of N tiny `inc` calls, until all done
 *   submit_throughput         N dv_submit of `inc` one at a time, then wait
 *                             (submit_call: the client's time per call)
 *   roundtrip_median, _p99    submit one `inc`, dv_result it, repeat; on
 *                             threads, processes and tcp in batches of
 *                             200 alternating with batches of its floors:
 *     roundtrip_floor         a 64-byte TCP ping-pong with another process
 *                             on 127.0.0.1 (TCP_NODELAY; for threads too,
 *                             although its workers use no socket)
 *     roundtrip_vs_floor      the median over batches of the ratio of the
 *                             batch medians, drove/TCP (on tcp a drove
 *                             round trip crosses two connections, client
 *                             to scheduler to worker: 2 x at the least)
 *     roundtrip_unix_floor, roundtrip_vs_unix  processes: the same over
 *                             a Unix socket
 *     roundtrip_relay_floor, roundtrip_vs_relay  tcp: a ping passed on by
 *                             a third process (plain TCP), as many hops
 *                             as drove's
 *     roundtrip_handoff_floor, roundtrip_vs_handoff  threads: a round trip
 *                             between two threads (mutex, condvars);
 *                             drove's passes client, scheduler and worker
 *                             threads: two hand-offs at the least
 *   chain_per_link            a chain inc(inc(...inc(0))) of 2000 links
 *   fanout_fanin_10k          one root task, 10,000 tasks taking its future,
 *                             one task taking all 10,000 futures (one
 *                             dv_futs argument; a call may take 65,536):
 *                             first submit to the final result, median of
 *                             5 (goal: <= 100 ms; _submit: the client's
 *                             submitting alone)
 *   worker_rss_per_stored_result  processes and tcp: the workers' RSS grown
 *                             per result, 1,000,000 tiny results held
 *   *_rss_kept_after_release  what the workers (and the tcp scheduler)
 *                             still have of that growth once every result
 *                             is released and they have settled (KiB;
 *                             below zero: less than before)
 *   *_rss_per_pending_task    memory per task for 1,000,000 tasks waiting on
 *                             one running task: the scheduler daemon's RSS
 *                             (tcp), the whole process's (embedded)
 *
 * A fresh process is this program again, run with --startup-child, and
 * so is a floor's peer process (--floor-peer tcp|unix:PATH). Every
 * wait has a deadline; a failed measurement prints `name: FAILED unit` and
 * its reason on stderr, and the program exits non-zero. */
#define _GNU_SOURCE
#include "bench_drove.h"
#include "bench_util.h"
#include "dash_poll.h"
#include "floor.h"
#include "fns.h"

#include <drove.h>

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const bench_cfg s_full = {.map_n = 100000,
                                 .submit_n = 100000,
                                 .rt_warmup = 200,
                                 .rt_batch = 200,
                                 .rt_batches = 15,
                                 .chain_n = 2000,
                                 .startup_runs = 5,
                                 .tree_runs = 5,
                                 .tree_len = 1000000,
                                 .transfer_mib = 256,
                                 .transfer_runs = 3,
                                 .transfer_pairs = 5,
                                 .fan_n = 10000,
                                 .fan_runs = 5,
                                 .pending_n = 1000000,
                                 .stored_n = 1000000};
static const bench_cfg s_quick = {.map_n = 10000,
                                  .submit_n = 10000,
                                  .rt_warmup = 50,
                                  .rt_batch = 100,
                                  .rt_batches = 3,
                                  .chain_n = 2000,
                                  .startup_runs = 2,
                                  .tree_runs = 1,
                                  .tree_len = 1000000,
                                  .transfer_mib = 64,
                                  .transfer_runs = 1,
                                  .transfer_pairs = 1,
                                  .fan_n = 10000,
                                  .fan_runs = 1,
                                  .pending_n = 100000,
                                  .stored_n = 100000};

static void
s_name(const bench *b, const char *metric, char *buf, size_t size)
{
    snprintf(buf, size, "%s.%s", b->label, metric);
}

void
bd_report(const bench *b, const char *metric, double value, int decimals,
          const char *unit)
{
    char name[128];

    s_name(b, metric, name, sizeof(name));
    bu_line(name, value, decimals, unit);
}

/* A measurement that could not be made: a line on stdout that says so, and
 * the reason on stderr. */
void
bd_failed(bench *b, const char *metric, const char *unit, const char *fmt, ...)
{
    char name[128];
    va_list ap;

    s_name(b, metric, name, sizeof(name));
    printf("%s: FAILED %s\n", name, unit);
    fflush(stdout);
    fprintf(stderr, "bench_drove: %s: ", name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    b->failures++;
}

int64_t
bd_fresh(bench *b, size_t n)
{
    int64_t first = b->next_arg;

    b->next_arg += (int64_t)n;
    return first;
}

void
bd_release_all(dv_future **fs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        dv_release(fs[i]);
        fs[i] = NULL;
    }
}

/* How many of fs did not finish; the first such future's error, if any,
 * goes to *why. */
static size_t
s_count_unfinished(dv_future *const *fs, size_t n, const char **why)
{
    size_t bad = 0;

    *why = "";
    for (size_t i = 0; i < n; i++) {
        if (dv_future_status(fs[i]) != DV_FINISHED) {
            if (bad == 0 && dv_future_error(fs[i]) != NULL) {
                *why = dv_future_error(fs[i]);
            }
            bad++;
        }
    }
    return bad;
}

const char *
bd_ferr(const dv_future *f)
{
    const char *e = dv_future_error(f);

    return e != NULL ? e : dv_last_error();
}

/* ---- Daemons --------------------------------------------------------- */

/* tcp_state: results published (each answered once it is on disk), and
 * kept published, so that every completion after them is looked up. */
static void
s_publish(bench *b)
{
    enum { N = 20 };
    double ms[N];
    dv_future *f = DV_SUBMIT(b->c, "inc", dv_i64(bd_fresh(b, 1)));
    if (f == NULL || dv_result(f, DEADLINE_S) == NULL) {
        bd_failed(b, "publish_median", "ms", "inc: %s",
                  f ? bd_ferr(f) : dv_last_error());
        dv_release(f);
        return;
    }
    for (int i = 0; i < N; i++) {
        char name[32];
        snprintf(name, sizeof(name), "bench-%d", i);
        int64_t t0 = bu_now_ns();
        if (dv_publish(b->c, name, f) < 0) {
            bd_failed(b, "publish_median", "ms", "dv_publish: %s",
                      dv_last_error());
            dv_release(f);
            return;
        }
        ms[i] = (double)(bu_now_ns() - t0) / 1e6;
    }
    dv_release(f);
    bd_report(b, "publish_median", bu_percentile(ms, N, 50), 2, "ms");
}

/* Starts the scheduler and the workers, connects b->c and waits until it
 * sees both workers; reports the time all that took. */
static int
s_start_daemons(bench *b)
{
    char state[sizeof(b->d.tmpdir) + 16];

    int64_t t0 = bu_now_ns();
    snprintf(state, sizeof(state), "%s/state.db", b->d.tmpdir);
    if (bu_daemons_start(&b->d, b->state ? state : NULL) != 0) {
        bd_failed(b, "daemons_startup", "ms", "%s", b->d.err);
        return -1;
    }
    b->c = dv_connect(b->d.addr);
    if (b->c == NULL) {
        bd_failed(b, "daemons_startup", "ms", "dv_connect(%s): %s", b->d.addr,
                  dv_last_error());
        return -1;
    }
    double deadline = bu_now() + 30.0;
    int nw = 0;
    while ((nw = dv_nworkers(b->c)) < NWORKERS && bu_now() < deadline) {
        usleep(500);
    }
    if (nw < NWORKERS) {
        bd_failed(b, "daemons_startup", "ms",
                  "%d of %d workers after 30 s (%s)", nw, NWORKERS,
                  nw < 0 ? dv_last_error() : "");
        return -1;
    }
    bd_report(b, "daemons_startup", (double)(bu_now_ns() - t0) / 1e6, 1, "ms");

    int64_t t1 = bu_now_ns();
    int rc = dv_upload_library(b->c, b->fns_so);
    if (rc != NWORKERS) {
        bd_failed(b, "upload_library", "ms", "dv_upload_library(%s): %d: %s",
                  b->fns_so, rc, dv_last_error());
        return -1;
    }
    bd_report(b, "upload_library", (double)(bu_now_ns() - t1) / 1e6, 1, "ms");
    if (b->state) {
        s_publish(b);
    }
    return 0;
}

/* ---- Start-up to first result ------------------------------------------ */

/* The child's side: connect, one trivial task, print two clock readings
 * (at dv_connect and at the result), then close. */
static int
s_startup_child(const char *where, const char *fns_so)
{
    dv_opts opts = DV_OPTS_INIT;
    int64_t t_connect = bu_now_ns();

    opts.impure = 1;
    dv_client *c = dv_connect(where);
    if (c == NULL) {
        fprintf(stderr, "startup child: dv_connect(%s): %s\n", where,
                dv_last_error());
        return 1;
    }
    if (strncmp(where, "tcp://", 6) == 0 && dv_upload_library(c, fns_so) < 0) {
        fprintf(stderr, "startup child: dv_upload_library: %s\n",
                dv_last_error());
        dv_close(c);
        return 1;
    }
    dv_arg arg = dv_i64(41);
    dv_future *f = dv_submit(c, "inc", 1, &arg, &opts);
    const dv_value *v = f != NULL ? dv_result(f, 30.0) : NULL;
    int64_t t_result = bu_now_ns();
    if (v == NULL || dv_value_i64(v) != 42) {
        fprintf(stderr, "startup child: inc(41): %s\n",
                f != NULL ? bd_ferr(f) : dv_last_error());
        dv_close(c);
        return 1;
    }
    printf("%lld %lld\n", (long long)t_connect, (long long)t_result);
    fflush(stdout);
    dv_release(f);
    dv_close(c);
    return 0;
}

static void
s_startup(bench *b)
{
    size_t runs = b->cfg.startup_runs;
    double *exec_ms = calloc(runs, sizeof(double));
    double *conn_ms = calloc(runs, sizeof(double));
    char line[128];
    const char *where = b->d.sched_pid > 0 ? b->d.addr : b->where;

    for (size_t i = 0; i < runs; i++) {
        int out = -1;
        char *argv[] = {"/proc/self/exe", "--startup-child", (char *)where,
                        "--fns",          (char *)b->fns_so, NULL};
        int64_t t_spawn = bu_now_ns();
        pid_t pid = bu_spawn(argv, &out, NULL);
        if (pid < 0) {
            bd_failed(b, "startup_to_first_result", "ms", "spawn: %s",
                      strerror(errno));
            goto done;
        }
        int n = bu_read_line(out, line, sizeof(line), 60.0);
        close(out);
        int status = 0;
        if (bu_wait(pid, 30.0, &status) != 0) {
            fprintf(stderr,
                    "bench_drove: %s: startup child did not exit "
                    "within 30 s of its result (dv_close hangs?)\n",
                    b->label);
            bu_stop(pid, 1.0);
            b->failures++;
        }
        long long t_connect = 0;
        long long t_result = 0;
        if (n <= 0 || sscanf(line, "%lld %lld", &t_connect, &t_result) != 2) {
            bd_failed(b, "startup_to_first_result", "ms",
                      "the child printed no result (status 0x%x)", status);
            goto done;
        }
        exec_ms[i] = (double)(t_result - t_spawn) / 1e6;
        conn_ms[i] = (double)(t_result - t_connect) / 1e6;
    }
    bd_report(b, "startup_to_first_result", bu_percentile(exec_ms, runs, 50), 1,
              "ms");
    bd_report(b, "connect_to_first_result", bu_percentile(conn_ms, runs, 50), 2,
              "ms");
done:
    free(exec_ms);
    free(conn_ms);
}

/* ---- Throughput ------------------------------------------------------- */

/* Checks the futures of inc(first + i) finished with the right values, at
 * a few places (fetching every result would measure something else). */
static int
s_check_incs(bench *b, const char *metric, dv_future **fs, size_t n,
             int64_t first)
{
    const char *why = "";
    size_t bad = s_count_unfinished(fs, n, &why);

    if (bad > 0) {
        bd_failed(b, metric, "tasks/s", "%zu of %zu tasks did not finish: %s",
                  bad, n, why);
        return -1;
    }
    size_t probe[3] = {0, n / 2, n - 1};
    for (int k = 0; k < 3; k++) {
        const dv_value *v = dv_result(fs[probe[k]], DEADLINE_S);
        if (v == NULL || dv_value_i64(v) != first + (int64_t)probe[k] + 1) {
            bd_failed(b, metric, "tasks/s", "inc(%lld) gave %lld (%s)",
                      (long long)(first + (int64_t)probe[k]),
                      v != NULL ? (long long)dv_value_i64(v) : -1LL,
                      v != NULL ? "wrong value" : bd_ferr(fs[probe[k]]));
            return -1;
        }
    }
    return 0;
}

static void
s_map_throughput(bench *b, const char *metric, size_t n, int report)
{
    dv_arg *args = calloc(n, sizeof(*args));
    dv_future **fs = calloc(n, sizeof(*fs));
    int64_t first = bd_fresh(b, n);

    for (size_t i = 0; i < n; i++) {
        args[i] = dv_i64(first + (int64_t)i);
    }
    int64_t t0 = bu_now_ns();
    int rc = dv_map(b->c, "inc", n, args, fs, NULL);
    if (rc != (int)n) {
        bd_failed(b, metric, "tasks/s", "dv_map: %d: %s", rc, dv_last_error());
        goto done;
    }
    if (dv_wait(fs, n, DEADLINE_S) != 0) {
        bd_failed(b, metric, "tasks/s", "dv_wait of %zu tasks: %s", n,
                  dv_last_error());
        bd_release_all(fs, n);
        goto done;
    }
    double s = (double)(bu_now_ns() - t0) / 1e9;
    if (s_check_incs(b, metric, fs, n, first) == 0 && report) {
        bd_report(b, metric, (double)n / s, 0, "tasks/s");
    }
    bd_release_all(fs, n);
done:
    free(args);
    free(fs);
}

static void
s_submit_throughput(bench *b, size_t n)
{
    const char *metric = "submit_throughput";
    dv_future **fs = calloc(n, sizeof(*fs));
    int64_t first = bd_fresh(b, n);

    int64_t t0 = bu_now_ns();
    for (size_t i = 0; i < n; i++) {
        fs[i] = DV_SUBMIT(b->c, "inc", dv_i64(first + (int64_t)i));
        if (fs[i] == NULL) {
            bd_failed(b, metric, "tasks/s", "dv_submit #%zu: %s", i,
                      dv_last_error());
            bd_release_all(fs, i);
            goto done;
        }
    }
    int64_t t1 = bu_now_ns();
    if (dv_wait(fs, n, DEADLINE_S) != 0) {
        bd_failed(b, metric, "tasks/s", "dv_wait of %zu tasks: %s", n,
                  dv_last_error());
        bd_release_all(fs, n);
        goto done;
    }
    int64_t t2 = bu_now_ns();
    if (s_check_incs(b, metric, fs, n, first) == 0) {
        bd_report(b, metric, (double)n / ((double)(t2 - t0) / 1e9), 0,
                  "tasks/s");
        /* How fast the client alone accepts calls. */
        bd_report(b, "submit_call", (double)(t1 - t0) / 1e3 / (double)n, 2,
                  "us");
    }
    bd_release_all(fs, n);
done:
    free(fs);
}

/* ---- Latency (round trips: bench_drove_floors.c) ---------------- */

static void
s_chain(bench *b)
{
    size_t n = b->cfg.chain_n;
    dv_future **fs = calloc(n, sizeof(*fs));
    dv_opts opts = DV_OPTS_INIT;

    /* Impure, so that no link is a result computed before (dask's
     * pure=False). */
    opts.impure = 1;
    int64_t t0 = bu_now_ns();
    for (size_t i = 0; i < n; i++) {
        dv_arg arg = i == 0 ? dv_i64(0) : dv_fut(fs[i - 1]);
        fs[i] = dv_submit(b->c, "inc", 1, &arg, &opts);
        if (fs[i] == NULL) {
            bd_failed(b, "chain_per_link", "us", "dv_submit link %zu: %s", i,
                      dv_last_error());
            bd_release_all(fs, i);
            goto done;
        }
    }
    const dv_value *v = dv_result(fs[n - 1], DEADLINE_S);
    int64_t t1 = bu_now_ns();
    if (v == NULL || dv_value_i64(v) != (int64_t)n) {
        bd_failed(b, "chain_per_link", "us", "chain of %zu gave %lld: %s", n,
                  v != NULL ? (long long)dv_value_i64(v) : -1LL,
                  v != NULL ? "wrong value" : bd_ferr(fs[n - 1]));
    } else {
        bd_report(b, "chain_per_link", (double)(t1 - t0) / 1e3 / (double)n, 1,
                  "us");
    }
    bd_release_all(fs, n);
done:
    free(fs);
}

/* ---- Data ------------------------------------------------------------- */

/* One run of seed 001's tree reduction; its time in ms, or -1. */
static double
s_tree_once(bench *b)
{
    enum { LEAVES = 16 };
    dv_future *all[2 * LEAVES] = {NULL};
    dv_arg args[LEAVES];
    size_t nall = 0;
    size_t len = b->cfg.tree_len;
    double ms = -1;

    for (size_t i = 0; i < LEAVES; i++) {
        args[i] = dv_i64((int64_t)len);
    }
    int64_t t0 = bu_now_ns();
    int rc = dv_map(b->c, "random_f64s", LEAVES, args, all, NULL);
    if (rc != LEAVES) {
        bd_failed(b, "tree_reduce_16x1m", "ms", "dv_map: %s", dv_last_error());
        return -1;
    }
    nall = LEAVES;
    size_t level = 0;
    size_t width = LEAVES;
    while (width > 1) {
        for (size_t i = 0; i < width; i += 2) {
            dv_future *f = DV_SUBMIT(b->c, "add", dv_fut(all[level + i]),
                                     dv_fut(all[level + i + 1]));
            if (f == NULL) {
                bd_failed(b, "tree_reduce_16x1m", "ms", "dv_submit add: %s",
                          dv_last_error());
                goto done;
            }
            all[nall++] = f;
        }
        level += width;
        width /= 2;
    }
    const dv_value *v = dv_result(all[nall - 1], DEADLINE_S);
    int64_t t1 = bu_now_ns();
    size_t n = 0;
    const double *x = v != NULL ? dv_value_f64s(v, &n) : NULL;
    if (x == NULL || n != len) {
        bd_failed(b, "tree_reduce_16x1m", "ms", "result: %s",
                  v == NULL ? bd_ferr(all[nall - 1]) : "not 1,000,000 doubles");
        goto done;
    }
    /* Sums of 16 uniforms: in [0, 16), mean 8. */
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        sum += x[i];
    }
    if (sum / (double)n < 7.9 || sum / (double)n > 8.1) {
        bd_failed(b, "tree_reduce_16x1m", "ms", "mean %.3f, not 8",
                  sum / (double)n);
        goto done;
    }
    ms = (double)(t1 - t0) / 1e6;
done:
    bd_release_all(all, nall);
    return ms;
}

/* The first reduction alone, then the median of tree_runs more: the
 * first one's time is mostly the memory its workers touch for the first
 * time (see _first above), which the figure with a goal leaves out. */
static void
s_tree_reduce(bench *b)
{
    double ms[16];
    size_t runs = b->cfg.tree_runs < 16 ? b->cfg.tree_runs : 16;

    for (size_t i = 0; i <= runs; i++) {
        bd_settle(b); /* the last run's releases are not this one's */
        double t = s_tree_once(b);
        if (t < 0) {
            return;
        }
        if (i == 0) {
            bd_report(b, "tree_reduce_16x1m_first", t, 1, "ms");
        } else {
            ms[i - 1] = t;
        }
    }
    bd_report(b, "tree_reduce_16x1m", bu_percentile(ms, runs, 50), 1, "ms");
}

int
bd_worker_ids(bench *b)
{
    int nw = dv_nworkers(b->c);

    if (nw < NWORKERS) {
        return -1;
    }
    for (int i = 0; i < NWORKERS; i++) {
        if (dv_worker_id(b->c, i, b->worker_id[i], sizeof(b->worker_id[i])) !=
            0) {
            return -1;
        }
    }
    return 0;
}

/* ---- Memory ----------------------------------------------------------- */

/* Waits until the RSS of pid stops moving (a freshly grown heap settles
 * within a few readings); returns the last reading in KiB. */
static long
s_settled_rss(pid_t pid)
{
    long last = bu_rss_kib(pid);
    int stable = 0;

    for (int i = 0; i < 50 && stable < 3; i++) {
        usleep(100 * 1000);
        long now = bu_rss_kib(pid);
        stable = labs(now - last) < 64 ? stable + 1 : 0;
        last = now;
    }
    return last;
}

/* An impure inc pinned on worker 1, which the gate does not hold: its
 * result means every message sent before it has been handled. */
static int
s_barrier(bench *b, double timeout_s)
{
    dv_opts opts = DV_OPTS_INIT;

    opts.impure = 1;
    opts.worker = b->worker_id[1];
    dv_arg arg = dv_i64(1);
    dv_future *f = dv_submit(b->c, "inc", 1, &arg, &opts);
    const dv_value *v = f != NULL ? dv_result(f, timeout_s) : NULL;
    if (v == NULL) {
        fprintf(stderr, "bench_drove: %s: barrier: %s\n", b->label,
                f != NULL ? bd_ferr(f) : dv_last_error());
    }
    dv_release(f);
    return v != NULL ? 0 : -1;
}

static void
s_pending_memory(bench *b)
{
    size_t n = b->cfg.pending_n;
    const char *metric = b->d.sched_pid > 0
                             ? "scheduler_rss_per_pending_task"
                             : "client_and_scheduler_rss_per_pending_task";
    char gate_path[512];
    dv_opts on0 = DV_OPTS_INIT;
    dv_future **fs = calloc(n, sizeof(*fs));
    size_t nfs = 0;
    pid_t sched = b->d.sched_pid; /* 0: this process */

    snprintf(gate_path, sizeof(gate_path), "%s/gate", b->d.tmpdir);
    unlink(gate_path);
    if (bd_worker_ids(b) != 0) {
        bd_failed(b, metric, "bytes/task", "worker ids: %s", dv_last_error());
        free(fs);
        return;
    }
    on0.worker = b->worker_id[0];
    dv_arg gargs[2] = {dv_str(gate_path), dv_i64(300 * 1000)};
    dv_future *g = dv_submit(b->c, "gate", 2, gargs, &on0);
    if (g == NULL || s_barrier(b, DEADLINE_S) != 0) {
        bd_failed(b, metric, "bytes/task", "gate: %s",
                  g != NULL ? bd_ferr(g) : dv_last_error());
        goto done;
    }
    long sched_before = s_settled_rss(sched);
    long self_before = bu_rss_kib(0);
    int64_t first = bd_fresh(b, n);
    int64_t t0 = bu_now_ns();
    for (; nfs < n; nfs++) {
        fs[nfs] =
            DV_SUBMIT(b->c, "add", dv_fut(g), dv_i64(first + (int64_t)nfs));
        if (fs[nfs] == NULL) {
            bd_failed(b, metric, "bytes/task", "dv_submit #%zu: %s", nfs,
                      dv_last_error());
            goto done;
        }
    }
    double submit_s = (double)(bu_now_ns() - t0) / 1e9;
    if (s_barrier(b, 2 * DEADLINE_S) != 0) {
        bd_failed(b, metric, "bytes/task",
                  "the scheduler did not take %zu "
                  "tasks within %.0f s",
                  n, 2 * DEADLINE_S);
        goto done;
    }
    double taken_s = (double)(bu_now_ns() - t0) / 1e9;
    long sched_after = s_settled_rss(sched);
    long self_after = bu_rss_kib(0);
    if (dv_future_status(g) != DV_PENDING ||
        dv_future_status(fs[n - 1]) != DV_PENDING) {
        bd_failed(b, metric, "bytes/task", "the tasks did not wait (%s)",
                  bd_ferr(fs[n - 1]));
        goto done;
    }
    bd_report(b, metric,
              (double)(sched_after - sched_before) * 1024.0 / (double)n, 0,
              "bytes/task");
    if (sched > 0) {
        bd_report(b, "client_rss_per_pending_task",
                  (double)(self_after - self_before) * 1024.0 / (double)n, 0,
                  "bytes/task");
    }
    bd_report(b, "pending_submit_throughput", (double)n / submit_s, 0,
              "tasks/s");
    bd_report(b, "pending_accept_throughput", (double)n / taken_s, 0,
              "tasks/s");
done:
    /* Release the waiting tasks before opening the gate, so that they are
     * forgotten rather than run. */
    {
        int64_t t1 = bu_now_ns();
        bd_release_all(fs, nfs);
        if (nfs == n) {
            bd_report(b, "pending_release_time",
                      (double)(bu_now_ns() - t1) / 1e6, 0, "ms");
        }
    }
    /* Then let the gate finish, and wait until it has: not dv_cancel(),
     * whose future completes while the task still runs, and a task still
     * running holds up dv_close(). */
    FILE *f = fopen(gate_path, "w");
    if (f != NULL) {
        fclose(f);
    }
    if (g != NULL) {
        if (dv_wait(&g, 1, 30.0) != 0) {
            fprintf(stderr,
                    "bench_drove: %s: the gate task did not end "
                    "within 30 s of its file appearing\n",
                    b->label);
            b->failures++;
        }
        dv_release(g);
    }
    free(fs);
}

/* The worker processes: the tcp daemons, or this process's two children
 * on local:processes. 0, or -1 on threads (the workers are this process,
 * with the client and the scheduler: nothing to measure apart). */
static int
s_worker_pids(bench *b, pid_t *pids)
{
    if (b->d.sched_pid > 0) {
        for (int i = 0; i < NWORKERS; i++) {
            pids[i] = b->d.worker_pid[i];
        }
        return 0;
    }
    if (strcmp(b->label, "processes") != 0) {
        return -1;
    }
    return bu_children(pids, NWORKERS) == NWORKERS ? 0 : -1;
}

/* Holds n tiny inc results at once (dv_map in waves); 0 or -1. */
static int
s_hold_incs(bench *b, const char *metric, dv_future **fs, size_t n)
{
    const size_t wave = 50000;
    dv_arg *args = calloc(wave, sizeof(*args));
    int64_t first = bd_fresh(b, n);
    int rc = 0;

    for (size_t done = 0; done < n && rc == 0;) {
        size_t k = n - done < wave ? n - done : wave;
        for (size_t i = 0; i < k; i++) {
            args[i] = dv_i64(first + (int64_t)(done + i));
        }
        if (dv_map(b->c, "inc", k, args, fs + done, NULL) != (int)k) {
            bd_failed(b, metric, "bytes/result", "dv_map: %s", dv_last_error());
            rc = -1;
        } else if (dv_wait(fs + done, k, DEADLINE_S) != 0) {
            bd_failed(b, metric, "bytes/result", "dv_wait: %s",
                      dv_last_error());
            done += k;
            rc = -1;
        } else {
            done += k;
        }
    }
    free(args);
    return rc == 0 ? s_check_incs(b, metric, fs, n, first) : rc;
}

static void
s_stored_memory(bench *b)
{
    const char *metric = "worker_rss_per_stored_result";
    size_t n = b->cfg.stored_n;
    pid_t pids[NWORKERS + 1];
    long before[NWORKERS + 1], held = 0, kept = 0;
    int np = NWORKERS + (b->d.sched_pid > 0);

    if (s_worker_pids(b, pids) != 0) {
        if (b->d.sched_pid > 0 || strcmp(b->label, "processes") == 0) {
            bd_failed(b, metric, "bytes/result", "no worker processes");
        }
        return;
    }
    pids[NWORKERS] = b->d.sched_pid;
    if (bd_worker_ids(b) != 0) {
        bd_failed(b, metric, "bytes/result", "worker ids: %s", dv_last_error());
        return;
    }
    /* What earlier measurements freed goes back first (two trim
     * intervals): the baseline is where the processes settle. */
    usleep(2500 * 1000);
    for (int i = 0; i < np; i++) {
        before[i] = s_settled_rss(pids[i]);
    }
    dv_future **fs = calloc(n, sizeof(*fs));
    if (s_hold_incs(b, metric, fs, n) == 0) {
        for (int i = 0; i < NWORKERS; i++) {
            held += s_settled_rss(pids[i]) - before[i];
        }
        bd_report(b, metric, (double)held * 1024.0 / (double)n, 1,
                  "bytes/result");
    }
    bd_release_all(fs, n);
    free(fs);
    /* Every RELEASE handled, then two trim intervals for the FREEs to
     * land and the memory to go back. */
    if (s_barrier(b, DEADLINE_S) != 0) {
        b->failures++;
        return;
    }
    usleep(2500 * 1000);
    for (int i = 0; i < NWORKERS; i++) {
        kept += s_settled_rss(pids[i]) - before[i];
    }
    bd_report(b, "worker_rss_kept_after_release", (double)kept, 0, "KiB");
    if (b->d.sched_pid > 0) {
        bd_report(b, "scheduler_rss_kept_after_release",
                  (double)(s_settled_rss(b->d.sched_pid) - before[NWORKERS]), 0,
                  "KiB");
    }
}

/* tcp kinds: the CPU time the scheduler daemon has used (user + system,
 * from /proc), a figure the machine's other load disturbs less than a
 * throughput: the same work with and without --state compares directly. */
static void
s_sched_cpu(bench *b)
{
    char path[64], buf[1024];
    unsigned long utime = 0, stime = 0;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)b->d.sched_pid);
    FILE *f = fopen(path, "r");
    size_t n = f != NULL ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
    if (f != NULL) {
        fclose(f);
    }
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the name may hold spaces */
    if (p == NULL || sscanf(p + 2,
                            "%*c %*d %*d %*d %*d %*d %*u %*u %*u "
                            "%*u %*u %lu %lu",
                            &utime, &stime) != 2) {
        bd_failed(b, "scheduler_cpu", "s", "cannot read %s", path);
        return;
    }
    bd_report(b, "scheduler_cpu",
              (double)(utime + stime) / sysconf(_SC_CLK_TCK), 2, "s");
}

/* ---- Main ------------------------------------------------------------- */

/* The usage on out; 2, the exit status of a bad command line. */
static int
s_usage(FILE *out)
{
    fprintf(out,
            "usage: bench_drove --cluster "
            "threads|processes|tcp|tcp_tls|tcp_plain|tcp_state|tcp_nodash|\n"
            "                   tcp_dash\n"
            "                   [--drove PATH] [--fns SO] [--quick] "
            "[--only LIST]\n"
            "                   [--no-floors]\n"
            "  LIST: comma-separated of startup,tree,transfer,map,submit,"
            "roundtrip,\n"
            "        chain,fanout,stored,pending (all when not given)\n"
            "  --quick: fewer and smaller runs, to try it out\n"
            "  --no-floors: round trips and transfers without their floors "
            "(a plain TCP\n"
            "    peer, ...), which threads, processes, tcp and tcp_tls measure "
            "in\n    alternation"
            " with drove; tcp_plain and tcp_state never do\n"
            "  The names it prints are listed at the top of "
            "bench/bench_drove.c.\n");
    return 2;
}

/* Whether measurement name is selected by --only (NULL: all are). */
static int
s_selected(const char *only, const char *name)
{
    size_t n = strlen(name);

    if (only == NULL) {
        return 1;
    }
    for (const char *p = only; *p != '\0';) {
        const char *end = strchr(p, ',');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0) {
            return 1;
        }
        p += len + (end != NULL ? 1 : 0);
    }
    return 0;
}

/* Registers the temporary directory and what the benchmark and the
 * daemons' profile (DROVE_HOME is home/ in it) put there for removal at
 * exit, also when a signal ends the program: parents first, as they go
 * last. */
static void
s_clean_tmpdir_on_exit(const bench *b)
{
    const char *names[] = {"gate", "floor.sock", "state.db", "state.db-wal",
                           "state.db-journal"};
    char path[512];

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", b->d.tmpdir, names[i]);
        bu_remove_on_exit(path);
    }
}

void
bd_settle(bench *b)
{
    dv_future *f = DV_SUBMIT(b->c, "inc", dv_i64(bd_fresh(b, 1)));
    if (f == NULL || dv_result(f, DEADLINE_S) == NULL) {
        bd_failed(b, "settle", "-", "inc: %s",
                  f ? bd_ferr(f) : dv_last_error());
    }
    dv_release(f);
}

/* Whether to run the measurement name: only selects it (all if NULL); a
 * measurement starts once the scheduler has settled. */
static int
s_run(bench *b, const char *only, const char *name)
{
    if (!s_selected(only, name)) {
        return 0;
    }
    bd_settle(b);
    return 1;
}

/* Runs the measurements only selects (all if NULL), in their order;
 * connects b->c first unless the daemons' start did. */
static void
s_measure(bench *b, const char *only)
{
    if (s_selected(only, "startup")) {
        s_startup(b);
    }
    if (b->c == NULL) {
        b->c = dv_connect(b->where);
        if (b->c == NULL) {
            bd_failed(b, "connect", "-", "dv_connect(%s): %s", b->where,
                      dv_last_error());
            return;
        }
    }
    /* A warm-up as large as the measurement: the first hundred thousand
     * tasks also pay for growing the client's and scheduler's tables. */
    s_map_throughput(b, "warmup_map", b->cfg.map_n, 0);
    /* The data measurements first: after a few hundred thousand tiny
     * tasks, fresh large buffers cost more to fault in (see the report),
     * and these figures should not depend on what ran before. */
    if (s_run(b, only, "tree")) {
        s_tree_reduce(b);
    }
    if (s_run(b, only, "transfer")) {
        bd_transfer(b);
    }
    if (s_run(b, only, "map")) {
        char token[600];
        snprintf(token, sizeof(token),
                 "%s/home/profile_default/dashboard.token", b->d.tmpdir);
        int polled =
            b->dash_port > 0 && dash_poll_start(b->dash_port, token) == 0;
        s_map_throughput(b, "map_throughput", b->cfg.map_n, 1);
        if (polled) {
            bd_report(b, "dashboard_polls", dash_poll_stop(), 0, "answers");
        }
    }
    if (s_run(b, only, "submit")) {
        s_submit_throughput(b, b->cfg.submit_n);
    }
    if (s_run(b, only, "roundtrip")) {
        bd_roundtrip(b);
    }
    if (s_run(b, only, "chain")) {
        s_chain(b);
    }
    if (s_run(b, only, "fanout")) {
        bd_fanout(b);
    }
    if (s_run(b, only, "stored")) {
        s_stored_memory(b);
    }
    /* Last: it leaves a million tasks' worth of freed memory behind. */
    if (s_run(b, only, "pending")) {
        s_pending_memory(b);
    }
    if (b->d.sched_pid > 0) {
        s_sched_cpu(b);
    }
}

/* Sets b up for the cluster named cluster; 0, or -1 for an unknown name.
 * threads, processes, tcp and tcp_tls measure their floors too: tcp_plain
 * is read against tcp_tls and tcp_state against tcp, in alternating runs
 * (run.sh). */
static int
s_set_cluster(bench *b, const char *cluster)
{
    b->label = cluster;
    b->floors = 1;
    if (strcmp(cluster, "threads") == 0) {
        b->where = "local:threads=2";
    } else if (strcmp(cluster, "processes") == 0) {
        b->where = "local:processes=2";
    } else if (strcmp(cluster, "tcp") == 0) {
        b->where = NULL;
    } else if (strcmp(cluster, "tcp_tls") == 0) {
        b->where = NULL;
        setenv("DROVE_SAMEHOST", "0", 1); /* daemons inherit it */
    } else if (strcmp(cluster, "tcp_plain") == 0) {
        b->where = NULL;
        setenv("DROVE_TEST_PLAINTEXT", "1", 1); /* daemons inherit it */
        b->floors = 0;
    } else if (strcmp(cluster, "tcp_state") == 0) {
        b->where = NULL;
        b->state = 1;
        b->floors = 0;
    } else if (strcmp(cluster, "tcp_nodash") == 0 ||
               strcmp(cluster, "tcp_dash") == 0) {
        b->where = NULL;
        b->floors = 0;
        b->dash_port = cluster[4] == 'd' ? dash_free_port() : 0;
        char listen[64] = "off"; /* the daemons inherit it */
        if (b->dash_port > 0) {
            snprintf(listen, sizeof(listen), "127.0.0.1:%d", b->dash_port);
        }
        setenv("DROVE_DASHBOARD", listen, 1);
    } else {
        return -1;
    }
    return 0;
}

/* Closes the client and stops the daemons; the exit status. */
static int
s_finish(bench *b)
{
    if (b->d.sched_pid == 0) {
        /* Nothing in the directory is needed any more; remove it before
         * dv_close(), which a crash in it would not let us do after. */
        bu_remove_now();
    }
    if (b->c != NULL) {
        int64_t t0 = bu_now_ns();
        dv_close(b->c);
        double s = (double)(bu_now_ns() - t0) / 1e9;
        if (s > 5.0) {
            fprintf(stderr, "bench_drove: %s: dv_close took %.1f s\n", b->label,
                    s);
        }
    }
    if (b->d.sched_pid > 0) {
        bu_daemons_stop(&b->d, b->failures > 0);
    }
    return b->failures > 0 ? 1 : 0;
}

int
main(int argc, char **argv)
{
    bench b;
    const char *cluster = NULL;
    const char *child_where = NULL;
    const char *only = NULL;
    int no_floors = 0;
    const char *drove = DV_DROVE_BIN;

    memset(&b, 0, sizeof(b));
    b.fns_so = DV_BENCH_FNS_SO;
    b.cfg = s_full;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--cluster") == 0 && i + 1 < argc) {
            cluster = argv[++i];
        } else if (strcmp(argv[i], "--drove") == 0 && i + 1 < argc) {
            drove = argv[++i];
        } else if (strcmp(argv[i], "--fns") == 0 && i + 1 < argc) {
            b.fns_so = argv[++i];
        } else if (strcmp(argv[i], "--startup-child") == 0 && i + 1 < argc) {
            child_where = argv[++i];
        } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
            only = argv[++i];
        } else if (strcmp(argv[i], "--floor-peer") == 0 && i + 1 < argc) {
            return fl_peer_main(argv[i + 1]);
        } else if (strcmp(argv[i], "--quick") == 0) {
            b.cfg = s_quick;
        } else if (strcmp(argv[i], "--no-floors") == 0) {
            no_floors = 1;
        } else if (strcmp(argv[i], "--help") == 0) {
            s_usage(stdout);
            return 0;
        } else {
            return s_usage(stderr);
        }
    }
    if (bench_fns_count() <= 0) {
        return 1;
    }
    if (child_where != NULL) {
        return s_startup_child(child_where, b.fns_so);
    }
    if (cluster == NULL) {
        return s_usage(stderr);
    }
    if (s_set_cluster(&b, cluster) != 0) {
        return s_usage(stderr);
    }
    b.floors = b.floors && !no_floors;
    b.next_arg = (bu_now_ns() % 1000000) * 1000000000LL;
    bu_cleanup_on_exit();
    /* The daemons' profile (certificates, connection file) lives and dies
     * with the run, never in the user's ~/.drove. */
    if (bu_daemons_init(&b.d, drove, "bench_drove", NWORKERS) != 0) {
        fprintf(stderr, "bench_drove: %s\n", b.d.err);
        return 1;
    }
    s_clean_tmpdir_on_exit(&b);
    if (b.where != NULL || s_start_daemons(&b) == 0) {
        s_measure(&b, only);
    }
    return s_finish(&b);
}
