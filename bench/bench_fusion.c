/* Fusion: a chain inc(inc(...inc(0))) of 100,000 links, each link's
 * future released as soon as the next one takes it, so that nothing but
 * the next link needs it, with fusion (the scheduler marks each link to
 * take its input in memory on the worker computing it, never stored) and
 * without ($DROVE_FUSION=0), alternating in one run:
 *
 *   fusion.SCHEME.chain_per_link_fused, _unfused   us per link, the median
 *                                                  of the runs
 *   fusion.SCHEME.chain_unfused_vs_fused           x, the median of the
 *                                                  pairs' ratios
 *   fusion.threads.store_peak_fused, _unfused      results, the most the
 *                                                  worker held at once
 *
 * SCHEME is threads (local:threads=1) and processes (local:processes=1);
 * the worker's store is read in-process, so on threads only. It uses the
 * library's internals (the embedded cluster's workers).
 *
 * usage: bench_fusion [--links N] [--runs R]   (default 100000 and 3)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "client/client_impl.h"
#include "drove.h"

DV_FUNCTION(fusion_inc)
{
    return dv_return(call, dv_i64(dv_value_i64(dv_arg_at(call, 0)) + 1));
}

typedef struct s_run {
    double per_link_us;
    double store_peak;
} s_run;

/* One chain of n links on where; 0, or -1 after saying why. */
static int
s_chain(const char *where, int fused, long n, s_run *out)
{
    setenv("DROVE_FUSION", fused ? "1" : "0", 1);
    dv_client *c = dv_connect(where);
    if (c == NULL) {
        fprintf(stderr, "bench_fusion: %s: %s\n", where, dv_last_error());
        return -1;
    }
    int64_t t0 = bu_now_ns();
    dv_future *prev = NULL;
    for (long i = 0; i < n; i++) {
        dv_arg a = prev ? dv_fut(prev) : dv_i64(0);
        dv_future *f = dv_submit(c, "fusion_inc", 1, &a, NULL);
        if (f == NULL) {
            fprintf(stderr, "bench_fusion: link %ld: %s\n", i, dv_last_error());
            dv_close(c);
            return -1;
        }
        dv_release(prev); /* only the next link needs it */
        prev = f;
    }
    const dv_value *v = dv_result(prev, 600.0);
    int64_t t1 = bu_now_ns();
    int rc = v != NULL && dv_value_i64(v) == n ? 0 : -1;
    if (rc < 0) {
        fprintf(stderr, "bench_fusion: chain of %ld gave %s\n", n,
                v ? "a wrong value" : dv_last_error());
    }
    out->per_link_us = (double)(t1 - t0) / 1e3 / (double)n;
    dvi_fusion_stats st;
    dvi_embedded_fusion_stats(c->embedded, &st);
    out->store_peak = (double)st.stored_peak;
    dv_release(prev);
    dv_close(c);
    return rc;
}

static int
s_scheme(const char *scheme, const char *where, long n, int runs)
{
    double fused[16], unfused[16], ratio[16], peak_f = 0, peak_u = 0;
    for (int r = 0; r < runs; r++) {
        s_run f, u;
        if (s_chain(where, 1, n, &f) < 0 || s_chain(where, 0, n, &u) < 0) {
            return -1;
        }
        fused[r] = f.per_link_us;
        unfused[r] = u.per_link_us;
        ratio[r] = u.per_link_us / f.per_link_us;
        peak_f = f.store_peak > peak_f ? f.store_peak : peak_f;
        peak_u = u.store_peak > peak_u ? u.store_peak : peak_u;
        fprintf(stderr, "bench_fusion: %s run %d: %.2f us fused, %.2f us not\n",
                scheme, r, f.per_link_us, u.per_link_us);
    }
    char name[128];
    snprintf(name, sizeof(name), "fusion.%s.chain_per_link_fused", scheme);
    bu_line(name, bu_percentile(fused, (size_t)runs, 50), 2, "us");
    snprintf(name, sizeof(name), "fusion.%s.chain_per_link_unfused", scheme);
    bu_line(name, bu_percentile(unfused, (size_t)runs, 50), 2, "us");
    snprintf(name, sizeof(name), "fusion.%s.chain_unfused_vs_fused", scheme);
    bu_line(name, bu_percentile(ratio, (size_t)runs, 50), 2, "x");
    if (strcmp(scheme, "threads") == 0) {
        bu_line("fusion.threads.store_peak_fused", peak_f, 0, "results");
        bu_line("fusion.threads.store_peak_unfused", peak_u, 0, "results");
    }
    return 0;
}

int
main(int argc, char **argv)
{
    long n = 100000;
    int runs = 3;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--links") == 0 && i + 1 < argc) {
            n = atol(argv[++i]);
        } else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
            runs = atoi(argv[++i]);
        } else {
            fprintf(stderr, "usage: bench_fusion [--links N] [--runs R]\n");
            return strcmp(argv[i], "--help") == 0 ? 0 : 2;
        }
    }
    if (n < 1 || runs < 1 || runs > 16) {
        fprintf(stderr, "bench_fusion: --links >= 1, --runs 1 to 16\n");
        return 2;
    }
    int rc = s_scheme("threads", "local:threads=1", n, runs);
    rc |= s_scheme("processes", "local:processes=1", n, runs);
    return rc < 0 ? 1 : 0;
}
