/* drove — unit: what `drove worker`'s nanny does when its worker process
 * has ended (dvi_nanny_decide).
 *
 * A death by signal restarts it: at once after a long life, else after a
 * delay that doubles (0.5 s, 1, 2 ... up to 30 s) while it keeps dying
 * young; an exit with status 75 (it stopped a call) restarts it at once
 * and leaves the delay alone; any other exit, and any end once the nanny
 * was told to stop, is the nanny's exit status (128 + N for signal N).
 */
#include "dvtest.h"
#include "worker/nanny.h"
#include "worker/run.h"

static void
test_crashes_restart_with_backoff(void **state)
{
    uint64_t backoff = 0, delay = 99;
    DVT_EQ_I64(dvi_nanny_decide(0, 11, 0, 100000, &backoff, &delay), -1);
    DVT_EQ_I64(delay, 0);
    uint64_t want[] = {500, 1000, 2000, 4000, 8000, 16000, 30000, 30000};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        DVT_EQ_I64(dvi_nanny_decide(0, 6, 0, 50, &backoff, &delay), -1);
        DVT_EQ_I64(delay, want[i]);
    }
    /* A long life forgets the young deaths. */
    DVT_EQ_I64(dvi_nanny_decide(0, 9, 0, 30000, &backoff, &delay), -1);
    DVT_EQ_I64(delay, 0);
    DVT_EQ_I64(backoff, 500);
}

static void
test_stopping_a_call_restarts_at_once(void **state)
{
    uint64_t backoff = 2000, delay = 99;
    DVT_EQ_I64(dvi_nanny_decide(DVI_WORKER_EXIT_RESTART, 0, 0, 10, &backoff,
                                &delay),
               -1);
    DVT_EQ_I64(delay, 0);
    DVT_EQ_I64(backoff, 2000);
}

static void
test_exits_end_the_nanny(void **state)
{
    uint64_t backoff = 0, delay;
    DVT_EQ_I64(dvi_nanny_decide(0, 0, 0, 10, &backoff, &delay), 0);
    DVT_EQ_I64(dvi_nanny_decide(1, 0, 0, 10, &backoff, &delay), 1);
    /* Told to stop: whatever happens is the end. */
    DVT_EQ_I64(dvi_nanny_decide(0, 0, 1, 10, &backoff, &delay), 0);
    DVT_EQ_I64(dvi_nanny_decide(DVI_WORKER_EXIT_RESTART, 0, 1, 10, &backoff,
                                &delay),
               DVI_WORKER_EXIT_RESTART);
    DVT_EQ_I64(dvi_nanny_decide(0, 9, 1, 10, &backoff, &delay), 128 + 9);
    DVT_EQ_I64(backoff, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crashes_restart_with_backoff),
        cmocka_unit_test(test_stopping_a_call_restarts_at_once),
        cmocka_unit_test(test_exits_end_the_nanny),
    };
    return cmocka_run_group_tests_name("nanny", tests, NULL, NULL);
}
