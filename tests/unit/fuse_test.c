/* drove — unit: chaining and fusion on a worker. An embedded cluster in
 * this process (local:threads=1) runs chains of calls too long for the
 * worker's loop thread:
 *
 *   - each link's future released once the next takes it: each link runs
 *     right after its input on the same executor thread, the input handed
 *     over in memory and never stored (fused); with DROVE_FUSION=0 the
 *     links are still chained, but every intermediate is stored;
 *   - each link also taking a value already computed (two inputs, one
 *     missing): chained, not fused;
 *   - each link also read by a task of its own whose future the client
 *     keeps: chained, and every link's result still reaches that task.
 *
 * The worker's counters say which; the results are right either way.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "client/client_impl.h"
#include "drove.h"

#define S_LINKS 200

/* x + 1, after about 200 us: never a call for the loop thread. */
DV_FUNCTION(slow_inc)
{
    uint64_t until = uv_hrtime() + 200 * 1000;
    while (uv_hrtime() < until) {
    }
    return dv_return(call, dv_i64(dv_value_i64(dv_arg_at(call, 0)) + 1));
}

/* x + y, after about 200 us. */
DV_FUNCTION(slow_add)
{
    uint64_t until = uv_hrtime() + 200 * 1000;
    while (uv_hrtime() < until) {
    }
    return dv_return(call, dv_i64(dv_value_i64(dv_arg_at(call, 0)) +
                                  dv_value_i64(dv_arg_at(call, 1))));
}

typedef dvi_fusion_stats s_counts;

static s_counts
s_chain(const char *fusion)
{
    setenv("DROVE_FUSION", fusion, 1);
    dv_client *c = dv_connect("local:threads=1");
    assert_non_null(c);
    dv_future *prev = NULL;
    for (int i = 0; i < S_LINKS; i++) {
        dv_arg a = prev ? dv_fut(prev) : dv_i64(0);
        dv_future *f = dv_submit(c, "slow_inc", 1, &a, NULL);
        assert_non_null(f);
        dv_release(prev); /* only the next link needs it */
        prev = f;
    }
    const dv_value *v = dv_result(prev, 60.0);
    assert_non_null(v);
    assert_int_equal(dv_value_i64(v), S_LINKS);
    s_counts st;
    dvi_embedded_fusion_stats(c->embedded, &st);
    fprintf(stderr,
            "fuse_test: DROVE_FUSION=%s: %llu chained, %llu fused, %llu "
            "held at most\n",
            fusion, (unsigned long long)st.chained,
            (unsigned long long)st.fused, (unsigned long long)st.stored_peak);
    dv_release(prev);
    dv_close(c);
    return st;
}

static void
test_chain_fused_on_its_thread(void **state)
{
    (void)state;
    s_counts st = s_chain("1");
    /* The first links go before the next ones arrive; the rest fuse. */
    assert_true(st.fused >= S_LINKS / 2);
    /* A fused link's input is never stored: at most the links not fused
     * (the first few, before fusion took hold) and the last one's are. */
    assert_true(st.stored_peak <= S_LINKS - st.fused + 1);
}

static void
test_chain_unfused(void **state)
{
    (void)state;
    s_counts st = s_chain("0");
    assert_int_equal(st.fused, 0);
    assert_true(st.chained >= S_LINKS / 2); /* still no round trip */
    /* Each held until the scheduler frees it, after the next's DONE. */
    assert_true(st.stored_peak >= 2);
}

/* A chain whose link i is slow_add(link i-1, base), base computed first;
 * with side, slow_inc(link i) too, its future kept. Checks every result
 * and returns the counters. */
static s_counts
s_two_inputs(int side)
{
    setenv("DROVE_FUSION", "1", 1);
    dv_client *c = dv_connect("local:threads=1");
    assert_non_null(c);
    dv_arg a = dv_i64(1);
    dv_future *base = dv_submit(c, "slow_inc", 1, &a, NULL); /* 2 */
    assert_non_null(dv_result(base, 60.0));
    dv_future *sides[S_LINKS] = {NULL};
    dv_future *prev = NULL;
    for (int i = 0; i < S_LINKS; i++) {
        dv_arg in[2] = {prev ? dv_fut(prev) : dv_i64(0), dv_fut(base)};
        dv_future *f = dv_submit(c, "slow_add", 2, in, NULL);
        assert_non_null(f);
        if (side) {
            dv_arg s = dv_fut(f);
            sides[i] = dv_submit(c, "slow_inc", 1, &s, NULL);
            assert_non_null(sides[i]);
        }
        dv_release(prev);
        prev = f;
    }
    const dv_value *v = dv_result(prev, 60.0);
    assert_non_null(v);
    assert_int_equal(dv_value_i64(v), 2 * S_LINKS);
    for (int i = 0; side && i < S_LINKS; i++) {
        v = dv_result(sides[i], 60.0);
        assert_non_null(v);
        assert_int_equal(dv_value_i64(v), 2 * (i + 1) + 1);
        dv_release(sides[i]);
    }
    s_counts st;
    dvi_embedded_fusion_stats(c->embedded, &st);
    fprintf(stderr, "fuse_test: two inputs%s: %llu chained, %llu fused\n",
            side ? ", each link read twice" : "",
            (unsigned long long)st.chained, (unsigned long long)st.fused);
    dv_release(prev);
    dv_release(base);
    dv_close(c);
    return st;
}

static void
test_chain_of_two_inputs(void **state)
{
    (void)state;
    s_counts st = s_two_inputs(0);
    /* The input already computed is there; the other is the link before,
     * running when its successor is offered to it. */
    assert_true(st.chained >= S_LINKS / 2);
    assert_int_equal(st.fused, 0); /* a task of two inputs never fuses */
}

static void
test_chained_input_reaches_its_other_reader(void **state)
{
    (void)state;
    s_counts st = s_two_inputs(1);
    /* Of each link's two readers, one may run after it on its thread;
     * the other reads the result stored as usual (checked above). */
    assert_true(st.chained >= S_LINKS / 4);
    assert_int_equal(st.fused, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain_fused_on_its_thread),
        cmocka_unit_test(test_chain_unfused),
        cmocka_unit_test(test_chain_of_two_inputs),
        cmocka_unit_test(test_chained_input_reaches_its_other_reader),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
