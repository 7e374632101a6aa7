/* drove — integration: waiting on, cancelling and releasing futures;
 * scattered data; results published for other clients.
 *
 * Runs on local:threads=2, local:processes=2 and a tcp cluster (the
 * publish test, which needs two clients of one scheduler, on tcp only).
 * Tasks whose timing matters are pinned to a worker (dv_opts.worker), so
 * that the order of events does not depend on placement.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dvt_funcs.h"
#include "dvtest.h"

/* Submits sleep_ms(ms), pinned to worker (NULL: any). */
static dv_future *
s_sleep(dv_client *c, int64_t ms, const char *worker)
{
    dv_arg arg = dv_i64(ms);
    dv_opts opts = DV_OPTS_INIT;
    opts.worker = worker;
    return dv_submit(c, "sleep_ms", 1, &arg, &opts);
}

static void
test_pinned_tasks_run_there(void **state)
{
    dv_client *c = *state;
    char w0[128], w1[128];
    dvt_two_workers(c, w0, w1, sizeof(w0));
    dv_opts opts = DV_OPTS_INIT;

    opts.worker = w0;
    dv_future *a = DVT_NOTNULL(dv_submit(c, "whoami", 0, NULL, &opts));
    opts.worker = w1;
    dv_future *b = DVT_NOTNULL(dv_submit(c, "whoami", 0, NULL, &opts));
    DVT_EQ_STR(dv_value_str(DVT_RESULT(a, 30.0), NULL), w0);
    DVT_EQ_STR(dv_value_str(DVT_RESULT(b, 30.0), NULL), w1);
    dv_release(a);
    dv_release(b);
}

static void
test_next_completed_in_completion_order(void **state)
{
    dv_client *c = *state;
    char w0[128], w1[128];
    dvt_two_workers(c, w0, w1, sizeof(w0));

    /* The slow one first, on its own worker; the fast one on the other. */
    dv_future *slow = DVT_NOTNULL(s_sleep(c, 700, w0));
    dv_future *fast = DVT_NOTNULL(s_sleep(c, 1, w1));
    dv_future *fs[2] = {slow, fast};

    dv_future *first = dv_next_completed(c, fs, 2, 30.0);
    dv_future *second = dv_next_completed(c, fs, 2, 30.0);
    DVT_TRUE(first == fast);
    DVT_TRUE(second == slow);
    DVT_EQ_I64(dv_future_status(slow), DV_FINISHED);
    /* Every future was returned once: nothing more, without waiting. */
    double t0 = dvt_now();
    DVT_TRUE(dv_next_completed(c, fs, 2, 5.0) == NULL);
    DVT_LT_I64((int64_t)((dvt_now() - t0) * 1000), 2000);
    DVT_EQ_I64(DVT_RESULT_I64(slow, 1.0), 700);
    DVT_EQ_I64(DVT_RESULT_I64(fast, 1.0), 1);
    dv_release(slow);
    dv_release(fast);
}

/* A sliding window: 4 calls in flight in one array; each time one
 * completes it is released and the next call takes its slot. Every call
 * comes back exactly once, and never before it completed. */
static void
test_next_completed_sliding_window(void **state)
{
    dv_client *c = *state;
    enum { W = 4, TOTAL = 40 };
    dv_future *fs[W];
    int submitted = 0, returned = 0;
    for (int i = 0; i < W; i++) {
        fs[i] =
            DVT_NOTNULL(DV_SUBMIT(c, "sleep_ms", dv_i64(1 + submitted++ % 5)));
    }
    while (submitted < TOTAL) {
        dv_future *f = DVT_NOTNULL(dv_next_completed(c, fs, W, 30.0));
        DVT_TRUE(dv_future_status(f) == DV_FINISHED);
        returned++;
        int k = 0;
        while (fs[k] != f) {
            k++;
        }
        dv_release(f);
        fs[k] =
            DVT_NOTNULL(DV_SUBMIT(c, "sleep_ms", dv_i64(1 + submitted++ % 5)));
    }
    DVT_EQ_I64(returned, TOTAL - W);
    DVT_PASS(dv_wait(fs, W, 30.0));
    dvt_release_all(fs, W);
}

