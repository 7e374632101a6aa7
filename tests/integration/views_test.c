/* drove — integration: a call on every worker (dv_run_all), a value on
 * every worker (dv_broadcast), and tasks that need resources.
 *
 *   - dv_run_all reaches each of three workers exactly once, on daemons
 *     and on local:processes=3: the ids the calls return (whoami) are the
 *     cluster's, each once; a pure function's calls are not merged.
 *   - A broadcast value is read by tasks on every worker without a
 *     transfer, and on a worker started after the broadcast too. Measured
 *     from the outside, as transfer_test does: a worker that served the
 *     8 MiB value to a peer wrote 8 MiB (/proc/PID/io wchar); no worker
 *     may. The same run on a plain dv_scatter shows that the measure sees
 *     such a transfer.
 *   - Of three daemon workers of two threads, one declares GPU=1: tasks
 *     asking for GPU=1 all run there, never two at once (two calls pinned
 *     there without resources do overlap: the measure sees it); a task
 *     asking for FPGA=1 waits, without holding back other work, until a
 *     worker with FPGA (declared through DROVE_WORKER_RESOURCES) joins; a
 *     malformed spec errs at once, from dv_submit and from `drove
 *     worker`; dv_scheduler_info shows each worker's resources.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "dvt_funcs.h"
#include "dvtest.h"

#define MIB (1024 * 1024)
#define S_NDOUBLES (8 * MIB / 8)
#define S_MAXF 8

/* The running test's cluster: stopped by the teardown even when the test
 * failed (the next one's scheduler needs the profile's lock). */
static dvt_cluster s_cl;
static int s_started;

static dvt_cluster *
s_cluster(int nworkers, int threads)
{
    s_started = 1;
    DVT_PASS(dvt_cluster_start(&s_cl, nworkers, threads));
    return &s_cl;
}

static int
s_teardown(void **state)
{
    (void)state;
    if (s_started) {
        dvt_cluster_stop(&s_cl);
        s_started = 0;
    }
    return 0;
}

/* ---- dv_run_all --------------------------------------------------------- */

/* Whether ids[0..n) holds id exactly once. */
static int
s_once(char ids[][128], int n, const char *id)
{
    int seen = 0;
    for (int i = 0; i < n; i++) {
        seen += strcmp(ids[i], id) == 0;
    }
    return seen == 1;
}

static void
s_check_run_all(dv_client *c, int want)
{
    DVT_EQ_I64(dv_nworkers(c), want);
    dv_future *fs[S_MAXF] = {0};
    char ids[S_MAXF][128];
    DVT_EQ_I64(dv_run_all(c, "whoami", 0, NULL, fs, S_MAXF), want);
    for (int i = 0; i < want; i++) {
        snprintf(ids[i], sizeof(ids[i]), "%s",
                 dv_value_str(DVT_RESULT(fs[i], 60.0), NULL));
    }
    DVT_TRUE(fs[want] == NULL);
    for (int i = 0; i < want; i++) {
        char id[128];
        DVT_PASS(dv_worker_id(c, i, id, sizeof(id)));
        if (!s_once(ids, want, id)) {
            DVT_FAIL("worker %s did not run the call exactly once", id);
        }
    }
    dvt_release_all(fs, S_MAXF);
    /* A pure function: still one call per worker, none merged. */
    dv_arg one = dv_i64(41);
    DVT_EQ_I64(dv_run_all(c, "inc", 1, &one, fs, S_MAXF), want);
    for (int i = 0; i < want; i++) {
        DVT_EQ_I64(DVT_RESULT_I64(fs[i], 60.0), 42);
        for (int j = 0; j < i; j++) {
            DVT_NE_STR(dv_future_key(fs[i]), dv_future_key(fs[j]));
        }
    }
    dvt_release_all(fs, S_MAXF);
    /* Room for fewer: the first ones run, the count says how many. */
    memset(fs, 0, sizeof(fs));
    DVT_EQ_I64(dv_run_all(c, "whoami", 0, NULL, fs, 2), want);
    DVT_TRUE(fs[0] != NULL && fs[1] != NULL && fs[2] == NULL);
    dvt_release_all(fs, S_MAXF);
    DVT_EQ_I64(dv_run_all(c, "whoami", 0, NULL, NULL, 0), want);
    DVT_FAILS_WITH(DV_EINVAL, dv_run_all(c, "whoami", 0, NULL, NULL, 3));
    DVT_FAILS_WITH(DV_EINVAL, dv_run_all(NULL, "whoami", 0, NULL, fs, 3));
}

static void
test_run_all_on_daemons(void **state)
{
    (void)state;
    dv_client *c = DVT_NOTNULL(dvt_connect(s_cluster(3, 1)->addr));
    s_check_run_all(c, 3);
    dv_close(c);
}

static void
test_run_all_on_processes(void **state)
{
    (void)state;
    dv_client *c = DVT_NOTNULL(dvt_connect("local:processes=3"));
    s_check_run_all(c, 3);
    dv_close(c);
}

