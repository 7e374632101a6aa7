/* drove — task functions for the integration tests.
 *
 * Built as libdvt_funcs.so: the tests link it (so the embedded clusters find
 * these functions in the program, and `local:processes` workers, which run
 * the same executable, find them too) and upload it with
 * dv_upload_library() to the daemons of a tcp cluster. Each function checks
 * its arguments and says what was wrong in its error, as a user's function
 * should.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "drove.h"
#include "dvt_funcs.h"

int
dvt_funcs_anchor(void)
{
    return 1;
}

/* Fails the call unless argument i exists and has type want. */
static int
s_need(dv_call *call, size_t i, int want, const char *fn)
{
    const dv_value *v = dv_arg_at(call, i);
    if (v == NULL) {
        return dv_fail(call, "%s: missing argument %zu", fn, i);
    }
    if (dv_value_type(v) != want) {
        return dv_fail(call, "%s: argument %zu has type %d, expected %d", fn, i,
                       dv_value_type(v), want);
    }
    return 0;
}

/* Writes through a null pointer: a real segfault. UBSan would stop the
 * process before the fault (as an abort), so it is told to let it happen. */
__attribute__((no_sanitize("undefined"))) static int
s_segfault(void)
{
    volatile int *volatile p = NULL;
    *p = 42;
    return *p;
}

/* inc(n) = n + 1 */
DV_FUNCTION(inc)
{
    if (s_need(call, 0, DV_I64, "inc") != 0) {
        return DV_ETASK;
    }
    return dv_return(call, dv_i64(dv_value_i64(dv_arg_at(call, 0)) + 1));
}

/* add2(a, b) = a + b */
DV_FUNCTION(add2)
{
    if (s_need(call, 0, DV_I64, "add2") != 0 ||
        s_need(call, 1, DV_I64, "add2") != 0) {
        return DV_ETASK;
    }
    return dv_return(call, dv_i64(dv_value_i64(dv_arg_at(call, 0)) +
                                  dv_value_i64(dv_arg_at(call, 1))));
}

/* sum_list([a, b, ...]) = a + b + ... (a list of i64, e.g. from dv_futs) */
DV_FUNCTION(sum_list)
{
    if (s_need(call, 0, DV_LIST, "sum_list") != 0) {
        return DV_ETASK;
    }
    const dv_value *l = dv_arg_at(call, 0);
    int64_t sum = 0;
    for (size_t i = 0; i < dv_value_len(l); i++) {
        sum += dv_value_i64(dv_value_at(l, i));
    }
    return dv_return(call, dv_i64(sum));
}

/* boom(...) always fails with the text the tests look for. */
DV_FUNCTION(boom)
{
    return dv_fail(call, "boom %d", 42);
}

/* boom_after(x) fails as boom does, once its input x is there. */
DV_FUNCTION(boom_after)
{
    if (dv_arg_at(call, 0) == NULL) {
        return dv_fail(call, "boom_after: missing argument 0");
    }
    return dv_fail(call, "boom 42");
}

/* sleep_ms(ms) sleeps ms milliseconds and returns ms. Impure, so that two
 * sleeps are never merged into one. */
DV_FUNCTION_IMPURE(sleep_ms)
{
    if (s_need(call, 0, DV_I64, "sleep_ms") != 0) {
        return DV_ETASK;
    }
    int64_t ms = dv_value_i64(dv_arg_at(call, 0));
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
    return dv_return(call, dv_i64(ms));
}

/* crash() dereferences NULL. */
DV_FUNCTION_IMPURE(crash)
{
    return dv_return(call, dv_i64(s_segfault()));
}

/* crash_marked(path) appends a line to the file at path, then dereferences
 * NULL: the file's line count is the number of attempts. */
