/* One run of bench_metg: its systems, settings, points and state, shared
 * by the sweep (bench_metg.c) and its figures (metg_report.c). */
#ifndef METG_H
#define METG_H

#include "bench_util.h"

#include <drove.h>

#include <stdint.h>

enum { SYS_OPENMP, SYS_THREADS, SYS_PROCESSES, SYS_TCP, NSYS };

/* The systems' names, as the printed lines spell them. */
extern const char *const metg_sys[NSYS];

typedef struct metg_cfg {
    int cores;            /* cores the systems use (sysconf, or --cores) */
    int64_t width;        /* tasks per step (2 x cores) */
    int64_t steps;        /* steps per graph, fixed over a sweep (0: derived) */
    int64_t iter_max;     /* the sweep's first iter (0: measured) */
    int64_t iter_min;     /* the sweep's floor */
    int factor;           /* iter is divided by this from point to point */
    int repeats;          /* runs of each system per point; the best counts */
    int quick;            /* --quick: fewer steps, points and repeats */
    unsigned patterns;    /* bit (1 << pattern) per pattern to run */
    unsigned systems;     /* bit (1 << SYS_*) per system to run */
    const char *drove;    /* the drove CLI, for tcp */
    const char *fns_so;   /* libbench_fns.so, uploaded to tcp */
    const char *omp;      /* the metg_omp program, or "" */
    double kernel_iter_s; /* the kernel's CPU time an iteration, run alone */
} metg_cfg;

typedef struct metg_point {
    int64_t iter;
    double best_s[NSYS]; /* the shortest wall time of the repeats; 0: none */
    double cpu_s[NSYS];  /* the CPU time drove's processes used in that run */
} metg_point;

typedef struct metg {
    metg_cfg cfg;
    dv_client *c[NSYS]; /* the drove clusters' clients (not openmp's) */
    bu_daemons d;       /* tcp's daemons */
    int64_t nonce;      /* fresh per graph: no run shares another's keys */
    int failed[NSYS];   /* a run of the system failed on this pattern */
    int failures;       /* failed runs and setups, for the exit status */
    double waited_s;    /* time spent waiting for a quiet machine */
    bu_ticks sweep0;    /* the CPU counters when the sweep began */
    int reruns;         /* points run again because the host took the CPU */
} metg;

/* Whether the run was asked for sys; whether sys can run now (asked for,
 * not failed on this pattern, and connected or built). */
int metg_wanted(const metg *m, int sys);
int metg_available(const metg *m, int sys);

/* The floating-point operations of a graph at iter; Task Bench's
 * granularity (wall time x cores / tasks, in us) of a graph that took
 * wall_s; the best FLOP/s of any system at any of npts points (the
 * machine's peak). */
double metg_flops(const metg *m, int64_t iter);
double metg_granularity_us(const metg *m, double wall_s);
double metg_peak(const metg *m, const metg_point *pts, int npts);

/* Prints the figures of a sweep of pattern: every point's on stderr; the
 * peak, the host's steal, the METGs, their ratios to OpenMP's, drove's
 * overhead a task and OpenMP's plateau (plateau: a fraction, -1 if OpenMP
 * did not run) on stdout, as `metg.PATTERN.NAME: value unit`. */
void metg_report(const metg *m, int pattern, const metg_point *pts, int npts,
                 double plateau);

#endif /* METG_H */
