/* What a child task costs (dv_call_submit from inside a running task),
 * on drove's three clusters, printing `CLUSTER.name: value unit`.
 *
 *   bench_children [--quick] [--clusters LIST] [--drove PATH] [--fns SO]
 *
 * The clusters: threads (local:threads=2), processes (local:processes=2)
 * and tcp (a `drove scheduler` and two `drove worker --threads 1` daemons
 * on 127.0.0.1, with mutual TLS, the task library fns.c uploaded), all
 * connected for the whole run and measured in turns: each round runs
 * every measurement once on each cluster, the clusters' order rotating
 * from round to round, so that the machine's swings (another program
 * taking the two cores) fall on all of them alike.
 *
 *   child_roundtrip_median, _p99
 *                         one task (child_roundtrips) submits a child
 *                         inc(x) and waits for it (dv_result: its worker
 *                         lends another thread meanwhile), in a loop,
 *                         timing each round trip itself: 10 batches of
 *                         200, one task a batch
 *   client_roundtrip_median, _p99
 *                         the same from the client: dv_submit of inc(x),
 *                         dv_result, in batches of 200 alternating with
 *                         the children's (the order swapped each round)
 *   child_vs_client_roundtrip
 *                         the median over batches of the ratio of the two
 *                         kinds' batch medians, child / client (x)
 *   continuation_per_task the wall time of sum_range over 2^14 elements
 *                         (fns.c: each task submits its halves and an add
 *                         of their futures, and returns the add's future:
 *                         2^15 - 1 sum_range and 2^14 - 1 add tasks), from
 *                         the client's submit to its result, divided by
 *                         the tasks' number; the median of 3 (us)
 *   fib_children          fib(25) of pure children: equal calls share one
 *                         task, so 26 fib and 24 add tasks, each fib
 *                         submitted when its parent runs (a chain 25
 *                         deep); wall time, the median of 3 (ms)
 *
 * Every argument is fresh, so that no pure call is a result computed
 * before. The ratios' spread and the load average go to stderr. A
 * measurement that fails prints `CLUSTER.name: FAILED unit` and its
 * reason on stderr; the program then exits non-zero. */
#define _GNU_SOURCE
#include "bench_util.h"
#include "fns.h"

#include <drove.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEADLINE_S 120.0 /* the longest any single wait may take */
#define NWORKERS 2
#define MAX_BATCHES 64
#define MAX_RUNS 16

enum { CL_THREADS, CL_PROCESSES, CL_TCP, NCLUSTERS };

static const char *const s_label[NCLUSTERS] = {"threads", "processes", "tcp"};

typedef struct cfg {
    size_t batch;      /* round trips of one kind in a row */
    size_t batches;    /* batches of each kind */
    size_t runs;       /* runs of sum_range and of fib */
    int64_t sum_n;     /* elements of sum_range */
    int64_t fib_n;     /* fib's argument */
    unsigned clusters; /* bit (1 << CL_*) per cluster to measure */
} cfg;

/* One cluster's client and figures. */
typedef struct cluster {
    const char *label;
    dv_client *c;
    double *child_us;  /* every child round trip, batch after batch */
    double *client_us; /* every client round trip */
    double ratio[MAX_BATCHES];
    size_t nbatches; /* batches of both kinds measured */
    double cont_us[MAX_RUNS];
    size_t ncont;
    double fib_ms[MAX_RUNS];
    size_t nfib;
    int failed; /* a measurement failed: the cluster is left out after */
} cluster;

typedef struct bench {
    cfg cfg;
    const char *drove;
    const char *fns_so;
    cluster cl[NCLUSTERS];
    bu_daemons d;     /* tcp's */
    int64_t next_arg; /* fresh arguments */
    int failures;
} bench;

static int64_t
s_fresh(bench *b, int64_t n)
{
    int64_t first = b->next_arg;
    b->next_arg += n;
    return first;
}

/* `LABEL.metric: FAILED unit`, the reason on stderr; the cluster is
 * measured no more. */
static void
s_failed(bench *b, cluster *cl, const char *metric, const char *unit,
         const char *why)
{
    printf("%s.%s: FAILED %s\n", cl->label, metric, unit);
    fflush(stdout);
    fprintf(stderr, "bench_children: %s.%s: %s\n", cl->label, metric, why);
    cl->failed = 1;
    b->failures++;
}