DV_FUNCTION_IMPURE(crash_marked)
{
    if (s_need(call, 0, DV_STR, "crash_marked") != 0) {
        return DV_ETASK;
    }
    FILE *f = fopen(dv_value_str(dv_arg_at(call, 0), NULL), "a");
    if (f == NULL) {
        return dv_fail(call, "crash_marked: cannot open the file");
    }
    fputs("attempt\n", f);
    fclose(f);
    return dv_return(call, dv_i64(s_segfault()));
}

/* fail_marked(path, n) appends a line to the file at path, then fails
 * while the file has at most n lines: the call succeeds on attempt n + 1
 * and returns the number of attempts. */
DV_FUNCTION_IMPURE(fail_marked)
{
    if (s_need(call, 0, DV_STR, "fail_marked") != 0 ||
        s_need(call, 1, DV_I64, "fail_marked") != 0) {
        return DV_ETASK;
    }
    const char *path = dv_value_str(dv_arg_at(call, 0), NULL);
    FILE *f = fopen(path, "a+");
    if (f == NULL) {
        return dv_fail(call, "fail_marked: cannot open the file");
    }
    fputs("attempt\n", f);
    rewind(f);
    int64_t lines = 0;
    for (int ch; (ch = fgetc(f)) != EOF;) {
        lines += ch == '\n';
    }
    fclose(f);
    if (lines <= dv_value_i64(dv_arg_at(call, 1))) {
        return dv_fail(call, "fail_marked: attempt %lld fails",
                       (long long)lines);
    }
    return dv_return(call, dv_i64(lines));
}

/* rand_i64() returns a fresh random number. */
DV_FUNCTION_IMPURE(rand_i64)
{
    uint64_t x = 0;
    FILE *f = fopen("/dev/urandom", "rb");
    if (f == NULL || fread(&x, sizeof(x), 1, f) != 1) {
        if (f != NULL) {
            fclose(f);
        }
        return dv_fail(call, "rand_i64: cannot read /dev/urandom");
    }
    fclose(f);
    return dv_return(call, dv_i64((int64_t)(x >> 2)));
}

/* make_f64s(n) returns n doubles, element i being i % 1024. */
DV_FUNCTION(make_f64s)
{
    if (s_need(call, 0, DV_I64, "make_f64s") != 0) {
        return DV_ETASK;
    }
    int64_t n = dv_value_i64(dv_arg_at(call, 0));
    if (n < 0) {
        return dv_fail(call, "make_f64s: negative length %lld", (long long)n);
    }
    double *v = dv_return_f64s(call, (size_t)n);
    if (v == NULL) {
        return dv_fail(call, "make_f64s: out of memory for %lld doubles",
                       (long long)n);
    }
    for (int64_t i = 0; i < n; i++) {
        v[i] = (double)(i % 1024);
    }
    return 0;
}

/* f64s_stats(array) returns [length (i64), sum (f64)]. */
DV_FUNCTION(f64s_stats)
{
    if (s_need(call, 0, DV_F64S, "f64s_stats") != 0) {
        return DV_ETASK;
    }
    size_t n = 0;
    const double *v = dv_value_f64s(dv_arg_at(call, 0), &n);
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        sum += v[i];
    }
    dv_arg items[2] = {dv_i64((int64_t)n), dv_f64(sum)};
    return dv_return(call, dv_list(items, 2));
}

/* whoami() returns the id of the worker that ran it. */
DV_FUNCTION_IMPURE(whoami)
{
    return dv_return(call, dv_str(dv_call_worker(call)));
}

/* sleep_marked(path, ms) appends the worker's id to the file at path (""
 * for none) as it starts, sleeps ms milliseconds, and returns the id of
 * the worker that ran it: a test knows when the call is running, and
 * where it finished. */
DV_FUNCTION_IMPURE(sleep_marked)
{
    if (s_need(call, 0, DV_STR, "sleep_marked") != 0 ||
        s_need(call, 1, DV_I64, "sleep_marked") != 0) {
        return DV_ETASK;
    }
    const char *path = dv_value_str(dv_arg_at(call, 0), NULL);
    if (path[0] != '\0') {
        FILE *f = fopen(path, "a");
        if (f == NULL) {
            return dv_fail(call, "sleep_marked: cannot open the file");
        }
        fprintf(f, "%s\n", dv_call_worker(call));
        fclose(f);
    }
    int64_t ms = dv_value_i64(dv_arg_at(call, 1));
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
    return dv_return(call, dv_str(dv_call_worker(call)));
}

