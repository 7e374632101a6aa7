/* What one task of the METG benchmark (bench_metg.c) computes and depends
 * on, shared by its drove task function (metg_fns.c) and its OpenMP
 * reference (metg_omp.c), so that both run the very same machine code and
 * graph: it is built once, into one static library that both link.
 *
 * As Task Bench's compute_bound kernel: a small fixed array of doubles,
 * and every iteration updates each of them with one multiply and one add
 * that depend on the iteration before. The result sums the array, so it
 * depends on every iteration and the compiler cannot drop any (without
 * -ffast-math it may not reassociate them either). */
#ifndef METG_KERNEL_H
#define METG_KERNEL_H

#include <stdint.h>

/* Doubles in the kernel's array: 8 independent chains of SSE2 pairs,
 * enough to keep the floating-point units busy despite each update
 * waiting for the one before it. */
#define METG_KERNEL_LANES 16

/* Floating-point operations of one iteration, exactly: a multiply and an
 * add per lane. */
#define METG_FLOPS_PER_ITER (2 * METG_KERNEL_LANES)

/* Runs iter iterations on an array seeded from seed (a task's step and
 * point, so that no two tasks compute the same thing) and returns the sum
 * of its elements: finite and positive (each element stays within
 * [1, 2)), which the callers check. */
double metg_kernel(int64_t iter, uint64_t seed);

/* The dependence patterns of Task Bench that the benchmark runs. A graph
 * is `steps` rows of `width` tasks; task (s, i) is point i of step s. */
enum metg_pattern {
    METG_TRIVIAL = 0,    /* no dependencies at all */
    METG_STENCIL_1D = 1, /* (s, i) needs (s-1, i-1), (s-1, i), (s-1, i+1),
                            those that exist */
    METG_NPATTERNS = 2
};

/* The pattern's name ("trivial", "stencil_1d"), or NULL if out of range.
 * Static storage. */
const char *metg_pattern_name(int pattern);

/* The pattern named name, or -1. */
int metg_pattern_parse(const char *name);

/* The inputs of task (step, point): the points *first .. *first + n - 1
 * of step - 1, where n is the return value (0: none). -1 for a pattern,
 * step or point out of range (width < 1, point outside [0, width)). */
int metg_inputs(int pattern, int64_t width, int64_t step, int64_t point,
                int64_t *first);

/* The drove task metg_task (metg_fns.c) takes these integers, then the
 * results of its inputs (metg_inputs) in order:
 *   metg_task(pattern, width, step, point, iter, nonce, inputs...) */
#define METG_TASK_FIXED_ARGS 6

/* What every task returns, and checks its inputs are: the task it came
 * from. 16 bytes, as the drove task's DV_BYTES result. */
typedef struct metg_value {
    int64_t step;
    int64_t point;
} metg_value;

#endif /* METG_KERNEL_H */
