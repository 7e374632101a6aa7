/* Task functions for the benchmarks: trivial ones, to measure what drove
 * itself costs per task, and a few that move or hold memory.
 *
 *   inc(i)                 i + 1
 *   add(a, b)              a + b, of two i64 or of two f64 arrays
 *   random_f64s(n)         n doubles uniform in [0, 1) (impure)
 *   make_f64s(n)           the n doubles 0, 1, 2, ... (pure)
 *   where_len(x)           [len(x), id of the worker that ran the call]
 *   gate(path, timeout_ms) waits until the file path exists (impure)
 *   sum_list(list)         the sum of a list of i64 (the fan-in)
 *   child_roundtrips(n, x) n times: submits the child inc(x + i) and waits
 *                          for it; the n round trips' times, in us
 *   sum_range(lo, hi)      the sum of lo..hi-1, split in halves down to
 *                          single elements, continuing as add of halves
 *   fib(n, nonce)          fib(n) of pure children (nonce: fresh keys),
 *                          continuing as add of fib(n-1) and fib(n-2)
 */
#include "fns.h"

#include <drove.h>

#include <stdint.h>
#include <time.h>
#include <unistd.h>

DV_FUNCTION(inc)
{
    const dv_value *x = dv_arg_at(call, 0);

    if (dv_value_type(x) != DV_I64) {
        return dv_fail(call, "inc: expected an i64");
    }
    return dv_return(call, dv_i64(dv_value_i64(x) + 1));
}

DV_FUNCTION(add)
{
    const dv_value *a = dv_arg_at(call, 0);
    const dv_value *b = dv_arg_at(call, 1);

    if (dv_value_type(a) == DV_F64S && dv_value_type(b) == DV_F64S) {
        size_t na = 0;
        size_t nb = 0;
        const double *x = dv_value_f64s(a, &na);
        const double *y = dv_value_f64s(b, &nb);
        if (na != nb) {
            return dv_fail(call, "add: arrays of %zu and %zu", na, nb);
        }
        double *out = dv_return_f64s(call, na);
        if (out == NULL) {
            return dv_fail(call, "add: out of memory");
        }
        for (size_t i = 0; i < na; i++) {
            out[i] = x[i] + y[i];
        }
        return 0;
    }
    if (dv_value_type(a) == DV_I64 && dv_value_type(b) == DV_I64) {
        return dv_return(call, dv_i64(dv_value_i64(a) + dv_value_i64(b)));
    }
    return dv_fail(call, "add: expected two i64 or two f64 arrays");
}

/* xorshift64*: good enough for benchmark data, and fast enough that the
 * generator does not dominate the tree reduction. */
static uint64_t
s_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