/* The same array, filled again by a second round (a stack array in a
 * function called twice): each round gets all of its futures. */
static int
s_round(dv_client *c, int64_t base)
{
    dv_future *fs[4];
    for (int i = 0; i < 4; i++) {
        fs[i] = DV_SUBMIT(c, "inc", dv_i64(base + i));
    }
    int n = 0;
    while (dv_next_completed(c, fs, 4, 30.0) != NULL) {
        n++;
    }
    dvt_release_all(fs, 4);
    return n;
}

static void
test_next_completed_reused_array(void **state)
{
    dv_client *c = *state;
    DVT_EQ_I64(s_round(c, 1000), 4);
    DVT_EQ_I64(s_round(c, 2000), 4);
}

static void
test_wait_times_out(void **state)
{
    dv_client *c = *state;
    dv_future *f = DVT_NOTNULL(s_sleep(c, 1000, NULL));

    double t0 = dvt_now();
    DVT_FAILS_WITH(DV_ETIMEDOUT, dv_wait(&f, 1, 0.2));
    double waited = dvt_now() - t0;
    DVT_GE_I64((int64_t)(waited * 1000), 150);
    DVT_LT_I64((int64_t)(waited * 1000), 900);
    DVT_EQ_I64(dv_future_status(f), DV_PENDING);
    DVT_TRUE(dv_result(f, 0.05) == NULL);
    DVT_TRUE(dv_future_error(f) == NULL);

    /* The task itself was not harmed by the timeouts. */
    DVT_EQ_I64(dv_wait(&f, 1, 30.0), 0);
    DVT_EQ_I64(DVT_RESULT_I64(f, 1.0), 1000);
    dv_release(f);
}

static void
test_cancel_queued_task(void **state)
{
    dv_client *c = *state;
    char w0[128], w1[128];
    dvt_two_workers(c, w0, w1, sizeof(w0));

    /* Both workers busy, so the next task waits in a queue. */
    dv_future *busy0 = DVT_NOTNULL(s_sleep(c, 800, w0));
    dv_future *busy1 = DVT_NOTNULL(s_sleep(c, 800, w1));
    dv_future *queued = DVT_NOTNULL(s_sleep(c, 2, NULL));
    dv_future *dep = DVT_NOTNULL(DV_SUBMIT(c, "inc", dv_fut(queued)));

    DVT_EQ_I64(dv_cancel(queued), 0);
    dv_future *both[2] = {queued, dep};
    DVT_EQ_I64(dv_wait(both, 2, 10.0), 0);
    DVT_EQ_I64(dv_future_status(queued), DV_CANCELLED);
    DVT_TRUE(dv_result(queued, 1.0) == NULL);
    DVT_TRUE(dv_future_error(queued) != NULL);
    /* Its dependent does not run: it errs (as cancelled). */
    int st = dv_future_status(dep);
    DVT_TRUE(st == DV_CANCELLED || st == DV_ERRED);
    DVT_TRUE(dv_result(dep, 1.0) == NULL);
    DVT_TRUE(dv_future_error(dep) != NULL);

    /* The busy tasks finish normally; cancelling a finished task is an
     * error the caller can see. */
    DVT_EQ_I64(DVT_RESULT_I64(busy0, 30.0), 800);
    DVT_EQ_I64(DVT_RESULT_I64(busy1, 30.0), 800);
    DVT_FAILS_WITH(DV_EINVAL, dv_cancel(busy0));
    DVT_EQ_I64(dv_future_status(busy0), DV_FINISHED);
    /* Still cancelled, later on. */
    DVT_EQ_I64(dv_future_status(queued), DV_CANCELLED);

    dv_release(busy0);
    dv_release(busy1);
    dv_release(queued);
    dv_release(dep);
}

/* Two clients share a task (one key, the same call): one cancelling it
 * drops only its own interest, and the other still gets the result. A
 * different call under that key is refused, not given the result. */
