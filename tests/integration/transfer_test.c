/* drove — integration: a dependency's bytes go from worker to worker.
 *
 * On a tcp cluster (a scheduler and workers w0 and w1), task A, pinned to
 * w0, makes a 32 MiB array; task B, pinned to w1, takes A's future as its
 * argument and returns the array's length and sum. The client only ever
 * fetches B's small result. /proc/PID/io's wchar counts every byte a
 * process hands to write-like system calls, sockets included: w0 must have
 * written the 32 MiB (to w1), while the scheduler and this client process
 * wrote less than 1 MiB each, which shows the data never went through
 * them.
 */
#include <stdio.h>

#include "dvt_funcs.h"
#include "dvtest.h"

#define MIB (1024 * 1024)
#define NDOUBLES (32 * MIB / 8)

static void
test_dependency_goes_worker_to_worker(void **state)
{
    dv_client *c = *state;
    dvt_cluster *cl = dvt_tcp_cluster();
    pid_t sched = dvt_proc_pid(cl->sched);
    pid_t w0 = dvt_proc_pid(cl->workers[0]);
    pid_t w1 = dvt_proc_pid(cl->workers[1]);

    /* Warm up: both workers have run something (and loaded the library). */
    dv_opts opts = DV_OPTS_INIT;
    opts.worker = "w0";
    dv_future *p0 = DVT_NOTNULL(dv_submit(c, "whoami", 0, NULL, &opts));
    opts.worker = "w1";
    dv_future *p1 = DVT_NOTNULL(dv_submit(c, "whoami", 0, NULL, &opts));
    DVT_EQ_STR(dv_value_str(DVT_RESULT(p0, 30.0), NULL), "w0");
    DVT_EQ_STR(dv_value_str(DVT_RESULT(p1, 30.0), NULL), "w1");
    dv_release(p0);
    dv_release(p1);

    int64_t before_sched = dvt_proc_wchar(sched);
    int64_t before_w0 = dvt_proc_wchar(w0);
    int64_t before_w1 = dvt_proc_wchar(w1);
    int64_t before_self = dvt_proc_wchar(0);
    DVT_TRUE(before_sched >= 0 && before_w0 >= 0 && before_w1 >= 0 &&
             before_self >= 0);

    dv_arg n = dv_i64(NDOUBLES);
    opts.worker = "w0";
    dv_future *a = DVT_NOTNULL(dv_submit(c, "make_f64s", 1, &n, &opts));
    dv_arg dep = dv_fut(a);
    opts.worker = "w1";
    dv_future *b = DVT_NOTNULL(dv_submit(c, "f64s_stats", 1, &dep, &opts));
    const dv_value *st = DVT_RESULT(b, 60.0);

    int64_t d_sched = dvt_proc_wchar(sched) - before_sched;
    int64_t d_w0 = dvt_proc_wchar(w0) - before_w0;
    int64_t d_w1 = dvt_proc_wchar(w1) - before_w1;
    int64_t d_self = dvt_proc_wchar(0) - before_self;
    fprintf(stderr,
            "dvtest: bytes written during the transfer: scheduler "
            "%lld, w0 %lld, w1 %lld, client %lld\n",
            (long long)d_sched, (long long)d_w0, (long long)d_w1,
            (long long)d_self);

    /* B saw the whole array. Elements are i % 1024: each block of 1024
     * sums to 1023 * 1024 / 2. */
    DVT_EQ_I64(dv_value_type(st), DV_LIST);
    DVT_EQ_I64(dv_value_i64(dv_value_at(st, 0)), NDOUBLES);
    DVT_EQ_F64(dv_value_f64(dv_value_at(st, 1)),
               (double)(NDOUBLES / 1024) * (1023.0 * 1024.0 / 2.0), 0.0);

    DVT_GE_I64(d_w0, 32 * MIB);
    DVT_LT_I64(d_sched, 1 * MIB);
    DVT_LT_I64(d_self, 1 * MIB);

    dv_release(a);
    dv_release(b);
}

int
main(void)
{
    dvt_init(100);
    (void)dvt_funcs_anchor(); /* keeps libdvt_funcs.so linked */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dependency_goes_worker_to_worker),
    };
    return dvt_finish(dvt_run_clusters(
        "transfer", tests, sizeof(tests) / sizeof(tests[0]), DVT_TCP));
}
