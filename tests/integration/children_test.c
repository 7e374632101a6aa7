/* drove — integration: tasks that submit tasks (dv_call_submit), the
 * continuation (dv_return of a child's future), and waiting for children.
 *
 * Each test runs on local:threads=2, local:processes=2 and a scheduler
 * with two daemon workers of one thread; the first also on
 * local:threads=1, one worker of one thread.
 *
 *   - A range sum of 4,096 elements splits itself down to single
 *     elements: 8,191 sum tasks and 4,095 adds, each parent continuing as
 *     its add; the sum is right.
 *   - fib(20), every call a pure child: the scheduler counts the child
 *     submissions and the tasks made, which must show the children
 *     deduplicated (fib(n - 2) is submitted by fib(n) and by fib(n - 1)).
 *   - A child that fails makes its parent fail with the child's text,
 *     through the continuation (the child failed before or after the
 *     parent returned it) and through dv_result.
 *   - Releasing a parent that waits for long children leaves no child
 *     running: each child notes when it starts and when it stops.
 *   - A task that waits in dv_result for its own child finishes, even on
 *     a worker of one thread; one that returns a future that is not its
 *     child is refused.
 *   - A child given another call's key of the derived form is refused
 *     by dv_call_submit, naming why; given its own, it runs (a scheduler
 *     in the worker's process takes such keys without hashing the call
 *     again, so the check at the call is what keeps them honest).
 *   - Lineage covers children: a daemon worker killed (SIGKILL) in the
 *     middle of a recursive sum loses children, running parents and
 *     continuations; the sum is right all the same (last, on daemons
 *     only: the shared cluster keeps one worker after it).
 */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dvt_funcs.h"
#include "dvtest.h"

/* The scheduler's counters of tasks made and child submissions. */
static void
s_counters(dv_client *c, int64_t *submitted, int64_t *children)
{
    char *text = NULL;
    DVT_PASS(dv_scheduler_info(c, &text));
    json_t *o = json_loads(text, 0, NULL);
    DVT_TRUE(o != NULL);
    json_t *totals = json_object_get(o, "totals");
    *submitted = json_integer_value(json_object_get(totals, "submitted"));
    *children = json_integer_value(json_object_get(totals, "children"));
    json_decref(o);
    free(text);
}

static void
s_range_sum(dv_client *c)
{
    dv_future *f =
        DVT_NOTNULL(DV_SUBMIT(c, "sum_range", dv_i64(0), dv_i64(4096)));
    DVT_EQ_I64(DVT_RESULT_I64(f, 120.0), 4096LL * 4095 / 2);
    dv_release(f);
}

static void
test_range_sum(void **state)
{
    s_range_sum(*state);
}

static void
test_range_sum_one_thread(void **state)
{
    (void)state;
    if (dvt_kind != DVT_THREADS) {
        return; /* once is enough */
    }
    dv_client *c = DVT_NOTNULL(dv_connect("local:threads=1"));
    s_range_sum(c);
    dv_future *f = DVT_NOTNULL(DV_SUBMIT(c, "wait_child", dv_i64(41)));
    DVT_EQ_I64(DVT_RESULT_I64(f, 60.0), 84);
    dv_release(f);
    dv_close(c);
}

static void
test_fib_children_deduplicate(void **state)
{
    dv_client *c = *state;
    int64_t made0, kids0, made1, kids1;
    s_counters(c, &made0, &kids0);
    dv_future *f = DVT_NOTNULL(DV_SUBMIT(c, "fib", dv_i64(20)));
    DVT_EQ_I64(DVT_RESULT_I64(f, 120.0), 6765);
    s_counters(c, &made1, &kids1);
    int64_t made = made1 - made0, kids = kids1 - kids0;
    fprintf(stderr,
            "dvtest: fib(20): %lld child submissions, %lld tasks made\n",
            (long long)kids, (long long)made);
    /* fib(2..20) each submit 3 children, once each: 57 submissions for
     * fib(0..19) and 19 adds, 38 tasks, plus fib(20) itself. Without
     * sharing, the calls alone would be 21,891. */
    DVT_GE_I64(kids, 57);
    DVT_LT_I64(made, 45);
    DVT_GE_I64(kids - (made - 1), 17);
    dv_release(f);
}

static void
test_failed_child_fails_parent(void **state)
{
    dv_client *c = *state;
    dv_future *f =
        DVT_NOTNULL(DV_SUBMIT(c, "fail_child", dv_str("boom at 42")));
    DVT_CONTAINS(DVT_ERROR(f, 60.0), "boom at 42");
    dv_future *g =
        DVT_NOTNULL(DV_SUBMIT(c, "wait_failed_child", dv_str("bang 7")));
    DVT_CONTAINS(DVT_ERROR(g, 60.0), "child failed: bang 7");
    dv_future *h =
        DVT_NOTNULL(DV_SUBMIT(c, "forward_failed", dv_str("early 9")));
    DVT_CONTAINS(DVT_ERROR(h, 60.0), "early 9");
    dv_release(f);
    dv_release(g);
    dv_release(h);
}

