/* drove — integration: a dependency's bytes go from worker to worker.
 *
 * On a tcp cluster (a scheduler and workers w0 and w1), task A, pinned to
 * w0, makes a 32 MiB array; task B, pinned to w1, takes A's future as its
 * argument and returns the array's length and sum. The client only ever
 * fetches B's small result. /proc/PID/io's wchar counts every byte a
 * process hands to write-like system calls, sockets included: w0 must have
 * written the 32 MiB (to w1), while the scheduler and this client process
 * wrote less than 1 MiB each, which shows the data never went through
 * them. The two workers share this host and its user: the bytes go by
 * w0's socket file, not TLS (proto/samehost.h), which /proc/net/unix
 * shows as a connection on a file of this test's runtime directory.
 * Without that file, a worker fetches over TLS and gets the same bytes.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dvt_funcs.h"
#include "dvtest.h"

#define MIB (1024 * 1024)
#define NDOUBLES (32 * MIB / 8)

/* This test's $XDG_RUNTIME_DIR/drove-UID. */
static char s_rundir[512];

/* Connected Unix sockets on the workers' socket files, from /proc/net/unix
 * ("Num RefCount Protocol Flags Type St Inode Path"; St 03: connected). */
static int
s_samehost_conns(void)
{
    char *t = DVT_NOTNULL(dvt_read_file("/proc/net/unix"));
    int n = 0;
    for (char *line = strtok(t, "\n"); line; line = strtok(NULL, "\n")) {
        char st[8] = "";
        sscanf(line, "%*s %*s %*s %*s %*s %7s", st);
        n += strcmp(st, "03") == 0 && strstr(line, s_rundir) != NULL;
    }
    free(t);
    return n;
}

/* Removes the socket files under s_rundir/CLUSTER/; returns how many. */
static int
s_remove_socket_files(void)
{
    int n = 0;
    DIR *top = DVT_NOTNULL(opendir(s_rundir));
    for (struct dirent *d; (d = readdir(top)) != NULL;) {
        char dir[1024];
        snprintf(dir, sizeof(dir), "%s%s", s_rundir, d->d_name);
        DIR *in = d->d_name[0] != '.' ? opendir(dir) : NULL;
        for (struct dirent *f; in && (f = readdir(in)) != NULL;) {
            char path[1536];
            snprintf(path, sizeof(path), "%s/%s", dir, f->d_name);
            n += strstr(f->d_name, ".sock") != NULL && unlink(path) == 0;
        }
        if (in != NULL) {
            closedir(in);
        }
    }
    closedir(top);
    return n;
}

/* A on worker `from` makes 32 MiB, B on `to` reads it: B's answer says
 * it saw every byte. */
static void
s_move(dv_client *c, const char *from, const char *to)
{
    dv_opts opts = DV_OPTS_INIT;
    dv_arg n = dv_i64(NDOUBLES);
    opts.worker = from;
    dv_future *a = DVT_NOTNULL(dv_submit(c, "make_f64s", 1, &n, &opts));
    dv_arg dep = dv_fut(a);
    opts.worker = to;
    dv_future *b = DVT_NOTNULL(dv_submit(c, "f64s_stats", 1, &dep, &opts));
    const dv_value *st = DVT_RESULT(b, 60.0);
    /* Elements are i % 1024: each block of 1024 sums to 1023 * 1024 / 2. */
    DVT_EQ_I64(dv_value_type(st), DV_LIST);
    DVT_EQ_I64(dv_value_i64(dv_value_at(st, 0)), NDOUBLES);
    DVT_EQ_F64(dv_value_f64(dv_value_at(st, 1)),
               (double)(NDOUBLES / 1024) * (1023.0 * 1024.0 / 2.0), 0.0);
    dv_release(a);
    dv_release(b);
}

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

    int conns_before = s_samehost_conns();
    s_move(c, "w0", "w1");

    int64_t d_sched = dvt_proc_wchar(sched) - before_sched;
    int64_t d_w0 = dvt_proc_wchar(w0) - before_w0;
    int64_t d_w1 = dvt_proc_wchar(w1) - before_w1;
    int64_t d_self = dvt_proc_wchar(0) - before_self;
    fprintf(stderr,
            "dvtest: bytes written during the transfer: scheduler "
            "%lld, w0 %lld, w1 %lld, client %lld\n",
            (long long)d_sched, (long long)d_w0, (long long)d_w1,
            (long long)d_self);

    DVT_GE_I64(d_w0, 32 * MIB);
    DVT_LT_I64(d_sched, 1 * MIB);
    DVT_LT_I64(d_self, 1 * MIB);
    /* w1 dialled w0's socket file: w0's end shows it connected. */
    DVT_GE_I64(s_samehost_conns(), conns_before + 1);
}

/* Without w0's socket file (removed: as if made in a directory w2 cannot
 * reach), a new worker w2 fetches from w0 over TLS: no new connection on
 * a socket file, the same bytes. */
static void
test_without_the_socket_file_peers_fetch_over_tls(void **state)
{
    dv_client *c = *state;
    dvt_cluster *cl = dvt_tcp_cluster();
    DVT_GE_I64(s_remove_socket_files(), 2); /* w0's and w1's */
    DVT_NOTNULL(dvt_cluster_add_worker(cl, 1, NULL));
    dvt_wait_workers(c, 3, 30.0);
    int conns_before = s_samehost_conns();
    s_move(c, "w0", "w2");
    DVT_EQ_I64(s_samehost_conns(), conns_before);
}

int
main(void)
{
    dvt_init(100);
    (void)dvt_funcs_anchor(); /* keeps libdvt_funcs.so linked */
    /* dvt_init made the home the runtime directory. */
    snprintf(s_rundir, sizeof(s_rundir), "%s/drove-%u/", dvt_home(),
             (unsigned)geteuid());
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dependency_goes_worker_to_worker),
        cmocka_unit_test(test_without_the_socket_file_peers_fetch_over_tls),
    };
    return dvt_finish(dvt_run_clusters(
        "transfer", tests, sizeof(tests) / sizeof(tests[0]), DVT_TCP));
}
