/* The OpenMP reference of the METG benchmark (bench_metg.c): one graph of
 * tasks run with OpenMP tasks, its wall time printed in seconds on stdout.
 *
 *   metg_omp --pattern trivial|stencil_1d --iter N --steps T --width W
 *            [--threads C]
 *
 * As Task Bench's OpenMP implementation: in a parallel region of C
 * threads, one thread creates every task of the graph, step by step
 * (`#pragma omp single`), and all of them run tasks. trivial creates a
 * plain `#pragma omp task` per point per step; stencil_1d gives each task
 * `depend(in: ...)` on the slots of its inputs and `depend(out: ...)` on
 * its own. There is a slot per task, (step, point), as Task Bench keeps
 * as many fields as steps by default: no slot is written twice, so the
 * depend clauses make exactly the pattern's dependencies and nothing
 * more. Each task checks its inputs' slots hold (step - 1, i) and writes
 * (step, point) into its own; the program checks the last step's slots.
 * A failed check prints `metg_omp: FAILED: ...` on stderr and exits 1.
 *
 * The kernel is metg_kernel.c's, the same code the drove task runs. The
 * timed part is the parallel region that runs the graph, after one that
 * created the threads; bench_metg runs this program as a child, so that
 * libgomp's spinning threads never share a process with drove's. */
#include "metg_kernel.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct omp_graph {
    int pattern;
    int64_t iter;
    int64_t steps;
    int64_t width;
    metg_value *slots; /* steps * width, the task (s, i) at s * width + i */
    int failed;        /* a task's check failed; written once (atomic) */
    char why[256];     /* the first failure, by the task that set failed */
} omp_graph;

static double
s_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Records the first failure only: later ones race for nothing. */
static void
s_fail(omp_graph *g, int64_t s, int64_t i, const char *what)
{
    int was;

#pragma omp atomic capture
    was = g->failed++;
    if (was == 0) {
        snprintf(g->why, sizeof(g->why), "task (%lld, %lld): %s", (long long)s,
                 (long long)i, what);
    }
}

static void
s_task(omp_graph *g, int64_t s, int64_t i)
{
    int64_t first = 0;
    int n = metg_inputs(g->pattern, g->width, s, i, &first);

    for (int k = 0; k < n; k++) {
        const metg_value *in = &g->slots[(s - 1) * g->width + first + k];
        if (in->step != s - 1 || in->point != first + k) {
            s_fail(g, s, i, "an input is not the task it should be");
            return;
        }
    }
    double r = metg_kernel(g->iter, (uint64_t)(s * g->width + i));
    if (!(r >= METG_KERNEL_LANES && r < 2 * METG_KERNEL_LANES)) {
        s_fail(g, s, i, "the kernel's result is out of range");
        return;
    }
    g->slots[s * g->width + i] = (metg_value){s, i};
}

/* Creates the tasks of step s. Depending on a slot twice (an input
 * clipped at an edge) is allowed and means once. slots is g->slots, as a
 * variable: a depend clause names variables or their elements. */
static void
s_step(omp_graph *g, metg_value *slots, int64_t s)
{
    int64_t w = g->width;

    for (int64_t i = 0; i < w; i++) {
        int64_t first = 0;
        int n = metg_inputs(g->pattern, w, s, i, &first);
        if (n == 0) {
#pragma omp task firstprivate(s, i) depend(out : slots[s * w + i])
            s_task(g, s, i);
        } else {
            int64_t lo = (s - 1) * w + first, mid = (s - 1) * w + i;
            int64_t hi = (s - 1) * w + first + n - 1, out = s * w + i;
            /* clang-format off */
#pragma omp task firstprivate(s, i) \
    depend(in : slots[lo], slots[mid], slots[hi]) depend(out : slots[out])
            /* clang-format on */
            s_task(g, s, i);
        }
    }
}

static void
s_step_trivial(omp_graph *g, int64_t s)
{
    for (int64_t i = 0; i < g->width; i++) {
#pragma omp task firstprivate(s, i)
        s_task(g, s, i);
    }
}

/* Runs the graph; its wall time in seconds. */
static double
s_run(omp_graph *g)
{
    double t0 = s_now();
#pragma omp parallel
#pragma omp single
    {
        for (int64_t s = 0; s < g->steps; s++) {
            if (g->pattern == METG_TRIVIAL) {
                s_step_trivial(g, s);
            } else {
                s_step(g, g->slots, s);
            }
        }
    }
    /* The region's closing barrier waited for every task. */
    return s_now() - t0;
}

static int
s_usage(void)
{
    fprintf(stderr, "usage: metg_omp --pattern trivial|stencil_1d "
                    "--iter N --steps T --width W [--threads C]\n");
    return 2;
}

int
main(int argc, char **argv)
{
    omp_graph g = {.pattern = -1, .iter = -1, .steps = 0, .width = 0};
    int threads = 0;

    for (int i = 1; i + 1 < argc; i += 2) {
        const char *v = argv[i + 1];
        if (strcmp(argv[i], "--pattern") == 0) {
            g.pattern = metg_pattern_parse(v);
        } else if (strcmp(argv[i], "--iter") == 0) {
            g.iter = atoll(v);
        } else if (strcmp(argv[i], "--steps") == 0) {
            g.steps = atoll(v);
        } else if (strcmp(argv[i], "--width") == 0) {
            g.width = atoll(v);
        } else if (strcmp(argv[i], "--threads") == 0) {
            threads = atoi(v);
        } else {
            return s_usage();
        }
    }
    if (argc % 2 != 1 || g.pattern < 0 || g.iter < 0 || g.steps < 1 ||
        g.width < 1) {
        return s_usage();
    }
    if (threads > 0) {
        omp_set_num_threads(threads);
    }
    size_t n = (size_t)(g.steps * g.width);
    g.slots = malloc(n * sizeof(*g.slots));
    if (g.slots == NULL) {
        fprintf(stderr, "metg_omp: FAILED: out of memory\n");
        return 1;
    }
    /* No task's value: a task that ran before its input would see this. */
    for (size_t k = 0; k < n; k++) {
        g.slots[k] = (metg_value){-1, -1};
    }
    /* Not timed: the first parallel region creates the threads. */
#pragma omp parallel
    {
        (void)omp_get_thread_num();
    }
    double wall = s_run(&g);
    for (int64_t i = 0; i < g.width && g.failed == 0; i++) {
        metg_value v = g.slots[(g.steps - 1) * g.width + i];
        if (v.step != g.steps - 1 || v.point != i) {
            s_fail(&g, g.steps - 1, i, "its result is missing or wrong");
        }
    }
    if (g.failed != 0) {
        fprintf(stderr, "metg_omp: FAILED: %s (%d failures)\n", g.why,
                g.failed);
        free(g.slots);
        return 1;
    }
    printf("%.9f\n", wall);
    free(g.slots);
    return 0;
}
