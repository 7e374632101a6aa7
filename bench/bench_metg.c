/* Task Bench's METG (Slaughter et al., SC'20) of drove against OpenMP:
 * the minimum effective task granularity at which a system still keeps
 * 50% efficiency, printing `metg.PATTERN.SYSTEM: value unit`.
 *
 *   bench_metg [--quick] [--pattern P] [--systems LIST] [--cores N]
 *              [--width W] [--steps T] [--iter-max N] [--iter-min N]
 *              [--repeats R] [--drove PATH] [--fns SO] [--omp PATH]
 *
 * The graphs are Task Bench's: `steps` rows of `width` tasks (width =
 * 2 x cores), each running the compute-bound kernel of metg_kernel.c for
 * iter iterations; trivial has no dependencies, stencil_1d makes task
 * (s, i) need (s-1, i-1), (s-1, i) and (s-1, i+1). Every task checks its
 * inputs are exactly those tasks' results and returns its own (step,
 * point); the last step's results are checked too. A run that fails a
 * check is an error: `metg.PATTERN.SYSTEM: FAILED us`, exit status 1.
 *
 * The systems: openmp (metg_omp, OpenMP tasks on `cores` threads),
 * threads (local:threads=cores), processes (local:processes=cores) and
 * tcp (a `drove scheduler` and `cores` daemons `drove worker --threads 1`
 * on 127.0.0.1, as bench_drove starts them). drove gets the whole graph
 * at once: dv_submit of every task, a future per input, each future
 * released once its dependents are submitted, then dv_wait_all and
 * dv_result of the last step; timed from the first submit to the last
 * result. After each graph, every future released, a call on each worker
 * (dv_run_all) comes back only once the workers have freed the graph's
 * results: that cleanup (2-4 ms after a 10 ms graph of 2,000 tiny
 * tasks) fell on the next timed graph, often another system's (OpenMP's
 * too), and Task Bench times each graph alone.
 *
 * The sweep starts at iter_max (about 1 ms of kernel a task, measured
 * here unless given), with enough steps for about a second of work
 * there, and divides iter by 2 (4 with --quick) at each point, steps kept
 * fixed, until every system has had two points in a row below 50%
 * efficiency (four if it has not reached 50% yet) or iter goes below
 * iter_min. Each point runs every system `repeats` times (3; 1 with
 * --quick) and keeps its best. The figures are Task Bench's:
 *
 *   FLOP/s       the graph's floating-point operations / wall time
 *   efficiency   FLOP/s / the best FLOP/s any system reached on the
 *                pattern in this run (the machine's peak)
 *   granularity  wall time x cores / tasks
 *   METG         the smallest granularity of a point at >= 50% efficiency,
 *                interpolated linearly (in efficiency) toward the next
 *                point's when that one's granularity is smaller, as Task
 *                Bench's chart_metg.py does: the sweep divides iter by 2
 *                (4 with --quick), and the point alone read the METG up
 *                to that factor too high
 *
 * First, with the clusters connected and idle, the wake-up floor
 * (metg_wake.h): metg.wake_idle and metg.wake_busy (us), what it takes
 * here to run a loop thread asleep in epoll after another thread's
 * uv_async_send, the machine idle and every core computing. A stencil's
 * dependency between two workers costs one or two such wake-ups (the
 * executor that made the result wakes the loop, the loop wakes the
 * executor that takes it) on the graph's critical path.
 *
 * Printed per pattern: metg.P.peak (GFLOP/s), metg.P.SYSTEM (us),
 * metg.P.SYSTEM_vs_openmp (x, drove's METG / OpenMP's: 1 is as good),
 * metg.P.SYSTEM_overhead (us, drove's CPU time a task beyond the
 * kernel's, which sets its trivial METG: metg_report.c) and
 * metg.P.openmp_plateau (%, below);
 * every point's figures go to stderr, as the sweep goes (efficiency
 * against the peak so far) and at its end (against the final peak).
 *
 * Interleaved: this machine's speed swings within seconds, and each
 * system's figures are read against a peak, so OpenMP and drove are
 * measured in the same run, at the same moments: for each iter, every
 * repeat runs each system in turn, the order reversed from one repeat
 * (and point) to the next. The three drove clusters stay connected for
 * the whole run (idle, they sleep in their event loops), which keeps
 * cluster start-up out of the figures and lets one point follow another
 * at once. OpenMP runs as a child process per graph, timing the graph
 * itself, so that libgomp's threads, which spin while they wait for work,
 * never share a process, or a moment, with drove's.
 *
 * Other users: interleaving makes the systems of one point meet the same
 * machine, but the METG reads them against the run's peak, and other
 * programs' load takes every system down at once, for tens of seconds at
 * times, which ends the sweep early. So each point waits until the
 * machine is quiet (the CPUs less than 25% busy while this run idles; 60 s
 * in all at most, 10 with --quick), a point where no system reached 70%
 * of the peak is run again if others were busy, and such a disturbed
 * point never counts towards a system's stopping (when every system is
 * past its METG, the sweep then goes on to iter_min). On a virtual
 * machine the host may also run other guests on its CPUs (steal time, in
 * /proc/stat), which no quiet check here sees coming: a point during which
 * it took more than 5% of the CPU runs again, twice at most, and counts
 * as disturbed if it still did; metg.P.host_steal (%) is the host's share
 * over the whole sweep. The host can also give the guest less of its
 * CPUs without any steal showing: OpenMP, which runs at the peak at the
 * sweep's largest grains, then falls short of it there, and such a sweep
 * runs again, once (s_plateau); metg.P.openmp_plateau (%) is what OpenMP
 * kept there in the sweep reported. */