static void
test_cancel_spares_another_client(void **state)
{
    dv_client *c = *state;
    if (dvt_kind != DVT_TCP) {
        skip();
    }
    dv_client *c2 = DVT_NOTNULL(dvt_connect(dvt_where));
    dv_client *c3 = DVT_NOTNULL(dvt_connect(dvt_where));
    dv_opts o = DV_OPTS_INIT;
    o.key = "dvt-shared-sleep";
    dv_arg ms = dv_i64(1000), other = dv_i64(1);
    dv_future *mine = DVT_NOTNULL(dv_submit(c, "sleep_ms", 1, &ms, &o));
    /* A request answered on c's connection: its SUBMIT arrived first. */
    DVT_TRUE(dv_get_published(c, "dvt-barrier") == NULL);
    dv_future *theirs = DVT_NOTNULL(dv_submit(c2, "sleep_ms", 1, &ms, &o));
    dv_future *forged = DVT_NOTNULL(dv_submit(c3, "sleep_ms", 1, &other, &o));
    DVT_CONTAINS(DVT_ERROR(forged, 30.0), "already used for a different call");
    DVT_EQ_I64(dv_cancel(theirs), 0);
    DVT_EQ_I64(dv_future_status(theirs), DV_CANCELLED);
    DVT_EQ_I64(DVT_RESULT_I64(mine, 30.0), 1000);
    dv_release(forged);
    dv_release(theirs);
    dv_close(c3);
    dv_close(c2);
    dv_release(mine);
}

/* dv_wait_all waits for everything the client holds; a result made in
 * place with dv_return_bytes arrives whole. */
static void
test_wait_all_and_bytes_made_in_place(void **state)
{
    dv_client *c = *state;
    dv_future *fs[5];
    for (int i = 0; i < 4; i++) {
        fs[i] = DVT_NOTNULL(DV_SUBMIT(c, "sleep_ms", dv_i64(50 + i)));
    }
    fs[4] = DVT_NOTNULL(DV_SUBMIT(c, "make_bytes", dv_i64(100003)));
    DVT_EQ_I64(dv_wait_all(c, 30.0), 0);
    for (int i = 0; i < 5; i++) {
        DVT_EQ_I64(dv_future_status(fs[i]), DV_FINISHED);
    }
    size_t n = 0;
    const unsigned char *b = dv_value_bytes(DVT_RESULT(fs[4], 30.0), &n);
    DVT_EQ_I64(n, 100003);
    DVT_EQ_I64(b[100002], 100002 % 251);
    DVT_EQ_I64(b[251], 0);
    dvt_release_all(fs, 5);

    dv_future *slow = DVT_NOTNULL(DV_SUBMIT(c, "sleep_ms", dv_i64(3000)));
    DVT_FAILS_WITH(DV_ETIMEDOUT, dv_wait_all(c, 0.1));
    DVT_FAILS_WITH(DV_EINVAL, dv_wait_all(NULL, 0.1));
    dv_release(slow);
    DVT_EQ_I64(dv_wait_all(c, 1.0), 0); /* nothing held */
}

typedef struct s_waiter {
    dv_client *c;
    int rc;
    double returned; /* dvt_now() when dv_wait_all returned */
} s_waiter;

static void *
s_wait_all_thread(void *arg)
{
    s_waiter *w = arg;
    w->rc = dv_wait_all(w->c, 30.0);
    w->returned = dvt_now();
    return NULL;
}

/* dv_wait_all, woken only for the future it waits on, must not keep
 * other waiters of the client asleep, and must see a release of that
 * future by another thread. */
static void
test_wait_all_beside_other_waiters(void **state)
{
    dv_client *c = *state;
    char w0[128], w1[128];
    dvt_two_workers(c, w0, w1, sizeof(w0));

    dv_future *slow = DVT_NOTNULL(s_sleep(c, 1500, w0));
    dv_future *fast = DVT_NOTNULL(s_sleep(c, 50, w1));
    s_waiter w = {c, -1, 0};
    pthread_t t;
    DVT_TRUE(pthread_create(&t, NULL, s_wait_all_thread, &w) == 0);
    dvt_sleep(0.01); /* (it waits on slow, which comes first or not) */
    DVT_TRUE(dv_result(fast, 30.0) != NULL);
    DVT_EQ_I64(dv_future_status(slow), DV_PENDING); /* woken before it */
    pthread_join(t, NULL);
    DVT_EQ_I64(w.rc, 0);
    DVT_EQ_I64(dv_future_status(slow), DV_FINISHED);
    dv_release(slow);
    dv_release(fast);

    /* The future it waits on released: nothing is left to wait for (and
     * the call, cancelled, stops). */
    char path[512];
    snprintf(path, sizeof(path), "%s/wait_all_coop.log", getenv("DROVE_HOME"));
    dv_future *held =
        DVT_NOTNULL(DV_SUBMIT(c, "sleep_coop", dv_str(path), dv_i64(10000)));
    w = (s_waiter){c, -1, 0};
    DVT_TRUE(pthread_create(&t, NULL, s_wait_all_thread, &w) == 0);
    dvt_sleep(0.2);
    double released = dvt_now();
    dv_release(held);
    pthread_join(t, NULL);
    DVT_EQ_I64(w.rc, 0);
    DVT_TRUE(w.returned - released < 5.0); /* not the task's 10 s */
}