static void
s_report(const cluster *cl, const char *metric, double v, int decimals,
         const char *unit)
{
    char name[128];
    snprintf(name, sizeof(name), "%s.%s", cl->label, metric);
    bu_line(name, v, decimals, unit);
}

/* The why of a future that has no result. Borrowed. */
static const char *
s_ferr(const dv_future *f)
{
    const char *e = f != NULL ? dv_future_error(f) : NULL;
    return e != NULL ? e : dv_last_error();
}

/* The number after "name": in the scheduler's status, or -1. */
static long long
s_status_count(dv_client *c, const char *name)
{
    char *json = NULL;
    char key[64];
    long long n = -1;

    snprintf(key, sizeof(key), "\"%s\":", name);
    if (dv_scheduler_info(c, &json) == 0) {
        const char *p = strstr(json, key);
        if (p == NULL || sscanf(p + strlen(key), "%lld", &n) != 1) {
            n = -1;
        }
    }
    free(json);
    return n;
}

/* Waits until the scheduler has forgotten every task (the client holds
 * none): a tree of tens of thousands of tasks is released after its
 * result came, and that work must not fall on the next measurement, on
 * this cluster or another (the embedded ones share this process). 0, or
 * -1 after 30 s. */
static int
s_settle(bench *b, cluster *cl, const char *metric, const char *unit)
{
    double deadline = bu_now() + 30.0;
    long long n = -1;

    while ((n = s_status_count(cl->c, "tasks")) != 0 && bu_now() < deadline) {
        usleep(500);
    }
    if (n != 0) {
        char why[128];
        snprintf(why, sizeof(why),
                 "the scheduler still has %lld tasks 30 s "
                 "after the result",
                 n);
        s_failed(b, cl, metric, unit, why);
        return -1;
    }
    return 0;
}

/* ---- Round trips ------------------------------------------------------- */

/* n client round trips of inc, their times into us[]. 0, or -1. */
static int
s_client_batch(bench *b, cluster *cl, size_t n, double *us)
{
    int64_t x = s_fresh(b, (int64_t)n);
    char why[256];

    for (size_t i = 0; i < n; i++, x++) {
        int64_t t0 = bu_now_ns();
        dv_future *f = DV_SUBMIT(cl->c, "inc", dv_i64(x));
        const dv_value *v = f != NULL ? dv_result(f, DEADLINE_S) : NULL;
        int64_t t1 = bu_now_ns();
        if (v == NULL || dv_value_i64(v) != x + 1) {
            snprintf(why, sizeof(why), "inc(%lld): %s", (long long)x,
                     v == NULL ? s_ferr(f) : "wrong value");
            s_failed(b, cl, "client_roundtrip_median", "us", why);
            dv_release(f);
            return -1;
        }
        dv_release(f);
        us[i] = (double)(t1 - t0) / 1e3;
    }
    return 0;
}

/* One child_roundtrips task of n, its times into us[]. 0, or -1. */
static int
s_child_batch(bench *b, cluster *cl, size_t n, double *us)
{
    int64_t x = s_fresh(b, (int64_t)n);
    dv_future *f =
        DV_SUBMIT(cl->c, "child_roundtrips", dv_i64((int64_t)n), dv_i64(x));
    const dv_value *v = f != NULL ? dv_result(f, DEADLINE_S) : NULL;
    size_t len = 0;
    const double *t = v != NULL ? dv_value_f64s(v, &len) : NULL;
    int rc = 0;

    if (t == NULL || len != n) {
        s_failed(b, cl, "child_roundtrip_median", "us",
                 v == NULL ? s_ferr(f) : "not one time per round trip");
        rc = -1;
    } else {
        memcpy(us, t, n * sizeof(*us));
    }
    dv_release(f);
    return rc;
}

