/* bench_drove's round trips and transfers, each measured in alternation
 * with its floors (floor.h) on threads, processes and tcp.
 *
 * This machine's loopback swings between 10 us and 120 us a round trip
 * within seconds, so a figure read against a floor measured a minute
 * earlier means little. Here drove and each floor take turns, in small
 * batches (round trips) or single runs (transfers), the order rotating so
 * that each kind goes first as often as the others; a ratio is taken
 * within each batch or run, and the figure is the median of those ratios.
 *
 *   floor     roundtrip                     transfer
 *   tcp       64-byte ping-pong, 127.0.0.1  256 MiB to another process,
 *             (for threads too)             127.0.0.1, into a buffer in
 *                                           memory already (the wire)
 *   unix      processes: the same over a Unix socket, which its workers
 *             talk over
 *   relay     tcp: a ping passed through a  -
 *             third process and back, as
 *             many hops as drove's client,
 *             scheduler and worker make
 *   handoff   threads: two threads, mutex   -
 *             and condition variables
 *   memcpy    -                             threads: 256 MiB copied into
 *                                           a buffer in memory already
 *
 * tcp_plain and tcp_state measure drove alone: run.sh reads them against
 * tcp, in alternating runs. */
#define _GNU_SOURCE
#include "bench_drove.h"
#include "bench_util.h"
#include "floor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_KINDS 3

/* One kind in the alternation: drove itself (kinds[0]) or a floor. */
typedef struct s_kind {
    const char *tag;     /* "tcp", "unix", "handoff", "memcpy"; NULL: drove */
    fl_peer *peer;       /* a ping-pong or bulk peer, or NULL */
    fl_handoff *handoff; /* the hand-off thread, or NULL */
} s_kind;

typedef struct s_floors {
    fl_peer tcp;
    fl_peer unix_sock;
    fl_peer relay;      /* tcp's round trips: the relay, and ... */
    fl_peer relay_echo; /* ... the echo it relays to */
    fl_handoff handoff;
    s_kind kinds[S_MAX_KINDS];
    int nkinds; /* drove and its floors */
} s_floors;

/* Stops what s_floors_start started; the relay before its echo. */
static void
s_floors_stop(s_floors *f)
{
    fl_peer_stop(&f->tcp);
    fl_peer_stop(&f->unix_sock);
    fl_peer_stop(&f->relay);
    fl_peer_stop(&f->relay_echo);
    fl_handoff_stop(&f->handoff);
}

/* Starts the floors of b's cluster: the TCP peer, and the Unix peer on
 * processes; for round trips (rt), the relay on tcp and the hand-off
 * thread on threads; for transfers, a memcpy on threads (no peer). 0,
 * or -1 with whatever started stopped. */
static int
s_floors_start(bench *b, s_floors *f, int rt)
{
    char how[sizeof(b->d.tmpdir) + 32];

    memset(f, 0, sizeof(*f));
    f->tcp.fd = -1;
    f->unix_sock.fd = -1;
    f->relay.fd = -1;
    f->relay_echo.fd = -1;
    f->kinds[f->nkinds++] = (s_kind){NULL, NULL, NULL};
    if (!b->floors) {
        return 0;
    }
    if (fl_peer_start(&f->tcp, "/proc/self/exe", "tcp") != 0) {
        return -1;
    }
    f->kinds[f->nkinds++] = (s_kind){"tcp", &f->tcp, NULL};
    if (strcmp(b->label, "processes") == 0) {
        snprintf(how, sizeof(how), "unix:%s/floor.sock", b->d.tmpdir);
        if (fl_peer_start(&f->unix_sock, "/proc/self/exe", how) != 0) {
            fl_peer_stop(&f->tcp);
            return -1;
        }
        f->kinds[f->nkinds++] = (s_kind){"unix", &f->unix_sock, NULL};
    } else if (strcmp(b->label, "tcp") == 0 && rt) {
        if (fl_peer_spawn(&f->relay_echo, "/proc/self/exe", "tcp") != 0) {
            s_floors_stop(f);
            return -1;
        }
        snprintf(how, sizeof(how), "relay:%d", f->relay_echo.port);
        if (fl_peer_start(&f->relay, "/proc/self/exe", how) != 0) {
            s_floors_stop(f);
            return -1;
        }
        f->kinds[f->nkinds++] = (s_kind){"relay", &f->relay, NULL};
    } else if (strcmp(b->label, "threads") == 0 && rt) {
        if (fl_handoff_start(&f->handoff) != 0) {
            fl_peer_stop(&f->tcp);
            return -1;
        }
        f->kinds[f->nkinds++] = (s_kind){"handoff", NULL, &f->handoff};
    } else if (strcmp(b->label, "threads") == 0) {
        f->kinds[f->nkinds++] = (s_kind){"memcpy", NULL, NULL};
    }
    return 0;
}

