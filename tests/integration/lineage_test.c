/* drove — integration: nothing lost when a worker dies.
 *
 * On a scheduler with three worker daemons, a worker is killed (SIGKILL)
 * while a 20,000-task map feeds 10,000 pair sums: every sum comes out
 * right, because what only the dead worker held is computed again from
 * its lineage. The same with a chain of 500 links whose results were
 * released as it went, when the worker holding the last link dies; and a
 * client whose finished, large result vanished with its holder gets it
 * anyway, computed again. Short tasks queued behind a long one move to
 * idle workers.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dvt_funcs.h"
#include "dvtest.h"

#define S_N 20000

static dvt_cluster s_cl;

/* The process of the worker whose id is id: "wN" is workers[N]. */
static dvt_proc *
s_worker_named(const char *id)
{
    int i = id[0] == 'w' ? atoi(id + 1) : -1;
    return i >= 0 && i < s_cl.nworkers ? s_cl.workers[i] : NULL;
}

/* Kills the worker named id with SIGKILL and forgets it. */
static void
s_kill_worker(const char *id)
{
    dvt_proc *p = DVT_NOTNULL(s_worker_named(id));
    DVT_EQ_I64(kill(dvt_proc_pid(p), SIGKILL), 0);
    int status = 0;
    DVT_EQ_I64(dvt_proc_wait(p, 10.0, &status), 0);
    for (int i = 0; i < s_cl.nworkers; i++) {
        if (s_cl.workers[i] == p) {
            s_cl.workers[i] = NULL;
        }
    }
}

/* Starts a fresh worker in the slot of the one killed, named like it. */
static void
s_restore_workers(void)
{
    dvt_cluster_stop(&s_cl);
    DVT_PASS(dvt_cluster_start(&s_cl, 3, 1));
}

/* The id of the worker holding f's result. */
static void
s_holder(dv_client *c, dv_future *f, char *id, size_t size)
{
    dv_future *h = DVT_NOTNULL(DV_SUBMIT(c, "holder_of", dv_fut(f)));
    snprintf(id, size, "%s", dv_value_str(DVT_RESULT(h, 30.0), NULL));
    dv_release(h);
}

static void
test_map_of_pair_sums_survives_a_worker_kill(void **state)
{
    (void)state;
    dv_client *c = DVT_NOTNULL(dvt_connect(s_cl.addr));
    dv_arg *args = calloc(S_N, sizeof(*args));
    dv_future **a = calloc(S_N, sizeof(*a));
    dv_future **sums = calloc(S_N / 2, sizeof(*sums));
    for (int i = 0; i < S_N; i++) {
        args[i] = dv_i64(i);
    }
    DVT_EQ_I64(dv_map(c, "inc", S_N, args, a, NULL), S_N);
    for (int i = 0; i < S_N / 2; i++) {
        sums[i] = DVT_NOTNULL(
            DV_SUBMIT(c, "add2", dv_fut(a[2 * i]), dv_fut(a[2 * i + 1])));
    }
    /* The inputs are only lineage now: the sums need them. */
    dvt_release_all(a, S_N);
    for (int i = 0; i < 2000; i++) {
        DVT_NOTNULL(dv_next_completed(c, sums, S_N / 2, 60.0));
    }
    double t0 = dvt_now();
    s_kill_worker("w1");
    for (int i = 0; i < S_N / 2; i++) {
        DVT_EQ_I64(DVT_RESULT_I64(sums[i], 120.0), 4 * (int64_t)i + 3);
    }
    fprintf(stderr,
            "lineage_test: map: every sum right %.2f s after the kill\n",
            dvt_now() - t0);
    dvt_release_all(sums, S_N / 2);
    free(sums);
    free(a);
    free(args);
    dv_close(c);
    s_restore_workers();
}

