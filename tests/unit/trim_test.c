/* drove — unit: dvi_trimmer, which gives freed memory back after a role
 * drops much of what it held.
 *
 * What the roles rely on: small ups and downs never trim (a trim takes
 * the heaps' locks); a large drop starts one at once, on the job thread;
 * a second within the interval waits for the interval's end rather than
 * being lost; a large buffer kept for reuse survives a trim until it has
 * been idle a while, and the trimmer comes back for it then; a loop without a
 * runtime never trims; and a trimmer destroyed while its trim runs is freed
 * when the trim ends (ASan checks for a leak or a use after free). Whether
 * pages really go back is the integration test memory_test's to show, from the
 * outside.
 */
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "common/hugepage.h"
#include "common/runtime.h"
#include "common/trim.h"
#include "dvtest.h"

#define MIB ((uint64_t)1 << 20)

static void
test_small_changes_never_trim(void **state)
{
    dvi_runtime *rt = DVT_NOTNULL(dvi_runtime_new());
    dvi_trimmer *t = dvi_trimmer_new(dvi_runtime_loop(rt));
    uint64_t held = 100 * MIB;
    for (int i = 0; i < 1000; i++) {
        /* Up and down by up to 3 MiB: under the minimum drop. */
        dvi_trimmer_note(t, held + (uint64_t)(i % 7) * MIB / 2);
    }
    /* A quarter of a small holding is not enough either. */
    dvi_trimmer_note(t, 103 * MIB);
    dvi_trimmer_note(t, 100 * MIB);
    DVT_EQ_I64(dvi_trimmer_trims(t), 0);
    dvi_trimmer_destroy(&t);
    DVT_TRUE(t == NULL);
    dvi_runtime_destroy(&rt);
}

typedef struct s_late {
    dvi_trimmer *t;
    uint64_t trims_at_fire;
    size_t kept_at_fire; /* large buffers kept for reuse then */
} s_late;

static void
s_on_late(uv_timer_t *h)
{
    s_late *l = h->data;
    l->trims_at_fire = dvi_trimmer_trims(l->t);
    l->kept_at_fire = dvi_hugepage_kept();
    uv_close((uv_handle_t *)h, NULL);
}

/* Runs rt's loop until ms from now (a timer of the test's own, as the
 * trimmer's keep no loop alive); what t had done then. */
static s_late
s_run_for(dvi_runtime *rt, dvi_trimmer *t, uint64_t ms)
{
    uv_timer_t late;
    s_late l = {t, 0, 0};
    uv_timer_init(dvi_runtime_loop(rt), &late);
    late.data = &l;
    uv_timer_start(&late, s_on_late, ms, 0);
    dvi_runtime_run(rt);
    return l;
}

static void
test_large_drop_trims_then_waits_the_interval(void **state)
{
    dvi_runtime *rt = DVT_NOTNULL(dvi_runtime_new());
    dvi_trimmer *t = dvi_trimmer_new(dvi_runtime_loop(rt));
    dvi_trimmer_note(t, 200 * MIB);
    dvi_trimmer_note(t, 190 * MIB); /* a twentieth: not yet */
    DVT_EQ_I64(dvi_trimmer_trims(t), 0);
    dvi_trimmer_note(t, 100 * MIB);
    DVT_EQ_I64(dvi_trimmer_trims(t), 1);
    /* The job keeps the loop alive until its done callback has run. */
    dvi_runtime_run(rt);
    DVT_EQ_I64(dvi_runtime_jobs_outstanding(rt), 0);
    /* Another large drop at once: due, but it waits for the interval,
     * which a timer (keeping no loop alive) ends; this test's timer keeps
     * the loop running until well after. */
    dvi_trimmer_note(t, 10 * MIB);
    DVT_EQ_I64(dvi_trimmer_trims(t), 1);
    s_late l = s_run_for(rt, t, DVI_TRIM_INTERVAL_MS + 500);
    DVT_EQ_I64(l.trims_at_fire, 2);
    DVT_EQ_I64(dvi_trimmer_trims(t), 2);
    dvi_trimmer_destroy(&t);
    dvi_runtime_destroy(&rt);
}

/* A large buffer kept for reuse outlives the trim that follows a drop,
 * for the next result of its size; the trimmer comes back once it has
 * been idle DVI_HUGEPAGE_IDLE_MS, and it goes. */
static void
test_idle_buffers_trimmed_later(void **state)
{
    dvi_runtime *rt = DVT_NOTNULL(dvi_runtime_new());
    dvi_trimmer *t = dvi_trimmer_new(dvi_runtime_loop(rt));
    dvi_hugepage_trim();
    void *p = DVT_NOTNULL(dvi_hugepage_alloc(8 * MIB));
    memset(p, 1, 8 * MIB);
    dvi_hugepage_free(p, 8 * MIB);
    DVT_TRUE(dvi_hugepage_kept() >= 8 * MIB);
    dvi_trimmer_note(t, 100 * MIB);
    dvi_trimmer_note(t, 0);
    DVT_EQ_I64(dvi_trimmer_trims(t), 1);
    dvi_runtime_run(rt);
    DVT_TRUE(dvi_hugepage_kept() >= 8 * MIB);
    s_late l = s_run_for(rt, t, DVI_HUGEPAGE_IDLE_MS + 1500);
    DVT_EQ_I64(l.trims_at_fire, 2);
    DVT_EQ_I64(l.kept_at_fire, 0);
    dvi_trimmer_destroy(&t);
    dvi_runtime_destroy(&rt);
}

static void
test_destroyed_while_trimming(void **state)
{
    dvi_runtime *rt = DVT_NOTNULL(dvi_runtime_new());
    dvi_trimmer *t = dvi_trimmer_new(dvi_runtime_loop(rt));
    dvi_trimmer_note(t, 64 * MIB);
    dvi_trimmer_note(t, 0);
    DVT_EQ_I64(dvi_trimmer_trims(t), 1);
    dvi_trimmer_destroy(&t);
    /* The teardown runs the loop and the trim's done callback, which
     * frees the trimmer. */
    dvi_runtime_destroy(&rt);
}

static void
test_loop_without_runtime_never_trims(void **state)
{
    uv_loop_t loop;
    memset(&loop, 0, sizeof(loop));
    DVT_EQ_I64(uv_loop_init(&loop), 0);
    DVT_TRUE(dvi_runtime_of(&loop) == NULL);
    dvi_trimmer *t = dvi_trimmer_new(&loop);
    dvi_trimmer_note(t, 512 * MIB);
    dvi_trimmer_note(t, 0);
    DVT_EQ_I64(dvi_trimmer_trims(t), 0);
    dvi_trimmer_destroy(&t);
    uv_run(&loop, UV_RUN_DEFAULT);
    DVT_EQ_I64(uv_loop_close(&loop), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_changes_never_trim),
        cmocka_unit_test(test_large_drop_trims_then_waits_the_interval),
        cmocka_unit_test(test_idle_buffers_trimmed_later),
        cmocka_unit_test(test_destroyed_while_trimming),
        cmocka_unit_test(test_loop_without_runtime_never_trims),
    };
    return cmocka_run_group_tests_name("trim", tests, NULL, NULL);
}