/* The ratios a[i] / floor[i] of n runs or batches, their median reported
 * as metric; the quartiles go to stderr, to judge how steady it was, with
 * the load average: a ratio cancels the loopback's swings, but not
 * others' processes taking the CPUs, which cost drove's several hops
 * more than a floor's one. */
static void
s_report_ratio(bench *b, const char *metric, const double *a,
               const double *floor, size_t n)
{
    double *r = calloc(n, sizeof(*r));

    for (size_t i = 0; i < n; i++) {
        r[i] = floor[i] > 0 ? a[i] / floor[i] : 0;
    }
    char name[128];
    snprintf(name, sizeof(name), "%s.%s", b->label, metric);
    bd_report(b, metric, bu_median(r, n), 3, "x");
    bu_print_spread("bench_drove", name, r, n);
    free(r);
}

/* ---- Round trips ----------------------------------------------------- */

/* One drove round trip: submit inc(x), dv_result it. Microseconds, or -1
 * after reporting the failure. */
static double
s_drove_ping(bench *b, int64_t x)
{
    int64_t t0 = bu_now_ns();
    dv_future *f = DV_SUBMIT(b->c, "inc", dv_i64(x));
    const dv_value *v = f != NULL ? dv_result(f, 30.0) : NULL;
    int64_t t1 = bu_now_ns();

    if (v == NULL || dv_value_i64(v) != x + 1) {
        bd_failed(b, "roundtrip_median", "us", "inc(%lld): %s", (long long)x,
                  f == NULL   ? dv_last_error()
                  : v == NULL ? bd_ferr(f)
                              : "wrong value");
        dv_release(f);
        return -1;
    }
    dv_release(f);
    return (double)(t1 - t0) / 1e3;
}

/* One round trip of kind k; microseconds, or -1. */
static double
s_ping(bench *b, const s_kind *k, int64_t *next_x)
{
    if (k->tag == NULL) {
        return s_drove_ping(b, (*next_x)++);
    }
    if (k->handoff != NULL) {
        return fl_handoff_ping(k->handoff);
    }
    double us = fl_peer_ping(k->peer);
    if (us < 0) {
        bd_failed(b, "roundtrip_floor", "us", "%s ping-pong failed", k->tag);
    }
    return us;
}

/* Runs the batches: us[k] gets every round trip of kind k, med[k] the
 * median of each batch. 0, or -1. */
static int
s_rt_batches(bench *b, const s_floors *f, double **us, double **med)
{
    size_t bs = b->cfg.rt_batch;
    size_t nb = b->cfg.rt_batches;
    int64_t x = bd_fresh(b, b->cfg.rt_warmup + bs * nb);

    for (int k = 0; k < f->nkinds; k++) {
        for (size_t i = 0; i < b->cfg.rt_warmup; i++) {
            if (s_ping(b, &f->kinds[k], &x) < 0) {
                return -1;
            }
        }
    }
    for (size_t batch = 0; batch < nb; batch++) {
        for (int j = 0; j < f->nkinds; j++) {
            int k = (int)((batch + (size_t)j) % (size_t)f->nkinds);
            double *v = us[k] + batch * bs;
            for (size_t i = 0; i < bs; i++) {
                v[i] = s_ping(b, &f->kinds[k], &x);
                if (v[i] < 0) {
                    return -1;
                }
            }
            /* Sorting the batch in place leaves us[k]'s median as is. */
            med[k][batch] = bu_median(v, bs);
        }
    }
    return 0;
}

