/* The figures of a METG sweep (metg.h): efficiencies against the peak,
 * each system's METG as Task Bench's scripts read it, and the lines
 * bench_metg prints. */
#include "metg.h"

#include "metg_kernel.h"

#include <stdio.h>

const char *const metg_sys[NSYS] = {"openmp", "threads", "processes", "tcp"};

double
metg_flops(const metg *m, int64_t iter)
{
    return (double)m->cfg.steps * (double)m->cfg.width * (double)iter *
           METG_FLOPS_PER_ITER;
}

double
metg_granularity_us(const metg *m, double wall_s)
{
    return wall_s * m->cfg.cores /
           ((double)m->cfg.steps * (double)m->cfg.width) * 1e6;
}

/* The best FLOP/s of any system at any point: the machine's peak. */
double
metg_peak(const metg *m, const metg_point *pts, int npts)
{
    double peak = 0;

    for (int k = 0; k < npts; k++) {
        for (int sys = 0; sys < NSYS; sys++) {
            double b = pts[k].best_s[sys];
            if (b > 0 && metg_flops(m, pts[k].iter) / b > peak) {
                peak = metg_flops(m, pts[k].iter) / b;
            }
        }
    }
    return peak;
}

/* Prints `metg.PATTERN.SUFFIX: n/a|FAILED unit`. */
static void
s_line_text(int pattern, const char *suffix, const char *text, const char *unit)
{
    printf("metg.%s.%s: %s %s\n", metg_pattern_name(pattern), suffix, text,
           unit);
    fflush(stdout);
}

/* The granularity at which sys's efficiency crosses 50% between points
 * k (at 50% or more) and k + 1, interpolated as Task Bench does; point
 * k's own granularity if k + 1 has none, or a larger one. */
static double
s_crossing(const metg *m, const metg_point *pts, int npts, int k, int sys,
           double peak)
{
    double g = metg_granularity_us(m, pts[k].best_s[sys]);
    if (k + 1 >= npts || pts[k + 1].best_s[sys] <= 0) {
        return g;
    }
    double e0 = metg_flops(m, pts[k].iter) / pts[k].best_s[sys] / peak;
    double e1 = metg_flops(m, pts[k + 1].iter) / pts[k + 1].best_s[sys] / peak;
    double g1 = metg_granularity_us(m, pts[k + 1].best_s[sys]);
    if (g1 >= g || e1 >= 0.5) { /* e0 >= 0.5 > e1 below */
        return g;
    }
    return g1 + (0.5 - e1) / (e0 - e1) * (g - g1);
}

/* Prints every point's figures on stderr and sets metg_us[sys] to the
 * system's METG, or -1 if no point of it reached 50% of peak, and at[sys]
 * to the point of its smallest granularity at 50% or more (or -1). */
static void
s_metgs(const metg *m, int pattern, const metg_point *pts, int npts,
        double peak, double *metg_us, int *at)
{
    for (int sys = 0; sys < NSYS; sys++) {
        at[sys] = -1;
    }
    for (int k = 0; k < npts; k++) {
        for (int sys = 0; sys < NSYS; sys++) {
            double b = pts[k].best_s[sys];
            if (b <= 0) {
                continue;
            }
            double eff = metg_flops(m, pts[k].iter) / b / peak;
            double g = metg_granularity_us(m, b);
            fprintf(stderr,
                    "bench_metg: %-10s %-9s iter %8lld  wall %8.2f ms  "
                    "granularity %9.2f us  %6.2f GFLOP/s  efficiency "
                    "%5.1f%%\n",
                    metg_pattern_name(pattern), metg_sys[sys],
                    (long long)pts[k].iter, b * 1e3, g,
                    metg_flops(m, pts[k].iter) / b / 1e9, eff * 100);
            if (eff >= 0.5 &&
                (at[sys] < 0 ||
                 g < metg_granularity_us(m, pts[at[sys]].best_s[sys]))) {
                at[sys] = k;
            }
        }
    }
    for (int sys = 0; sys < NSYS; sys++) {
        metg_us[sys] =
            at[sys] < 0 ? -1 : s_crossing(m, pts, npts, at[sys], sys, peak);
    }
}

