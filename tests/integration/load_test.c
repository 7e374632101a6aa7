/* drove — integration: load on one scheduler.
 *
 * A hundred clients connected at once each get their own results. A
 * million tiny tasks submitted at once, all waiting on one slow task, are
 * accepted, and the scheduler daemon grows by less than S_MAX_PER_TASK
 * bytes for each (VmRSS; unsanitized builds only: sanitizers bring their
 * own allocators, and a sanitized build submits fewer). While they wait,
 * a client holding one task comes and goes, and another's round trip is
 * not held up by the million it does not hold: a disconnect costs what
 * that peer held, not the whole graph.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "dvt_funcs.h"
#include "dvtest.h"

#define S_CLIENTS 100
#define S_MAX_PER_TASK 300

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define S_SANITIZED 1
#define S_WAITING 20000
#else
#define S_SANITIZED 0
#define S_WAITING 1000000
#endif

static dvt_cluster s_cl;

static void
test_hundred_clients_at_once(void **state)
{
    (void)state;
    static dv_client *cs[S_CLIENTS];
    static dv_future *fs[S_CLIENTS][4];
    for (int i = 0; i < S_CLIENTS; i++) {
        cs[i] = DVT_NOTNULL(dvt_connect(s_cl.addr)); /* uploads: no-op */
    }
    for (int i = 0; i < S_CLIENTS; i++) {
        for (int k = 0; k < 4; k++) {
            fs[i][k] = DVT_NOTNULL(
                DV_SUBMIT(cs[i], "add2", dv_i64(i), dv_i64(1000 * k)));
        }
    }
    for (int i = 0; i < S_CLIENTS; i++) {
        for (int k = 0; k < 4; k++) {
            DVT_EQ_I64(DVT_RESULT_I64(fs[i][k], 60.0), i + 1000 * k);
        }
    }
    for (int i = 0; i < S_CLIENTS; i++) {
        dvt_release_all(fs[i], 4);
        dv_close(cs[i]);
    }
}

/* The process's VmRSS in KiB once it stops changing (up to 5 s): what it
 * keeps, not what it is still freeing. */
static int64_t
s_settled_rss_kib(pid_t pid)
{
    int64_t last = dvt_proc_rss_kib(pid);
    for (int i = 0; i < 50; i++) {
        dvt_sleep(0.1);
        int64_t now = dvt_proc_rss_kib(pid);
        if (now == last) {
            break;
        }
        last = now;
    }
    return last;
}

/* Seconds for one tiny task's round trip on c. */
static double
s_roundtrip(dv_client *c, int64_t x)
{
    double t0 = dvt_now();
    dv_future *f = DVT_NOTNULL(DV_SUBMIT(c, "inc", dv_i64(x)));
    DVT_EQ_I64(DVT_RESULT_I64(f, 60.0), x + 1);
    dv_release(f);
    return dvt_now() - t0;
}

static void
test_million_waiting_tasks(void **state)
{
    (void)state;
    dv_client *c = DVT_NOTNULL(dvt_connect(s_cl.addr));
    pid_t sched = dvt_proc_pid(s_cl.sched);
    int64_t before = s_settled_rss_kib(sched);
    dv_future *gate = DVT_NOTNULL(DV_SUBMIT(c, "sleep_ms", dv_i64(60000)));
    dv_future **fs = calloc(S_WAITING, sizeof(*fs));
    double t0 = dvt_now();
    for (int i = 0; i < S_WAITING; i++) {
        fs[i] = DVT_NOTNULL(DV_SUBMIT(c, "add2", dv_fut(gate), dv_i64(i)));
    }
    /* Answered on the same connection: every SUBMIT has arrived. */
    DVT_TRUE(dv_get_published(c, "dvt-barrier") == NULL);
    double took = dvt_now() - t0;
    int64_t grown = (s_settled_rss_kib(sched) - before) * 1024;
    fprintf(stderr,
            "load_test: %d waiting tasks accepted in %.2f s; scheduler "
            "+%lld bytes per task\n",
            S_WAITING, took, (long long)(grown / S_WAITING));
    if (!S_SANITIZED) {
        DVT_LT_I64(grown / S_WAITING, S_MAX_PER_TASK);
    }

    /* Another client with one task comes and goes; a third's round trip
     * stays short. */
    dv_client *other = DVT_NOTNULL(dvt_connect(s_cl.addr));
    (void)s_roundtrip(other, 7);
    t0 = dvt_now();
    dv_close(other);
    double rt = s_roundtrip(c, 8);
    fprintf(stderr,
            "load_test: a client left and a round trip took %.1f ms beside "
            "%d waiting tasks\n",
            (dvt_now() - t0) * 1000, S_WAITING);
    DVT_LT_I64((int64_t)(rt * 1000), 1000);

    t0 = dvt_now();
    dvt_release_all(fs, S_WAITING);
    DVT_EQ_I64(dv_cancel(gate), 0);
    dv_release(gate);
    (void)s_roundtrip(c, 9);
    fprintf(stderr, "load_test: released %d tasks in %.2f s\n", S_WAITING,
            dvt_now() - t0);
    free(fs);
    dv_close(c);
}

int
main(void)
{
    dvt_init(280);
    (void)dvt_funcs_anchor();
    setenv("DROVE_TEST_PLAINTEXT", "1", 1); /* 100 handshakes: TLS apart */
    if (dvt_cluster_start(&s_cl, 2, 1) != 0) {
        return dvt_finish(1);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hundred_clients_at_once),
        cmocka_unit_test(test_million_waiting_tasks),
    };
    int failed = cmocka_run_group_tests_name("load", tests, NULL, NULL);
    dvt_cluster_stop(&s_cl);
    return dvt_finish(failed);
}