static void
test_release(void **state)
{
    dv_client *c = *state;
    enum { N = 200 };
    dv_arg args[N];
    dv_future *out[N];

    dv_release(NULL);

    /* Releasing a dependency right after submitting its dependent: the
     * dependent still gets the input. */
    dv_future *a = DVT_NOTNULL(s_sleep(c, 200, NULL));
    dv_future *b = DVT_NOTNULL(DV_SUBMIT(c, "inc", dv_fut(a)));
    dv_release(a);
    DVT_EQ_I64(DVT_RESULT_I64(b, 30.0), 201);
    dv_release(b);

    /* Releasing futures before they finish, then after. */
    for (int i = 0; i < N; i++) {
        args[i] = dv_i64(5000 + i);
    }
    DVT_EQ_I64(dv_map(c, "inc", N, args, out, NULL), N);
    dvt_release_all(out, N / 2);
    DVT_EQ_I64(dv_wait(out + N / 2, N / 2, 60.0), 0);
    dvt_release_all(out + N / 2, N / 2);

    /* Later submissions, also of the same released calls, are fine. */
    DVT_EQ_I64(dv_map(c, "inc", N, args, out, NULL), N);
    for (int i = 0; i < N; i++) {
        DVT_EQ_I64(DVT_RESULT_I64(out[i], 60.0), 5000 + i + 1);
    }
    dvt_release_all(out, N);
}

/* n doubles i * step (malloc'ed), and their sum in *sum: exact, as every
 * partial sum is a multiple of step far below 2^53. */
static double *
s_ramp(int n, double step, double *sum)
{
    double *v = malloc((size_t)n * sizeof(*v));
    DVT_TRUE(v != NULL);
    *sum = 0;
    for (int i = 0; i < n; i++) {
        v[i] = i * step;
        *sum += v[i];
    }
    return v;
}

/* Arguments larger than a message inlines (64 KiB) go into the frame by
 * reference: the call gets them whole, an equal call shares its task, and
 * a small call after them gets its own arguments, not the large ones. */
static void
test_large_arguments(void **state)
{
    dv_client *c = *state;
    enum { N = 200000 }; /* 1.6 MB */
    double sum = 0;
    double *data = s_ramp(N, 0.25, &sum);
    dv_future *a = DVT_NOTNULL(DV_SUBMIT(c, "f64s_stats", dv_f64s(data, N)));
    dv_future *again =
        DVT_NOTNULL(DV_SUBMIT(c, "f64s_stats", dv_f64s(data, N)));
    dv_future *part =
        DVT_NOTNULL(DV_SUBMIT(c, "f64s_stats", dv_f64s(data + 1, N - 1)));
    memset(data, 0, N * sizeof(*data)); /* copied by dv_submit */
    double three[3] = {1, 2, 4};
    dv_future *small =
        DVT_NOTNULL(DV_SUBMIT(c, "f64s_stats", dv_f64s(three, 3)));

    DVT_EQ_STR(dv_future_key(a), dv_future_key(again));
    const dv_value *st = DVT_RESULT(a, 30.0);
    DVT_EQ_I64(dv_value_i64(dv_value_at(st, 0)), N);
    DVT_EQ_F64(dv_value_f64(dv_value_at(st, 1)), sum, 0.0);
    st = DVT_RESULT(again, 30.0);
    DVT_EQ_F64(dv_value_f64(dv_value_at(st, 1)), sum, 0.0);
    st = DVT_RESULT(part, 30.0);
    DVT_EQ_I64(dv_value_i64(dv_value_at(st, 0)), N - 1);
    DVT_EQ_F64(dv_value_f64(dv_value_at(st, 1)), sum, 0.0); /* data[0] is 0 */
    st = DVT_RESULT(small, 30.0);
    DVT_EQ_I64(dv_value_i64(dv_value_at(st, 0)), 3);
    DVT_EQ_F64(dv_value_f64(dv_value_at(st, 1)), 7.0, 0.0);
    dv_release(a);
    dv_release(again);
    dv_release(part);
    dv_release(small);
    free(data);
}