static void
test_chain_survives_the_death_of_its_holder(void **state)
{
    (void)state;
    dv_client *c = DVT_NOTNULL(dvt_connect(s_cl.addr));
    dv_future *link = DVT_NOTNULL(DV_SUBMIT(c, "inc", dv_i64(0)));
    for (int i = 1; i < 500; i++) {
        dv_future *next = DVT_NOTNULL(DV_SUBMIT(c, "inc", dv_fut(link)));
        dv_release(link); /* kept only as the next link's lineage */
        link = next;
    }
    DVT_EQ_I64(dv_wait(&link, 1, 60.0), 0);
    char id[128];
    s_holder(c, link, id, sizeof(id));
    double t0 = dvt_now();
    s_kill_worker(id);
    /* The last link, and a task that needs it, come back right. */
    dv_future *after = DVT_NOTNULL(DV_SUBMIT(c, "inc", dv_fut(link)));
    DVT_EQ_I64(DVT_RESULT_I64(after, 60.0), 501);
    DVT_EQ_I64(DVT_RESULT_I64(link, 60.0), 500);
    fprintf(stderr, "lineage_test: chain of 500 computed again in %.2f s\n",
            dvt_now() - t0);
    dv_release(after);
    dv_release(link);
    dv_close(c);
    s_restore_workers();
}

static void
test_finished_large_result_fetched_after_its_holder_died(void **state)
{
    (void)state;
    dv_client *c = DVT_NOTNULL(dvt_connect(s_cl.addr));
    /* 20,000 doubles: too large to come with FINISHED, so the client
     * fetches it from its holder, which is gone by then. */
    dv_future *big = DVT_NOTNULL(DV_SUBMIT(c, "make_f64s", dv_i64(20000)));
    DVT_EQ_I64(dv_wait(&big, 1, 60.0), 0);
    DVT_EQ_I64(dv_future_status(big), DV_FINISHED);
    char id[128];
    s_holder(c, big, id, sizeof(id));
    s_kill_worker(id);
    const dv_value *v = DVT_RESULT(big, 60.0);
    size_t n = 0;
    const double *d = dv_value_f64s(v, &n);
    DVT_EQ_I64(n, 20000);
    DVT_EQ_F64(d[19999], 19999 % 1024, 0.0);
    dv_release(big);
    dv_close(c);
    s_restore_workers();
}

/* Short tasks placed behind a long one on its worker are given to idle
 * workers instead of waiting for it (work stealing). */
static void
test_queued_work_moves_to_an_idle_worker(void **state)
{
    (void)state;
    dv_client *c = DVT_NOTNULL(dvt_connect(s_cl.addr));
    dv_future *slow = DVT_NOTNULL(DV_SUBMIT(c, "sleep_ms", dv_i64(6000)));
    dvt_sleep(0.2);
    dv_future *quick[40];
    double t0 = dvt_now();
    for (int i = 0; i < 40; i++) {
        quick[i] = DVT_NOTNULL(DV_SUBMIT(c, "sleep_ms", dv_i64(20)));
    }
    DVT_EQ_I64(dv_wait(quick, 40, 30.0), 0);
    double took = dvt_now() - t0;
    fprintf(stderr, "lineage_test: 40 short tasks beside a 6 s one: %.2f s\n",
            took);
    DVT_LT_I64((int64_t)(took * 1000), 3000);
    DVT_EQ_I64(dv_future_status(slow), DV_PENDING);
    dvt_release_all(quick, 40);
    dv_release(slow);
    dv_close(c);
    s_restore_workers();
}

int
main(void)
{
    dvt_init(300);
    (void)dvt_funcs_anchor();
    setenv("DROVE_TEST_PLAINTEXT", "1", 1); /* speed: TLS is tested apart */
    if (dvt_cluster_start(&s_cl, 3, 1) != 0) {
        return dvt_finish(1);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_map_of_pair_sums_survives_a_worker_kill),
        cmocka_unit_test(test_chain_survives_the_death_of_its_holder),
        cmocka_unit_test(
            test_finished_large_result_fetched_after_its_holder_died),
        cmocka_unit_test(test_queued_work_moves_to_an_idle_worker),
    };
    int failed = cmocka_run_group_tests_name("lineage", tests, NULL, NULL);
    dvt_cluster_stop(&s_cl);
    return dvt_finish(failed);
}
