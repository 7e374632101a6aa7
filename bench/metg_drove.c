/* One graph of the METG benchmark on a drove cluster; see metg_drove.h.
 *
 * The client submits the whole graph at once, step by step: a future per
 * input makes each dependency, and a future is released as soon as the
 * tasks that take it are submitted (those have what they need of it).
 * Futures no task depends on, the last step's and all of trivial's, are
 * kept to the end: releasing the last handle on an unfinished task that
 * nothing needs cancels it. */
#include "metg_drove.h"

#include "bench_util.h"
#include "metg_kernel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEADLINE_S 300.0 /* the longest a graph may take */

/* Submits the tasks of step s into cur[], their inputs from prev[]. 0, or
 * -1 with cur[] released. */
static int
s_submit_step(const metg_run *r, int64_t s, dv_future **prev, dv_future **cur)
{
    int64_t w = r->width;
    dv_arg args[METG_TASK_FIXED_ARGS + 3];

    for (int64_t i = 0; i < w; i++) {
        int64_t first = 0;
        int n = metg_inputs(r->pattern, w, s, i, &first);
        /* As metg_kernel.h says metg_task takes them. */
        args[0] = dv_i64(r->pattern);
        args[1] = dv_i64(w);
        args[2] = dv_i64(s);
        args[3] = dv_i64(i);
        args[4] = dv_i64(r->iter);
        args[5] = dv_i64(r->nonce);
        for (int k = 0; k < n; k++) {
            args[METG_TASK_FIXED_ARGS + k] = dv_fut(prev[first + k]);
        }
        cur[i] = dv_submit(r->c, "metg_task", METG_TASK_FIXED_ARGS + (size_t)n,
                           args, NULL);
        if (cur[i] == NULL) {
            fprintf(stderr, "bench_metg: %s: dv_submit (%lld, %lld): %s\n",
                    r->label, (long long)s, (long long)i, dv_last_error());
            for (int64_t k = 0; k < i; k++) {
                dv_release(cur[k]);
                cur[k] = NULL;
            }
            return -1;
        }
    }
    return 0;
}

/* Waits for every task the client holds and checks the last step's
 * results. 0 or -1. */
static int
s_collect(const metg_run *r, dv_future **fs)
{
    int64_t w = r->width, last = r->steps - 1;
    int rc = dv_wait_all(r->c, DEADLINE_S);

    if (rc != 0) {
        fprintf(stderr, "bench_metg: %s: dv_wait_all: %s\n", r->label,
                dv_strerror(rc));
        return -1;
    }
    for (int64_t i = 0; i < w; i++) {
        dv_future *f = fs[last * w + i];
        const dv_value *v = dv_result(f, DEADLINE_S);
        size_t len = 0;
        const void *p = v != NULL ? dv_value_bytes(v, &len) : NULL;
        metg_value got = {-1, -1};
        if (p != NULL && len == sizeof(got)) {
            memcpy(&got, p, sizeof(got));
        }
        if (got.step != last || got.point != i) {
            const char *why = dv_future_error(f);
            fprintf(stderr,
                    "bench_metg: %s: task (%lld, %lld) gave "
                    "(%lld, %lld): %s\n",
                    r->label, (long long)last, (long long)i,
                    (long long)got.step, (long long)got.point,
                    v == NULL ? (why ? why : dv_last_error()) : "wrong value");
            return -1;
        }
    }
    return 0;
}

/* After the timed part: every task still held (those without dependents)
 * finished. 0 or -1. */
static int
s_check_held(const metg_run *r, dv_future **fs, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        if (fs[k] != NULL && dv_future_status(fs[k]) != DV_FINISHED) {
            const char *why = dv_future_error(fs[k]);
            fprintf(stderr,
                    "bench_metg: %s: task (%lld, %lld) did not "
                    "finish: %s\n",
                    r->label, (long long)(k / (size_t)r->width),
                    (long long)(k % (size_t)r->width),
                    why != NULL ? why : "no error");
            return -1;
        }
    }
    return 0;
}

/* Releases the futures of step s - 1 that step s's tasks take as inputs:
 * they have what they need of them. The others, which no task depends on
 * (all of trivial's), are kept to the end: releasing the last handle on
 * an unfinished task nothing needs would cancel it. */
static void
s_release_inputs(const metg_run *r, int64_t s, dv_future **prev)
{
    int64_t w = r->width;

    for (int64_t i = 0; i < w; i++) {
        int64_t first = 0;
        int n = metg_inputs(r->pattern, w, s, i, &first);
        for (int k = 0; k < n; k++) {
            dv_release(prev[first + k]);
            prev[first + k] = NULL;
        }
    }
}

/* Returns once every worker has done what the graph left it: freeing the
 * results released. A call run on each worker after the releases comes
 * back only after them, as a worker's messages keep their order. The
 * cleanup of a graph then never falls on the next timed graph, of this
 * cluster or of another (the embedded clusters and OpenMP's child share
 * the machine): Task Bench times each graph alone. 0, or -1. */
static int
s_settle(const metg_run *r)
{
    enum { MAX_WORKERS = 64 };
    dv_future *fs[MAX_WORKERS];
    dv_arg args[METG_TASK_FIXED_ARGS] = {
        dv_i64(METG_TRIVIAL), dv_i64(1), dv_i64(0), dv_i64(0), dv_i64(0),
        dv_i64(r->nonce)};
    int n = dv_run_all(r->c, "metg_task", METG_TASK_FIXED_ARGS, args, fs,
                       MAX_WORKERS);
    int rc = n > 0 ? 0 : -1;

    for (int i = 0; i < n && i < MAX_WORKERS; i++) {
        if (dv_result(fs[i], DEADLINE_S) == NULL) {
            rc = -1;
        }
        dv_release(fs[i]);
    }
    if (rc != 0) {
        fprintf(stderr, "bench_metg: %s: settling after the graph: %s\n",
                r->label, n < 0 ? dv_strerror(n) : dv_last_error());
    }
    return rc;
}

int
metg_drove_run(const metg_run *r, double *wall_s, double *cpu_s)
{
    int64_t w = r->width;
    size_t n = (size_t)(r->steps * w);
    dv_future **fs = calloc(n, sizeof(*fs)); /* task (s, i) at s * w + i */
    int rc = -1;

    if (fs == NULL) {
        fprintf(stderr, "bench_metg: %s: out of memory\n", r->label);
        return -1;
    }
    double cpu0 = cpu_s != NULL ? bu_tree_cpu_s() : 0;
    int64_t t0 = bu_now_ns();
    for (int64_t s = 0; s < r->steps; s++) {
        dv_future **prev = s > 0 ? fs + (s - 1) * w : NULL;
        if (s_submit_step(r, s, prev, fs + s * w) != 0) {
            goto done;
        }
        if (s > 0) {
            s_release_inputs(r, s, prev);
        }
    }
    if (s_collect(r, fs) == 0) {
        *wall_s = (double)(bu_now_ns() - t0) / 1e9;
        if (cpu_s != NULL) {
            *cpu_s = bu_tree_cpu_s() - cpu0;
        }
        rc = s_check_held(r, fs, n);
    }
done:
    for (size_t k = 0; k < n; k++) {
        dv_release(fs[k]);
    }
    free(fs);
    return s_settle(r) == 0 ? rc : -1;
}