#define _GNU_SOURCE
#include "bench_util.h"
#include "fns.h"
#include "metg.h"
#include "metg_drove.h"
#include "metg_kernel.h"
#include "metg_wake.h"

#include <drove.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef DV_METG_OMP
#define DV_METG_OMP "" /* built without OpenMP */
#endif

#define DEADLINE_S 300.0   /* the longest a graph may take */
#define MAX_POINTS 48      /* iter values of one sweep */
#define TARGET_TASK_S 1e-3 /* the kernel's time at iter_max */
#define TARGET_GRAPH_S 1.0 /* a graph's work at iter_max */
#define DISTURBED_EFF 0.7  /* a point where no system reached this */
#define QUIET_BUSY 0.25    /* the machine is busy past this much CPU */
/* The longest a run waits for a quiet machine, in all (--quick: a sixth). */
#define QUIET_BUDGET_S 60.0
/* A point during which the host took more of the CPU time than this (steal,
 * on a virtual machine) runs again, twice at most: the other guests, not
 * the systems, would set its figures. */
#define STEAL_MAX 0.05
#define STEAL_RETRIES 2
#define WAKE_SAMPLES 500 /* wake-ups timed per case of the floor */
/* OpenMP's efficiency at the sweep's largest grains (the median of its
 * first PLATEAU_POINTS points): 97-100% on a machine whose speed held. A
 * sweep whose plateau is under PLATEAU_MIN runs again, once. */
#define PLATEAU_POINTS 4
#define PLATEAU_MIN 0.9

int
metg_wanted(const metg *m, int sys)
{
    return (m->cfg.systems & (1u << sys)) != 0;
}

int
metg_available(const metg *m, int sys)
{
    return metg_wanted(m, sys) && !m->failed[sys] &&
           (sys == SYS_OPENMP ? m->cfg.omp[0] != '\0' : m->c[sys] != NULL);
}

/* ---- Running one graph ------------------------------------------------ */

static int
s_run_drove(metg *m, int sys, int pattern, int64_t iter, double *wall_s,
            double *cpu_s)
{
    metg_run r = {.c = m->c[sys],
                  .label = metg_sys[sys],
                  .pattern = pattern,
                  .width = m->cfg.width,
                  .steps = m->cfg.steps,
                  .iter = iter,
                  .nonce = m->nonce++};

    return metg_drove_run(&r, wall_s, cpu_s);
}

/* Runs one graph in a metg_omp child; the wall time it measured goes to
 * *wall_s. */