/* echo(v) returns its argument unchanged. */
DV_FUNCTION(echo)
{
    const dv_value *v = dv_arg_at(call, 0);
    if (v == NULL) {
        return dv_fail(call, "echo: missing argument 0");
    }
    return dv_return(call, dv_value_arg(v));
}

/* holder_of(x) returns the id of the worker that ran it: placed where its
 * input is held, it names the worker holding x. */
DV_FUNCTION_IMPURE(holder_of)
{
    return dv_return(call, dv_str(dv_call_worker(call)));
}

/* sleep_coop(path, ms) appends the worker's id to the file at path as it
 * starts, then sleeps up to ms milliseconds in steps of 5, checking
 * dv_call_cancelled(): once it says stop, it appends "cancelled after N
 * ms" and fails. Else it returns the worker's id. */
DV_FUNCTION_IMPURE(sleep_coop)
{
    if (s_need(call, 0, DV_STR, "sleep_coop") != 0 ||
        s_need(call, 1, DV_I64, "sleep_coop") != 0) {
        return DV_ETASK;
    }
    const char *path = dv_value_str(dv_arg_at(call, 0), NULL);
    FILE *f = fopen(path, "a");
    if (f == NULL) {
        return dv_fail(call, "sleep_coop: cannot open the file");
    }
    fprintf(f, "%s\n", dv_call_worker(call));
    fclose(f);
    int64_t ms = dv_value_i64(dv_arg_at(call, 1));
    for (int64_t slept = 0; slept < ms; slept += 5) {
        if (dv_call_cancelled(call)) {
            f = fopen(path, "a");
            if (f != NULL) {
                fprintf(f, "cancelled after %lld ms\n", (long long)slept);
                fclose(f);
            }
            return dv_fail(call, "sleep_coop: cancelled after %lld ms",
                           (long long)slept);
        }
        struct timespec ts = {0, 5000000L};
        nanosleep(&ts, NULL);
    }
    return dv_return(call, dv_str(dv_call_worker(call)));
}

/* pause_ms(ms) returns ms at once for 0, else after sleeping ms
 * milliseconds: a function whose calls are proven fast until one is not
 * (heartbeat_test: the worker runs proven-fast calls on its loop thread). */