/* ---- dv_broadcast ------------------------------------------------------- */

/* wchar of the cluster's first n workers, into out. */
static void
s_wchar(dvt_cluster *cl, int n, int64_t *out)
{
    for (int i = 0; i < n; i++) {
        out[i] = dvt_proc_wchar(dvt_proc_pid(cl->workers[i]));
        DVT_TRUE(out[i] >= 0);
    }
}

/* The most any of the first n workers wrote since before. */
static int64_t
s_most_written(dvt_cluster *cl, int n, const int64_t *before)
{
    int64_t now[DVT_MAX_WORKERS], most = 0;
    s_wchar(cl, n, now);
    for (int i = 0; i < n; i++) {
        int64_t d = now[i] - before[i];
        fprintf(stderr, "dvtest: w%d wrote %lld bytes\n", i, (long long)d);
        most = d > most ? d : most;
    }
    return most;
}

/* f64s_stats(v) on every worker: each sees the whole array. Returns the
 * most bytes a worker wrote meanwhile. */
static int64_t
s_stats_everywhere(dv_client *c, dvt_cluster *cl, dv_future *v)
{
    int64_t before[DVT_MAX_WORKERS];
    s_wchar(cl, cl->nworkers, before);
    dv_future *fs[S_MAXF] = {0};
    dv_arg arg = dv_fut(v);
    DVT_EQ_I64(dv_run_all(c, "f64s_stats", 1, &arg, fs, S_MAXF), cl->nworkers);
    for (int i = 0; i < cl->nworkers; i++) {
        const dv_value *st = DVT_RESULT(fs[i], 60.0);
        DVT_EQ_I64(dv_value_i64(dv_value_at(st, 0)), S_NDOUBLES);
        DVT_EQ_F64(dv_value_f64(dv_value_at(st, 1)),
                   (double)(S_NDOUBLES / 1024) * (1023.0 * 1024.0 / 2.0), 0.0);
    }
    dvt_release_all(fs, S_MAXF);
    return s_most_written(cl, cl->nworkers, before);
}

static void
test_broadcast_read_without_transfer(void **state)
{
    (void)state;
    dvt_cluster *cl = s_cluster(3, 1);
    dv_client *c = DVT_NOTNULL(dvt_connect(cl->addr));
    double *v = malloc(S_NDOUBLES * sizeof(double));
    for (size_t i = 0; i < S_NDOUBLES; i++) {
        v[i] = (double)(i % 1024);
    }
    dv_future *b = DVT_NOTNULL(dv_broadcast(c, dv_f64s(v, S_NDOUBLES)));
    DVT_PASS(dv_wait(&b, 1, 30.0));
    DVT_EQ_I64(dv_future_status(b), DV_FINISHED);
    DVT_LT_I64(s_stats_everywhere(c, cl, b), 1 * MIB);
    /* A worker that joins later is given it too, before any task. */
    DVT_TRUE(dvt_cluster_add_worker(cl, 1, NULL) != NULL);
    dvt_wait_workers(c, 4, 30.0);
    DVT_LT_I64(s_stats_everywhere(c, cl, b), 1 * MIB);
    /* Broadcasting it again shares the first. */
    dv_future *b2 = DVT_NOTNULL(dv_broadcast(c, dv_f64s(v, S_NDOUBLES)));
    DVT_EQ_STR(dv_future_key(b2), dv_future_key(b));
    dv_release(b2);
    dv_release(b);
    /* The measure sees a transfer: a scattered value is on two of the
     * four workers, and the others fetch it. */
    v[0] = 1024; /* another value: not the broadcast's key */
    dv_future *s = DVT_NOTNULL(dv_scatter(c, dv_f64s(v, S_NDOUBLES)));
    DVT_PASS(dv_wait(&s, 1, 30.0));
    v[0] = 0;
    int64_t before[DVT_MAX_WORKERS];
    s_wchar(cl, cl->nworkers, before);
    dv_future *fs[S_MAXF] = {0};
    dv_arg arg = dv_fut(s);
    DVT_EQ_I64(dv_run_all(c, "f64s_stats", 1, &arg, fs, S_MAXF), 4);
    DVT_PASS(dv_wait(fs, 4, 60.0));
    DVT_GE_I64(s_most_written(cl, cl->nworkers, before), 8 * MIB);
    dvt_release_all(fs, S_MAXF);
    dv_release(s);
    free(v);
    dv_close(c);
}

/* ---- Resources ---------------------------------------------------------- */

/* span_ms(ms) with opts; returns its future. */
static dv_future *
s_span(dv_client *c, int64_t ms, const dv_opts *opts)
{
    dv_arg a = dv_i64(ms);
    return DVT_NOTNULL(dv_submit(c, "span_ms", 1, &a, opts));
}

/* Waits for the n spans of fs and checks they ran on worker `on`; returns
 * whether any two overlapped. */