/* What limits a drove system's METG: at the point of its smallest
 * granularity at 50% efficiency or more, the CPU time its processes took
 * a task beyond the kernel's own (kernel_iter_s an iteration; not read from
 * the peak, which a core taken by another program would lower). With
 * every core busy, efficiency is half where the kernel takes as long as
 * that CPU time, so trivial's METG is about twice it; a stencil's cores
 * also wait for results to cross between workers, and its METG is more.
 * Prints metg.P.SYSTEM_overhead (us). */
static void
s_report_overhead(const metg *m, int pattern, const metg_point *pts,
                  const int *at)
{
    double tasks = (double)m->cfg.steps * (double)m->cfg.width;
    char name[96];

    for (int sys = SYS_OPENMP + 1; sys < NSYS; sys++) {
        if (!metg_wanted(m, sys) || m->failed[sys] || at[sys] < 0 ||
            pts[at[sys]].cpu_s[sys] <= 0) {
            continue;
        }
        const metg_point *p = &pts[at[sys]];
        double kernel_s = m->cfg.kernel_iter_s * (double)p->iter * tasks;
        snprintf(name, sizeof(name), "metg.%s.%s_overhead",
                 metg_pattern_name(pattern), metg_sys[sys]);
        bu_line(name, (p->cpu_s[sys] - kernel_s) / tasks * 1e6, 2, "us");
    }
}

void
metg_report(const metg *m, int pattern, const metg_point *pts, int npts,
            double plateau)
{
    const char *pname = metg_pattern_name(pattern);
    double peak = metg_peak(m, pts, npts), metg_us[NSYS];
    int at[NSYS];
    char name[96];

    s_metgs(m, pattern, pts, npts, peak, metg_us, at);
    snprintf(name, sizeof(name), "metg.%s.peak", pname);
    bu_line(name, peak / 1e9, 2, "GFLOP/s");
    bu_ticks now;
    double steal =
        bu_ticks_now(&now) == 0 ? bu_steal_between(&m->sweep0, &now) : -1;
    snprintf(name, sizeof(name), "metg.%s.host_steal", pname);
    if (steal >= 0) {
        bu_line(name, steal * 100, 1, "%");
    } else {
        s_line_text(pattern, "host_steal", "n/a", "%");
    }
    for (int sys = 0; sys < NSYS; sys++) {
        if (!metg_wanted(m, sys)) {
            continue;
        }
        snprintf(name, sizeof(name), "metg.%s.%s", pname, metg_sys[sys]);
        if (m->failed[sys]) {
            s_line_text(pattern, metg_sys[sys], "FAILED", "us");
        } else if (metg_us[sys] < 0) {
            if (metg_available(m, sys)) { /* else main said why */
                fprintf(stderr,
                        "bench_metg: %s: %s has no point at 50%% "
                        "efficiency or more\n",
                        pname, metg_sys[sys]);
            }
            s_line_text(pattern, metg_sys[sys], "n/a", "us");
        } else {
            bu_line(name, metg_us[sys], 1, "us");
        }
    }
    for (int sys = SYS_OPENMP + 1; sys < NSYS; sys++) {
        if (!metg_wanted(m, sys) || !metg_wanted(m, SYS_OPENMP)) {
            continue;
        }
        snprintf(name, sizeof(name), "%s_vs_openmp", metg_sys[sys]);
        if (metg_us[sys] < 0 || metg_us[SYS_OPENMP] <= 0 || m->failed[sys]) {
            s_line_text(pattern, name, "n/a", "x");
            continue;
        }
        snprintf(name, sizeof(name), "metg.%s.%s_vs_openmp", pname,
                 metg_sys[sys]);
        bu_line(name, metg_us[sys] / metg_us[SYS_OPENMP], 2, "x");
    }
    s_report_overhead(m, pattern, pts, at);
    if (!metg_wanted(m, SYS_OPENMP)) {
        return;
    }
    snprintf(name, sizeof(name), "metg.%s.openmp_plateau", pname);
    if (plateau >= 0) {
        bu_line(name, plateau * 100, 1, "%");
    } else {
        s_line_text(pattern, "openmp_plateau", "n/a", "%");
    }
}