static int
s_run_omp(metg *m, int pattern, int64_t iter, double *wall_s)
{
    char a_iter[32], a_steps[32], a_width[32], a_threads[32], line[128];
    int out = -1;
    int status = 0;

    snprintf(a_iter, sizeof(a_iter), "%lld", (long long)iter);
    snprintf(a_steps, sizeof(a_steps), "%lld", (long long)m->cfg.steps);
    snprintf(a_width, sizeof(a_width), "%lld", (long long)m->cfg.width);
    snprintf(a_threads, sizeof(a_threads), "%d", m->cfg.cores);
    char *argv[] = {(char *)m->cfg.omp,
                    "--pattern",
                    (char *)metg_pattern_name(pattern),
                    "--iter",
                    a_iter,
                    "--steps",
                    a_steps,
                    "--width",
                    a_width,
                    "--threads",
                    a_threads,
                    NULL};
    pid_t pid = bu_spawn(argv, &out, NULL);
    if (pid < 0) {
        fprintf(stderr, "bench_metg: openmp: spawn %s: %s\n", m->cfg.omp,
                strerror(errno));
        return -1;
    }
    int n = bu_read_line(out, line, sizeof(line), DEADLINE_S);
    close(out);
    if (bu_wait(pid, 30.0, &status) != 0) {
        status = bu_stop(pid, 1.0);
    }
    if (n <= 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
        sscanf(line, "%lf", wall_s) != 1 || !(*wall_s > 0)) {
        fprintf(stderr, "bench_metg: openmp: %s printed '%s', status 0x%x\n",
                m->cfg.omp, n > 0 ? line : "", status);
        return -1;
    }
    return 0;
}

/* Runs one graph; its wall time goes to *wall_s and, on a drove cluster,
 * the CPU time of drove's processes meanwhile to *cpu_s (0 for OpenMP). */
static int
s_run(metg *m, int sys, int pattern, int64_t iter, double *wall_s,
      double *cpu_s)
{
    *cpu_s = 0;
    int rc = sys == SYS_OPENMP
                 ? s_run_omp(m, pattern, iter, wall_s)
                 : s_run_drove(m, sys, pattern, iter, wall_s, cpu_s);

    if (rc != 0) {
        fprintf(stderr, "bench_metg: %s %s: the graph of iter %lld FAILED\n",
                metg_pattern_name(pattern), metg_sys[sys], (long long)iter);
        m->failed[sys] = 1;
        m->failures++;
    }
    return rc;
}

/* ---- The sweep -------------------------------------------------------- */

/* One point: every available system, `repeats` times, the order of the
 * systems reversed at every repeat and from one point to the next. */
static void
s_point(metg *m, int pattern, metg_point *p, int index, const int *active)
{
    for (int rep = 0; rep < m->cfg.repeats; rep++) {
        for (int j = 0; j < NSYS; j++) {
            int sys = (index + rep) % 2 == 0 ? j : NSYS - 1 - j;
            double wall = 0, cpu = 0;
            if (!active[sys] || !metg_available(m, sys) ||
                s_run(m, sys, pattern, p->iter, &wall, &cpu) != 0) {
                continue;
            }
            if (p->best_s[sys] == 0 || wall < p->best_s[sys]) {
                p->best_s[sys] = wall;
                p->cpu_s[sys] = cpu;
            }
        }
    }
    for (int sys = 0; sys < NSYS; sys++) {
        if (m->failed[sys]) {
            p->best_s[sys] = 0; /* a failed system has no figures */
        }
    }
}

/* Whether a system goes on to the next point, after one at efficiency
 * eff: not after two points in a row below 50% (four while none of its
 * points has reached 50% yet). A disturbed point, where no system reached
 * DISTURBED_EFF (the machine was busy, or every system is past its METG),
 * does not count either way. below and reached are the system's
 * counters. */
static int
s_goes_on(double eff, int disturbed, int *below, int *reached)
{
    if (!disturbed) {
        *reached |= eff >= 0.5;
        *below = eff < 0.5 ? *below + 1 : 0;
    }
    return *below < (*reached ? 2 : 4);
}

/* The efficiency of each system at point p (0: not run), against peak;
 * returns the best of them. */
static double
s_effs(const metg *m, const metg_point *p, double peak, double *eff)
{
    double best = 0;

    for (int sys = 0; sys < NSYS; sys++) {
        double b = p->best_s[sys];
        eff[sys] = b > 0 ? metg_flops(m, p->iter) / b / peak : 0;
        best = eff[sys] > best ? eff[sys] : best;
    }
    return best;
}

/* Waits until other programs leave the machine quiet (less than
 * QUIET_BUSY of its CPU time busy over 0.2 s, this run's systems idle),
 * within what is left of QUIET_BUDGET_S. Returns 1 if it is quiet. */
