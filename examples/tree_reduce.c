/* tree_reduce: the binary tree reduction of dask's `distributed`, in C.
 *
 *     xs = executor.map(np.random.random, [1000000] * 16, pure=False)
 *     while len(xs) > 1:
 *         xs = [executor.submit(add, xs[i], xs[i + 1])
 *               for i in range(0, len(xs), 2)]
 *     xs[0].result()
 *
 *     finish           total             single array output
 *         ^          /        \
 *         |        z1          z2
 *         |       /  \        /  \
 *         |     y1    y2    y3    y4     neighbors merge
 *         ^    / \   / \   / \   / \
 *     start   x1 x2 x3 x4 x5 x6 x7 x8    many array inputs
 *
 * Sixteen arrays of a million random doubles are made on the workers and
 * added pairwise, level by level, until one is left. Every addition takes
 * two futures, so the arrays move from worker to worker (or stay where they
 * are) and never pass through this program; only the final array comes
 * back.
 *
 * Then the answer is checked twice: the workers also sum each input array,
 * and the sum of the total must equal the sum of those sixteen sums; and
 * since the generator is counter-based (element i of array k is a function
 * of k's seed and i alone), this program recomputes the first elements of
 * the total by itself.
 *
 * Usage: tree_reduce [WHERE]   WHERE as for dv_connect(); default:
 *                              $DROVE_SCHEDULER or an embedded cluster.
 * Exits 0 when every check passes, 1 with a message otherwise.
 *
 * On a cluster of daemons (a tcp:// WHERE, or $DROVE_SCHEDULER) the workers
 * cannot run this program's code, so it first uploads its task functions as
 * a shared library. For that the build compiles this file twice: the task
 * functions alone (-DDV_EXAMPLE_FUNCTIONS) into
 * libtree_reduce_functions.so, next to the program, and the client alone
 * (-DDV_EXAMPLE_CLIENT) into the program, which links that library.
 * Compiled once with neither, the file is a complete program for the
 * embedded clusters.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <drove.h>

#include "splitmix.h"

#define NARRAYS 16        /* inputs of the reduction: a power of two */
#define ARRAY_LEN 1000000 /* elements of each array */
#define BASE_SEED UINT64_C(20150521)
#define TIMEOUT_S 120.0   /* generous: only turns a hang into a failure */
#define NSHOW 3           /* elements of the total to print and check */

/* ---- The random numbers -------------------------------------------------
 * splitmix64 (splitmix.h) is a counter-based generator, so the client can
 * recompute any single element of any array without the array, which the
 * check uses. (Inline: both halves of the file use it; see the top.) */

/* Element i of the stream of seed, uniform in [0, 1): the top 53 bits. */
static inline double
s_uniform_at(uint64_t seed, uint64_t i)
{
    return (double)(splitmix_at(seed, i) >> 11) * 0x1.0p-53;
}

#ifndef DV_EXAMPLE_CLIENT /* the task functions, see the top */
/* ---- Task functions ---------------------------------------------------- */

/* dv_map gives each call a single argument, so several parameters travel as
 * one list; dv_submit passes them as separate arguments. Accept both. */
static const dv_value *
s_param(const dv_call *call, size_t i)
{
    const dv_value *first = dv_arg_at(call, 0);

    if (dv_nargs(call) == 1 && dv_value_type(first) == DV_LIST) {
        return dv_value_at(first, i);
    }
    return dv_arg_at(call, i);
}

/* random_array(n, seed): n uniform doubles in [0, 1). Declared impure, like
 * np.random.random with pure=False in the original: drove must never merge
 * two calls of it, and gives each call a fresh key. (With an explicit seed
 * the numbers are in fact reproducible, which the check below relies on.) */
