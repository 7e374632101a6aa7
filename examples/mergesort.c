/* mergesort: a parallel merge sort that splits itself, in C.
 *
 * One task sorts a range of an array of int64 by cutting it in halves:
 * it submits a child for each half and a third child that merges their
 * results, and returns the merge's future (dv_return of dv_fut: the
 * continuation). It ends at once, holding no thread while its children
 * run (GeoTrellis's operations, which "are not allowed to block while
 * waiting on another result"); its future finishes when the merge does.
 * Ranges of at most --cutoff elements are sorted by a leaf with qsort.
 *
 *                 sort_range(0, n)                   returns merge's future
 *               /        |        \
 *    sort_range(0, n/2)  |  sort_range(n/2, n)       each the same, down to
 *                        |                           sort_slice leaves
 *              merge(first half, second half)        runs when both finish
 *
 * Where the array lives: children's arguments are values copied into
 * the message that submits them, so a task that passed its halves as
 * arrays would send the whole array through the scheduler at every
 * level. Instead the array is made on a worker by make_array(n, seed), a
 * pure task, and stays there: the tree's inner tasks take only numbers
 * (n, seed, lo, hi), and the leaves take the array's future and read
 * their slice of it. A task cannot pass on a future it did not submit
 * (its arguments arrive as values), so an inner task names the array by
 * submitting make_array(n, seed) again: a pure call's key is a hash of
 * the function and its arguments, cluster-wide, so that child is the
 * client's task, already finished, and nothing runs again. Sorted
 * slices and merged runs then go worker to worker to the merges; only
 * the final array comes back to this program.
 *
 * The scheduler runs a task where most of its input bytes are while that
 * worker has room, so most leaves (whose input is the whole array) run
 * on the worker that made it; another worker that takes some fetches the
 * array for them (leaves waiting at once share one fetch, but a worker
 * keeps no copy afterwards). With 1,000,000 elements on two daemon
 * workers of one thread, about 100 MB crossed between them: the array a
 * few times, and the sorted runs that the merges take.
 *
 * The check: the result has n elements in order, and the same sum and
 * the same xor of hashed elements as the input, which this program
 * recomputes from the counter-based generator (splitmix.h) without the
 * array: a permutation of the input, sorted.
 *
 * Usage: mergesort [--n N] [--cutoff C] [WHERE]   (--help says more)
 * WHERE as for dv_connect(); default: $DROVE_SCHEDULER or an embedded
 * cluster. Exits 0 when every check passes, 1 with a message otherwise.
 *
 * Built twice, as the other examples (tree_reduce.c says why): the task
 * functions alone into libmergesort_functions.so, uploaded to daemon
 * workers, and the client alone into the program.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <drove.h>

#include "splitmix.h"

#define NAME "mergesort"
#define SEED UINT64_C(20240516)
/* 512 MiB of int64: a result travels in one frame, of 1 GiB at most. */
#define MAX_N (INT64_C(1) << 26)

/* Element i of the array of seed: the whole 64 bits, as a signed
 * number (both halves of the file use it). */
static inline int64_t
s_element(uint64_t seed, uint64_t i)
{
    return (int64_t)splitmix_at(seed, i);
}

#ifndef DV_EXAMPLE_CLIENT /* the task functions, see the top */
/* ---- Task functions ---------------------------------------------------- */

/* make_array(n, seed): the n elements of seed's stream. Pure, so that an
 * equal call anywhere in the cluster names this task and its result. */
DV_FUNCTION(make_array)
{
    int64_t n = dv_value_i64(dv_arg_at(call, 0));
    uint64_t seed = (uint64_t)dv_value_i64(dv_arg_at(call, 1));
    if (n < 0 || n > MAX_N) {
        return dv_fail(
            call, "make_array: n = %" PRId64 " is outside [0, %" PRId64 "]", n,
            MAX_N);
    }
    int64_t *out = dv_return_i64s(call, (size_t)n);
    if (out == NULL && n > 0) {
        return dv_fail(call,
                       "make_array: out of memory for %" PRId64 " elements", n);
    }
    for (int64_t i = 0; i < n; i++) {
        out[i] = s_element(seed, (uint64_t)i);
    }
    return 0;
}

static int
s_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a;
    int64_t y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* sort_slice(array, lo, hi): elements lo..hi-1 of the array, sorted.
 * The array arrives as its future's result, read in place. */
