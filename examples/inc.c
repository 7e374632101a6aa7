/* inc: the first example of dask's `distributed`, in C.
 *
 *     x = executor.submit(inc, 1)      # runs on a worker
 *     x.result()                       # 2
 *     y = executor.submit(inc, x)      # x's result stays on the workers
 *     y.result()                       # 3
 *
 * The second call takes the first call's future as its argument: that makes
 * a dependency, and the value 2 goes from worker to worker without coming
 * back through this program. It also shows that pure calls are named by
 * their content: submitting inc(1) again yields the same key, hence the same
 * task.
 *
 * Usage: inc [WHERE]    WHERE as for dv_connect(), e.g. "local:threads=2",
 *                       "local:processes=2", "tcp://127.0.0.1:7000";
 *                       default: $DROVE_SCHEDULER or an embedded cluster.
 * Exits 0 when every result is right, 1 with a message otherwise.
 *
 * On a cluster of daemons (a tcp:// WHERE, or $DROVE_SCHEDULER) the workers
 * cannot run this program's code, so it first uploads its task functions as
 * a shared library. For that the build compiles this file twice: the task
 * functions alone (-DDV_EXAMPLE_FUNCTIONS) into
 * libinc_functions.so, next to the program, and the client alone
 * (-DDV_EXAMPLE_CLIENT) into the program, which links that library.
 * Compiled once with neither, the file is a complete program for the
 * embedded clusters.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <drove.h>

/* No result should take anywhere near this long; the deadline only turns a
 * hang into a clear failure. */
#define TIMEOUT_S 60.0

#ifndef DV_EXAMPLE_CLIENT /* the task functions, see the top */
/* inc(x) = x + 1. Pure: the same argument always gives the same result, so
 * drove may merge identical calls. */
DV_FUNCTION(inc)
{
    const dv_value *x = dv_arg_at(call, 0);

    if (dv_nargs(call) != 1 || dv_value_type(x) != DV_I64) {
        return dv_fail(call, "inc: expected one integer argument");
    }
    return dv_return(call, dv_i64(dv_value_i64(x) + 1));
}
#endif /* DV_EXAMPLE_CLIENT */

#ifndef DV_EXAMPLE_FUNCTIONS /* the client, see the top */
#include "share.h"


/* Waits for f and checks that its result is the integer want. Prints why
 * not and returns -1 otherwise. */
static int
s_expect_i64(dv_future *f, const char *what, int64_t want)
{
    const dv_value *v = dv_result(f, TIMEOUT_S);

    if (v == NULL) {
        const char *why = dv_future_error(f);
        fprintf(stderr, "inc: FAILED: %s: %s\n", what,
                why != NULL ? why : dv_last_error());
        return -1;
    }
    if (dv_value_type(v) != DV_I64 || dv_value_i64(v) != want) {
        fprintf(stderr,
                "inc: FAILED: %s: expected the integer %lld, got type %d "
                "value %lld\n",
                what, (long long)want, dv_value_type(v),
                (long long)dv_value_i64(v));
        return -1;
    }
    printf("%-28s = %lld   (key %s)\n", what, (long long)dv_value_i64(v),
           dv_future_key(f));
    return 0;
}

int
main(int argc, char **argv)
{
    const char *where = argc > 1 ? argv[1] : NULL;
    dv_future *x = NULL;
    dv_future *y = NULL;
    dv_future *again = NULL;
    int rc = 1;

    dv_client *c = dv_connect(where);
    if (c == NULL) {
        fprintf(stderr, "inc: FAILED: cannot connect to %s: %s\n",
                where != NULL ? where : "the default cluster",
                dv_last_error());
        return 1;
    }
    if (example_share_functions(c, where, "inc") != 0) {
        goto out;
    }

    /* x = executor.submit(inc, 1) */
    x = DV_SUBMIT(c, "inc", dv_i64(1));
    if (x == NULL) {
        fprintf(stderr, "inc: FAILED: submit inc(1): %s\n", dv_last_error());
        goto out;
    }
    if (s_expect_i64(x, "x = inc(1)", 2) != 0) {
        goto out;
    }

    /* y = executor.submit(inc, x): a future as an argument is a dependency;
     * the task receives x's result, 2, in its place. */
    y = DV_SUBMIT(c, "inc", dv_fut(x));
    if (y == NULL) {
        fprintf(stderr, "inc: FAILED: submit inc(x): %s\n", dv_last_error());
        goto out;
    }
    if (s_expect_i64(y, "y = inc(x)", 3) != 0) {
        goto out;
    }

    /* A pure call's key is a hash of the function and its arguments: the
     * same call again is the same task, not a second one. */
    again = DV_SUBMIT(c, "inc", dv_i64(1));
    if (again == NULL) {
        fprintf(stderr, "inc: FAILED: submit inc(1) again: %s\n",
                dv_last_error());
        goto out;
    }
    if (strcmp(dv_future_key(again), dv_future_key(x)) != 0) {
        fprintf(stderr,
                "inc: FAILED: inc(1) submitted twice got two keys, %s and "
                "%s; a pure call should be one task\n",
                dv_future_key(x), dv_future_key(again));
        goto out;
    }
    if (s_expect_i64(again, "inc(1) again, same task", 2) != 0) {
        goto out;
    }
    printf("inc: all checks passed\n");
    rc = 0;

out:
    dv_release(again);
    dv_release(y);
    dv_release(x);
    dv_close(c);
    return rc;
}
#endif /* DV_EXAMPLE_FUNCTIONS */