/* Batch k of each kind, in the order the round asks; their ratio. */
static void
s_roundtrip_pair(bench *b, cluster *cl, size_t k, int child_first)
{
    size_t n = b->cfg.batch;
    double *child = cl->child_us + k * n;
    double *client = cl->client_us + k * n;

    if (child_first ? s_child_batch(b, cl, n, child) != 0 ||
                          s_client_batch(b, cl, n, client) != 0
                    : s_client_batch(b, cl, n, client) != 0 ||
                          s_child_batch(b, cl, n, child) != 0) {
        return;
    }
    /* Sorting the batches in place changes no figure of the whole. */
    double ml = bu_median(client, n);
    cl->ratio[k] = ml > 0 ? bu_median(child, n) / ml : 0;
    cl->nbatches = k + 1;
}

/* ---- Continuations ----------------------------------------------------- */

/* One sum_range over n fresh numbers; its time per task, or -1. The
 * scheduler's count of children says every task but the first was one
 * (2n - 1 sum_range tasks and n - 1 adds in all). */
static double
s_sum_range_once(bench *b, cluster *cl, int64_t n)
{
    int64_t lo = s_fresh(b, n);
    long long kids = -s_status_count(cl->c, "children");
    int64_t t0 = bu_now_ns();
    dv_future *f = DV_SUBMIT(cl->c, "sum_range", dv_i64(lo), dv_i64(lo + n));
    const dv_value *v = f != NULL ? dv_result(f, DEADLINE_S) : NULL;
    int64_t t1 = bu_now_ns();
    int64_t want = n * lo + n * (n - 1) / 2;
    char why[256] = "";

    if (v == NULL || dv_value_i64(v) != want) {
        snprintf(why, sizeof(why), "sum_range(%lld, %lld) gave %lld: %s",
                 (long long)lo, (long long)(lo + n),
                 v != NULL ? (long long)dv_value_i64(v) : -1LL,
                 v == NULL ? s_ferr(f) : "wrong value");
    }
    dv_release(f);
    kids += s_status_count(cl->c, "children");
    if (why[0] == '\0' && kids != 3 * n - 3) {
        snprintf(why, sizeof(why), "%lld children, not %lld", kids,
                 (long long)(3 * n - 3));
    }
    if (why[0] != '\0') {
        s_failed(b, cl, "continuation_per_task", "us", why);
        return -1;
    }
    if (s_settle(b, cl, "continuation_per_task", "us") != 0) {
        return -1;
    }
    return (double)(t1 - t0) / 1e3 / (double)(3 * n - 2);
}

static int64_t
s_fib(int64_t n)
{
    int64_t a = 0, b = 1;
    for (int64_t i = 0; i < n; i++) {
        int64_t t = a + b;
        a = b;
        b = t;
    }
    return a;
}

/* One fib(n) of children, its nonce fresh; its time in ms, or -1. */
static double
s_fib_once(bench *b, cluster *cl, int64_t n)
{
    int64_t t0 = bu_now_ns();
    dv_future *f = DV_SUBMIT(cl->c, "fib", dv_i64(n), dv_i64(s_fresh(b, 1)));
    const dv_value *v = f != NULL ? dv_result(f, DEADLINE_S) : NULL;
    int64_t t1 = bu_now_ns();
    double ms = -1;

    if (v == NULL || dv_value_i64(v) != s_fib(n)) {
        char why[256];
        snprintf(why, sizeof(why), "fib(%lld) gave %lld: %s", (long long)n,
                 v != NULL ? (long long)dv_value_i64(v) : -1LL,
                 v == NULL ? s_ferr(f) : "wrong value");
        s_failed(b, cl, "fib_children", "ms", why);
    } else {
        ms = (double)(t1 - t0) / 1e6;
    }
    dv_release(f);
    if (ms >= 0 && s_settle(b, cl, "fib_children", "ms") != 0) {
        ms = -1;
    }
    return ms;
}

/* ---- Clusters ---------------------------------------------------------- */

/* The daemons, started, connected to, their library uploaded. 0 or -1. */
static int
s_connect_tcp(bench *b, cluster *cl)
{
    if (bu_daemons_start(&b->d, NULL) != 0) {
        fprintf(stderr, "bench_children: tcp: %s\n", b->d.err);
        return -1;
    }
    cl->c = dv_connect(b->d.addr);
    if (cl->c == NULL) {
        fprintf(stderr, "bench_children: dv_connect(%s): %s\n", b->d.addr,
                dv_last_error());
        return -1;
    }
    double deadline = bu_now() + 30.0;
    int nw = 0;
    while ((nw = dv_nworkers(cl->c)) < NWORKERS && bu_now() < deadline) {
        usleep(1000);
    }
    int rc = nw == NWORKERS ? dv_upload_library(cl->c, b->fns_so) : -1;
    if (rc != NWORKERS) {
        fprintf(stderr,
                "bench_children: tcp: %d of %d workers, library "
                "upload %d: %s\n",
                nw, NWORKERS, rc, dv_last_error());
        return -1;
    }
    return 0;
}