/* Arguments of every size come back whole: a short list is copied into
 * the worker's job (DVI_JOB_ARGS_INLINE, 512 bytes encoded) and decoded
 * by copying, a long one decoded where it arrived. Bytes and arrays of
 * sizes either side of that line, echoed. */
static void
test_arguments_either_side_of_inline(void **state)
{
    dv_client *c = *state;
    enum { NB = 14, MAXB = 5000, NF = 8 };
    static const size_t sizes[NB] = {0,   1,   100, 504, 505, 506, 507,
                                     508, 509, 510, 511, 512, 600, MAXB};
    static const size_t counts[NF] = {1, 60, 61, 62, 63, 64, 65, 700};
    unsigned char buf[MAXB];
    double f64s[700];
    dv_future *b[NB], *f[NF];
    for (size_t i = 0; i < sizeof(buf); i++) {
        buf[i] = (unsigned char)(i * 7 + 3);
    }
    for (size_t i = 0; i < 700; i++) {
        f64s[i] = (double)i * 0.5 - 3;
    }
    for (size_t k = 0; k < NB; k++) {
        b[k] = DVT_NOTNULL(DV_SUBMIT(c, "echo", dv_bytes(buf, sizes[k])));
    }
    for (size_t k = 0; k < NF; k++) {
        f[k] = DVT_NOTNULL(DV_SUBMIT(c, "echo", dv_f64s(f64s, counts[k])));
    }
    for (size_t k = 0; k < NB; k++) {
        size_t n = 99;
        const void *p = dv_value_bytes(DVT_RESULT(b[k], 30.0), &n);
        DVT_EQ_I64(n, sizes[k]);
        DVT_TRUE(n == 0 || (p != NULL && memcmp(p, buf, n) == 0));
        dv_release(b[k]);
    }
    for (size_t k = 0; k < NF; k++) {
        size_t n = 0;
        const double *p = dv_value_f64s(DVT_RESULT(f[k], 30.0), &n);
        DVT_EQ_I64(n, counts[k]);
        DVT_TRUE(p != NULL && memcmp(p, f64s, n * sizeof(*p)) == 0);
        dv_release(f[k]);
    }
}

static void
test_scatter(void **state)
{
    dv_client *c = *state;
    enum { N = 100000 };
    double sum = 0;
    double *data = s_ramp(N, 0.5, &sum);

    dv_future *s = DVT_NOTNULL(dv_scatter(c, dv_f64s(data, N)));
    /* The client's buffer is no longer needed once dv_scatter returns. */
    memset(data, 0, N * sizeof(*data));
    dv_future *t1 = DVT_NOTNULL(DV_SUBMIT(c, "f64s_stats", dv_fut(s)));
    dv_future *t2 = DVT_NOTNULL(DV_SUBMIT(c, "echo", dv_fut(s)));

    const dv_value *st = DVT_RESULT(t1, 30.0);
    DVT_EQ_I64(dv_value_type(st), DV_LIST);
    DVT_EQ_I64(dv_value_i64(dv_value_at(st, 0)), N);
    DVT_EQ_F64(dv_value_f64(dv_value_at(st, 1)), sum, 0.0);

    size_t n = 0;
    const double *back = dv_value_f64s(DVT_RESULT(t2, 30.0), &n);
    DVT_TRUE(back != NULL);
    DVT_EQ_I64(n, N);
    DVT_EQ_F64(back[N - 1], (N - 1) * 0.5, 0.0);
    const double *direct = dv_value_f64s(DVT_RESULT(s, 30.0), &n);
    DVT_TRUE(direct != NULL);
    DVT_EQ_I64(n, N);
    DVT_EQ_F64(direct[12345], 12345 * 0.5, 0.0);

    /* A scattered string, as an argument next to literals. */
    dv_future *str = DVT_NOTNULL(dv_scatter(c, dv_str("hello, worker")));
    dv_future *e = DVT_NOTNULL(DV_SUBMIT(c, "echo", dv_fut(str)));
    DVT_EQ_STR(dv_value_str(DVT_RESULT(e, 30.0), NULL), "hello, worker");

    dv_release(s);
    dv_release(t1);
    dv_release(t2);
    dv_release(str);
    dv_release(e);
    free(data);
}

