/* drove — integration: a task that crashes its worker process.
 *
 * On local:processes=2, a segfault inside a task kills that worker process.
 * The user must see the task's future err with a reason that says a worker
 * was lost, and the same client must go on running work on what is left
 * (or on a replacement worker).
 */
#include <stdio.h>

#include "dvt_funcs.h"
#include "dvtest.h"

static void
test_segfault_errs_the_future(void **state)
{
    dv_client *c = *state;

    dv_future *bad = DVT_NOTNULL(dv_submit(c, "crash", 0, NULL, NULL));
    dv_future *dep = DVT_NOTNULL(DV_SUBMIT(c, "inc", dv_fut(bad)));
    const char *err = DVT_ERROR(bad, 60.0);
    fprintf(stderr, "dvtest: the crashed task's error: \"%s\"\n", err);
    DVT_TRUE(err[0] != '\0');
    DVT_CONTAINS(err, "worker");
    /* Its dependent errs too, and says why. */
    DVT_CONTAINS(DVT_ERROR(dep, 30.0), "worker");
    dv_release(dep);
    dv_release(bad);

    /* The same client still works: a 1000-task map. */
    enum { N = 1000 };
    dv_arg args[N];
    dv_future *out[N];
    for (int i = 0; i < N; i++) {
        args[i] = dv_i64(i * 3);
    }
    DVT_EQ_I64(dv_map(c, "inc", N, args, out, NULL), N);
    DVT_EQ_I64(dv_wait(out, N, 60.0), 0);
    for (int i = 0; i < N; i++) {
        DVT_EQ_I64(DVT_RESULT_I64(out[i], 5.0), i * 3 + 1);
    }
    dvt_release_all(out, N);
}

int
main(void)
{
    dvt_init(100);
    (void)dvt_funcs_anchor(); /* keeps libdvt_funcs.so linked */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_segfault_errs_the_future),
    };
    return dvt_finish(dvt_run_clusters(
        "crash", tests, sizeof(tests) / sizeof(tests[0]), DVT_PROCESSES));
}
