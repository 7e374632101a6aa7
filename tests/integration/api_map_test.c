/* drove — integration: many tasks, long chains, and task keys.
 *
 * Runs on local:threads=2, local:processes=2 and a tcp cluster of two
 * workers. A user relies on every one of 10,000 results coming back right,
 * on a dependency chain as long as they like, and on identical pure calls
 * being one task while impure calls never are.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dvt_funcs.h"
#include "dvtest.h"

/* Submits inc(first + i) for i < n with the given chunk size and checks
 * that every future yields first + i + 1. */
static void
s_map_inc(dv_client *c, size_t n, int64_t first, size_t chunksize)
{
    dv_arg *args = calloc(n, sizeof(*args));
    dv_future **out = calloc(n, sizeof(*out));
    DVT_TRUE(args != NULL && out != NULL);
    for (size_t i = 0; i < n; i++) {
        args[i] = dv_i64(first + (int64_t)i);
    }
    dv_opts opts = DV_OPTS_INIT;
    opts.chunksize = chunksize;

    double t0 = dvt_now();
    DVT_EQ_I64(dv_map(c, "inc", n, args, out, &opts), n);
    DVT_EQ_I64(dv_wait(out, n, 90.0), 0);

    size_t wrong = 0, first_wrong = 0;
    int64_t got = 0;
    for (size_t i = 0; i < n; i++) {
        const dv_value *v = dv_result(out[i], 5.0);
        if (v == NULL || dv_value_type(v) != DV_I64 ||
            dv_value_i64(v) != first + (int64_t)i + 1) {
            if (wrong++ == 0) {
                first_wrong = i;
                got = v ? dv_value_i64(v) : -1;
            }
        }
    }
    if (wrong > 0) {
        const char *err = dv_future_error(out[first_wrong]);
        DVT_FAIL("%zu of %zu results wrong (chunksize %zu); first: call %zu"
                 " gave %lld, want %lld (error: %s)",
                 wrong, n, chunksize, first_wrong, (long long)got,
                 (long long)(first + (int64_t)first_wrong + 1),
                 err ? err : "none");
    }
    fprintf(stderr, "dvtest: %s: map of %zu (chunksize %zu): %.3f s\n",
            dvt_where, n, chunksize, dvt_now() - t0);
    dvt_release_all(out, n);
    free(out);
    free(args);
}

static void
test_map_10000(void **state)
{
    s_map_inc(*state, 10000, 0, 0);
}

static void
test_map_10000_chunked(void **state)
{
    s_map_inc(*state, 10000, 1000000, 100);
}

static void
test_chain_2000(void **state)
{
    dv_client *c = *state;
    enum { N = 2000 };
    dv_future **f = calloc(N, sizeof(*f));
    DVT_TRUE(f != NULL);

    f[0] = DVT_NOTNULL(DV_SUBMIT(c, "inc", dv_i64(0)));
    for (size_t i = 1; i < N; i++) {
        f[i] = DVT_NOTNULL(DV_SUBMIT(c, "inc", dv_fut(f[i - 1])));
    }
    DVT_EQ_I64(DVT_RESULT_I64(f[N - 1], 90.0), N);
    DVT_EQ_I64(DVT_RESULT_I64(f[N / 2], 5.0), N / 2 + 1);
    dvt_release_all(f, N);
    free(f);
}