static int
s_wait_quiet(metg *m)
{
    while (m->waited_s < (m->cfg.quick ? QUIET_BUDGET_S / 6 : QUIET_BUDGET_S)) {
        double busy = bu_cpu_busy(0.2);
        if (busy < QUIET_BUSY) { /* -1: cannot tell; go on */
            return 1;
        }
        m->waited_s += 0.2;
    }
    return 0;
}

/* Runs point p (s_point: the best of its runs is kept) and returns the
 * share of the CPU time the host took meanwhile (0 if unknown). */
static double
s_point_steal(metg *m, int pattern, metg_point *p, int index, const int *active)
{
    bu_ticks t0, t1;
    int known = bu_ticks_now(&t0) == 0;

    s_point(m, pattern, p, index, active);
    double steal =
        known && bu_ticks_now(&t1) == 0 ? bu_steal_between(&t0, &t1) : -1;
    return steal > 0 ? steal : 0;
}

/* Measures point p (index k of pts) after waiting for a quiet machine,
 * and once more if it came out disturbed while others were busy, or
 * again while the host took the CPU (STEAL_MAX): their load, not the
 * systems, would set its figures. eff gets the systems' efficiencies
 * against the peak so far; *steal the host's share during the last run.
 * Returns whether the point is disturbed still. */
static int
s_measure(metg *m, int pattern, metg_point *pts, int k, const int *active,
          double *eff, double *steal)
{
    s_wait_quiet(m);
    *steal = s_point_steal(m, pattern, &pts[k], k, active);
    double best = s_effs(m, &pts[k], metg_peak(m, pts, k + 1), eff);
    if (best < DISTURBED_EFF && bu_cpu_busy(0.2) >= QUIET_BUSY &&
        s_wait_quiet(m)) {
        *steal = s_point_steal(m, pattern, &pts[k], k, active);
        best = s_effs(m, &pts[k], metg_peak(m, pts, k + 1), eff);
    }
    for (int retry = 0; retry < STEAL_RETRIES; retry++) {
        if (*steal <= STEAL_MAX) {
            break;
        }
        m->reruns++;
        *steal = s_point_steal(m, pattern, &pts[k], k, active);
        best = s_effs(m, &pts[k], metg_peak(m, pts, k + 1), eff);
    }
    return best < DISTURBED_EFF || *steal > STEAL_MAX;
}

/* Runs the sweep of one pattern into pts; returns the number of points.
 * Efficiencies are read against the peak so far while it runs (the final
 * figures against the run's final peak); each point's go to stderr. */
static int
s_sweep(metg *m, int pattern, metg_point *pts)
{
    int active[NSYS], below[NSYS] = {0}, reached[NSYS] = {0};
    int left = 0, npts = 0;
    double eff[NSYS], steal = 0;

    for (int sys = 0; sys < NSYS; sys++) {
        active[sys] = metg_available(m, sys);
        left += active[sys];
    }
    for (int64_t iter = m->cfg.iter_max;
         iter >= m->cfg.iter_min && npts < MAX_POINTS && left > 0;
         iter /= m->cfg.factor) {
        metg_point *p = &pts[npts];
        memset(p, 0, sizeof(*p));
        p->iter = iter;
        int disturbed = s_measure(m, pattern, pts, npts++, active, eff, &steal);
        fprintf(stderr, "bench_metg: %s iter %lld:", metg_pattern_name(pattern),
                (long long)iter);
        for (int sys = 0; sys < NSYS; sys++) {
            if (!active[sys]) {
                continue;
            }
            fprintf(stderr, " %s %.0f%%", metg_sys[sys], eff[sys] * 100);
            if (!metg_available(m, sys) ||
                !s_goes_on(eff[sys], disturbed, &below[sys], &reached[sys])) {
                active[sys] = 0;
                left--;
            }
        }
        fprintf(stderr, " of the peak so far");
        if (steal >= 0.01) {
            fprintf(stderr, "; the host took %.0f%% of the CPU", steal * 100);
        }
        fprintf(stderr, "%s\n", disturbed ? " (disturbed: not counted)" : "");
    }
    return npts;
}

/* ---- Setting up ------------------------------------------------------- */

/* The kernel's CPU time an iteration on this thread, the best of 5 runs
 * of 2^16 iterations (0.1-0.2 ms): what a task's kernel takes of its
 * CPU time, whatever else runs on the machine. */
static double
s_kernel_iter_s(void)
{
    double best = 0;

    for (int k = 0; k < 5; k++) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
        volatile double r = metg_kernel((int64_t)1 << 16, (uint64_t)k);
        (void)r;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
        double t = (double)(t1.tv_sec - t0.tv_sec) +
                   (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        best = k == 0 || t < best ? t : best;
    }
    return best / (double)((int64_t)1 << 16);
}

