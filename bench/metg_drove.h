/* One graph of the METG benchmark (bench_metg.c) run on a drove cluster:
 * the drove side of what metg_omp.c does with OpenMP tasks. */
#ifndef METG_DROVE_H
#define METG_DROVE_H

#include <drove.h>

#include <stdint.h>

/* A graph to run, and where. */
typedef struct metg_run {
    dv_client *c;      /* the cluster's client; borrowed */
    const char *label; /* names the cluster in messages ("threads") */
    int pattern;       /* enum metg_pattern */
    int64_t width;     /* tasks per step */
    int64_t steps;     /* steps */
    int64_t iter;      /* the kernel's iterations per task */
    int64_t nonce;     /* differs between runs on one cluster, so that no
                          run's (pure) calls share another's keys */
} metg_run;

/* Submits every task of the graph (metg_task of metg_fns.c, the client
 * holding no other future), waits for them all, and checks the last
 * step's results, then that every other task it held finished. Returns 0
 * with *wall_s the time from the first submit to the last result fetched,
 * and *cpu_s (unless NULL: reading it scans /proc) the CPU time this
 * process and its children (the cluster's workers, if they are) used
 * meanwhile; or -1 with the reason on stderr: a task that failed its
 * checks, a result that is not (step, point), a lost cluster. Returns
 * after the cluster has freed the graph's results (outside the time
 * measured). */
int metg_drove_run(const metg_run *r, double *wall_s, double *cpu_s);

#endif /* METG_DROVE_H */
