/* drove — unit: fusion on a worker. An embedded cluster in this process
 * (local:threads=1) runs a chain of calls too long for the worker's loop
 * thread, each link's future released once the next takes it: each link
 * runs right after its input on the same executor thread, the input
 * handed over in memory and never stored (the worker's counters say so);
 * with DROVE_FUSION=0 none is, and every intermediate is stored. The
 * results are right either way.
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

typedef struct s_counts {
    uint64_t fused, stored_peak;
} s_counts;

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
    dvi_embedded_fusion_stats(c->embedded, &st.fused, &st.stored_peak);
    fprintf(stderr,
            "fuse_test: DROVE_FUSION=%s: %llu fused, %llu held at "
            "most\n",
            fusion, (unsigned long long)st.fused,
            (unsigned long long)st.stored_peak);
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
    /* The last link's, and the first few before fusion took hold. */
    assert_true(st.stored_peak <= 4);
}

static void
test_chain_unfused(void **state)
{
    (void)state;
    s_counts st = s_chain("0");
    assert_int_equal(st.fused, 0);
    /* Each held until the scheduler frees it, after the next's DONE. */
    assert_true(st.stored_peak >= 2);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain_fused_on_its_thread),
        cmocka_unit_test(test_chain_unfused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