void
bd_roundtrip(bench *b)
{
    size_t n = b->cfg.rt_batch * b->cfg.rt_batches;
    double *us[S_MAX_KINDS] = {NULL};
    double *med[S_MAX_KINDS] = {NULL};
    s_floors f;
    char metric[64];

    if (s_floors_start(b, &f, 1) != 0) {
        bd_failed(b, "roundtrip_floor", "us", "the floors did not start");
        return;
    }
    for (int k = 0; k < f.nkinds; k++) {
        us[k] = calloc(n, sizeof(double));
        med[k] = calloc(b->cfg.rt_batches, sizeof(double));
    }
    if (s_rt_batches(b, &f, us, med) != 0) {
        goto done;
    }
    bd_report(b, "roundtrip_median", bu_median(us[0], n), 1, "us");
    bd_report(b, "roundtrip_p99", bu_percentile(us[0], n, 99), 1, "us");
    for (int k = 1; k < f.nkinds; k++) {
        const char *tag = f.kinds[k].tag;
        int tcp = strcmp(tag, "tcp") == 0;
        snprintf(metric, sizeof(metric), "roundtrip_%s%sfloor", tcp ? "" : tag,
                 tcp ? "" : "_");
        bd_report(b, metric, bu_median(us[k], n), 1, "us");
        snprintf(metric, sizeof(metric), "roundtrip_vs_%s",
                 tcp ? "floor" : tag);
        s_report_ratio(b, metric, med[0], med[k], b->cfg.rt_batches);
    }
done:
    s_floors_stop(&f);
    for (int k = 0; k < f.nkinds; k++) {
        free(us[k]);
        free(med[k]);
    }
}

/* ---- Transfers ------------------------------------------------------- */

/* One drove transfer; its time in seconds, or -1. */
static double
s_transfer_once(bench *b, const char *metric)
{
    size_t n = b->cfg.transfer_mib * 1024 * 1024 / sizeof(double);
    dv_opts on0 = DV_OPTS_INIT;
    dv_opts on1 = DV_OPTS_INIT;
    dv_future *fb = NULL;
    double s = -1;

    /* Impure, so that no run finds the result of the one before it still
     * in memory. */
    on0.impure = 1;
    on1.impure = 1;
    on0.worker = b->worker_id[0];
    on1.worker = b->worker_id[1];
    dv_arg len = dv_i64((int64_t)n);
    dv_future *fa = dv_submit(b->c, "make_f64s", 1, &len, &on0);
    if (fa == NULL || dv_wait(&fa, 1, DEADLINE_S) != 0 ||
        dv_future_status(fa) != DV_FINISHED) {
        bd_failed(b, metric, "MiB/s", "make_f64s(%zu) on %s: %s", n, on0.worker,
                  fa != NULL ? bd_ferr(fa) : dv_last_error());
        goto done;
    }
    int64_t t0 = bu_now_ns();
    dv_arg dep = dv_fut(fa);
    fb = dv_submit(b->c, "where_len", 1, &dep, &on1);
    const dv_value *v = fb != NULL ? dv_result(fb, DEADLINE_S) : NULL;
    int64_t t1 = bu_now_ns();
    if (v == NULL) {
        bd_failed(b, metric, "MiB/s", "where_len on %s: %s", on1.worker,
                  fb != NULL ? bd_ferr(fb) : dv_last_error());
        goto done;
    }
    const char *ran_on = dv_value_str(dv_value_at(v, 1), NULL);
    if (dv_value_i64(dv_value_at(v, 0)) != (int64_t)n || ran_on == NULL ||
        strcmp(ran_on, on1.worker) != 0) {
        bd_failed(b, metric, "MiB/s",
                  "where_len gave [%lld, %s], expected [%zu, %s]",
                  (long long)dv_value_i64(dv_value_at(v, 0)),
                  ran_on != NULL ? ran_on : "?", n, on1.worker);
        goto done;
    }
    s = (double)(t1 - t0) / 1e9;
done:
    dv_release(fb);
    dv_release(fa);
    return s;
}

