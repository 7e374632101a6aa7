/* drove — integration: fusion. A chain whose links are needed only by the
 * next one runs with each intermediate handed over in memory on the worker
 * computing it (never stored); a link that a client still holds is not
 * fused, and its result can be read after the chain ended.
 *
 * On local:threads=2, local:processes=2 and daemons; bench_fusion measures
 * the time per link and the worker's store with and without fusion.
 */
#include <stdio.h>

#include "dvt_funcs.h"
#include "dvtest.h"

#define S_LINKS 3000

static void
test_released_chain(void **state)
{
    dv_client *c = *state;
    dv_future *prev = NULL;
    for (int i = 0; i < S_LINKS; i++) {
        dv_arg a = prev ? dv_fut(prev) : dv_i64(0);
        dv_future *f = DVT_NOTNULL(dv_submit(c, "inc", 1, &a, NULL));
        dv_release(prev); /* only the next link needs it */
        prev = f;
    }
    DVT_EQ_I64(DVT_RESULT_I64(prev, 120.0), S_LINKS);
    dv_release(prev);
}

static void
test_held_links_stay_readable(void **state)
{
    dv_client *c = *state;
    dv_future *kept[4] = {NULL};
    dv_future *prev = NULL;
    for (int i = 0; i < S_LINKS; i++) {
        dv_arg a = prev ? dv_fut(prev) : dv_i64(1000000);
        dv_future *f = DVT_NOTNULL(dv_submit(c, "inc", 1, &a, NULL));
        if (prev != NULL && i % 1000 == 1) {
            kept[i / 1000] = prev; /* a client wants it: never fused away */
        } else {
            dv_release(prev);
        }
        prev = f;
    }
    DVT_EQ_I64(DVT_RESULT_I64(prev, 120.0), 1000000 + S_LINKS);
    for (int k = 0; k < 3; k++) {
        DVT_EQ_I64(DVT_RESULT_I64(kept[k], 30.0), 1000000 + k * 1000 + 1);
    }
    dvt_release_all(kept, 4);
    dv_release(prev);
}

int
main(void)
{
    dvt_init(300);
    (void)dvt_funcs_anchor(); /* keeps libdvt_funcs.so linked */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_released_chain),
        cmocka_unit_test(test_held_links_stay_readable),
    };
    return dvt_finish(dvt_run_clusters(
        "fusion", tests, sizeof(tests) / sizeof(tests[0]), DVT_ALL));
}