/* Connects to the drove clusters the run wants; 0 or -1. */
static int
s_connect(metg *m)
{
    char where[64];
    int n = m->cfg.cores;

    for (int sys = SYS_THREADS; sys <= SYS_PROCESSES; sys++) {
        if (!metg_wanted(m, sys)) {
            continue;
        }
        snprintf(where, sizeof(where), "local:%s=%d", metg_sys[sys], n);
        m->c[sys] = dv_connect(where);
        if (m->c[sys] == NULL) {
            fprintf(stderr, "bench_metg: dv_connect(%s): %s\n", where,
                    dv_last_error());
            return -1;
        }
    }
    if (!metg_wanted(m, SYS_TCP)) {
        return 0;
    }
    if (bu_daemons_start(&m->d, NULL) != 0) {
        fprintf(stderr, "bench_metg: tcp: %s\n", m->d.err);
        return -1;
    }
    m->c[SYS_TCP] = dv_connect(m->d.addr);
    if (m->c[SYS_TCP] == NULL) {
        fprintf(stderr, "bench_metg: dv_connect(%s): %s\n", m->d.addr,
                dv_last_error());
        return -1;
    }
    double deadline = bu_now() + 30.0;
    int nw = 0;
    while ((nw = dv_nworkers(m->c[SYS_TCP])) < m->d.nworkers &&
           bu_now() < deadline) {
        usleep(1000);
    }
    int rc = nw == m->d.nworkers
                 ? dv_upload_library(m->c[SYS_TCP], m->cfg.fns_so)
                 : -1;
    if (rc != m->d.nworkers) {
        fprintf(stderr,
                "bench_metg: tcp: %d of %d workers, library "
                "upload %d: %s\n",
                nw, m->d.nworkers, rc, dv_last_error());
        return -1;
    }
    return 0;
}

static void
s_usage(FILE *f)
{
    fprintf(f,
            "usage: bench_metg [--quick] [--pattern trivial|stencil_1d|all]\n"
            "                  [--systems openmp,threads,processes,tcp]\n"
            "                  [--cores N] [--width W] [--steps T]\n"
            "                  [--iter-max N] [--iter-min N] [--repeats R]\n"
            "                  [--drove PATH] [--fns SO] [--omp PATH]\n"
            "Task Bench's METG of drove's clusters against OpenMP's, "
            "interleaved.\n"
            "  --quick     iter / 4 per point, a quarter of the steps, "
            "1 repeat\n"
            "  --cores     cores of the systems (default: online CPUs)\n"
            "  --width     tasks per step (default: 2 x cores)\n"
            "  --steps     steps per graph (default: ~1 s of work at "
            "iter-max)\n"
            "  --iter-max  the first point's kernel iterations (default: "
            "~1 ms)\n"
            "  --iter-min  the sweep's floor (default 16)\n"
            "  --repeats   runs per system per point, best kept "
            "(default 3)\n");
}

/* Reads the options into cfg; 0, 1 for --help, or -1. */
static int
s_parse(int argc, char **argv, metg_cfg *cfg)
{
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(o, "--help") == 0 || strcmp(o, "-h") == 0) {
            return 1;
        } else if (strcmp(o, "--quick") == 0) {
            cfg->quick = 1;
            continue;
        } else if (v == NULL) {
            return -1;
        } else if (strcmp(o, "--pattern") == 0) {
            int p = metg_pattern_parse(v);
            cfg->patterns = strcmp(v, "all") == 0 ? (1u << METG_NPATTERNS) - 1
                            : p >= 0              ? 1u << p
                                                  : 0;
        } else if (strcmp(o, "--systems") == 0) {
            cfg->systems = bu_name_bits(v, metg_sys, NSYS);
        } else if (strcmp(o, "--cores") == 0) {
            cfg->cores = atoi(v);
        } else if (strcmp(o, "--width") == 0) {
            cfg->width = atoll(v);
        } else if (strcmp(o, "--steps") == 0) {
            cfg->steps = atoll(v);
        } else if (strcmp(o, "--iter-max") == 0) {
            cfg->iter_max = atoll(v);
        } else if (strcmp(o, "--iter-min") == 0) {
            cfg->iter_min = atoll(v);
        } else if (strcmp(o, "--repeats") == 0) {
            cfg->repeats = atoi(v);
        } else if (strcmp(o, "--drove") == 0) {
            cfg->drove = v;
        } else if (strcmp(o, "--fns") == 0) {
            cfg->fns_so = v;
        } else if (strcmp(o, "--omp") == 0) {
            cfg->omp = v;
        } else {
            return -1;
        }
        i++;
    }
    return 0;
}