/* Connects to the clusters the run wants, and makes room for their
 * samples. 0 or -1. */
static int
s_connect(bench *b)
{
    size_t samples = b->cfg.batch * b->cfg.batches;

    for (int k = 0; k < NCLUSTERS; k++) {
        cluster *cl = &b->cl[k];
        cl->label = s_label[k];
        if ((b->cfg.clusters & (1u << k)) == 0) {
            continue;
        }
        cl->child_us = calloc(samples, sizeof(double));
        cl->client_us = calloc(samples, sizeof(double));
        if (cl->child_us == NULL || cl->client_us == NULL) {
            fprintf(stderr, "bench_children: out of memory\n");
            return -1;
        }
        if (k == CL_TCP) {
            if (s_connect_tcp(b, cl) != 0) {
                return -1;
            }
            continue;
        }
        const char *where =
            k == CL_THREADS ? "local:threads=2" : "local:processes=2";
        cl->c = dv_connect(where);
        if (cl->c == NULL) {
            fprintf(stderr, "bench_children: dv_connect(%s): %s\n", where,
                    dv_last_error());
            return -1;
        }
    }
    return 0;
}

static void
s_close(bench *b)
{
    for (int k = 0; k < NCLUSTERS; k++) {
        dv_close(b->cl[k].c);
        b->cl[k].c = NULL;
        free(b->cl[k].child_us);
        free(b->cl[k].client_us);
    }
    if (b->d.sched_pid > 0 && bu_daemons_stop(&b->d, b->failures > 0) != 0) {
        b->failures++;
    }
}

/* ---- Rounds ------------------------------------------------------------ */

/* Whether cluster k is measured (wanted, connected, nothing failed). */
static int
s_live(const bench *b, int k)
{
    return b->cl[k].c != NULL && !b->cl[k].failed;
}

/* Each kind once, small, on every cluster, not counted: the first calls
 * also pay for loading the library and growing tables. */
static void
s_warmup(bench *b)
{
    double us[50];

    for (int k = 0; k < NCLUSTERS; k++) {
        cluster *cl = &b->cl[k];
        if (s_live(b, k) && s_child_batch(b, cl, 50, us) == 0 &&
            s_client_batch(b, cl, 50, us) == 0 &&
            s_sum_range_once(b, cl, 1024) >= 0) {
            s_fib_once(b, cl, 10);
        }
    }
}

/* Every round: each cluster in turn, the first one rotating. */
static void
s_rounds(bench *b)
{
    size_t rounds = b->cfg.batches > b->cfg.runs ? b->cfg.batches : b->cfg.runs;

    for (size_t r = 0; r < rounds; r++) {
        for (int i = 0; i < NCLUSTERS; i++) {
            int k = (int)((r + (size_t)i) % NCLUSTERS);
            cluster *cl = &b->cl[k];
            if (s_live(b, k) && r < b->cfg.batches) {
                s_roundtrip_pair(b, cl, r, r % 2 == 0);
            }
            if (s_live(b, k) && r < b->cfg.runs) {
                double us = s_sum_range_once(b, cl, b->cfg.sum_n);
                double ms = us >= 0 ? s_fib_once(b, cl, b->cfg.fib_n) : -1;
                if (ms >= 0) {
                    cl->cont_us[cl->ncont++] = us;
                    cl->fib_ms[cl->nfib++] = ms;
                }
            }
        }
    }
}

