/* drove — integration: how task failures reach the user.
 *
 * Runs on local:threads=2, local:processes=2 and a tcp cluster. A failing
 * function's own words must reach its future and every future that depends
 * on it, unchanged; calling a function that does not exist must say which;
 * and the client must carry on normally afterwards.
 */
#include <stdio.h>

#include "dvt_funcs.h"
#include <uv.h>

#include "dvtest.h"

static void
test_failure_reaches_dependents(void **state)
{
    dv_client *c = *state;
    dv_future *a = DVT_NOTNULL(DV_SUBMIT(c, "boom", dv_i64(1)));
    dv_future *b = DVT_NOTNULL(DV_SUBMIT(c, "inc", dv_fut(a)));
    dv_future *d = DVT_NOTNULL(DV_SUBMIT(c, "add2", dv_fut(b), dv_i64(1)));
    /* A dependent with one good and one failed input fails too. */
    dv_future *ok = DVT_NOTNULL(DV_SUBMIT(c, "inc", dv_i64(1)));
    dv_future *fs[2] = {ok, a};
    dv_future *lst = DVT_NOTNULL(DV_SUBMIT(c, "sum_list", dv_futs(fs, 2)));

    DVT_EQ_STR(DVT_ERROR(d, 30.0), "boom 42");
    DVT_EQ_STR(DVT_ERROR(b, 30.0), "boom 42");
    DVT_EQ_STR(DVT_ERROR(a, 30.0), "boom 42");
    DVT_EQ_STR(DVT_ERROR(lst, 30.0), "boom 42");
    DVT_EQ_I64(DVT_RESULT_I64(ok, 30.0), 2);

    /* The failure is not a result: a later, different call that does not
     * depend on it works. */
    dv_future *after = DVT_NOTNULL(DV_SUBMIT(c, "inc", dv_i64(41)));
    DVT_EQ_I64(DVT_RESULT_I64(after, 30.0), 42);

    dv_release(a);
    dv_release(b);
    dv_release(d);
    dv_release(ok);
    dv_release(lst);
    dv_release(after);
}

/* A chain submitted while its root still runs is sent ahead to the
 * worker computing the root (no scheduler round trip per link). A link
 * that fails in the middle must still fail every later link with its own
 * text, and leave the earlier ones intact. */
static void
test_failure_in_a_chain_sent_ahead(void **state)
{
    dv_client *c = *state;
    dv_future *links[100];
    links[0] = DVT_NOTNULL(DV_SUBMIT(c, "sleep_ms", dv_i64(50)));
    for (int i = 1; i < 100; i++) {
        const char *fn = i == 50 ? "boom" : "inc";
        links[i] = DVT_NOTNULL(DV_SUBMIT(c, fn, dv_fut(links[i - 1])));
    }
    DVT_EQ_I64(DVT_RESULT_I64(links[49], 30.0), 50 + 49);
    DVT_EQ_STR(DVT_ERROR(links[50], 30.0), "boom 42");
    DVT_EQ_STR(DVT_ERROR(links[99], 30.0), "boom 42");
    dvt_release_all(links, 100);

    /* And a long chain behind a running root returns the right count. */
    dv_future *x = DVT_NOTNULL(DV_SUBMIT(c, "sleep_ms", dv_i64(20)));
    for (int i = 0; i < 2000; i++) {
        dv_future *y = DVT_NOTNULL(DV_SUBMIT(c, "inc", dv_fut(x)));
        dv_release(x);
        x = y;
    }
    DVT_EQ_I64(DVT_RESULT_I64(x, 60.0), 20 + 2000);
    dv_release(x);
}

/* Chains whose first link fails are sent ahead to one worker and fail
 * there link by link: each link must still be answered, or the worker's
 * share of work leaks and it ends up getting nothing more to do. */
static void
test_failed_chains_leave_workers_free(void **state)
{
    dv_client *c = *state;
    for (int i = 0; i < 300; i++) {
        dv_opts o = DV_OPTS_INIT;
        o.impure = 1; /* a fresh chain every time */
        dv_future *a =
            DVT_NOTNULL(dv_submit(c, "boom", 1, (dv_arg[]){dv_i64(i)}, &o));
        dv_future *b = DVT_NOTNULL(DV_SUBMIT(c, "inc", dv_fut(a)));
        dv_future *d = DVT_NOTNULL(DV_SUBMIT(c, "inc", dv_fut(b)));
        DVT_EQ_STR(DVT_ERROR(d, 30.0), "boom 42");
        dv_release(a);
        dv_release(b);
        dv_release(d);
    }
    dv_future *fs[30];
    for (int i = 0; i < 30; i++) {
        fs[i] = DVT_NOTNULL(DV_SUBMIT(c, "sleep_ms", dv_i64(2)));
    }
    DVT_PASS(dv_wait(fs, 30, 30.0));
    dvt_release_all(fs, 30);
}