/* Fills in what the options left to defaults, measuring the kernel for
 * iter_max and steps; 0, or -1 for values out of range. */
static int
s_defaults(metg_cfg *cfg)
{
    double task_s = 0;

    cfg->factor = cfg->quick ? 4 : 2;
    if (cfg->repeats == 0) {
        cfg->repeats = cfg->quick ? 1 : 3;
    }
    if (cfg->cores == 0) {
        cfg->cores = (int)sysconf(_SC_NPROCESSORS_ONLN);
    }
    if (cfg->width == 0) {
        cfg->width = 2 * (int64_t)cfg->cores;
    }
    if (cfg->cores < 1 || cfg->width < 1 || cfg->steps < 0 ||
        cfg->iter_max < 0 || cfg->iter_min < 1 || cfg->repeats < 1 ||
        cfg->patterns == 0 || cfg->systems == 0) {
        return -1;
    }
    cfg->kernel_iter_s = s_kernel_iter_s();
    if (cfg->iter_max <= 0) {
        /* The smallest power of two taking 0.7 x TARGET_TASK_S or more. */
        cfg->iter_max = 1024;
        while ((double)cfg->iter_max * cfg->kernel_iter_s <
                   0.7 * TARGET_TASK_S &&
               cfg->iter_max < (int64_t)1 << 32) {
            cfg->iter_max *= 2;
        }
    }
    task_s = (double)cfg->iter_max * cfg->kernel_iter_s;
    if (cfg->steps <= 0) {
        /* steps x width tasks of task_s each on `cores` cores. */
        double t = TARGET_GRAPH_S * cfg->cores / ((double)cfg->width * task_s);
        cfg->steps = (int64_t)(cfg->quick ? t / 4 : t) + 1;
    }
    fprintf(stderr,
            "bench_metg: %d cores, width %lld, %lld steps, iter from %lld "
            "(%.0f us a task here) down by %d to %lld, %d repeats, %d "
            "FLOPs an iteration\n",
            cfg->cores, (long long)cfg->width, (long long)cfg->steps,
            (long long)cfg->iter_max, task_s * 1e6, cfg->factor,
            (long long)cfg->iter_min, cfg->repeats, METG_FLOPS_PER_ITER);
    return 0;
}

/* ---- Main ------------------------------------------------------------- */

/* One graph on each system at the sweep's floor, not counted: the first
 * graphs also pay for loading the task library, faulting in tables and
 * starting libgomp. */
static void
s_warmup(metg *m, int pattern)
{
    for (int sys = 0; sys < NSYS; sys++) {
        double wall = 0, cpu = 0;
        if (metg_available(m, sys)) {
            s_run(m, sys, pattern, m->cfg.iter_min, &wall, &cpu);
        }
    }
}

static void
s_close(metg *m)
{
    for (int sys = 0; sys < NSYS; sys++) {
        dv_close(m->c[sys]);
        m->c[sys] = NULL;
    }
    if (m->d.sched_pid > 0 && bu_daemons_stop(&m->d, m->failures > 0) != 0) {
        m->failures++;
    }
}

/* The wake-up floor (metg_wake.h), with the clusters connected and idle:
 * what a dependency crossing threads costs at least, twice. */
static void
s_wake_floor(metg *m)
{
    double idle_us = 0, busy_us = 0;
    if (metg_wake_floor(m->cfg.cores, WAKE_SAMPLES, &idle_us, &busy_us) != 0) {
        printf("metg.wake_idle: n/a us\nmetg.wake_busy: n/a us\n");
        return;
    }
    bu_line("metg.wake_idle", idle_us, 1, "us");
    bu_line("metg.wake_busy", busy_us, 1, "us");
}