DV_FUNCTION_IMPURE(pause_ms)
{
    if (s_need(call, 0, DV_I64, "pause_ms") != 0) {
        return DV_ETASK;
    }
    int64_t ms = dv_value_i64(dv_arg_at(call, 0));
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (ms > 0 && nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
    return dv_return(call, dv_i64(ms));
}

/* meet(round, ms): calls of one round wait for each other in this
 * process, busy, for up to ms milliseconds; each returns [seen, start,
 * end]: how many had arrived when it left, and when it ran, in
 * CLOCK_MONOTONIC nanoseconds (parallel_test: two calls that run at once
 * both see 2; run one after the other, the first sees 1). */
static atomic_int s_met[64];

static int64_t
s_mono_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

DV_FUNCTION_IMPURE(meet)
{
    if (s_need(call, 0, DV_I64, "meet") != 0 ||
        s_need(call, 1, DV_I64, "meet") != 0) {
        return DV_ETASK;
    }
    atomic_int *n = &s_met[dv_value_i64(dv_arg_at(call, 0)) & 63];
    int64_t until = dv_value_i64(dv_arg_at(call, 1)) * 1000000;
    int64_t start = s_mono_ns(), now = start;
    int seen = atomic_fetch_add(n, 1) + 1;
    until += start;
    while (seen < 2 && now < until) {
        now = s_mono_ns();
        seen = atomic_load(n);
    }
    int64_t *out = dv_return_i64s(call, 3);
    if (out == NULL) {
        return dv_fail(call, "meet: no room for the result");
    }
    out[0] = seen;
    out[1] = start;
    out[2] = s_mono_ns();
    return 0;
}

/* busy_us(us) spins us microseconds and returns the id of the thread it
 * ran on (parallel_test: which calls a worker runs on its loop thread,
 * and which on its executor's). */
DV_FUNCTION_IMPURE(busy_us)
{
    if (s_need(call, 0, DV_I64, "busy_us") != 0) {
        return DV_ETASK;
    }
    int64_t until = s_mono_ns() + dv_value_i64(dv_arg_at(call, 0)) * 1000;
    while (s_mono_ns() < until) {
    }
    return dv_return(call, dv_i64(gettid()));
}

/* cpus() returns [how many CPUs the calling thread may run on, the first
 * of them] (parallel_test: a local:processes worker is bound to one). */
DV_FUNCTION_IMPURE(cpus)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) != 0) {
        return dv_fail(call, "cpus: sched_getaffinity: %s", strerror(errno));
    }
    int first = 0;
    while (first < CPU_SETSIZE && !CPU_ISSET(first, &set)) {
        first++;
    }
    int64_t *out = dv_return_i64s(call, 2);
    if (out == NULL) {
        return DV_ETASK;
    }
    out[0] = CPU_COUNT(&set);
    out[1] = first;
    return 0;
}

/* sched_policy() returns the scheduling policy of the thread it runs on
 * (parallel_test: an executor's is SCHED_BATCH). Its 2 ms nap keeps it
 * from ever counting as short, which a worker may run on its loop. */
DV_FUNCTION_IMPURE(sched_policy)
{
    struct timespec nap = {0, 2000000L};
    nanosleep(&nap, NULL);
    int policy = sched_getscheduler(0);
    if (policy < 0) {
        return dv_fail(call, "sched_policy: sched_getscheduler: %s",
                       strerror(errno));
    }
    return dv_return(call, dv_i64(policy & ~SCHED_RESET_ON_FORK));
}

/* span_ms(ms) sleeps ms milliseconds and returns [worker id, start, end],
 * the times in CLOCK_MONOTONIC nanoseconds (one clock for every process
 * of the machine): when and where each call ran. */
DV_FUNCTION_IMPURE(span_ms)
{
    if (s_need(call, 0, DV_I64, "span_ms") != 0) {
        return DV_ETASK;
    }
    int64_t ms = dv_value_i64(dv_arg_at(call, 0));
    int64_t start = s_mono_ns();
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (ms > 0 && nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
    dv_arg out[3] = {dv_str(dv_call_worker(call)), dv_i64(start),
                     dv_i64(s_mono_ns())};
    return dv_return(call, dv_list(out, 3));
}

/* make_bytes(n) returns n bytes, byte i being i % 251, filled in place. */
DV_FUNCTION(make_bytes)
{
    if (s_need(call, 0, DV_I64, "make_bytes") != 0) {
        return DV_ETASK;
    }
    int64_t n = dv_value_i64(dv_arg_at(call, 0));
    unsigned char *p = n >= 0 ? dv_return_bytes(call, (size_t)n) : NULL;
    if (p == NULL) {
        return dv_fail(call, "make_bytes: no room for %lld bytes",
                       (long long)n);
    }
    for (int64_t i = 0; i < n; i++) {
        p[i] = (unsigned char)(i % 251);
    }
    return 0;
}

/* unsafe_inc(n) = n + 1, declared not thread-safe: it never runs on the
 * threads scheme. */
DV_FUNCTION_NOT_THREAD_SAFE(unsafe_inc)
{
    if (s_need(call, 0, DV_I64, "unsafe_inc") != 0) {
        return DV_ETASK;
    }
    return dv_return(call, dv_i64(dv_value_i64(dv_arg_at(call, 0)) + 1));
}