/* A task sent ahead of an input that fails once and is retried: it must
 * wait for the retry, not fail with the first attempt. */
static void
test_dependent_of_a_retried_input(void **state)
{
    dv_client *c = *state;
    static int round; /* one file per cluster the test runs on */
    char path[512];
    snprintf(path, sizeof(path), "%s/retried-input-%d", dvt_home(), round++);
    dv_opts o = DV_OPTS_INIT;
    o.retries = 1;
    dv_future *x = DVT_NOTNULL(dv_submit(
        c, "fail_marked", 2, (dv_arg[]){dv_str(path), dv_i64(1)}, &o));
    dv_future *y = DVT_NOTNULL(DV_SUBMIT(c, "inc", dv_fut(x)));
    DVT_EQ_I64(DVT_RESULT_I64(y, 30.0), 2 + 1);
    dv_release(x);
    dv_release(y);
}

static void
test_failure_in_a_map_chunk(void **state)
{
    dv_client *c = *state;
    dv_arg args[3] = {dv_i64(1), dv_i64(2), dv_i64(3)};
    dv_future *out[3] = {NULL};

    /* A map whose every call fails: every future carries the text. */
    DVT_EQ_I64(dv_map(c, "boom", 3, args, out, NULL), 3);
    for (size_t i = 0; i < 3; i++) {
        DVT_EQ_STR(DVT_ERROR(out[i], 30.0), "boom 42");
    }
    dvt_release_all(out, 3);
}

static void
test_unknown_function_is_named(void **state)
{
    dv_client *c = *state;
    dv_future *f = DV_SUBMIT(c, "no_such_function_xyz", dv_i64(1));
    if (f == NULL) {
        /* Refusing at submission is fine too, if it says which. */
        DVT_CONTAINS(dv_last_error(), "'no_such_function_xyz'");
        return;
    }
    dv_future *dep = DVT_NOTNULL(DV_SUBMIT(c, "inc", dv_fut(f)));
    const char *err = DVT_ERROR(f, 30.0);
    DVT_CONTAINS(err, "'no_such_function_xyz'");
    DVT_EQ_STR(DVT_ERROR(dep, 30.0), err);
    dv_release(dep);
    dv_release(f);
}

static void
test_wrong_argument_type(void **state)
{
    dv_client *c = *state;
    dv_future *f = DVT_NOTNULL(DV_SUBMIT(c, "inc", dv_str("seven")));
    char want[128];
    snprintf(want, sizeof(want), "inc: argument 0 has type %d, expected %d",
             DV_STR, DV_I64);
    DVT_EQ_STR(DVT_ERROR(f, 30.0), want);

    dv_future *g = DVT_NOTNULL(DV_SUBMIT(c, "f64s_stats", dv_i64(3)));
    snprintf(want, sizeof(want),
             "f64s_stats: argument 0 has type %d, expected %d", DV_I64,
             DV_F64S);
    DVT_EQ_STR(DVT_ERROR(g, 30.0), want);

    dv_future *h = DVT_NOTNULL(dv_submit(c, "inc", 0, NULL, NULL));
    DVT_EQ_STR(DVT_ERROR(h, 30.0), "inc: missing argument 0");
    dv_release(f);
    dv_release(g);
    dv_release(h);
}

static void
test_bad_calls_are_refused(void **state)
{
    dv_client *c = *state;
    /* Invalid arguments to the API itself come back as DV_EINVAL or NULL
     * with a reason, not as a crash. */
    DVT_TRUE(dv_submit(c, NULL, 0, NULL, NULL) == NULL);
    DVT_TRUE(dv_last_error()[0] != '\0');
    DVT_TRUE(dv_map(c, "inc", 1, NULL, NULL, NULL) < 0);
    DVT_TRUE(dv_last_error()[0] != '\0');
}

/* Released futures, NULL arrays and reused keys are refused at the call
 * that makes the mistake, naming it, never crashing or running later. */