static int
s_count(const char *path, const char *word)
{
    char *text = dvt_read_file(path);
    int n = 0;
    for (const char *p = text; p && (p = strstr(p, word)); p += strlen(word)) {
        n++;
    }
    free(text);
    return n;
}

static void
test_release_parent_stops_children(void **state)
{
    dv_client *c = *state;
    char path[512];
    snprintf(path, sizeof(path), "%s/sleepers-%u.txt", dvt_home(), dvt_kind);
    remove(path);
    dv_future *f = DVT_NOTNULL(
        DV_SUBMIT(c, "spawn_sleepers", dv_str(path), dv_i64(6), dv_i64(60000)));
    double t0 = dvt_now();
    while (s_count(path, "start") < 2 && dvt_now() - t0 < 30) {
        dvt_sleep(0.02);
    }
    DVT_GE_I64(s_count(path, "start"), 2);
    dv_release(f);
    /* Every child that started stops (cancelled), and no more start. */
    t0 = dvt_now();
    while (s_count(path, "stopped") < s_count(path, "start") &&
           dvt_now() - t0 < 30) {
        dvt_sleep(0.02);
    }
    int started = s_count(path, "start");
    dvt_sleep(1.0);
    DVT_EQ_I64(s_count(path, "stopped"), started);
    DVT_EQ_I64(s_count(path, "start"), started);
    DVT_EQ_I64(s_count(path, "done"), 0);
    DVT_LT_I64(started, 6 + 1);
}

static void
test_wait_for_own_child(void **state)
{
    dv_client *c = *state;
    dv_future *fs[8];
    for (int i = 0; i < 8; i++) {
        fs[i] = DVT_NOTNULL(DV_SUBMIT(c, "wait_child", dv_i64(100 + i)));
    }
    for (int i = 0; i < 8; i++) {
        DVT_EQ_I64(DVT_RESULT_I64(fs[i], 60.0), 2 * (101 + i));
    }
    dvt_release_all(fs, 8);
    dv_future *s = DVT_NOTNULL(DV_SUBMIT(c, "forward_stranger"));
    DVT_CONTAINS(dv_value_str(DVT_RESULT(s, 60.0), NULL), "child of this call");
    dv_release(s);
}

static void
test_child_keys_checked_at_the_call(void **state)
{
    dv_client *c = *state;
    dv_future *fs[4];
    for (int i = 0; i < 4; i++) {
        fs[i] = DVT_NOTNULL(DV_SUBMIT(c, "keyed_child", dv_i64(10 * i)));
    }
    for (int i = 0; i < 4; i++) {
        DVT_EQ_I64(DVT_RESULT_I64(fs[i], 60.0), 10 * i + 1);
    }
    dvt_release_all(fs, 4);
}

static void
test_worker_killed_under_recursion(void **state)
{
    dv_client *c = *state;
    if (dvt_kind != DVT_TCP) {
        return;
    }
    dvt_cluster *cl = dvt_tcp_cluster();
    /* 512 elements of 4 ms each: about a second on two workers. */
    dv_future *f = DVT_NOTNULL(
        DV_SUBMIT(c, "sum_range", dv_i64(0), dv_i64(512), dv_i64(4000)));
    dvt_sleep(0.4);
    DVT_TRUE(dv_future_status(f) == DV_PENDING);
    DVT_PASS(kill(dvt_proc_pid(cl->workers[1]), SIGKILL));
    DVT_EQ_I64(DVT_RESULT_I64(f, 120.0), 512LL * 511 / 2);
    dv_release(f);
}

int
main(void)
{
    dvt_init(600);
    (void)dvt_funcs_anchor(); /* keeps libdvt_funcs.so linked */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_range_sum),
        cmocka_unit_test(test_range_sum_one_thread),
        cmocka_unit_test(test_fib_children_deduplicate),
        cmocka_unit_test(test_failed_child_fails_parent),
        cmocka_unit_test(test_release_parent_stops_children),
        cmocka_unit_test(test_wait_for_own_child),
        cmocka_unit_test(test_child_keys_checked_at_the_call),
        cmocka_unit_test(test_worker_killed_under_recursion),
    };
    return dvt_finish(dvt_run_clusters(
        "children", tests, sizeof(tests) / sizeof(tests[0]), DVT_ALL));
}
