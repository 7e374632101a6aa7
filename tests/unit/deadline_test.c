/* drove — unit: dvi_deadline, when a call that must end by a time is
 * asked to stop and when it is overdue.
 *
 * Driven with made-up times: nothing runs out before the call starts; a
 * limit is counted from the start and asks once, then the grace runs from
 * the moment the limit passed (a late look never lengthens it); a cancel
 * asks at once (or at the start of a call still queued) and a cancel
 * withdrawn stops the grace, unless the call also timed out; overdue is
 * said once; a grace of 0 asks and finds it overdue in one look.
 */
#include "dvtest.h"
#include "worker/deadline.h"

#define GRACE 1000

static void
test_no_limit_never_ends(void **state)
{
    dvi_deadline d;
    uint64_t next;
    dvi_deadline_init(&d, 0);
    DVT_TRUE(!dvi_deadline_pending(&d));
    DVT_EQ_I64(dvi_deadline_check(&d, 100, 1000000, GRACE, &next),
               DVI_DEADLINE_RUNS);
    DVT_TRUE(next == DVI_DEADLINE_NEVER);
}

static void
test_limit_counts_from_the_start(void **state)
{
    dvi_deadline d;
    uint64_t next;
    dvi_deadline_init(&d, 500);
    DVT_TRUE(dvi_deadline_pending(&d));
    /* Queued for a long time: nothing runs out, nothing to wait for. */
    DVT_EQ_I64(dvi_deadline_check(&d, 0, 10000, GRACE, &next),
               DVI_DEADLINE_RUNS);
    DVT_TRUE(next == DVI_DEADLINE_NEVER);
    /* Started at 10000: due at 10500. */
    DVT_EQ_I64(dvi_deadline_check(&d, 10000, 10100, GRACE, &next),
               DVI_DEADLINE_RUNS);
    DVT_EQ_I64(next, 10500);
    /* Looked at late, at 10700: asked once, the grace from 10500. */
    DVT_EQ_I64(dvi_deadline_check(&d, 10000, 10700, GRACE, &next),
               DVI_DEADLINE_ASK);
    DVT_EQ_I64(next, 11500);
    DVT_TRUE(d.timed_out);
    DVT_EQ_I64(dvi_deadline_check(&d, 10000, 11000, GRACE, &next),
               DVI_DEADLINE_RUNS);
    DVT_EQ_I64(next, 11500);
    DVT_EQ_I64(dvi_deadline_check(&d, 10000, 11500, GRACE, &next),
               DVI_DEADLINE_OVERDUE);
    /* Said once. */
    DVT_TRUE(!dvi_deadline_pending(&d));
    DVT_EQ_I64(dvi_deadline_check(&d, 10000, 20000, GRACE, &next),
               DVI_DEADLINE_RUNS);
    DVT_TRUE(next == DVI_DEADLINE_NEVER);
}

static void
test_cancel_asks_at_once(void **state)
{
    dvi_deadline d;
    uint64_t next;
    dvi_deadline_init(&d, 0);
    dvi_deadline_cancel(&d, 5000);
    dvi_deadline_cancel(&d, 6000); /* the first cancel counts */
    DVT_TRUE(dvi_deadline_pending(&d));
    DVT_EQ_I64(dvi_deadline_check(&d, 1000, 5001, GRACE, &next),
               DVI_DEADLINE_ASK);
    DVT_EQ_I64(next, 6000);
    DVT_TRUE(!d.timed_out);
    DVT_EQ_I64(dvi_deadline_check(&d, 1000, 6000, GRACE, &next),
               DVI_DEADLINE_OVERDUE);
}

static void
test_cancel_of_a_queued_call_waits_for_its_start(void **state)
{
    dvi_deadline d;
    uint64_t next;
    dvi_deadline_init(&d, 0);
    dvi_deadline_cancel(&d, 5000);
    DVT_EQ_I64(dvi_deadline_check(&d, 0, 9000, GRACE, &next),
               DVI_DEADLINE_RUNS);
    /* It started at 8000, after the cancel: its grace runs from then. */
    DVT_EQ_I64(dvi_deadline_check(&d, 8000, 8500, GRACE, &next),
               DVI_DEADLINE_ASK);
    DVT_EQ_I64(next, 8000 + GRACE);
    DVT_EQ_I64(dvi_deadline_check(&d, 8000, 8999, GRACE, &next),
               DVI_DEADLINE_RUNS);
    DVT_EQ_I64(dvi_deadline_check(&d, 8000, 9000, GRACE, &next),
               DVI_DEADLINE_OVERDUE);
}

static void
test_uncancel(void **state)
{
    dvi_deadline d;
    uint64_t next;
    /* Wanted again during its grace: it need not stop. */
    dvi_deadline_init(&d, 0);
    dvi_deadline_cancel(&d, 100);
    DVT_EQ_I64(dvi_deadline_check(&d, 50, 200, GRACE, &next),
               DVI_DEADLINE_ASK);
    DVT_EQ_I64(dvi_deadline_uncancel(&d), 0);
    DVT_TRUE(!dvi_deadline_pending(&d));
    DVT_EQ_I64(dvi_deadline_check(&d, 50, 5000, GRACE, &next),
               DVI_DEADLINE_RUNS);
    /* One that timed out must stop anyway. */
    dvi_deadline_init(&d, 100);
    DVT_EQ_I64(dvi_deadline_check(&d, 1000, 1100, GRACE, &next),
               DVI_DEADLINE_ASK);
    dvi_deadline_cancel(&d, 1200);
    DVT_EQ_I64(dvi_deadline_uncancel(&d), 1);
    DVT_TRUE(dvi_deadline_pending(&d));
    DVT_EQ_I64(dvi_deadline_check(&d, 1000, 2100, GRACE, &next),
               DVI_DEADLINE_OVERDUE);
}

static void
test_no_grace(void **state)
{
    dvi_deadline d;
    uint64_t next;
    dvi_deadline_init(&d, 10);
    DVT_EQ_I64(dvi_deadline_check(&d, 100, 110, 0, &next),
               DVI_DEADLINE_OVERDUE);
    DVT_TRUE(d.timed_out && d.asked);
    /* A call that began after the clock was read is not early. */
    dvi_deadline_init(&d, 10);
    DVT_EQ_I64(dvi_deadline_check(&d, 200, 150, 0, &next), DVI_DEADLINE_RUNS);
    DVT_EQ_I64(next, 210);
    /* A grace too long to end never ends. */
    dvi_deadline_init(&d, 10);
    DVT_EQ_I64(dvi_deadline_check(&d, 100, 110, UINT64_MAX, &next),
               DVI_DEADLINE_ASK);
    DVT_TRUE(next == DVI_DEADLINE_NEVER);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_limit_never_ends),
        cmocka_unit_test(test_limit_counts_from_the_start),
        cmocka_unit_test(test_cancel_asks_at_once),
        cmocka_unit_test(test_cancel_of_a_queued_call_waits_for_its_start),
        cmocka_unit_test(test_uncancel),
        cmocka_unit_test(test_no_grace),
    };
    return cmocka_run_group_tests_name("deadline", tests, NULL, NULL);
}
