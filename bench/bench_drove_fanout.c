/* bench_drove's fan-out / fan-in: one root task, cfg.fan_n (10,000) tasks
 * each taking the root's future as an argument, and one final task taking
 * all of theirs, timed from the first submission to the final result.
 *
 * The root is inc(x), impure, so that every run is new work; the middle
 * tasks are add(root, i), pure (their keys differ, as their i do); the
 * final one is sum_list(futures) with every middle future in a single
 * dv_futs argument: a call may take up to 65,536 distinct futures
 * (src/client/submit.c), so 10,000 need no second level. Its result,
 * fan_n * (x + 1) + the sum of i, says every middle task ran on the
 * root's result. */
#define _GNU_SOURCE
#include "bench_drove.h"
#include "bench_util.h"

#include <stdio.h>
#include <stdlib.h>

#define S_MAX_RUNS 16

/* One fan-out / fan-in; its time in ms (*submit_ms: the client's time
 * submitting the fan_n + 2 calls), or -1 after reporting why. */
static double
s_fan_once(bench *b, const char *metric, double *submit_ms)
{
    size_t n = b->cfg.fan_n;
    dv_future **fs = calloc(n, sizeof(*fs));
    dv_future *root = NULL;
    dv_future *last = NULL;
    dv_opts impure = DV_OPTS_INIT;
    int64_t x = bd_fresh(b, 1);
    size_t nfs = 0;
    double ms = -1;

    impure.impure = 1;
    dv_arg rarg = dv_i64(x);
    int64_t t0 = bu_now_ns();
    root = dv_submit(b->c, "inc", 1, &rarg, &impure);
    for (; root != NULL && nfs < n; nfs++) {
        fs[nfs] = DV_SUBMIT(b->c, "add", dv_fut(root), dv_i64((int64_t)nfs));
        if (fs[nfs] == NULL) {
            break;
        }
    }
    last = nfs == n ? DV_SUBMIT(b->c, "sum_list", dv_futs(fs, n)) : NULL;
    int64_t t1 = bu_now_ns();
    if (last == NULL) {
        bd_failed(b, metric, "ms", "dv_submit (%zu of %zu middle tasks): %s",
                  nfs, n, dv_last_error());
        goto done;
    }
    const dv_value *v = dv_result(last, DEADLINE_S);
    int64_t t2 = bu_now_ns();
    int64_t want = (int64_t)n * (x + 1) + (int64_t)(n * (n - 1) / 2);
    if (v == NULL || dv_value_i64(v) != want) {
        bd_failed(b, metric, "ms", "sum_list gave %lld, not %lld: %s",
                  v != NULL ? (long long)dv_value_i64(v) : -1LL,
                  (long long)want, v != NULL ? "wrong value" : bd_ferr(last));
        goto done;
    }
    *submit_ms = (double)(t1 - t0) / 1e6;
    ms = (double)(t2 - t0) / 1e6;
done:
    dv_release(last);
    bd_release_all(fs, nfs);
    dv_release(root);
    free(fs);
    return ms;
}

void
bd_fanout(bench *b)
{
    double ms[S_MAX_RUNS];
    double submit_ms[S_MAX_RUNS];
    size_t runs = b->cfg.fan_runs < S_MAX_RUNS ? b->cfg.fan_runs : S_MAX_RUNS;
    char metric[64];
    char submit_metric[80];

    snprintf(metric, sizeof(metric), "fanout_fanin_%zuk", b->cfg.fan_n / 1000);
    snprintf(submit_metric, sizeof(submit_metric), "%s_submit", metric);
    for (size_t i = 0; i < runs; i++) {
        bd_settle(b); /* the last run's releases are not this one's */
        ms[i] = s_fan_once(b, metric, &submit_ms[i]);
        if (ms[i] < 0) {
            return;
        }
    }
    bd_report(b, metric, bu_percentile(ms, runs, 50), 1, "ms");
    bd_report(b, submit_metric, bu_percentile(submit_ms, runs, 50), 1, "ms");
}
