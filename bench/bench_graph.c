/* One cluster, many graphs of one METG point: what a change to drove
 * costs or saves, read by bench/ab.sh against another build.
 *
 *   bench_graph [--scheme S] [--pattern P] [--iter N] [--steps T]
 *               [--width W] [--graphs G]
 *
 * Runs G graphs (20) of Task Bench's pattern P (trivial) on one cluster
 * (dv_connect(S), local:threads=2) at iter kernel iterations a task (0),
 * each as bench_metg runs it (metg_drove.c), and prints:
 *
 *   graph.wall_per_task_best    us, the fastest graph's wall time a task
 *   graph.wall_per_task_median  us, the median graph's
 *   graph.cpu_per_task          us, CPU time of this process and its
 *                               children (local:processes' workers) a
 *                               task, the freeing of each graph's
 *                               results included; daemons are other
 *                               processes, not counted
 *   graph.submitter_switches    context switches of the thread that
 *                               submits and waits, a graph: each one a
 *                               wake-up (a few tens of us on this VM)
 *
 * Every figure is over graphs 2..G: the first warms the cluster up.
 *
 * The CPU time is steadier than the wall time on a noisy machine: a change
 * that does less work per task shows in it first. */
#define _GNU_SOURCE /* RUSAGE_THREAD */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench_util.h"
#include "fns.h"
#include "metg_drove.h"
#include "metg_kernel.h"

#define MAX_GRAPHS 1000

/* Context switches of the calling thread so far. */
static double
s_switches(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_THREAD, &ru) != 0) {
        return 0;
    }
    return (double)ru.ru_nvcsw + (double)ru.ru_nivcsw;
}

static void
s_usage(FILE *f)
{
    fprintf(f,
            "usage: bench_graph [--scheme S] [--pattern trivial|stencil_1d]\n"
            "                   [--iter N] [--steps T] [--width W] "
            "[--graphs G]\n"
            "Runs G graphs of one METG point on one drove cluster and "
            "prints their\nwall and CPU time a task (see bench/ab.sh).\n"
            "  --scheme   dv_connect's argument (default "
            "local:threads=2)\n"
            "  --pattern  default trivial\n"
            "  --iter     kernel iterations a task (default 0)\n"
            "  --steps    steps a graph (default 576)\n"
            "  --width    tasks a step (default 4)\n"
            "  --graphs   graphs to run, 2 to 1000 (default 20)\n");
}

int
main(int argc, char **argv)
{
    const char *scheme = "local:threads=2";
    metg_run r = {.label = "graph", .width = 4, .steps = 576};
    int graphs = 20;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(o, "--help") == 0 || strcmp(o, "-h") == 0) {
            s_usage(stdout);
            return 0;
        }
        if (v == NULL) {
            s_usage(stderr);
            return 2;
        }
        if (strcmp(o, "--scheme") == 0) {
            scheme = v;
        } else if (strcmp(o, "--pattern") == 0) {
            r.pattern = metg_pattern_parse(v);
        } else if (strcmp(o, "--iter") == 0) {
            r.iter = atoll(v);
        } else if (strcmp(o, "--steps") == 0) {
            r.steps = atoll(v);
        } else if (strcmp(o, "--width") == 0) {
            r.width = atoll(v);
        } else if (strcmp(o, "--graphs") == 0) {
            graphs = atoi(v);
        } else {
            s_usage(stderr);
            return 2;
        }
        i++;
    }
    const char *bad = r.pattern < 0                       ? "--pattern"
                      : r.iter < 0                        ? "--iter"
                      : r.steps < 1                       ? "--steps"
                      : r.width < 1                       ? "--width"
                      : graphs < 2 || graphs > MAX_GRAPHS ? "--graphs"
                                                          : NULL;
    if (bad != NULL || bench_fns_count() <= 0) {
        fprintf(stderr, "bench_graph: %s is out of range\n",
                bad ? bad : "the benchmark's functions");
        s_usage(stderr);
        return 2;
    }
    r.c = dv_connect(scheme);
    if (r.c == NULL) {
        fprintf(stderr, "bench_graph: %s: %s\n", scheme, dv_last_error());
        return 1;
    }
    static double wall[MAX_GRAPHS];
    double cpu0 = 0, switches0 = 0;
    int rc = 0;
    for (int g = 0; g < graphs && rc == 0; g++) {
        if (g == 1) {
            cpu0 = bu_tree_cpu_s();
            switches0 = s_switches();
        }
        r.nonce = g + 1;
        rc = metg_drove_run(&r, &wall[g], NULL); /* CPU: over all, below */
    }
    double cpu = bu_tree_cpu_s() - cpu0;
    double switches = s_switches() - switches0;
    dv_close(r.c);
    if (rc != 0) {
        return 1;
    }
    double tasks = (double)r.steps * (double)r.width;
    /* Sorts wall[1..]: wall[1] is then the fastest. */
    double median = bu_median(wall + 1, (size_t)graphs - 1);
    bu_line("graph.wall_per_task_best", wall[1] / tasks * 1e6, 2, "us");
    bu_line("graph.wall_per_task_median", median / tasks * 1e6, 2, "us");
    bu_line("graph.cpu_per_task", cpu * 1e6 / (tasks * (graphs - 1)), 2, "us");
    bu_line("graph.submitter_switches", switches / (graphs - 1), 1, "");
    return 0;
}