DV_FUNCTION_IMPURE(random_array)
{
    const dv_value *n_arg = s_param(call, 0);
    const dv_value *seed_arg = s_param(call, 1);

    if (dv_value_type(n_arg) != DV_I64 || dv_value_type(seed_arg) != DV_I64) {
        return dv_fail(call, "random_array: expected (n, seed), integers");
    }
    int64_t n = dv_value_i64(n_arg);
    if (n < 0 || n > (INT64_C(1) << 28)) {
        return dv_fail(call, "random_array: n = %" PRId64 " out of range", n);
    }
    uint64_t seed = (uint64_t)dv_value_i64(seed_arg);

    /* Fill the result buffer in place: no copy of 8 MB. */
    double *out = dv_return_f64s(call, (size_t)n);
    if (out == NULL && n > 0) {
        return dv_fail(call, "random_array: out of memory for %" PRId64
                             " doubles", n);
    }
    for (int64_t i = 0; i < n; i++) {
        out[i] = s_uniform_at(seed, (uint64_t)i);
    }
    return 0;
}

/* add(a, b): the element-wise sum of two arrays of the same length. Both
 * arguments arrive as futures' results, read in place (zero copy). */
DV_FUNCTION(add)
{
    size_t na = 0;
    size_t nb = 0;
    const double *a = dv_value_f64s(dv_arg_at(call, 0), &na);
    const double *b = dv_value_f64s(dv_arg_at(call, 1), &nb);

    if (dv_nargs(call) != 2 || a == NULL || b == NULL) {
        return dv_fail(call, "add: expected two arrays of doubles");
    }
    if (na != nb) {
        return dv_fail(call, "add: arrays of %zu and %zu elements", na, nb);
    }
    double *out = dv_return_f64s(call, na);
    if (out == NULL && na > 0) {
        return dv_fail(call, "add: out of memory for %zu doubles", na);
    }
    for (size_t i = 0; i < na; i++) {
        out[i] = a[i] + b[i];
    }
    return 0;
}

/* sum(a): the sum of an array's elements. Neumaier's compensated summation
 * keeps the error near one rounding, whatever the length, so sums made in
 * different orders agree to far better than the 1e-9 the check asks. */
DV_FUNCTION(sum)
{
    size_t n = 0;
    const double *a = dv_value_f64s(dv_arg_at(call, 0), &n);

    if (dv_nargs(call) != 1 || a == NULL) {
        return dv_fail(call, "sum: expected one array of doubles");
    }
    double s = 0.0;
    double comp = 0.0;
    for (size_t i = 0; i < n; i++) {
        double t = s + a[i];
        if (fabs(s) >= fabs(a[i])) {
            comp += (s - t) + a[i];
        } else {
            comp += (a[i] - t) + s;
        }
        s = t;
    }
    return dv_return(call, dv_f64(s + comp));
}
#endif /* DV_EXAMPLE_CLIENT */

#ifndef DV_EXAMPLE_FUNCTIONS /* the client, see the top */
#include "share.h"

/* ---- The client -------------------------------------------------------- */

static double
s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Waits for f's result; prints what failed and returns NULL if there is
 * none. */
static const dv_value *
s_result(dv_future *f, const char *what)
{
    return example_result(f, TIMEOUT_S, "tree_reduce", what);
}

/* The seed of input array k. Seeds go through the mixer so that nearby k
 * give unrelated streams. */
static uint64_t
s_array_seed(int k)
{
    return splitmix_mix(BASE_SEED + (uint64_t)k);
}

/* What element i of the total must be: the same additions, in the same
 * tree order, of numbers recomputed here. */
static double
s_expected_total_at(size_t i)
{
    double level[NARRAYS];
    size_t n = NARRAYS;

    for (size_t k = 0; k < n; k++) {
        level[k] = s_uniform_at(s_array_seed((int)k), (uint64_t)i);
    }
    while (n > 1) {
        for (size_t k = 0; k < n; k += 2) {
            level[k / 2] = level[k] + level[k + 1];
        }
        n /= 2;
    }
    return level[0];
}