static void
test_pure_calls_share_a_key(void **state)
{
    dv_client *c = *state;
    dv_future *a = DVT_NOTNULL(DV_SUBMIT(c, "add2", dv_i64(20), dv_i64(22)));
    dv_future *b = DVT_NOTNULL(DV_SUBMIT(c, "add2", dv_i64(20), dv_i64(22)));
    dv_future *swapped =
        DVT_NOTNULL(DV_SUBMIT(c, "add2", dv_i64(22), dv_i64(20)));

    DVT_EQ_STR(dv_future_key(a), dv_future_key(b));
    DVT_NE_STR(dv_future_key(a), dv_future_key(swapped));
    DVT_TRUE(strncmp(dv_future_key(a), "add2-", 5) == 0);
    DVT_EQ_I64(DVT_RESULT_I64(a, 30.0), 42);
    DVT_EQ_I64(DVT_RESULT_I64(b, 30.0), 42);
    DVT_EQ_I64(DVT_RESULT_I64(swapped, 30.0), 42);

    /* The same call again after the first result arrived: same key, same
     * result. */
    dv_future *again =
        DVT_NOTNULL(DV_SUBMIT(c, "add2", dv_i64(20), dv_i64(22)));
    DVT_EQ_STR(dv_future_key(again), dv_future_key(a));
    DVT_EQ_I64(DVT_RESULT_I64(again, 30.0), 42);

    /* dv_map with repeated arguments: repeated calls share keys. */
    dv_arg args[4] = {dv_i64(7), dv_i64(8), dv_i64(7), dv_i64(7)};
    dv_future *m[4] = {NULL};
    DVT_EQ_I64(dv_map(c, "inc", 4, args, m, NULL), 4);
    DVT_EQ_STR(dv_future_key(m[0]), dv_future_key(m[2]));
    DVT_EQ_STR(dv_future_key(m[0]), dv_future_key(m[3]));
    DVT_NE_STR(dv_future_key(m[0]), dv_future_key(m[1]));
    DVT_EQ_I64(DVT_RESULT_I64(m[0], 30.0), 8);
    DVT_EQ_I64(DVT_RESULT_I64(m[1], 30.0), 9);
    DVT_EQ_I64(DVT_RESULT_I64(m[3], 30.0), 8);

    dv_release(a);
    dv_release(b);
    dv_release(swapped);
    dv_release(again);
    dvt_release_all(m, 4);
}

static void
test_impure_calls_get_fresh_keys(void **state)
{
    dv_client *c = *state;
    dv_arg args[2] = {dv_i64(20), dv_i64(22)};
    dv_opts opts = DV_OPTS_INIT;
    opts.impure = 1;

    dv_future *pure = DVT_NOTNULL(dv_submit(c, "add2", 2, args, NULL));
    dv_future *i1 = DVT_NOTNULL(dv_submit(c, "add2", 2, args, &opts));
    dv_future *i2 = DVT_NOTNULL(dv_submit(c, "add2", 2, args, &opts));
    DVT_NE_STR(dv_future_key(i1), dv_future_key(i2));
    DVT_NE_STR(dv_future_key(i1), dv_future_key(pure));
    DVT_NE_STR(dv_future_key(i2), dv_future_key(pure));
    DVT_EQ_I64(DVT_RESULT_I64(i1, 30.0), 42);
    DVT_EQ_I64(DVT_RESULT_I64(i2, 30.0), 42);
    DVT_EQ_I64(DVT_RESULT_I64(pure, 30.0), 42);

    /* A DV_FUNCTION_IMPURE function: two identical calls are two tasks,
     * and really run twice (two random numbers). */
    dv_future *r1 = DVT_NOTNULL(dv_submit(c, "rand_i64", 0, NULL, NULL));
    dv_future *r2 = DVT_NOTNULL(dv_submit(c, "rand_i64", 0, NULL, NULL));
    DVT_NE_STR(dv_future_key(r1), dv_future_key(r2));
    int64_t v1 = DVT_RESULT_I64(r1, 30.0);
    int64_t v2 = DVT_RESULT_I64(r2, 30.0);
    DVT_NE_I64(v1, v2);

    dv_release(pure);
    dv_release(i1);
    dv_release(i2);
    dv_release(r1);
    dv_release(r2);
}

int
main(void)
{
    dvt_init(160);
    (void)dvt_funcs_anchor(); /* keeps libdvt_funcs.so linked */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pure_calls_share_a_key),
        cmocka_unit_test(test_impure_calls_get_fresh_keys),
        cmocka_unit_test(test_map_10000),
        cmocka_unit_test(test_map_10000_chunked),
        cmocka_unit_test(test_chain_2000),
    };
    return dvt_finish(dvt_run_clusters(
        "api_map", tests, sizeof(tests) / sizeof(tests[0]), DVT_ALL));
}