/* One transfer of kind k: drove's, or src sent to a peer, or copied. */
static double
s_transfer_kind(bench *b, const s_kind *k, const char *metric, const char *src,
                size_t bytes)
{
    if (k->tag == NULL) {
        return s_transfer_once(b, metric);
    }
    double s = k->peer != NULL ? fl_peer_bulk(k->peer, src, bytes)
                               : fl_memcpy(src, bytes);
    if (s < 0) {
        bd_failed(b, metric, "MiB/s", "the %s floor failed", k->tag);
    }
    return s;
}

/* The figures of runs transfers of each kind, s[k][run] in seconds. */
static void
s_transfer_report(bench *b, const s_floors *f, double **s, size_t runs)
{
    size_t mib = b->cfg.transfer_mib;
    char metric[64];
    double *sorted = calloc(runs, sizeof(*sorted));

    for (int k = 0; k < f->nkinds; k++) {
        const char *tag = f->kinds[k].tag;
        memcpy(sorted, s[k], runs * sizeof(*sorted));
        double median = bu_median(sorted, runs);
        if (tag == NULL) {
            snprintf(metric, sizeof(metric), "transfer_%zumib_time", mib);
            bd_report(b, metric, median * 1e3, 1, "ms");
            snprintf(metric, sizeof(metric), "transfer_%zumib_bandwidth", mib);
            bd_report(b, metric, (double)mib / median, 0, "MiB/s");
            continue;
        }
        snprintf(metric, sizeof(metric), "transfer_%zumib_%s_floor", mib, tag);
        bd_report(b, metric, (double)mib / median, 0, "MiB/s");
        /* A bandwidth ratio, drove over the floor: the floor's time over
         * drove's, in each pair. */
        snprintf(metric, sizeof(metric), "transfer_%zumib_vs_%s", mib, tag);
        s_report_ratio(b, metric, s[k], s[0], runs);
    }
    free(sorted);
}

void
bd_transfer(bench *b)
{
    size_t bytes = b->cfg.transfer_mib << 20;
    size_t runs = b->floors ? b->cfg.transfer_pairs : b->cfg.transfer_runs;
    double *s[S_MAX_KINDS] = {NULL};
    char *src = NULL;
    s_floors f;
    char metric[64];

    snprintf(metric, sizeof(metric), "transfer_%zumib_bandwidth",
             b->cfg.transfer_mib);
    if (bd_worker_ids(b) != 0) {
        bd_failed(b, metric, "MiB/s", "worker ids: %s", dv_last_error());
        return;
    }
    if (s_floors_start(b, &f, 0) != 0) {
        bd_failed(b, metric, "MiB/s", "the floors did not start");
        return;
    }
    if (f.nkinds > 1) {
        /* What the floors send or copy: touched once, as a result a
         * worker holds is. */
        src = malloc(bytes);
        if (src == NULL) {
            bd_failed(b, metric, "MiB/s", "no memory for the floors");
            goto done;
        }
        memset(src, 7, bytes);
    }
    for (int k = 0; k < f.nkinds; k++) {
        s[k] = calloc(runs, sizeof(double));
    }
    for (size_t run = 0; run < runs; run++) {
        for (int j = 0; j < f.nkinds; j++) {
            int k = (int)((run + (size_t)j) % (size_t)f.nkinds);
            s[k][run] = s_transfer_kind(b, &f.kinds[k], metric, src, bytes);
            if (s[k][run] < 0) {
                goto done;
            }
        }
    }
    s_transfer_report(b, &f, s, runs);
done:
    s_floors_stop(&f);
    free(src);
    for (int k = 0; k < f.nkinds; k++) {
        free(s[k]);
    }
}