static void
test_mistakes_refused_at_the_call(void **state)
{
    dv_client *c = *state;
    dv_future *x = DVT_NOTNULL(DV_SUBMIT(c, "inc", dv_i64(1)));
    dv_release(x);
    /* x's memory is gone: the client must not read it (ASan watches). */
    DVT_TRUE(DV_SUBMIT(c, "inc", dv_fut(x)) == NULL);
    DVT_CONTAINS(dv_last_error(), "released");
    DVT_TRUE(DV_SUBMIT(c, "sum", dv_list(NULL, 3)) == NULL);
    DVT_CONTAINS(dv_last_error(), "dv_list");
    DVT_TRUE(DV_SUBMIT(c, "f64s_stats", dv_f64s(NULL, 10)) == NULL);
    DVT_CONTAINS(dv_last_error(), "dv_f64s");
    /* One explicit key, two different calls: the second is refused. */
    dv_opts o = DV_OPTS_INIT;
    o.key = "my-key-1";
    dv_arg one = dv_i64(1), two = dv_i64(2);
    dv_future *a = DVT_NOTNULL(dv_submit(c, "inc", 1, &one, &o));
    dv_future *same = DVT_NOTNULL(dv_submit(c, "inc", 1, &one, &o));
    DVT_TRUE(dv_submit(c, "inc", 1, &two, &o) == NULL);
    DVT_CONTAINS(dv_last_error(), "'my-key-1'");
    DVT_EQ_I64(DVT_RESULT_I64(a, 30.0), 2);
    DVT_EQ_I64(DVT_RESULT_I64(same, 30.0), 2);
    /* A given key of the form drove derives must be the call's own: a
     * scheduler in this process trusts such keys unhashed. */
    char derived[128];
    dv_future *plain = DVT_NOTNULL(dv_submit(c, "inc", 1, &two, NULL));
    snprintf(derived, sizeof(derived), "%s", dv_future_key(plain));
    o.key = derived;
    DVT_TRUE(dv_submit(c, "inc", 1, &one, &o) == NULL);
    DVT_CONTAINS(dv_last_error(), "is not this call's");
    o.key = "inc-0123456789abcdef0123456789abcdef";
    DVT_TRUE(dv_submit(c, "inc", 1, &two, &o) == NULL);
    DVT_CONTAINS(dv_last_error(), "is not this call's");
    o.key = derived;
    dv_future *again = DVT_NOTNULL(dv_submit(c, "inc", 1, &two, &o));
    DVT_EQ_I64(DVT_RESULT_I64(again, 30.0), 3);
    DVT_EQ_I64(DVT_RESULT_I64(plain, 30.0), 3);
    dv_release(again);
    dv_release(plain);
    dv_release(a);
    dv_release(same);
}

static void
s_submit_and_exit(void *arg)
{
    dv_client *c = arg;
    dv_future *f = DV_SUBMIT(c, "inc", dv_i64(5));
    if (f != NULL) {
        dv_result(f, 30.0);
        dv_release(f);
    }
}

/* A thread that submits and ends leaves nothing behind (LeakSanitizer
 * checks the sanitizer build at exit). */
static void
test_submitting_threads_end_cleanly(void **state)
{
    for (int i = 0; i < 4; i++) {
        uv_thread_t t;
        DVT_PASS(uv_thread_create(&t, s_submit_and_exit, *state));
        DVT_PASS(uv_thread_join(&t));
    }
}

int
main(void)
{
    dvt_init(120);
    (void)dvt_funcs_anchor(); /* keeps libdvt_funcs.so linked */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_failure_reaches_dependents),
        cmocka_unit_test(test_failure_in_a_chain_sent_ahead),
        cmocka_unit_test(test_failed_chains_leave_workers_free),
        cmocka_unit_test(test_dependent_of_a_retried_input),
        cmocka_unit_test(test_failure_in_a_map_chunk),
        cmocka_unit_test(test_unknown_function_is_named),
        cmocka_unit_test(test_wrong_argument_type),
        cmocka_unit_test(test_bad_calls_are_refused),
        cmocka_unit_test(test_mistakes_refused_at_the_call),
        cmocka_unit_test(test_submitting_threads_end_cleanly),
    };
    return dvt_finish(dvt_run_clusters(
        "api_errors", tests, sizeof(tests) / sizeof(tests[0]), DVT_ALL));
}