DV_FUNCTION_IMPURE(random_f64s)
{
    int64_t n = dv_value_i64(dv_arg_at(call, 0));
    struct timespec ts;

    if (n < 0) {
        return dv_fail(call, "random_f64s: negative length %lld",
                       (long long)n);
    }
    double *out = dv_return_f64s(call, (size_t)n);
    if (out == NULL) {
        return dv_fail(call, "random_f64s: out of memory");
    }
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t s = (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ull ^
                 (uint64_t)(uintptr_t)out ^ (uint64_t)ts.tv_sec;
    s |= 1;
    for (int64_t i = 0; i < n; i++) {
        out[i] = (double)(s_next(&s) >> 11) * 0x1.0p-53;
    }
    return 0;
}

DV_FUNCTION(make_f64s)
{
    int64_t n = dv_value_i64(dv_arg_at(call, 0));

    if (n < 0) {
        return dv_fail(call, "make_f64s: negative length %lld",
                       (long long)n);
    }
    double *out = dv_return_f64s(call, (size_t)n);
    if (out == NULL) {
        return dv_fail(call, "make_f64s: out of memory");
    }
    for (int64_t i = 0; i < n; i++) {
        out[i] = (double)i;
    }
    return 0;
}

/* Says where it ran, so that the transfer benchmark can check that the
 * input really crossed from one worker to another. */
DV_FUNCTION(where_len)
{
    dv_arg items[2] = {
        dv_i64((int64_t)dv_value_len(dv_arg_at(call, 0))),
        dv_str(dv_call_worker(call)),
    };
    return dv_return(call, dv_list(items, 2));
}

/* Holds a worker thread until the file exists, so that tasks depending on
 * it wait for as long as the benchmark needs; the timeout bounds how long a
 * forgotten gate can occupy a worker. */
DV_FUNCTION_IMPURE(gate)
{
    const char *path = dv_value_str(dv_arg_at(call, 0), NULL);
    int64_t timeout_ms = dv_value_i64(dv_arg_at(call, 1));
    struct timespec pause = {0, 2 * 1000 * 1000};

    if (path == NULL) {
        return dv_fail(call, "gate: expected a path");
    }
    for (int64_t waited_us = 0; waited_us < timeout_ms * 1000;
         waited_us += 2000) {
        if (access(path, F_OK) == 0) {
            return dv_return(call, dv_nil());
        }
        nanosleep(&pause, NULL);
    }
    return dv_fail(call, "gate: %s did not appear within %lld ms", path,
                   (long long)timeout_ms);
}

/* The fan-in of the fan-out benchmark: one argument, the list of the
 * results of every future passed in one dv_futs. */
DV_FUNCTION(sum_list)
{
    const dv_value *list = dv_arg_at(call, 0);
    int64_t sum = 0;

    if (dv_value_type(list) != DV_LIST) {
        return dv_fail(call, "sum_list: expected a list");
    }
    for (size_t i = 0; i < dv_value_len(list); i++) {
        const dv_value *x = dv_value_at(list, i);
        if (dv_value_type(x) != DV_I64) {
            return dv_fail(call, "sum_list: item %zu is not an i64", i);
        }
        sum += dv_value_i64(x);
    }
    return dv_return(call, dv_i64(sum));
}

/* ---- Child tasks (bench_children) ---------------------------------------
 */

/* The round trips of a child: timed here, inside the task, so that
 * neither the parent's own submission nor its result's trip back to the
 * client counts. A pure inc of a fresh argument, as the client's round
 * trip is: no child is a result computed before. */
DV_FUNCTION(child_roundtrips)
{
    int64_t n = dv_value_i64(dv_arg_at(call, 0));
    int64_t x = dv_value_i64(dv_arg_at(call, 1));

    if (n < 1 || n > 100000) {
        return dv_fail(call, "child_roundtrips: n = %lld, not in [1, 100000]",
                       (long long)n);
    }
    double *us = dv_return_f64s(call, (size_t)n);
    if (us == NULL) {
        return dv_fail(call, "child_roundtrips: out of memory");
    }
    for (int64_t i = 0; i < n; i++) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        dv_future *f = DV_CALL_SUBMIT(call, "inc", dv_i64(x + i));
        const dv_value *v = f != NULL ? dv_result(f, 30.0) : NULL;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (v == NULL || dv_value_i64(v) != x + i + 1) {
            return dv_fail(
                call, "child_roundtrips: inc(%lld): %s", (long long)(x + i),
                f == NULL || v == NULL ? dv_last_error() : "wrong value");
        }
        us[i] = (double)(t1.tv_sec - t0.tv_sec) * 1e6 +
                (double)(t1.tv_nsec - t0.tv_nsec) / 1e3;
    }
    return 0;
}

/* Continues as the add of a and b, children of call (NULL: the submit
 * that made them failed), naming fn in the error. */
static int
s_continue_add(dv_call *call, const char *fn, dv_future *a, dv_future *b)
{
    dv_future *s =
        a && b ? DV_CALL_SUBMIT(call, "add", dv_fut(a), dv_fut(b)) : NULL;
    if (s == NULL) {
        return dv_fail(call, "%s: %s", fn, dv_last_error());
    }
    return dv_return(call, dv_fut(s));
}

/* 2n - 1 sum_range tasks and n - 1 adds for n elements, none holding a
 * thread while its halves run. */
DV_FUNCTION(sum_range)
{
    int64_t lo = dv_value_i64(dv_arg_at(call, 0));
    int64_t hi = dv_value_i64(dv_arg_at(call, 1));

    if (hi - lo <= 1) {
        return dv_return(call, dv_i64(hi > lo ? lo : 0));
    }
    int64_t mid = lo + (hi - lo) / 2;
    dv_future *a = DV_CALL_SUBMIT(call, "sum_range", dv_i64(lo), dv_i64(mid));
    dv_future *b =
        a ? DV_CALL_SUBMIT(call, "sum_range", dv_i64(mid), dv_i64(hi)) : NULL;
    return s_continue_add(call, "sum_range", a, b);
}

/* Equal calls share one task across the tree: fib(n) runs n tasks (and
 * n - 1 adds), each submitted when its parent runs. */
DV_FUNCTION(fib)
{
    int64_t n = dv_value_i64(dv_arg_at(call, 0));
    int64_t nonce = dv_value_i64(dv_arg_at(call, 1));

    if (n < 2) {
        return dv_return(call, dv_i64(n));
    }
    dv_future *a = DV_CALL_SUBMIT(call, "fib", dv_i64(n - 1), dv_i64(nonce));
    dv_future *b =
        a ? DV_CALL_SUBMIT(call, "fib", dv_i64(n - 2), dv_i64(nonce)) : NULL;
    return s_continue_add(call, "fib", a, b);
}

int
bench_fns_count(void)
{
    return 10;
}