/* OpenMP's plateau (PLATEAU_POINTS) against the sweep's final peak, or
 * -1 if OpenMP did not run. Its tasks cost it next to nothing there, so
 * it runs at the machine's peak: a lower plateau means the machine itself
 * changed speed during the sweep, and every figure read against the peak
 * with it. The host can give a guest less of its CPUs without any steal
 * time showing (this machine reports none): in one `make bench`, OpenMP
 * ran the trivial sweep's first point at 37.2 GFLOP/s and every later one
 * at 27.6-27.9, a plateau of 75%, and drove's trivial METGs read 12.6
 * and 12.3 us against 8.7-10.2 in the runs of the same hour. Capping this
 * process at 1.5 CPUs (a cgroup's cpu.cfs_quota_us) after the first
 * point gives the same plateau, and the sweep run again reads as usual. */
static double
s_plateau(const metg *m, const metg_point *pts, int npts)
{
    double peak = metg_peak(m, pts, npts), e[PLATEAU_POINTS];
    int n = 0;

    for (int k = 0; k < npts && n < PLATEAU_POINTS; k++) {
        double b = pts[k].best_s[SYS_OPENMP];
        if (b > 0 && peak > 0) {
            e[n++] = metg_flops(m, pts[k].iter) / b / peak;
        }
    }
    return n > 0 ? bu_median(e, (size_t)n) : -1;
}

/* Sweeps pattern into pts, twice if the machine changed speed during the
 * first sweep (s_plateau), and reports the last. */
static void
s_pattern(metg *m, int pattern, metg_point *pts)
{
    int npts = 0;
    double plateau = -1;

    for (int sweep = 0; sweep < 2; sweep++) {
        if (sweep > 0) {
            fprintf(stderr,
                    "bench_metg: %s: OpenMP kept %.0f%% of the peak at the "
                    "largest grains: the machine changed speed during the "
                    "sweep; sweeping again\n",
                    metg_pattern_name(pattern), plateau * 100);
        }
        memset(m->failed, 0, sizeof(m->failed));
        s_warmup(m, pattern);
        bu_ticks_now(&m->sweep0);
        npts = s_sweep(m, pattern, pts);
        plateau = s_plateau(m, pts, npts);
        if (plateau < 0 || plateau >= PLATEAU_MIN) {
            break;
        }
    }
    metg_report(m, pattern, pts, npts, plateau);
}

int
main(int argc, char **argv)
{
    static metg m;
    static metg_point pts[MAX_POINTS];

    m.cfg = (metg_cfg){.iter_min = 16,
                       .patterns = (1u << METG_NPATTERNS) - 1,
                       .systems = (1u << NSYS) - 1,
                       .drove = DV_DROVE_BIN,
                       .fns_so = DV_BENCH_FNS_SO,
                       .omp = DV_METG_OMP};
    int rc = s_parse(argc, argv, &m.cfg);
    if (rc != 0) {
        s_usage(rc > 0 ? stdout : stderr);
        return rc > 0 ? 0 : 2;
    }
    if (bench_fns_count() <= 0 || s_defaults(&m.cfg) != 0) {
        s_usage(stderr);
        return 2;
    }
    if (metg_wanted(&m, SYS_OPENMP) && m.cfg.omp[0] == '\0') {
        fprintf(stderr, "bench_metg: openmp: n/a, CMake found no OpenMP "
                        "when bench_metg was built\n");
    }
    bu_cleanup_on_exit();
    /* tcp's profile lives and dies with the run, never in ~/.drove. */
    if (metg_wanted(&m, SYS_TCP) &&
        bu_daemons_init(&m.d, m.cfg.drove, "bench_metg", m.cfg.cores) != 0) {
        fprintf(stderr, "bench_metg: %s\n", m.d.err);
        return 1;
    }
    m.nonce = 1;
    if (s_connect(&m) != 0) {
        m.failures++;
        s_close(&m);
        return 1;
    }
    s_wake_floor(&m);
    for (int p = 0; p < METG_NPATTERNS; p++) {
        if ((m.cfg.patterns & (1u << p)) == 0) {
            continue;
        }
        s_pattern(&m, p, pts);
    }
    if (m.waited_s > 0) {
        fprintf(stderr,
                "bench_metg: waited %.1f s in all for other "
                "programs to leave the machine quiet\n",
                m.waited_s);
    }
    if (m.reruns > 0) {
        fprintf(stderr,
                "bench_metg: ran %d points again: the host took more "
                "than %.0f%% of the CPU\n",
                m.reruns, STEAL_MAX * 100);
    }
    s_close(&m);
    return m.failures > 0 ? 1 : 0;
}
