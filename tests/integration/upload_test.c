/* drove — integration: uploaded libraries and which code a call runs.
 *
 * On a scheduler with two worker daemons: every distinct library loads (a
 * second library's functions are callable, not "unknown function"); a
 * rebuilt library (same function, other code) runs its new code, never a
 * stale result of the old one; another client's upload of an older build
 * does not change what this client's calls run, and the worker keeps both
 * versions; an impure function of a library, known from the library file
 * before any worker said so, gets fresh keys; and a file that is not a
 * shared library is refused at once, naming it.
 */
#include <stdio.h>
#include <string.h>

#include "dvtest.h"

static dvt_cluster s_cl;

static int64_t
s_call(dv_client *c, const char *fn)
{
    dv_future *f = DVT_NOTNULL(dv_submit(c, fn, 0, NULL, NULL));
    int64_t v = DVT_RESULT_I64(f, 30);
    dv_release(f);
    return v;
}

static void
test_every_library_loads(void **state)
{
    dv_client *c = DVT_NOTNULL(dv_connect(s_cl.addr));
    DVT_EQ_I64(dv_upload_library(c, DVT_EXTRA_LIB), 2);
    DVT_EQ_I64(dv_upload_library(c, DVT_VERSION1_LIB), 2);
    /* Both libraries' functions run (the second used to stay unknown). */
    DVT_EQ_I64(s_call(c, "extra"), 42);
    DVT_EQ_I64(s_call(c, "version"), 1);
    dv_close(c);
}

static void
test_new_code_never_returns_a_stale_result(void **state)
{
    dv_client *a = DVT_NOTNULL(dv_connect(s_cl.addr));
    dv_client *b = DVT_NOTNULL(dv_connect(s_cl.addr));
    DVT_PASS(dv_upload_library(a, DVT_VERSION1_LIB));
    dv_future *old = DVT_NOTNULL(DV_SUBMIT(a, "version", dv_i64(7)));
    DVT_EQ_I64(DVT_RESULT_I64(old, 30), 1);
    /* A rebuilt library: the same call now means other code, so it is
     * another task, held beside the old result. */
    DVT_PASS(dv_upload_library(a, DVT_VERSION2_LIB));
    dv_future *now = DVT_NOTNULL(DV_SUBMIT(a, "version", dv_i64(7)));
    DVT_NE_STR(dv_future_key(now), dv_future_key(old));
    DVT_EQ_I64(DVT_RESULT_I64(now, 30), 2);
    /* Client b uploads the old build: its calls run it, a's still run
     * the new one (the workers keep both loaded). */
    DVT_PASS(dv_upload_library(b, DVT_VERSION1_LIB));
    DVT_EQ_I64(s_call(b, "version"), 1);
    DVT_EQ_I64(s_call(a, "version"), 2);
    dv_release(old);
    dv_release(now);
    dv_close(b);
    dv_close(a);
}

static void
test_impure_known_from_the_file(void **state)
{
    dv_client *c = DVT_NOTNULL(dv_connect(s_cl.addr));
    DVT_PASS(dv_upload_library(c, DVT_VERSION2_LIB));
    dv_future *x = DVT_NOTNULL(DV_SUBMIT(c, "version_impure", dv_i64(1)));
    dv_future *y = DVT_NOTNULL(DV_SUBMIT(c, "version_impure", dv_i64(1)));
    DVT_NE_STR(dv_future_key(x), dv_future_key(y));
    DVT_EQ_I64(DVT_RESULT_I64(x, 30), 2);
    DVT_EQ_I64(DVT_RESULT_I64(y, 30), 2);
    dv_release(x);
    dv_release(y);
    dv_close(c);
}

static void
test_not_a_library_is_refused(void **state)
{
    dv_client *c = DVT_NOTNULL(dv_connect(s_cl.addr));
    char path[512];
    snprintf(path, sizeof(path), "%s/not-a-library.so", dvt_home());
    FILE *f = fopen(path, "w");
    DVT_TRUE(f != NULL);
    fputs("#!/bin/sh\necho hello\n", f);
    fclose(f);
    DVT_FAILS_WITH(DV_EINVAL, dv_upload_library(c, path));
    DVT_CONTAINS(dv_last_error(), "not-a-library.so");
    DVT_CONTAINS(dv_last_error(), "not an ELF file");
    dv_close(c);
}

int
main(void)
{
    dvt_init(100);
    if (dvt_cluster_start(&s_cl, 2, 1) < 0) {
        return dvt_finish(1);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_library_loads),
        cmocka_unit_test(test_new_code_never_returns_a_stale_result),
        cmocka_unit_test(test_impure_known_from_the_file),
        cmocka_unit_test(test_not_a_library_is_refused),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    dvt_cluster_stop(&s_cl);
    return dvt_finish(failed);
}