DV_FUNCTION(sort_slice)
{
    size_t n = 0;
    const int64_t *a = dv_value_i64s(dv_arg_at(call, 0), &n);
    int64_t lo = dv_value_i64(dv_arg_at(call, 1));
    int64_t hi = dv_value_i64(dv_arg_at(call, 2));
    if (a == NULL && n > 0) {
        return dv_fail(call, "sort_slice: expected an array of int64");
    }
    if (lo < 0 || hi < lo || (uint64_t)hi > n) {
        return dv_fail(call,
                       "sort_slice: [%" PRId64 ", %" PRId64 ") is not "
                       "in an array of %zu",
                       lo, hi, n);
    }
    size_t len = (size_t)(hi - lo);
    int64_t *out = dv_return_i64s(call, len);
    if (out == NULL && len > 0) {
        return dv_fail(call, "sort_slice: out of memory for %zu elements", len);
    }
    if (len > 0) {
        memcpy(out, a + lo, len * sizeof(*out));
        qsort(out, len, sizeof(*out), s_cmp_i64);
    }
    return 0;
}

/* merge(a, b): the sorted arrays a and b merged into one. */
DV_FUNCTION(merge)
{
    size_t na = 0, nb = 0;
    const int64_t *a = dv_value_i64s(dv_arg_at(call, 0), &na);
    const int64_t *b = dv_value_i64s(dv_arg_at(call, 1), &nb);
    if ((a == NULL && na > 0) || (b == NULL && nb > 0) ||
        dv_value_type(dv_arg_at(call, 0)) != DV_I64S ||
        dv_value_type(dv_arg_at(call, 1)) != DV_I64S) {
        return dv_fail(call, "merge: expected two arrays of int64");
    }
    int64_t *out = dv_return_i64s(call, na + nb);
    if (out == NULL && na + nb > 0) {
        return dv_fail(call, "merge: out of memory for %zu elements", na + nb);
    }
    size_t i = 0, j = 0, k = 0;
    while (i < na && j < nb) {
        out[k++] = b[j] < a[i] ? b[j++] : a[i++]; /* stable: a first */
    }
    while (i < na) {
        out[k++] = a[i++];
    }
    while (j < nb) {
        out[k++] = b[j++];
    }
    return 0;
}

static int64_t
s_i64_arg(const dv_call *call, size_t i)
{
    return dv_value_i64(dv_arg_at(call, i));
}

/* What sorts [lo, hi): a leaf over the array if the range is at most
 * cutoff long, else another sort_range. *data is the array's future, a
 * child of call submitted when the first leaf needs it. NULL on failure,
 * dv_last_error() saying why. */
static dv_future *
s_part(dv_call *call, int64_t n, int64_t seed, int64_t lo, int64_t hi,
       int64_t cutoff, dv_future **data)
{
    if (hi - lo > cutoff) {
        return DV_CALL_SUBMIT(call, "sort_range", dv_i64(n), dv_i64(seed),
                              dv_i64(lo), dv_i64(hi), dv_i64(cutoff));
    }
    if (*data == NULL) {
        /* The client's make_array, by its key: nothing runs again. */
        *data = DV_CALL_SUBMIT(call, "make_array", dv_i64(n), dv_i64(seed));
        if (*data == NULL) {
            return NULL;
        }
    }
    return DV_CALL_SUBMIT(call, "sort_slice", dv_fut(*data), dv_i64(lo),
                          dv_i64(hi));
}

/* sort_range(n, seed, lo, hi, cutoff): elements lo..hi-1 of
 * make_array(n, seed), sorted. Splits itself in halves and continues as
 * the merge of their results; a range of at most cutoff (only ever the
 * whole array) continues as its leaf. */