static void
test_publish_across_clients(void **state)
{
    dv_client *c = *state;
    if (dvt_kind != DVT_TCP) {
        skip();
    }
    /* The first client publishes a random number; it outlives the
     * future, and only its publisher can take it back. */
    dv_client *c1 = DVT_NOTNULL(dvt_connect(dvt_where));
    dv_future *r = DVT_NOTNULL(dv_submit(c1, "rand_i64", 0, NULL, NULL));
    int64_t v = DVT_RESULT_I64(r, 30.0);
    DVT_PASS(dv_publish(c1, "dvt-lucky", r));
    dv_release(r);

    /* Another client finds it and uses it as an argument. */
    dv_future *g = DVT_NOTNULL(dv_get_published(c, "dvt-lucky"));
    DVT_EQ_I64(DVT_RESULT_I64(g, 30.0), v);
    dv_future *h = DVT_NOTNULL(DV_SUBMIT(c, "add2", dv_fut(g), dv_i64(-v)));
    DVT_EQ_I64(DVT_RESULT_I64(h, 30.0), 0);
    DVT_TRUE(dv_get_published(c, "dvt-nothing-here") == NULL);
    /* It can neither remove the name nor publish over it. */
    DVT_FAILS_WITH(DV_EPERM, dv_unpublish(c, "dvt-lucky"));
    DVT_CONTAINS(dv_last_error(), "published by another client");
    DVT_FAILS_WITH(DV_EPERM, dv_publish(c, "dvt-lucky", h));
    dv_future *again = DVT_NOTNULL(dv_get_published(c, "dvt-lucky"));
    DVT_EQ_I64(DVT_RESULT_I64(again, 30.0), v);
    dv_release(again);

    DVT_PASS(dv_unpublish(c1, "dvt-lucky"));
    DVT_FAILS_WITH(DV_ENOTFOUND, dv_unpublish(c1, "dvt-lucky"));
    DVT_TRUE(dv_get_published(c, "dvt-lucky") == NULL);
    dv_close(c1);
    /* The future we already hold keeps its value. */
    DVT_EQ_I64(DVT_RESULT_I64(g, 30.0), v);
    dv_release(g);
    dv_release(h);
}

int
main(void)
{
    dvt_init(150);
    (void)dvt_funcs_anchor(); /* keeps libdvt_funcs.so linked */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pinned_tasks_run_there),
        /* Before the tests that leave a worker stopping (a daemon's is not
         * replaced): it needs two. */
        cmocka_unit_test(test_wait_all_beside_other_waiters),
        cmocka_unit_test(test_next_completed_in_completion_order),
        cmocka_unit_test(test_next_completed_sliding_window),
        cmocka_unit_test(test_next_completed_reused_array),
        cmocka_unit_test(test_wait_times_out),
        cmocka_unit_test(test_cancel_queued_task),
        cmocka_unit_test(test_cancel_spares_another_client),
        cmocka_unit_test(test_wait_all_and_bytes_made_in_place),
        cmocka_unit_test(test_release),
        cmocka_unit_test(test_large_arguments),
        cmocka_unit_test(test_arguments_either_side_of_inline),
        cmocka_unit_test(test_scatter),
        cmocka_unit_test(test_publish_across_clients),
    };
    return dvt_finish(dvt_run_clusters(
        "api_futures", tests, sizeof(tests) / sizeof(tests[0]), DVT_ALL));
}