static void
s_report_cluster(const bench *b, cluster *cl)
{
    size_t n = cl->nbatches * b->cfg.batch;

    if (cl->nbatches == b->cfg.batches) {
        s_report(cl, "child_roundtrip_median", bu_median(cl->child_us, n), 1,
                 "us");
        s_report(cl, "child_roundtrip_p99", bu_percentile(cl->child_us, n, 99),
                 1, "us");
        s_report(cl, "client_roundtrip_median", bu_median(cl->client_us, n), 1,
                 "us");
        s_report(cl, "client_roundtrip_p99",
                 bu_percentile(cl->client_us, n, 99), 1, "us");
        size_t k = cl->nbatches;
        s_report(cl, "child_vs_client_roundtrip", bu_median(cl->ratio, k), 3,
                 "x");
        char name[128];
        snprintf(name, sizeof(name), "%s.child_vs_client_roundtrip", cl->label);
        bu_print_spread("bench_children", name, cl->ratio, k);
    }
    if (cl->ncont == b->cfg.runs) {
        s_report(cl, "continuation_per_task", bu_median(cl->cont_us, cl->ncont),
                 2, "us");
        s_report(cl, "fib_children", bu_median(cl->fib_ms, cl->nfib), 1, "ms");
    }
}

/* ---- Main -------------------------------------------------------------- */

static void
s_usage(FILE *out)
{
    fprintf(out,
            "usage: bench_children [--quick] [--clusters LIST] "
            "[--drove PATH] [--fns SO]\n"
            "  LIST: comma-separated of threads,processes,tcp (all when not "
            "given)\n"
            "  --quick: fewer and smaller runs, to try it out\n"
            "  The names it prints are listed at the top of "
            "bench/bench_children.c.\n");
}

/* Fills b from the command line. 0 to go on, 1 after --help, -1. */
static int
s_parse(int argc, char **argv, bench *b)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--quick") == 0) {
            b->cfg = (cfg){.batch = 100,
                           .batches = 3,
                           .runs = 1,
                           .sum_n = 1 << 12,
                           .fib_n = 25,
                           .clusters = b->cfg.clusters};
        } else if (strcmp(a, "--clusters") == 0 && i + 1 < argc) {
            b->cfg.clusters = bu_name_bits(argv[++i], s_label, NCLUSTERS);
            if (b->cfg.clusters == 0) {
                fprintf(stderr,
                        "bench_children: --clusters %s: not a list "
                        "of threads, processes, tcp\n",
                        argv[i]);
                return -1;
            }
        } else if (strcmp(a, "--drove") == 0 && i + 1 < argc) {
            b->drove = argv[++i];
        } else if (strcmp(a, "--fns") == 0 && i + 1 < argc) {
            b->fns_so = argv[++i];
        } else if (strcmp(a, "--help") == 0) {
            s_usage(stdout);
            return 1;
        } else {
            fprintf(stderr, "bench_children: unknown argument '%s'\n", a);
            s_usage(stderr);
            return -1;
        }
    }
    return 0;
}

int
main(int argc, char **argv)
{
    static bench b;

    b.cfg = (cfg){.batch = 200,
                  .batches = 10,
                  .runs = 3,
                  .sum_n = 1 << 14,
                  .fib_n = 25,
                  .clusters = (1u << NCLUSTERS) - 1};
    b.drove = DV_DROVE_BIN;
    b.fns_so = DV_BENCH_FNS_SO;
    int rc = s_parse(argc, argv, &b);
    if (rc != 0) {
        return rc > 0 ? 0 : 2;
    }
    if (bench_fns_count() <= 0) {
        return 1;
    }
    /* Fresh within the run: every cluster starts empty. */
    b.next_arg = 1;
    bu_cleanup_on_exit();
    /* tcp's profile lives and dies with the run, never in ~/.drove. */
    if ((b.cfg.clusters & (1u << CL_TCP)) != 0 &&
        bu_daemons_init(&b.d, b.drove, "bench_children", NWORKERS) != 0) {
        fprintf(stderr, "bench_children: %s\n", b.d.err);
        return 1;
    }
    if (s_connect(&b) != 0) {
        b.failures++;
        s_close(&b);
        return 1;
    }
    s_warmup(&b);
    s_rounds(&b);
    for (int k = 0; k < NCLUSTERS; k++) {
        if (b.cl[k].c != NULL) {
            s_report_cluster(&b, &b.cl[k]);
        }
    }
    s_close(&b);
    return b.failures > 0 ? 1 : 0;
}