static void
s_release_all(dv_future **fs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        dv_release(fs[i]);
        fs[i] = NULL;
    }
}

int
main(int argc, char **argv)
{
    const char *where = argc > 1 ? argv[1] : NULL;
    dv_future *xs[NARRAYS] = {0};   /* the current level of the tree */
    dv_future *sums[NARRAYS] = {0}; /* sum of each input array */
    dv_future *total_sum = NULL;
    int rc = 1;

    printf("drove tree reduction: %d arrays of %d random doubles, made on "
           "the workers\nand added pairwise until one is left\n\n",
           NARRAYS, ARRAY_LEN);

    double t0 = s_now_ms();
    dv_client *c = dv_connect(where);
    if (c == NULL) {
        fprintf(stderr, "tree_reduce: FAILED: cannot connect to %s: %s\n",
                where != NULL ? where : "the default cluster",
                dv_last_error());
        return 1;
    }
    if (example_share_functions(c, where, "tree_reduce") != 0) {
        goto out;
    }
    double t_connected = s_now_ms();
    int nworkers = dv_nworkers(c);
    printf("  cluster     %s, %d worker%s (connected in %.1f ms)\n",
           where != NULL ? where : "default", nworkers,
           nworkers == 1 ? "" : "s", t_connected - t0);

    /* xs = executor.map(random_array, ...): one call per array. dv_map
     * passes one argument per call, here the list (n, seed). */
    dv_arg params[NARRAYS][2];
    dv_arg args[NARRAYS];
    for (int k = 0; k < NARRAYS; k++) {
        params[k][0] = dv_i64(ARRAY_LEN);
        params[k][1] = dv_i64((int64_t)s_array_seed(k));
        args[k] = dv_list(params[k], 2);
    }
    if (dv_map(c, "random_array", NARRAYS, args, xs, NULL) != NARRAYS) {
        fprintf(stderr, "tree_reduce: FAILED: map random_array: %s\n",
                dv_last_error());
        goto out;
    }
    printf("  level 0     %2d x random_array(%d)   impure: a fresh key each\n",
           NARRAYS, ARRAY_LEN);

    /* For the check: the sum of every input, computed where the input is. */
    for (int k = 0; k < NARRAYS; k++) {
        sums[k] = DV_SUBMIT(c, "sum", dv_fut(xs[k]));
        if (sums[k] == NULL) {
            fprintf(stderr, "tree_reduce: FAILED: submit sum(x%d): %s\n", k,
                    dv_last_error());
            goto out;
        }
    }

    /* while len(xs) > 1: add neighbours. Each level's futures are released
     * as soon as the next level is submitted: drove keeps what the pending
     * additions need and frees the rest on the workers, as Python's garbage
     * collector does for the original. */
    size_t n = NARRAYS;
    for (int level = 1; n > 1; level++) {
        dv_future *next[NARRAYS / 2] = {0};
        for (size_t i = 0; i < n; i += 2) {
            next[i / 2] = DV_SUBMIT(c, "add", dv_fut(xs[i]), dv_fut(xs[i + 1]));
            if (next[i / 2] == NULL) {
                fprintf(stderr, "tree_reduce: FAILED: submit add: %s\n",
                        dv_last_error());
                s_release_all(next, i / 2);
                goto out;
            }
        }
        s_release_all(xs, n);
        n /= 2;
        for (size_t i = 0; i < n; i++) {
            xs[i] = next[i];
        }
        printf("  level %d     %2zu x add(x, y)\n", level, n);
    }
    dv_future *total = xs[0];

    total_sum = DV_SUBMIT(c, "sum", dv_fut(total));
    if (total_sum == NULL) {
        fprintf(stderr, "tree_reduce: FAILED: submit sum(total): %s\n",
                dv_last_error());
        goto out;
    }

    /* xs[0].result(): the only array that comes back to the client. */
    const dv_value *tv = s_result(total, "total");
    if (tv == NULL) {
        goto out;
    }
    double t_total = s_now_ms();
    size_t len = 0;
    const double *tot = dv_value_f64s(tv, &len);
    if (tot == NULL) {
        fprintf(stderr, "tree_reduce: FAILED: total is of type %d, not an "
                        "array of doubles\n", dv_value_type(tv));
        goto out;
    }

    printf("\n  total       [%.8f, %.8f, %.8f, ...]  (%zu elements)\n",
           len > 0 ? tot[0] : NAN, len > 1 ? tot[1] : NAN,
           len > 2 ? tot[2] : NAN, len);
    printf("  key         %s\n\n", dv_future_key(total));
    if (len != ARRAY_LEN) {
        fprintf(stderr, "tree_reduce: FAILED: total has %zu elements, "
                        "expected %d\n", len, ARRAY_LEN);
        goto out;
    }

    /* Check 1: sum(total) == sum of the sums of the inputs. */
    double inputs_sum = 0.0;
    for (int k = 0; k < NARRAYS; k++) {
        char what[32];
        snprintf(what, sizeof(what), "sum(x%d)", k);
        const dv_value *sv = s_result(sums[k], what);
        if (sv == NULL) {
            goto out;
        }
        if (dv_value_type(sv) != DV_F64) {
            fprintf(stderr, "tree_reduce: FAILED: %s is of type %d, not a "
                            "double\n", what, dv_value_type(sv));
            goto out;
        }
        inputs_sum += dv_value_f64(sv);
    }
    const dv_value *tsv = s_result(total_sum, "sum(total)");
    if (tsv == NULL) {
        goto out;
    }
    double total_s = dv_value_f64(tsv);
    double rel = fabs(total_s - inputs_sum) / fabs(inputs_sum);
    /* The mean of a uniform [0, 1) is 1/2: the sum should be near
     * NARRAYS * ARRAY_LEN / 2, a check that the numbers are random at all. */
    double mean = total_s / ((double)NARRAYS * ARRAY_LEN);
    bool sums_ok = rel <= 1e-9;
    bool mean_ok = fabs(mean - 0.5) < 0.01;
    printf("  check       sum(total)               = %.6f\n"
           "              sum of the %d input sums = %.6f\n"
           "              relative difference %.1e (limit 1e-9)%*s%s\n",
           total_s, NARRAYS, inputs_sum, rel, 14, "",
           sums_ok ? "ok" : "WRONG");
    printf("  check       mean input element %.5f (uniform: 1/2)%*s%s\n",
           mean, 13, "", mean_ok ? "ok" : "WRONG");

    /* Check 2: the first elements, recomputed here from the seeds. */
    bool elems_ok = true;
    for (size_t i = 0; i < NSHOW; i++) {
        double want = s_expected_total_at(i);
        if (fabs(tot[i] - want) > 1e-12 * fabs(want)) {
            fprintf(stderr, "tree_reduce: total[%zu] = %.17g, expected "
                            "%.17g\n", i, tot[i], want);
            elems_ok = false;
        }
    }
    printf("  check       total[0..%d] recomputed by the client from the "
           "seeds   %s\n", NSHOW - 1, elems_ok ? "ok" : "WRONG");

    double t_end = s_now_ms();
    printf("\n  elapsed     %.1f ms  (connect %.1f, reduce and fetch the "
           "total %.1f, checks %.1f)\n",
           t_end - t0, t_connected - t0, t_total - t_connected,
           t_end - t_total);
    if (!sums_ok || !mean_ok || !elems_ok) {
        fprintf(stderr, "tree_reduce: FAILED: the total is wrong\n");
        goto out;
    }
    printf("tree_reduce: all checks passed\n");
    rc = 0;

out:
    dv_release(total_sum);
    s_release_all(sums, NARRAYS);
    s_release_all(xs, NARRAYS);
    dv_close(c);
    return rc;
}
#endif /* DV_EXAMPLE_FUNCTIONS */