DV_FUNCTION(sort_range)
{
    int64_t n = s_i64_arg(call, 0), seed = s_i64_arg(call, 1);
    int64_t lo = s_i64_arg(call, 2), hi = s_i64_arg(call, 3);
    int64_t cutoff = s_i64_arg(call, 4);
    if (lo < 0 || hi < lo || hi > n || cutoff < 1) {
        return dv_fail(call,
                       "sort_range: bad range [%" PRId64 ", %" PRId64
                       ") of %" PRId64 " or cutoff %" PRId64,
                       lo, hi, n, cutoff);
    }
    dv_future *data = NULL; /* the children's futures are the call's */
    dv_future *result = NULL;
    if (hi - lo <= cutoff) {
        result = s_part(call, n, seed, lo, hi, cutoff, &data);
    } else {
        int64_t mid = lo + (hi - lo) / 2;
        dv_future *a = s_part(call, n, seed, lo, mid, cutoff, &data);
        dv_future *b = a ? s_part(call, n, seed, mid, hi, cutoff, &data) : NULL;
        result = b ? DV_CALL_SUBMIT(call, "merge", dv_fut(a), dv_fut(b)) : NULL;
    }
    if (result == NULL) {
        return dv_fail(call, "sort_range [%" PRId64 ", %" PRId64 "): %s", lo,
                       hi, dv_last_error());
    }
    return dv_return(call, dv_fut(result));
}
#endif /* DV_EXAMPLE_CLIENT */

#ifndef DV_EXAMPLE_FUNCTIONS /* the client, see the top */
#include <stdbool.h>

#include "share.h"

#define TIMEOUT_S 600.0 /* only turns a hang into a failure */

static const char s_usage[] =
    "usage: mergesort [--n N] [--cutoff C] [WHERE]\n"
    "Sorts N int64 made on a worker with a merge sort whose tasks split\n"
    "themselves (dv_call_submit) and continue as the merge of their halves\n"
    "(dv_return of a child's future), then checks the result.\n"
    "  --n N       elements to sort (default 1000000, at most 67108864)\n"
    "  --cutoff C  a range of at most C elements is sorted by one task with\n"
    "              qsort (default 4096)\n"
    "  WHERE       as for dv_connect(); default: $DROVE_SCHEDULER or an\n"
    "              embedded cluster\n";

typedef struct {
    int64_t n;
    int64_t cutoff;
    const char *where;
} s_opts;

/* Fills o from the command line. Returns 0 to go on, 1 after --help, -1
 * after saying what is wrong. */
static int
s_parse(int argc, char **argv, s_opts *o)
{
    *o = (s_opts){.n = 1000000, .cutoff = 4096};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        long long v = 0;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(s_usage, stdout);
            return 1;
        } else if (strcmp(a, "--n") == 0 || strcmp(a, "--cutoff") == 0) {
            bool is_n = a[2] == 'n';
            if (example_int_opt(NAME, a,
                                example_opt_value(NAME, argc, argv, &i),
                                is_n ? 0 : 1, MAX_N, 1, &v) != 0) {
                return -1;
            }
            *(is_n ? &o->n : &o->cutoff) = v;
        } else if (a[0] == '-' || o->where != NULL) {
            fprintf(stderr, NAME ": unknown argument '%s' (--help)\n", a);
            return -1;
        } else {
            o->where = a;
        }
    }
    return 0;
}

static double
s_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A multiset's fingerprint: the same for any order of the elements. */
typedef struct {
    uint64_t sum;  /* of the elements, mod 2^64 */
    uint64_t hxor; /* xor of the elements' hashes */
} s_print;

static void
s_print_add(s_print *p, int64_t x)
{
    p->sum += (uint64_t)x;
    p->hxor ^= splitmix_mix((uint64_t)x);
}

/* Checks that a[0..len) is sorted and has the input's fingerprint,
 * recomputed from the generator, which goes to *fp. Returns 0, or -1
 * after saying why. */
static int
s_check(const int64_t *a, size_t len, int64_t n, s_print *fp)
{
    if ((int64_t)len != n) {
        fprintf(stderr, NAME ": FAILED: %zu elements, expected %" PRId64 "\n",
                len, n);
        return -1;
    }
    s_print want = {0, 0}, got = {0, 0};
    for (int64_t i = 0; i < n; i++) {
        s_print_add(&want, s_element(SEED, (uint64_t)i));
        s_print_add(&got, a[i]);
        if (i > 0 && a[i - 1] > a[i]) {
            fprintf(stderr,
                    NAME ": FAILED: out of order at %" PRId64 ": %" PRId64
                         " > %" PRId64 "\n",
                    i, a[i - 1], a[i]);
            return -1;
        }
    }
    if (want.sum != got.sum || want.hxor != got.hxor) {
        fprintf(stderr,
                NAME ": FAILED: not a permutation of the input: sum %016" PRIx64
                     ", xor-hash %016" PRIx64 "; expected %016" PRIx64
                     ", %016" PRIx64 "\n",
                got.sum, got.hxor, want.sum, want.hxor);
        return -1;
    }
    *fp = want;
    return 0;
}

