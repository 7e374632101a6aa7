/* The task function of the METG benchmark (bench_metg.c), in the
 * benchmarks' task library (libbench_fns.so, with fns.c): the tcp daemons
 * get it through dv_upload_library, the embedded clusters find it in the
 * program that links the library.
 *
 *   metg_task(pattern, width, step, point, iter, nonce, inputs...)
 *
 * runs the compute-bound kernel for iter iterations and returns the
 * 16-byte metg_value (step, point). As Task Bench's tasks do, it first
 * checks that its inputs are exactly the results of the tasks its pattern
 * says it depends on, (step - 1, i) for each input point i, in order, and
 * fails otherwise: a system that passed it a wrong, stale or missing
 * result fails the run instead of producing a figure. nonce is not read:
 * it differs between the benchmark's runs, so that the calls of one run
 * never share the (pure) keys, and thus the results, of another's. */
#include "metg_kernel.h"

#include <drove.h>

#include <string.h>

/* The i64 arguments; -1 if one is missing or of another type. */
static int
s_fixed_args(dv_call *call, int64_t *v)
{
    for (size_t k = 0; k < METG_TASK_FIXED_ARGS; k++) {
        const dv_value *a = dv_arg_at(call, k);
        if (dv_value_type(a) != DV_I64) {
            return -1;
        }
        v[k] = dv_value_i64(a);
    }
    return 0;
}

DV_FUNCTION(metg_task)
{
    int64_t v[METG_TASK_FIXED_ARGS];
    int64_t first = 0;

    if (s_fixed_args(call, v) != 0) {
        return dv_fail(call, "metg_task: expected %d integers first",
                       METG_TASK_FIXED_ARGS);
    }
    int64_t width = v[1], step = v[2], point = v[3], iter = v[4];
    int n = metg_inputs((int)v[0], width, step, point, &first);
    if (n < 0 || iter < 0) {
        return dv_fail(call,
                       "metg_task: no task (%lld, %lld) of pattern "
                       "%lld, width %lld, iter %lld",
                       (long long)step, (long long)point, (long long)v[0],
                       (long long)width, (long long)iter);
    }
    if (dv_nargs(call) != METG_TASK_FIXED_ARGS + (size_t)n) {
        return dv_fail(call,
                       "metg_task (%lld, %lld): %zu inputs, expected "
                       "%d",
                       (long long)step, (long long)point,
                       dv_nargs(call) - METG_TASK_FIXED_ARGS, n);
    }
    for (int k = 0; k < n; k++) {
        size_t len = 0;
        const void *p = dv_value_bytes(
            dv_arg_at(call, METG_TASK_FIXED_ARGS + (size_t)k), &len);
        metg_value in = {-1, -1};
        if (p != NULL && len == sizeof(in)) {
            memcpy(&in, p, sizeof(in)); /* bytes promise no alignment */
        }
        if (in.step != step - 1 || in.point != first + k) {
            return dv_fail(call,
                           "metg_task (%lld, %lld): input %d is "
                           "(%lld, %lld), expected (%lld, %lld)",
                           (long long)step, (long long)point, k,
                           (long long)in.step, (long long)in.point,
                           (long long)(step - 1), (long long)(first + k));
        }
    }
    double r = metg_kernel(iter, (uint64_t)(step * width + point));
    if (!(r >= METG_KERNEL_LANES && r < 2 * METG_KERNEL_LANES)) {
        return dv_fail(call, "metg_task (%lld, %lld): kernel gave %g",
                       (long long)step, (long long)point, r);
    }
    metg_value *out = dv_return_bytes(call, sizeof(*out));
    if (out == NULL) {
        return dv_fail(call, "metg_task: dv_return_bytes: %s", dv_last_error());
    }
    out->step = step;
    out->point = point;
    return 0;
}