static int
s_spans_overlap(dv_future **fs, int n, const char *on)
{
    int64_t start[8], end[8];
    for (int i = 0; i < n; i++) {
        const dv_value *r = DVT_RESULT(fs[i], 60.0);
        DVT_EQ_STR(dv_value_str(dv_value_at(r, 0), NULL), on);
        start[i] = dv_value_i64(dv_value_at(r, 1));
        end[i] = dv_value_i64(dv_value_at(r, 2));
    }
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) {
            if (i != j && start[i] <= start[j] && start[j] < end[i]) {
                return 1;
            }
        }
    }
    return 0;
}

static void
s_bad_spec(dv_client *c, const char *spec, const char *why)
{
    dv_opts o = DV_OPTS_INIT;
    o.resources = spec;
    dv_arg a = dv_i64(1);
    DVT_TRUE(dv_submit(c, "inc", 1, &a, &o) == NULL);
    DVT_EQ_I64(dv_last_code(), DV_EINVAL);
    DVT_CONTAINS(dv_last_error(), why);
    dv_future *out[1];
    DVT_FAILS_WITH(DV_EINVAL, dv_map(c, "inc", 1, &a, out, &o));
}

/* `drove worker --resources SPEC` exits 2, naming what is wrong. */
static void
s_bad_worker(dvt_cluster *cl, const char *spec)
{
    char *argv[] = {(char *)dvt_drove_bin(),
                    "worker",
                    "--scheduler",
                    cl->addr,
                    "--no-nanny",
                    "--resources",
                    (char *)spec,
                    NULL};
    dvt_proc *p = DVT_NOTNULL(dvt_spawn("badworker", argv));
    int status = 0;
    DVT_PASS(dvt_proc_wait(p, 30.0, &status));
    DVT_TRUE(WIFEXITED(status));
    DVT_EQ_I64(WEXITSTATUS(status), 2);
    char *log = dvt_proc_log(p);
    DVT_CONTAINS(log, "--resources 'GPU': 'GPU' has no amount");
    free(log);
}

static void
test_resources(void **state)
{
    (void)state;
    static const char *const gpu[] = {"--resources", "GPU=1", NULL};
    dvt_cluster *cl = s_cluster(2, 2);
    DVT_TRUE(dvt_cluster_add_worker(cl, 2, gpu) != NULL);
    dv_client *c = DVT_NOTNULL(dvt_connect(cl->addr));
    char *json = NULL;
    DVT_PASS(dv_scheduler_info(c, &json));
    DVT_CONTAINS(json, "\"GPU\": 1.0");
    DVT_CONTAINS(json, "\"resources\": {}");
    free(json);
    s_bad_spec(c, "GPU", "dv_opts.resources 'GPU': 'GPU' has no amount");
    s_bad_spec(c, "GPU=x", "the amount of GPU is 'x', not a positive number");
    s_bad_worker(cl, "GPU");

    /* Two calls pinned to w2 (two threads) overlap: the measure sees it. */
    dv_opts o = DV_OPTS_INIT;
    dv_future *fs[6];
    o.worker = "w2";
    for (int i = 0; i < 2; i++) {
        fs[i] = s_span(c, 800, &o);
    }
    DVT_TRUE(s_spans_overlap(fs, 2, "w2"));
    dvt_release_all(fs, 2);
    /* Asking for GPU=1: all on w2, one at a time. */
    o = (dv_opts)DV_OPTS_INIT;
    o.resources = "GPU=1";
    for (int i = 0; i < 4; i++) {
        fs[i] = s_span(c, 200, &o);
    }
    DVT_TRUE(!s_spans_overlap(fs, 4, "w2"));
    dvt_release_all(fs, 4);

    /* FPGA=1: nobody has it, so it waits, and holds nothing else back. */
    o.resources = "FPGA=1";
    dv_future *f = s_span(c, 0, &o);
    dv_future *g = DVT_NOTNULL(DV_SUBMIT(c, "inc", dv_i64(1)));
    DVT_EQ_I64(DVT_RESULT_I64(g, 30.0), 2);
    DVT_FAILS_WITH(DV_ETIMEDOUT, dv_wait(&f, 1, 1.0));
    setenv("DROVE_WORKER_RESOURCES", "FPGA=1", 1);
    dvt_proc *w3 = dvt_cluster_add_worker(cl, 1, NULL);
    unsetenv("DROVE_WORKER_RESOURCES");
    DVT_TRUE(w3 != NULL);
    DVT_EQ_STR(dv_value_str(dv_value_at(DVT_RESULT(f, 60.0), 0), NULL), "w3");
    dv_release(f);
    dv_release(g);
    dv_close(c);
}

int
main(void)
{
    dvt_init(170);
    (void)dvt_funcs_anchor(); /* keeps libdvt_funcs.so linked */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_run_all_on_daemons, s_teardown),
        cmocka_unit_test(test_run_all_on_processes),
        cmocka_unit_test_teardown(test_broadcast_read_without_transfer,
                                  s_teardown),
        cmocka_unit_test_teardown(test_resources, s_teardown),
    };
    return dvt_finish(cmocka_run_group_tests_name("views", tests, NULL, NULL));
}