/* How many leaves and merges sort_range makes of n elements. */
static void
s_count(int64_t n, int64_t cutoff, int64_t *leaves, int64_t *merges)
{
    if (n <= cutoff) {
        (*leaves)++;
        return;
    }
    (*merges)++;
    s_count(n / 2, cutoff, leaves, merges);
    s_count(n - n / 2, cutoff, leaves, merges);
}

/* Makes the array, sorts it, checks it, printing each stage's time.
 * Returns 0 or -1. */
static int
s_run(dv_client *c, const s_opts *o)
{
    int rc = -1;
    double t0 = s_now_s();
    dv_future *data = DV_SUBMIT(c, "make_array", dv_i64(o->n), dv_i64(SEED));
    if (data == NULL || dv_wait(&data, 1, TIMEOUT_S) != 0 ||
        dv_future_status(data) != DV_FINISHED) {
        fprintf(stderr, NAME ": FAILED: make_array: %s\n",
                data && dv_future_error(data) ? dv_future_error(data)
                                              : dv_last_error());
        dv_release(data);
        return -1;
    }
    double t1 = s_now_s();
    printf("  make_array  %8.1f ms  on a worker\n", (t1 - t0) * 1e3);
    /* The client holds data meanwhile: the tasks' make_array is this. */
    dv_future *sorted = DV_SUBMIT(c, "sort_range", dv_i64(o->n), dv_i64(SEED),
                                  dv_i64(0), dv_i64(o->n), dv_i64(o->cutoff));
    if (sorted == NULL) {
        fprintf(stderr, NAME ": FAILED: submit sort_range: %s\n",
                dv_last_error());
        dv_release(data);
        return -1;
    }
    const dv_value *v = example_result(sorted, TIMEOUT_S, NAME, "sort_range");
    double t2 = s_now_s();
    size_t len = 0;
    const int64_t *a = v ? dv_value_i64s(v, &len) : NULL;
    if (v != NULL && dv_value_type(v) != DV_I64S) {
        fprintf(stderr,
                NAME ": FAILED: the result is of type %d, not an "
                     "array of int64\n",
                dv_value_type(v));
    } else if (v != NULL) {
        printf("  sort        %8.1f ms  to the sorted array here\n",
               (t2 - t1) * 1e3);
        s_print fp;
        rc = s_check(a, len, o->n, &fp);
        if (rc == 0) {
            printf("  check       %8.1f ms  here: in order, a permutation of "
                   "the input\n              (sum %016" PRIx64
                   ", xor-hash %016" PRIx64 ", from the generator)\n",
                   (s_now_s() - t2) * 1e3, fp.sum, fp.hxor);
        }
    }
    dv_release(sorted);
    dv_release(data);
    return rc;
}

int
main(int argc, char **argv)
{
    s_opts o;
    int rc = s_parse(argc, argv, &o);
    if (rc != 0) {
        return rc > 0 ? 0 : 1;
    }
    int64_t leaves = 0, merges = 0;
    s_count(o.n, o.cutoff, &leaves, &merges);
    printf("drove merge sort: %" PRId64 " int64 made on a worker, sorted by "
           "tasks that split\nthemselves: %" PRId64 " sort_range, %" PRId64
           " sort_slice (qsort of <= %" PRId64 "), %" PRId64 " merge\n\n",
           o.n, merges + (merges == 0), leaves, o.cutoff, merges);

    dv_client *c = dv_connect(o.where);
    if (c == NULL) {
        fprintf(stderr, NAME ": FAILED: cannot connect to %s: %s\n",
                o.where != NULL ? o.where : "the default cluster",
                dv_last_error());
        return 1;
    }
    rc = 1;
    if (example_share_functions(c, o.where, NAME) == 0) {
        int nw = dv_nworkers(c);
        printf("  cluster     %s, %d worker%s\n\n",
               o.where != NULL ? o.where : "default", nw, nw == 1 ? "" : "s");
        rc = s_run(c, &o) == 0 ? 0 : 1;
    }
    dv_close(c);
    if (rc == 0) {
        printf(NAME ": all checks passed\n");
    }
    return rc;
}
#endif /* DV_EXAMPLE_FUNCTIONS */
