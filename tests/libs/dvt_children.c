/* drove — task functions that submit tasks (dv_call_submit), for
 * children_test. Part of libdvt_funcs. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "drove.h"

/* sum_range(lo, hi): the sum of lo..hi-1, split in halves down to single
 * elements: 2n - 1 tasks for n elements. Each returns the future of the
 * add of its halves (the continuation), holding no thread meanwhile. */
DV_FUNCTION(sum_range)
{
    int64_t lo = dv_value_i64(dv_arg_at(call, 0));
    int64_t hi = dv_value_i64(dv_arg_at(call, 1));
    /* sum_range(lo, hi, us): each single element takes us microseconds. */
    int64_t us = dv_nargs(call) > 2 ? dv_value_i64(dv_arg_at(call, 2)) : 0;
    if (hi - lo <= 1) {
        struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
        if (us > 0) {
            nanosleep(&ts, NULL);
        }
        return dv_return(call, dv_i64(hi > lo ? lo : 0));
    }
    int64_t mid = lo + (hi - lo) / 2;
    dv_future *a =
        DV_CALL_SUBMIT(call, "sum_range", dv_i64(lo), dv_i64(mid), dv_i64(us));
    dv_future *b =
        DV_CALL_SUBMIT(call, "sum_range", dv_i64(mid), dv_i64(hi), dv_i64(us));
    if (a == NULL || b == NULL) {
        return dv_fail(call, "sum_range: %s", dv_last_error());
    }
    dv_future *s = DV_CALL_SUBMIT(call, "add_i64", dv_fut(a), dv_fut(b));
    if (s == NULL) {
        return dv_fail(call, "sum_range: %s", dv_last_error());
    }
    return dv_return(call, dv_fut(s));
}

DV_FUNCTION(add_i64)
{
    return dv_return(call, dv_i64(dv_value_i64(dv_arg_at(call, 0)) +
                                  dv_value_i64(dv_arg_at(call, 1))));
}

/* fib(n) = fib(n-1) + fib(n-2), each a pure child: equal calls share one
 * task across the whole tree. */
DV_FUNCTION(fib)
{
    int64_t n = dv_value_i64(dv_arg_at(call, 0));
    if (n < 2) {
        return dv_return(call, dv_i64(n));
    }
    dv_future *a = DV_CALL_SUBMIT(call, "fib", dv_i64(n - 1));
    dv_future *b = DV_CALL_SUBMIT(call, "fib", dv_i64(n - 2));
    dv_future *s =
        a && b ? DV_CALL_SUBMIT(call, "add_i64", dv_fut(a), dv_fut(b)) : NULL;
    if (s == NULL) {
        return dv_fail(call, "fib: %s", dv_last_error());
    }
    return dv_return(call, dv_fut(s));
}

/* fail_child(text): its child fails with text; it continues as it. */
DV_FUNCTION(fail_child)
{
    dv_future *k =
        DV_CALL_SUBMIT(call, "fail_with",
                       dv_arg_at(call, 0) ? dv_value_arg(dv_arg_at(call, 0))
                                          : dv_str("no text"));
    if (k == NULL) {
        return dv_fail(call, "fail_child: %s", dv_last_error());
    }
    return dv_return(call, dv_fut(k));
}

DV_FUNCTION(fail_with)
{
    return dv_fail(call, "%s", dv_value_str(dv_arg_at(call, 0), NULL));
}

/* wait_child(n): waits (dv_result) for its own child's n + 1, and
 * returns it doubled: on a worker of one thread, the child runs on the
 * thread the worker lends meanwhile. */
DV_FUNCTION(wait_child)
{
    int64_t n = dv_value_i64(dv_arg_at(call, 0));
    dv_future *k = DV_CALL_SUBMIT(call, "add_i64", dv_i64(n), dv_i64(1));
    const dv_value *v = k ? dv_result(k, 60.0) : NULL;
    if (v == NULL) {
        return dv_fail(call, "wait_child: %s", dv_last_error());
    }
    return dv_return(call, dv_i64(2 * dv_value_i64(v)));
}

/* wait_failed_child(text): waits for a child that fails, and fails with
 * the child's text: what dv_result says of it. */
DV_FUNCTION(wait_failed_child)
{
    dv_future *k =
        DV_CALL_SUBMIT(call, "fail_with", dv_value_arg(dv_arg_at(call, 0)));
    if (k == NULL || dv_result(k, 60.0) != NULL) {
        return dv_fail(call, "wait_failed_child: the child did not fail");
    }
    return dv_fail(call, "child failed: %s", dv_future_error(k));
}

/* spawn_sleepers(path, n, ms): n impure children that each append a line
 * to path when they start, then sleep ms in slices while not cancelled,
 * and append "done" if they ran to the end; it waits for all of them. */
