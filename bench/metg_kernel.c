/* The METG benchmark's compute-bound kernel; see metg_kernel.h.
 *
 * Each update is x = x * M + C with M < 1: its fixed point C / (1 - M) is
 * 1.5, and an element that starts in [1, 2) stays there, so the kernel
 * never meets an overflow or a denormal (which would slow some systems'
 * tasks down and not others'), however many iterations it runs. */
#include "metg_kernel.h"

#include <stddef.h>
#include <string.h>

#define METG_M 0.9990234375 /* 1 - 2^-10 */
#define METG_C (1.5 * (1.0 - METG_M))

double
metg_kernel(int64_t iter, uint64_t seed)
{
    double a[METG_KERNEL_LANES];

    for (int j = 0; j < METG_KERNEL_LANES; j++) {
        /* In [1, 2): 1 + (a hash of seed and j) / 2^20. */
        uint64_t h = (seed + (uint64_t)j + 1) * 0x9E3779B97F4A7C15ull;
        a[j] = 1.0 + (double)(h >> 44) * 0x1.0p-20;
    }
    for (int64_t i = 0; i < iter; i++) {
        for (int j = 0; j < METG_KERNEL_LANES; j++) {
            a[j] = a[j] * METG_M + METG_C;
        }
    }
    double sum = 0.0;
    for (int j = 0; j < METG_KERNEL_LANES; j++) {
        sum += a[j];
    }
    return sum;
}

static const char *const s_patterns[METG_NPATTERNS] = {"trivial", "stencil_1d"};

const char *
metg_pattern_name(int pattern)
{
    if (pattern < 0 || pattern >= METG_NPATTERNS) {
        return NULL;
    }
    return s_patterns[pattern];
}

int
metg_pattern_parse(const char *name)
{
    for (int p = 0; p < METG_NPATTERNS; p++) {
        if (strcmp(name, s_patterns[p]) == 0) {
            return p;
        }
    }
    return -1;
}

int
metg_inputs(int pattern, int64_t width, int64_t step, int64_t point,
            int64_t *first)
{
    if (width < 1 || step < 0 || point < 0 || point >= width) {
        return -1;
    }
    *first = 0;
    switch (pattern) {
    case METG_TRIVIAL: return 0;
    case METG_STENCIL_1D: break;
    default: return -1;
    }
    if (step == 0) {
        return 0;
    }
    int64_t lo = point > 0 ? point - 1 : 0;
    int64_t hi = point + 1 < width ? point + 1 : width - 1;
    *first = lo;
    return (int)(hi - lo + 1);
}
