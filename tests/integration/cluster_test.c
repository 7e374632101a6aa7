/* drove — integration: `drove cluster` and the execution schemes.
 *
 * `drove cluster up -n 2` starts a scheduler and two workers in the
 * background; a program with dv_connect(NULL) and DROVE_SCHEME=cluster
 * runs tasks on both; `status` and `status --json` list both; `remove`
 * retires a worker whose results later tasks read, none computed again;
 * `down` leaves no drove process (checked by pid). `cleanup --detach`
 * forgets the processes and leaves them running; `cleanup` ends them.
 * DROVE_SCHEME=auto takes the running cluster, else the processes
 * scheme, and a function declared not thread-safe never runs on threads.
 * Workers start over ssh against a real sshd, as a job of a real
 * single-node Slurm, and from Open MPI's mpiexec.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dvt_funcs.h"
#include "dvtest.h"

/* Runs argv to its end (at most timeout_s); returns its exit code, -1 if
 * a signal ended it. Its output is in HOME/<name>.out and .log. */
static int
s_run(const char *name, char *const *argv, double timeout_s)
{
    dvt_proc *p = DVT_NOTNULL(dvt_spawn(name, argv));
    int status = 0;
    if (dvt_proc_wait(p, timeout_s, &status) != 0) {
        DVT_FAIL("%s still runs after %g s", name, timeout_s);
    }
    dvt_proc_kill(p); /* reaped: frees its slot */
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Runs `drove ARGS...` (NULL-terminated) to its end; returns its exit
 * code. */
static int
s_drove(const char *name, ...)
{
    char *argv[32] = {(char *)dvt_drove_bin()};
    int n = 1;
    va_list ap;
    va_start(ap, name);
    for (char *a; n < 31 && (a = va_arg(ap, char *)) != NULL;) {
        argv[n++] = a;
    }
    va_end(ap);
    argv[n] = NULL;
    int rc = s_run(name, argv, 120.0);
    DVT_TRUE(rc >= 0); /* drove exits; no signal ends it */
    return rc;
}

/* Runs the shell command cmd to its end; returns its exit code. */
static int
s_sh(const char *name, const char *cmd)
{
    char *argv[] = {"/bin/sh", "-c", (char *)cmd, NULL};
    return s_run(name, argv, 600.0);
}

/* Waits up to 30 s for the shell command cmd to succeed. */
static void
s_until(const char *name, const char *cmd)
{
    double end = dvt_now() + 30.0;
    while (s_sh(name, cmd) != 0) {
        if (dvt_now() > end) {
            DVT_FAIL("%s: '%s' still fails after 30 s", name, cmd);
        }
        dvt_sleep(0.2);
    }
}

/* Ends whatever a failed test left running: the cluster, then Slurm. */
static int
s_teardown(void **state)
{
    (void)state;
    s_drove("cleanup-after", "cluster", "cleanup", NULL);
    if (getenv("SLURM_CONF") != NULL) {
        char cmd[1200];
        snprintf(cmd, sizeof(cmd), "sh %s/support/slurm.sh stop %s/slurm",
                 DVT_SOURCE_DIR, dvt_home());
        s_sh("slurm-stop-after", cmd);
        unsetenv("SLURM_CONF");
    }
    return 0;
}

/* What `drove ...` printed on stdout as name. Caller frees. */
static char *
s_out(const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s.out", dvt_home(), name);
    return DVT_NOTNULL(dvt_read_file(path));
}

/* Whether `drove ...` run as name printed needle on stdout. */
static void
s_out_has(const char *name, const char *needle)
{
    char *text = s_out(name);
    DVT_CONTAINS(text, needle);
    free(text);
}

/* The process ids in text after each `"pid": `, into pids. */
static int
s_pids(const char *text, long *pids, int max)
{
    int n = 0;
    for (const char *p = text; n < max && (p = strstr(p, "\"pid\": "));) {
        p += 7;
        pids[n++] = strtol(p, NULL, 10);
    }
    return n;
}

/* Waits up to 20 s for process pid to be gone. */
static void
s_gone(long pid)
{
    double end = dvt_now() + 20.0;
    while (kill((pid_t)pid, 0) == 0 && dvt_now() < end) {
        dvt_sleep(0.05);
    }
    if (kill((pid_t)pid, 0) == 0) {
        DVT_FAIL("process %ld still runs", pid);
    }
}

/* The client of DROVE_SCHEME=scheme, the test functions uploaded if it
 * is a cluster. */
static dv_client *
s_connect_scheme(const char *scheme)
{
    setenv("DROVE_SCHEME", scheme, 1);
    dv_client *c = dv_connect(NULL);
    unsetenv("DROVE_SCHEME");
    if (c != NULL && strcmp(dv_scheme(c), "cluster") == 0) {
        DVT_TRUE(dv_upload_library(c, DVT_FUNCS_LIB) >= 0);
    }
    return c;
}

static void
test_up_status_tasks_down(void **state)
{
    (void)state;
    DVT_EQ_I64(
        s_drove("up", "cluster", "up", "-n", "2", "--threads", "1", NULL), 0);
    dv_client *c = DVT_NOTNULL(s_connect_scheme("cluster"));
    DVT_EQ_STR(dv_scheme(c), "cluster");
    DVT_CONTAINS(dv_scheme_reason(c), "DROVE_SCHEME=cluster");
    DVT_EQ_I64(dv_nworkers(c), 2);
    /* A task pinned to each worker runs there. */
    for (int i = 0; i < 2; i++) {
        char id[128];
        DVT_EQ_I64(dv_worker_id(c, i, id, sizeof(id)), 0);
        dv_opts o = DV_OPTS_INIT;
        o.worker = id;
        dv_future *f = DVT_NOTNULL(dv_submit(c, "whoami", 0, NULL, &o));
        DVT_EQ_STR(dv_value_str(DVT_RESULT(f, 30.0), NULL), id);
        dv_release(f);
    }
    dv_close(c);

    DVT_EQ_I64(s_drove("status", "cluster", "status", NULL), 0);
    s_out_has("status", "2 workers, 2 threads");
    DVT_EQ_I64(s_drove("status-json", "cluster", "status", "--json", NULL), 0);
    char *json = s_out("status-json");
    DVT_CONTAINS(json, "\"address\": \"tcp://127.0.0.1:");
    DVT_CONTAINS(json, "\"local\": true");
    long pids[8];
    int n = s_pids(json, pids, 8);
    DVT_EQ_I64(n, 2);
    char path[512];
    snprintf(path, sizeof(path), "%s/profile_default/connection.json",
             dvt_home());
    char *conn = DVT_NOTNULL(dvt_read_file(path));
    DVT_EQ_I64(s_pids(conn, pids + n, 1), 1); /* the scheduler's */
    n++;

    DVT_EQ_I64(s_drove("down", "cluster", "down", NULL), 0);
    for (int i = 0; i < n; i++) {
        s_gone(pids[i]);
    }
    DVT_TRUE(s_drove("status-after", "cluster", "status", NULL) != 0);
    free(json);
    free(conn);
}

/* A function of the library c uploaded runs on the worker that is not
 * old (one added since the upload). */
static void
s_runs_on_new_worker(dv_client *c, const char *old)
{
    dvt_wait_workers(c, 2, 30.0);
    char id[128];
    DVT_EQ_I64(dv_worker_id(c, 0, id, sizeof(id)), 0);
    if (strcmp(id, old) == 0) {
        DVT_EQ_I64(dv_worker_id(c, 1, id, sizeof(id)), 0);
    }
    dv_opts o = DV_OPTS_INIT;
    o.worker = id;
    dv_future *f = DVT_NOTNULL(dv_submit(c, "whoami", 0, NULL, &o));
    DVT_EQ_STR(dv_value_str(DVT_RESULT(f, 30.0), NULL), id);
    dv_release(f);
}

/* Replaces one of c's two workers: `drove cluster remove` retires it, and
 * one that `drove cluster add ADD...` (NULL-terminated) starts gets the
 * library c uploaded before it came. tag names the runs. */
static void
s_replace_worker(dv_client *c, const char *tag, char *const *add)
{
    char old[128], stays[128], name[64];
    dvt_two_workers(c, old, stays, sizeof(old));
    snprintf(name, sizeof(name), "remove-%s", tag);
    DVT_EQ_I64(s_drove(name, "cluster", "remove", old, NULL), 0);
    char *argv[32] = {(char *)dvt_drove_bin(), "cluster", "add"};
    int n = 3;
    for (int i = 0; add[i] != NULL && n < 31; i++) {
        argv[n++] = add[i];
    }
    argv[n] = NULL;
    snprintf(name, sizeof(name), "add-%s", tag);
    DVT_EQ_I64(s_run(name, argv, 120.0), 0);
    s_runs_on_new_worker(c, stays);
}

/* `remove` retires a worker; what it made is read afterwards on the
 * other, none of it computed again. */
static void
test_remove_keeps_results(void **state)
{
    (void)state;
    DVT_EQ_I64(
        s_drove("up2", "cluster", "up", "-n", "2", "--threads", "1", NULL), 0);
    dv_client *c = DVT_NOTNULL(s_connect_scheme("cluster"));
    char gone[128], stays[128], mark[256];
    dvt_two_workers(c, gone, stays, sizeof(gone));
    snprintf(mark, sizeof(mark), "%s/made-before-remove", dvt_home());
    dv_future *made = dvt_sleep_marked(c, mark, 1, gone);
    DVT_EQ_STR(dv_value_str(DVT_RESULT(made, 30.0), NULL), gone);
    DVT_EQ_I64(s_drove("remove", "cluster", "remove", gone, NULL), 0);
    DVT_EQ_I64(dv_nworkers(c), 1);
    dv_future *h = DVT_NOTNULL(DV_SUBMIT(c, "holder_of", dv_fut(made)));
    DVT_EQ_STR(dv_value_str(DVT_RESULT(h, 30.0), NULL), stays);
    DVT_EQ_I64(dvt_count_lines(mark), 1);
    DVT_TRUE(s_drove("remove-none", "cluster", "remove", "nosuch", NULL) != 0);
    dv_release(h);
    dv_release(made);
    /* A worker added later gets the library this client uploaded. */
    DVT_EQ_I64(s_drove("scale", "cluster", "scale", "2", NULL), 0);
    s_runs_on_new_worker(c, stays);
    dv_close(c);
    DVT_EQ_I64(s_drove("down2", "cluster", "down", NULL), 0);
}

static void
test_cleanup_detach_and_end(void **state)
{
    (void)state;
    DVT_EQ_I64(
        s_drove("up3", "cluster", "up", "-n", "1", "--threads", "1", NULL), 0);
    DVT_EQ_I64(s_drove("json3", "cluster", "status", "--json", NULL), 0);
    char *json = s_out("json3");
    long pid = 0;
    DVT_EQ_I64(s_pids(json, &pid, 1), 1);
    DVT_EQ_I64(s_drove("detach", "cluster", "cleanup", "--detach", NULL), 0);
    s_out_has("detach", "forgot 2 processes");
    /* Forgotten: still running, no longer marked as started here. */
    DVT_EQ_I64(kill((pid_t)pid, 0), 0);
    DVT_EQ_I64(s_drove("json4", "cluster", "status", "--json", NULL), 0);
    s_out_has("json4", "\"local\": false");
    DVT_EQ_I64(s_drove("down3", "cluster", "down", NULL), 0);
    s_gone(pid);
    free(json);

    DVT_EQ_I64(
        s_drove("up5", "cluster", "up", "-n", "1", "--threads", "1", NULL), 0);
    DVT_EQ_I64(s_drove("json5", "cluster", "status", "--json", NULL), 0);
    json = s_out("json5");
    DVT_EQ_I64(s_pids(json, &pid, 1), 1);
    DVT_EQ_I64(s_drove("cleanup", "cluster", "cleanup", NULL), 0);
    s_out_has("cleanup", "ended 2 processes");
    s_gone(pid);
    DVT_TRUE(s_drove("status5", "cluster", "status", NULL) != 0);
    free(json);
    /* An up that cannot start its workers ends the scheduler it started. */
    DVT_TRUE(s_drove("up-bad", "cluster", "up", "--ssh", "root@127.0.0.1:1",
                     "--address", "tcp://127.0.0.1:0", NULL) != 0);
    char log[600];
    snprintf(log, sizeof(log), "%s/up-bad.log", dvt_home());
    DVT_TRUE(dvt_wait_text(NULL, log, "ended the 1 processes it started", 1));
    DVT_TRUE(s_drove("status-bad", "cluster", "status", NULL) != 0);
}

static void
test_schemes(void **state)
{
    (void)state;
    setenv("DROVE_SCHEME", "bogus", 1);
    DVT_TRUE(dv_connect(NULL) == NULL);
    DVT_CONTAINS(dv_last_error(), "DROVE_SCHEME=bogus");
    unsetenv("DROVE_SCHEME");
    /* No cluster runs: cluster is an error naming the profile; auto
     * takes processes (this program's functions are exported). */
    DVT_TRUE(s_connect_scheme("cluster") == NULL);
    DVT_CONTAINS(dv_last_error(), "profile 'default'");
    dv_client *c = DVT_NOTNULL(s_connect_scheme("auto"));
    DVT_EQ_STR(dv_scheme(c), "processes");
    DVT_CONTAINS(dv_scheme_reason(c), "exported");
    dv_future *f = DVT_NOTNULL(DV_SUBMIT(c, "unsafe_inc", dv_i64(41)));
    DVT_EQ_I64(DVT_RESULT_I64(f, 30.0), 42);
    dv_release(f);
    dv_close(c);
    /* On threads, the function that is not thread-safe is refused. */
    c = DVT_NOTNULL(s_connect_scheme("threads"));
    DVT_EQ_STR(dv_scheme(c), "threads");
    DVT_TRUE(DV_SUBMIT(c, "unsafe_inc", dv_i64(1)) == NULL);
    DVT_CONTAINS(dv_last_error(), "unsafe_inc");
    DVT_CONTAINS(dv_last_error(), "threads");
    dv_close(c);
    /* With a cluster up, auto takes it. */
    DVT_EQ_I64(
        s_drove("up6", "cluster", "up", "-n", "1", "--threads", "1", NULL), 0);
    c = DVT_NOTNULL(s_connect_scheme("auto"));
    DVT_EQ_STR(dv_scheme(c), "cluster");
    dv_close(c);
    DVT_EQ_I64(s_drove("down6", "cluster", "down", NULL), 0);
}

/* A client through ssh://: a large result comes relayed by the scheduler
 * (the workers are not reachable through the tunnel). */
static void
s_tunnel(const char *dir, const char *port, const char *key)
{
    char spec[128], opts[800];
    snprintf(spec, sizeof(spec), "ssh://root@127.0.0.1:%s/profile:default",
             port);
    snprintf(opts, sizeof(opts),
             "-i %s -o StrictHostKeyChecking=no -o "
             "UserKnownHostsFile=/dev/null",
             key);
    setenv("DROVE_SSH_OPTIONS", opts, 1);
    dv_client *c = DVT_NOTNULL(dv_connect(spec));
    unsetenv("DROVE_SSH_OPTIONS");
    DVT_EQ_STR(dv_scheme(c), "cluster");
    DVT_TRUE(dv_upload_library(c, DVT_FUNCS_LIB) >= 0);
    dv_future *f = DVT_NOTNULL(DV_SUBMIT(c, "make_bytes", dv_i64(2000003)));
    size_t n = 0;
    const unsigned char *b = dv_value_bytes(DVT_RESULT(f, 60.0), &n);
    DVT_EQ_I64(n, 2000003);
    DVT_EQ_I64(b[2000002], 2000002 % 251);
    dv_release(f);
    dv_close(c);
    char log[700];
    snprintf(log, sizeof(log), "%s/profile_default/logs/scheduler.log",
             dvt_home());
    DVT_TRUE(dvt_wait_text(NULL, log, "relayed make_bytes-", 10.0));
    (void)dir;
}

/* Workers over ssh, against a real key-only sshd on 127.0.0.1 (installed
 * when missing): they start, run tasks, and `down` stops them. */
static void
test_ssh_launcher(void **state)
{
    (void)state;
    char dir[512], port[32], target[64], key[600], home[600];
    snprintf(dir, sizeof(dir), "%s/sshd", dvt_home());
    char *argv[] = {"/bin/sh", DVT_SOURCE_DIR "/support/sshd.sh", dir, NULL};
    dvt_proc *sshd = DVT_NOTNULL(dvt_spawn("sshd", argv));
    DVT_PASS(dvt_proc_read_line(sshd, port, sizeof(port), 600.0));
    snprintf(target, sizeof(target), "root@127.0.0.1:%s", port);
    snprintf(key, sizeof(key), "%s/user_ed25519", dir);
    snprintf(home, sizeof(home), "%s/remote", dir);
    double t0 = dvt_now();
    setenv("DROVE_LOG", "info", 1); /* the scheduler logs what it relays */
    DVT_EQ_I64(s_drove("up-ssh", "cluster", "up", "--ssh", target, "-n", "2",
                       "--threads", "1", "--ssh-key", key, "--ssh-option",
                       "StrictHostKeyChecking=no", "--ssh-option",
                       "UserKnownHostsFile=/dev/null", "--address",
                       "tcp://127.0.0.1:0", "--remote-home", home,
                       "--remote-drove", dvt_drove_bin(), NULL),
               0);
    fprintf(stderr, "cluster_test: up --ssh with 2 workers: %.2f s\n",
            dvt_now() - t0);
    /* The worker's part of the profile went there, never the CA's key. */
    char path[700];
    snprintf(path, sizeof(path), "%s/profile_default/worker.pem", home);
    DVT_EQ_I64(access(path, R_OK), 0);
    snprintf(path, sizeof(path), "%s/profile_default/ca.key", home);
    DVT_TRUE(access(path, F_OK) != 0);
    dv_client *c = DVT_NOTNULL(s_connect_scheme("cluster"));
    DVT_EQ_I64(dv_nworkers(c), 2);
    dv_future *f = DVT_NOTNULL(DV_SUBMIT(c, "inc", dv_i64(1)));
    DVT_EQ_I64(DVT_RESULT_I64(f, 30.0), 2);
    dv_release(f);
    char *add[] = {"--ssh",
                   target,
                   "-n",
                   "1",
                   "--threads",
                   "1",
                   "--ssh-key",
                   key,
                   "--ssh-option",
                   "StrictHostKeyChecking=no",
                   "--ssh-option",
                   "UserKnownHostsFile=/dev/null",
                   "--remote-home",
                   home,
                   "--remote-drove",
                   (char *)dvt_drove_bin(),
                   NULL};
    s_replace_worker(c, "ssh", add);
    dv_close(c);
    unsetenv("DROVE_LOG");
    s_tunnel(dir, port, key);
    unsetenv("DROVE_LOG");
    s_tunnel(dir, port, key);
    DVT_EQ_I64(s_drove("json-ssh", "cluster", "status", "--json", NULL), 0);
    char *json = s_out("json-ssh");
    DVT_CONTAINS(json, "\"local\": true");
    long pids[4];
    int n = s_pids(json, pids, 4);
    DVT_EQ_I64(n, 2);
    DVT_EQ_I64(s_drove("down-ssh", "cluster", "down", NULL), 0);
    for (int i = 0; i < n; i++) {
        s_gone(pids[i]);
    }
    free(json);
    dvt_proc_kill(sshd);
}

/* Workers as a Slurm job, against a real single-node Slurm the test
 * starts (munge, slurmctld, slurmd; installed when missing): they arrive
 * through sbatch and run tasks; `down` ends the job, and so does
 * `cleanup` (scancel). */
static void
test_slurm_launcher(void **state)
{
    (void)state;
    char dir[512], cmd[1400];
    snprintf(dir, sizeof(dir), "%s/slurm", dvt_home());
    snprintf(cmd, sizeof(cmd), "sh %s/support/slurm.sh start %s",
             DVT_SOURCE_DIR, dir);
    DVT_EQ_I64(s_sh("slurm-start", cmd), 0);
    snprintf(cmd, sizeof(cmd), "%s/slurm.conf", dir);
    setenv("SLURM_CONF", cmd, 1);
    double t0 = dvt_now();
    DVT_EQ_I64(s_drove("up-slurm", "cluster", "up", "--slurm", "-n", "1",
                       "--cpus-per-worker", "1", NULL),
               0);
    dv_client *c = DVT_NOTNULL(s_connect_scheme("cluster"));
    DVT_EQ_I64(dv_nworkers(c), 1);
    dv_future *f = DVT_NOTNULL(DV_SUBMIT(c, "inc", dv_i64(1)));
    DVT_EQ_I64(DVT_RESULT_I64(f, 30.0), 2);
    fprintf(stderr, "cluster_test: up --slurm to the first task: %.2f s\n",
            dvt_now() - t0);
    dv_release(f);
    /* A second job's worker gets the library uploaded before it came. */
    char old[128];
    DVT_EQ_I64(dv_worker_id(c, 0, old, sizeof(old)), 0);
    DVT_EQ_I64(
        s_drove("add-slurm", "cluster", "add", "--slurm", "-n", "1", NULL), 0);
    s_runs_on_new_worker(c, old);
    dv_close(c);
    DVT_EQ_I64(s_sh("squeue-1", "test -n \"$(squeue -h)\""), 0);
    DVT_EQ_I64(s_drove("down-slurm", "cluster", "down", NULL), 0);
    s_until("squeue-2", "test -z \"$(squeue -h)\"");

    DVT_EQ_I64(
        s_drove("up-slurm2", "cluster", "up", "--slurm", "-n", "1", NULL), 0);
    DVT_EQ_I64(s_drove("cleanup-slurm", "cluster", "cleanup", NULL), 0);
    s_until("squeue-3", "test -z \"$(squeue -h)\"");
    snprintf(cmd, sizeof(cmd), "sh %s/support/slurm.sh stop %s", DVT_SOURCE_DIR,
             dir);
    DVT_EQ_I64(s_sh("slurm-stop", cmd), 0);
    unsetenv("SLURM_CONF");
}

/* Workers from mpiexec (Debian's Open MPI, installed when missing). */
static void
test_mpi_launcher(void **state)
{
    (void)state;
    char cmd[700];
    snprintf(cmd, sizeof(cmd), "sh %s/support/need.sh mpiexec openmpi-bin",
             DVT_SOURCE_DIR);
    DVT_EQ_I64(s_sh("need-mpi", cmd), 0);
    DVT_EQ_I64(s_drove("up-mpi", "cluster", "up", "--mpi", "-n", "2",
                       "--threads", "1", NULL),
               0);
    dv_client *c = DVT_NOTNULL(s_connect_scheme("cluster"));
    DVT_EQ_I64(dv_nworkers(c), 2);
    dv_future *f = DVT_NOTNULL(DV_SUBMIT(c, "inc", dv_i64(41)));
    DVT_EQ_I64(DVT_RESULT_I64(f, 30.0), 42);
    dv_release(f);
    /* A worker from a second mpiexec. */
    char *add[] = {"--mpi", "-n", "1", "--threads", "1", NULL};
    s_replace_worker(c, "mpi", add);
    dv_close(c);
    DVT_EQ_I64(s_drove("json-mpi", "cluster", "status", "--json", NULL), 0);
    s_out_has("json-mpi", "\"local\": true");
    DVT_EQ_I64(s_drove("down-mpi", "cluster", "down", NULL), 0);
    /* mpiexec returned once its workers exited. */
    s_until("mpiexec-gone", "! pgrep -x mpiexec");
}

int
main(void)
{
    dvt_init(600);
    (void)dvt_funcs_anchor();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_up_status_tasks_down, s_teardown),
        cmocka_unit_test_teardown(test_remove_keeps_results, s_teardown),
        cmocka_unit_test_teardown(test_cleanup_detach_and_end, s_teardown),
        cmocka_unit_test_teardown(test_schemes, s_teardown),
        cmocka_unit_test_teardown(test_ssh_launcher, s_teardown),
        cmocka_unit_test_teardown(test_slurm_launcher, s_teardown),
        cmocka_unit_test_teardown(test_mpi_launcher, s_teardown),
    };
    return dvt_finish(
        cmocka_run_group_tests_name("cluster", tests, NULL, NULL));
}