DV_FUNCTION(spawn_sleepers)
{
    int64_t n = dv_value_i64(dv_arg_at(call, 1));
    dv_future *ks[64];
    for (int64_t i = 0; i < n && i < 64; i++) {
        dv_opts o = DV_OPTS_INIT;
        o.impure = 1;
        dv_arg args[2] = {dv_value_arg(dv_arg_at(call, 0)),
                          dv_value_arg(dv_arg_at(call, 2))};
        ks[i] = dv_call_submit(call, "sleep_noting", 2, args, &o);
        if (ks[i] == NULL) {
            return dv_fail(call, "spawn_sleepers: %s", dv_last_error());
        }
    }
    int rc = dv_wait(ks, (size_t)(n < 64 ? n : 64), 600.0);
    return rc < 0 ? dv_fail(call, "spawn_sleepers: %s", dv_last_error())
                  : dv_return(call, dv_i64(n));
}

static void
s_note(const char *path, const char *what)
{
    FILE *f = fopen(path, "a");
    if (f != NULL) {
        fprintf(f, "%s\n", what);
        fclose(f);
    }
}

DV_FUNCTION_IMPURE(sleep_noting)
{
    const char *path = dv_value_str(dv_arg_at(call, 0), NULL);
    int64_t ms = dv_value_i64(dv_arg_at(call, 1));
    s_note(path, "start");
    for (int64_t t = 0; t < ms && !dv_call_cancelled(call); t += 10) {
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
    s_note(path, dv_call_cancelled(call) ? "stopped" : "done");
    return dv_return(call, dv_nil());
}

/* keyed_child(x): a child given a key of the form drove derives from a
 * call but another call's is refused by dv_call_submit (a scheduler in
 * the worker's process trusts such keys unhashed); given its own derived
 * key, the child shares the task of the same call without one. Continues
 * as that child: x + 1. */
DV_FUNCTION(keyed_child)
{
    dv_arg args[2] = {dv_value_arg(dv_arg_at(call, 0)), dv_i64(1)};
    dv_opts o = DV_OPTS_INIT;
    o.key = "add_i64-0123456789abcdef0123456789abcdef";
    if (dv_call_submit(call, "add_i64", 2, args, &o) != NULL) {
        return dv_fail(call, "keyed_child: a forged key was accepted");
    }
    if (strstr(dv_last_error(), "is not this call's") == NULL) {
        return dv_fail(call, "keyed_child: refused for another reason: %s",
                       dv_last_error());
    }
    dv_future *plain = dv_call_submit(call, "add_i64", 2, args, NULL);
    o.key = plain ? dv_future_key(plain) : NULL;
    dv_future *own =
        o.key ? dv_call_submit(call, "add_i64", 2, args, &o) : NULL;
    if (own == NULL) {
        return dv_fail(call, "keyed_child: %s", dv_last_error());
    }
    return dv_return(call, dv_fut(own));
}

/* bad_return: returns a future that is not its child (its argument's
 * value is not a future; a child of nothing): dv_return refuses it. */
DV_FUNCTION(forward_stranger)
{
    dv_future *k = DV_CALL_SUBMIT(call, "add_i64", dv_i64(1), dv_i64(2));
    (void)k;
    int rc = dv_return(call, dv_fut((dv_future *)call)); /* not a child */
    return rc == DV_EINVAL ? dv_return(call, dv_str(dv_last_error()))
                           : dv_fail(call, "a stranger was accepted");
}

/* forward_failed(text): its child fails before it returns the child's
 * future: it errs with the child's text all the same. */
DV_FUNCTION(forward_failed)
{
    dv_future *k =
        DV_CALL_SUBMIT(call, "fail_with", dv_value_arg(dv_arg_at(call, 0)));
    if (k == NULL) {
        return dv_fail(call, "forward_failed: %s", dv_last_error());
    }
    dv_wait(&k, 1, 60.0); /* failed by now */
    return dv_return(call, dv_fut(k));
}

/* count_words(text): a command child counts the words of text (wc -w on
 * a file), and the task continues as that command: its result is the
 * command's. */
DV_FUNCTION(count_words)
{
    const char *argv[] = {"wc", "-w", "in/text", NULL};
    dv_cmd *cmd = dv_cmd_new(argv);
    dv_cmd_input(cmd, "in/text", dv_value_arg(dv_arg_at(call, 0)));
    dv_future *k = dv_cmd_call_submit(call, cmd, NULL);
    dv_cmd_free(cmd);
    if (k == NULL) {
        return dv_fail(call, "count_words: %s", dv_last_error());
    }
    return dv_return(call, dv_fut(k));
}
