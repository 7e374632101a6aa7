/* drove — integration: a scheduler with --state outlives its restarts.
 *
 * A client of `drove scheduler --state FILE` publishes small results, a
 * large one (> 64 KiB), a scattered value, and results computed from
 * other tasks, some after waiting for them (the scheduler fetches the
 * value from a worker), some at once (the value comes back in DONE), a
 * name twice, a name it then removes; and closes. The scheduler is killed with
 * SIGKILL and its workers with it. A restarted scheduler on the same file (and
 * profile) gives a new client — one that uploads nothing — every published
 * result by name: the small ones from the file before any worker has joined,
 * the large ones computed again from their lineage (and the library the file
 * kept) on fresh workers; a restored result serves as an input; the removed
 * name stays gone; and a client that did not publish a name cannot remove it
 * (DV_EPERM), before and after the restart. A name published after the
 * restart survives a SIGTERM stop too. A publisher killed with SIGKILL
 * the moment dv_publish returns, and the scheduler with it, before the
 * task ran: the name is there after the restart (it was acknowledged once
 * on disk), its result computed again. A state file that is garbage, some
 * other program's SQLite database, another version, or damaged (a page
 * overwritten, or a row whose input is missing) is refused: the scheduler
 * exits non-zero naming the file and the problem.
 */
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dvt_funcs.h"
#include "dvtest.h"

#define BIG_N 20000      /* doubles: 160 KiB, fetched from a worker */
#define BIG_FROM_N 30000 /* doubles, through echo() of another task */

static char s_state[512];
static int s_nspawn;

/* Starts `drove scheduler --state s_state --profile default` and reads
 * the address it prints. */
static dvt_proc *
s_scheduler(char *addr, size_t size)
{
    char name[32];
    snprintf(name, sizeof(name), "scheduler%d", s_nspawn++);
    char *argv[] = {(char *)dvt_drove_bin(),
                    "scheduler",
                    "--state",
                    s_state,
                    "--profile",
                    "default",
                    NULL};
    dvt_proc *p = DVT_NOTNULL(dvt_spawn(name, argv));
    DVT_PASS(dvt_proc_read_line(p, addr, size, 20.0));
    return p;
}

/* Starts two workers of the scheduler at addr; c sees both. */
static void
s_workers(dv_client *c, const char *addr, dvt_proc *w[2])
{
    for (int i = 0; i < 2; i++) {
        char name[16], pname[32];
        snprintf(name, sizeof(name), "w%d", i);
        snprintf(pname, sizeof(pname), "worker%d", s_nspawn++);
        char *argv[] = {(char *)dvt_drove_bin(),
                        "worker",
                        "--scheduler",
                        (char *)addr,
                        "--threads",
                        "1",
                        "--name",
                        name,
                        "--profile",
                        "default",
                        NULL};
        w[i] = DVT_NOTNULL(dvt_spawn(pname, argv));
    }
    double deadline = dvt_now() + 30.0;
    while (dv_nworkers(c) < 2 && dvt_now() < deadline) {
        dvt_sleep(0.02);
    }
    DVT_EQ_I64(dv_nworkers(c), 2);
}

static void
s_kill9(dvt_proc *p)
{
    int status = 0;
    DVT_EQ_I64(kill(dvt_proc_pid(p), SIGKILL), 0);
    DVT_EQ_I64(dvt_proc_wait(p, 10.0, &status), 0);
}

/* SIGTERM: a clean stop, which writes what is queued and exits 0 (also
 * under the sanitizers: nothing leaks). */
static void
s_stop(dvt_proc *p)
{
    int status = 0;
    DVT_EQ_I64(kill(dvt_proc_pid(p), SIGTERM), 0);
    DVT_EQ_I64(dvt_proc_wait(p, 30.0, &status), 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        dvt_proc_dump_log(p);
        DVT_FAIL("%s stopped with status 0x%x", dvt_proc_name(p), status);
    }
}

/* The published result under name, an i64. */
static int64_t
s_get_i64(dv_client *c, const char *name)
{
    dv_future *f = dv_get_published(c, name);
    if (f == NULL) {
        DVT_FAIL("dv_get_published(%s): %s", name, dv_last_error());
    }
    int64_t v = DVT_RESULT_I64(f, 30.0);
    dv_release(f);
    return v;
}

/* The published result under name is the array make_f64s(n) makes. */
static void
s_check_f64s(dv_client *c, const char *name, size_t n)
{
    dv_future *f = DVT_NOTNULL(dv_get_published(c, name));
    const dv_value *v = DVT_RESULT(f, 60.0);
    size_t len = 0;
    const double *p = dv_value_f64s(v, &len);
    DVT_TRUE(p != NULL);
    DVT_EQ_I64(len, n);
    for (size_t i = 0; i < len; i += 997) {
        DVT_EQ_F64(p[i], (double)(i % 1024), 0);
    }
    dv_release(f);
}

/* ---- Before the restart -------------------------------------------------- */

static void
s_publish_all(dv_client *c)
{
    /* Waited for first: the scheduler fetches the value from a worker. */
    dv_future *small = DVT_NOTNULL(DV_SUBMIT(c, "inc", dv_i64(41)));
    DVT_EQ_I64(DVT_RESULT_I64(small, 30.0), 42);
    DVT_PASS(dv_publish(c, "small", small));
    /* Published at once: the value comes back in DONE. */
    dv_future *x = DVT_NOTNULL(DV_SUBMIT(c, "inc", dv_i64(1)));
    dv_future *y = DVT_NOTNULL(DV_SUBMIT(c, "inc", dv_i64(2)));
    dv_future *sum = DVT_NOTNULL(DV_SUBMIT(c, "add2", dv_fut(x), dv_fut(y)));
    DVT_PASS(dv_publish(c, "sum", sum));
    dv_future *big = DVT_NOTNULL(DV_SUBMIT(c, "make_f64s", dv_i64(BIG_N)));
    DVT_PASS(dv_publish(c, "big", big));
    dv_future *mk = DVT_NOTNULL(DV_SUBMIT(c, "make_f64s", dv_i64(BIG_FROM_N)));
    dv_future *from = DVT_NOTNULL(DV_SUBMIT(c, "echo", dv_fut(mk)));
    DVT_PASS(dv_publish(c, "big_from", from));
    /* Published again under the same name: the second one stays. */
    dv_future *m1 = DVT_NOTNULL(DV_SUBMIT(c, "inc", dv_i64(10)));
    dv_future *m2 = DVT_NOTNULL(DV_SUBMIT(c, "inc", dv_i64(20)));
    DVT_PASS(dv_publish(c, "moved", m1));
    DVT_PASS(dv_publish(c, "moved", m2));
    DVT_EQ_I64(DVT_RESULT_I64(m2, 30.0), 21);
    dv_release(m1);
    dv_release(m2);
    /* Scattered data has no lineage: only the file keeps it. */
    dv_future *sc = DVT_NOTNULL(dv_scatter(c, dv_i64(7)));
    DVT_EQ_I64(DVT_RESULT_I64(sc, 30.0), 7);
    DVT_PASS(dv_publish(c, "scattered", sc));
    dv_release(sc);
    dv_future *gone = DVT_NOTNULL(DV_SUBMIT(c, "inc", dv_i64(99)));
    DVT_PASS(dv_publish(c, "gone", gone));
    DVT_PASS(dv_unpublish(c, "gone"));

    DVT_EQ_I64(DVT_RESULT_I64(sum, 30.0), 5);
    DVT_TRUE(DVT_RESULT(big, 30.0) != NULL);
    DVT_TRUE(DVT_RESULT(from, 30.0) != NULL);
    dv_future *all[] = {small, x, y, sum, big, mk, from, gone};
    dvt_release_all(all, sizeof(all) / sizeof(all[0]));
}

/* Another client may read a name but not remove it. */
static void
s_not_mine(const char *addr)
{
    dv_client *other = DVT_NOTNULL(dv_connect(addr));
    DVT_FAILS_WITH(DV_EPERM, dv_unpublish(other, "small"));
    DVT_CONTAINS(dv_last_error(), "another client");
    DVT_EQ_I64(s_get_i64(other, "small"), 42);
    dv_close(other);
}

/* ---- After it ----------------------------------------------------------- */

/* No worker has joined: what arrives comes from the file. */
static void
s_small_from_file(dv_client *c)
{
    DVT_EQ_I64(dv_nworkers(c), 0);
    DVT_EQ_I64(s_get_i64(c, "small"), 42);
    DVT_EQ_I64(s_get_i64(c, "sum"), 5);
    DVT_EQ_I64(s_get_i64(c, "scattered"), 7);
    DVT_EQ_I64(s_get_i64(c, "moved"), 21);
    DVT_TRUE(dv_get_published(c, "gone") == NULL);
    DVT_EQ_I64(dv_last_code(), DV_ENOTFOUND);
    DVT_FAILS_WITH(DV_EPERM, dv_unpublish(c, "small"));
    DVT_FAILS_WITH(DV_EPERM, dv_unpublish(c, "big"));
}

/* With workers: the large ones computed again, and "sum" (from the file)
 * as the input of a new task, which needs its lineage run again. */
static void
s_large_from_lineage(dv_client *c)
{
    s_check_f64s(c, "big", BIG_N);
    s_check_f64s(c, "big_from", BIG_FROM_N);
    /* New calls name the library's code, as on any daemon cluster (it is
     * the scheduler's already: the upload is only a lookup). */
    DVT_EQ_I64(dv_upload_library(c, DVT_FUNCS_LIB), 2);
    dv_future *sum = DVT_NOTNULL(dv_get_published(c, "sum"));
    dv_future *six = DVT_NOTNULL(DV_SUBMIT(c, "inc", dv_fut(sum)));
    DVT_EQ_I64(DVT_RESULT_I64(six, 30.0), 6);
    DVT_PASS(dv_publish(c, "six", six));
    dv_release(six);
    dv_release(sum);
}

static void
test_restart_after_sigkill_and_sigterm(void **state)
{
    char addr[128];
    dvt_proc *w[2];
    snprintf(s_state, sizeof(s_state), "%s/state.db", dvt_home());

    dvt_proc *sched = s_scheduler(addr, sizeof(addr));
    dv_client *c = DVT_NOTNULL(dvt_connect(addr));
    s_workers(c, addr, w);
    s_publish_all(c);
    s_not_mine(addr);
    dv_close(c); /* the publisher is gone */
    /* A small value published after it was computed is fetched from its
     * holder and written within 50 ms; under the sanitizers, slower. */
    dvt_sleep(2.0);
    s_kill9(sched);
    s_kill9(w[0]);
    s_kill9(w[1]);

    sched = s_scheduler(addr, sizeof(addr));
    c = DVT_NOTNULL(dv_connect(addr)); /* uploads nothing */
    s_small_from_file(c);
    s_workers(c, addr, w);
    s_large_from_lineage(c);
    dv_close(c);

    /* A clean stop writes what is queued; "six" is back after it (from
     * the file, or computed again if its value was still on its way). */
    s_stop(sched);
    dvt_proc_kill(w[0]);
    dvt_proc_kill(w[1]);
    sched = s_scheduler(addr, sizeof(addr));
    c = DVT_NOTNULL(dv_connect(addr));
    s_workers(c, addr, w);
    DVT_EQ_I64(s_get_i64(c, "six"), 6);
    DVT_EQ_I64(s_get_i64(c, "small"), 42);
    DVT_FAILS_WITH(DV_EPERM, dv_unpublish(c, "six"));
    dv_close(c);
    s_stop(sched);
    dvt_proc_kill(w[0]);
    dvt_proc_kill(w[1]);
}

/* ---- A publisher killed at once ------------------------------------------ */

/* This program again, as `--publisher ADDR`: submits a 400 ms task,
 * publishes it at once, says so, and waits to be killed. */
static int
s_publisher(const char *addr)
{
    dv_client *c = dv_connect(addr);
    if (c == NULL || dv_upload_library(c, DVT_FUNCS_LIB) < 0) {
        fprintf(stderr, "publisher: %s\n", dv_last_error());
        return 1;
    }
    dv_future *f = DV_SUBMIT(c, "sleep_ms", dv_i64(400));
    if (f == NULL || dv_publish(c, "early", f) < 0) {
        fprintf(stderr, "publisher: %s\n", dv_last_error());
        return 1;
    }
    printf("published %s\n", dv_future_key(f));
    fflush(stdout);
    for (;;) {
        pause();
    }
}

/* dv_publish returns once the name is on disk: the publisher and the
 * scheduler are killed the moment it returns, before the task ran, and
 * the name is there after the restart, its result computed again. */
static void
test_publisher_killed_at_once(void **state)
{
    char addr[128], line[256], self[512];
    dvt_proc *w[2];
    snprintf(s_state, sizeof(s_state), "%s/early.db", dvt_home());
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    DVT_TRUE(n > 0);
    self[n] = '\0';

    dvt_proc *sched = s_scheduler(addr, sizeof(addr));
    dv_client *c = DVT_NOTNULL(dv_connect(addr));
    s_workers(c, addr, w);
    char *argv[] = {self, "--publisher", addr, NULL};
    dvt_proc *pub = DVT_NOTNULL(dvt_spawn("publisher", argv));
    DVT_PASS(dvt_proc_read_line(pub, line, sizeof(line), 30.0));
    s_kill9(sched);
    s_kill9(pub);
    s_kill9(w[0]);
    s_kill9(w[1]);
    dv_close(c);

    sched = s_scheduler(addr, sizeof(addr));
    c = DVT_NOTNULL(dv_connect(addr));
    s_workers(c, addr, w);
    DVT_EQ_I64(s_get_i64(c, "early"), 400);
    dv_close(c);
    s_stop(sched);
}

/* ---- Files that are refused --------------------------------------------- */

/* A scheduler on path must exit non-zero, saying want about it. */
static void
s_refused(const char *path, const char *want)
{
    char name[32];
    snprintf(name, sizeof(name), "refused%d", s_nspawn++);
    char *argv[] = {(char *)dvt_drove_bin(),
                    "scheduler",
                    "--state",
                    (char *)path,
                    "--profile",
                    "refused",
                    NULL};
    dvt_proc *p = DVT_NOTNULL(dvt_spawn(name, argv));
    int status = 0;
    DVT_EQ_I64(dvt_proc_wait(p, 20.0, &status), 0);
    DVT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0);
    char *log = DVT_NOTNULL(dvt_proc_log(p));
    DVT_CONTAINS(log, path);
    DVT_CONTAINS(log, want);
    fprintf(stderr, "dvtest: refused: %s", log);
    free(log);
}

static void
s_sql(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    DVT_EQ_I64(sqlite3_open(path, &db), SQLITE_OK);
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        DVT_FAIL("%s: %s", sql, err);
    }
    sqlite3_close(db);
}

static void
s_copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    DVT_TRUE(in != NULL && out != NULL);
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0) {
        DVT_EQ_I64(fwrite(buf, 1, n, out), n);
    }
    fclose(in);
    fclose(out);
}

/* Overwrites len bytes at offset with garbage. */
static void
s_scribble(const char *path, long offset, size_t len)
{
    FILE *f = fopen(path, "r+b");
    DVT_TRUE(f != NULL);
    DVT_EQ_I64(fseek(f, offset, SEEK_SET), 0);
    for (size_t i = 0; i < len; i++) {
        fputc((int)((i * 131 + 7) & 0xff), f);
    }
    fclose(f);
}

static void
test_refuses_bad_files(void **state)
{
    char path[512];
    const char *home = dvt_home();
    snprintf(path, sizeof(path), "%s/garbage.db", home);
    FILE *f = fopen(path, "w");
    fputs("this is not a database, whatever its name says\n", f);
    fclose(f);
    s_refused(path, "not a drove state file");

    snprintf(path, sizeof(path), "%s/foreign.db", home);
    s_sql(path, "CREATE TABLE t (a); INSERT INTO t VALUES (1);");
    s_refused(path, "not a drove state file");

    /* The first test's file, still good, copied and changed. */
    snprintf(path, sizeof(path), "%s/version.db", home);
    s_copy_file(s_state, path);
    s_sql(path, "PRAGMA user_version = 2");
    s_refused(path, "version 2");

    snprintf(path, sizeof(path), "%s/missing.db", home);
    s_copy_file(s_state, path);
    /* x or y: an input of "sum", published under no name itself. */
    s_sql(path, "DELETE FROM tasks WHERE rowid = (SELECT rowid FROM tasks "
                "WHERE fn = 'inc' AND key NOT IN (SELECT key FROM names) "
                "LIMIT 1)");
    s_refused(path, "an input is not in the file");

    snprintf(path, sizeof(path), "%s/pages.db", home);
    s_copy_file(s_state, path);
    s_scribble(path, 4096, 4096); /* the whole second page */
    s_refused(path, "damaged");
}

int
main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--publisher") == 0) {
        return s_publisher(argv[2]); /* DROVE_HOME is the test's */
    }
    dvt_init(240);
    (void)dvt_funcs_anchor(); /* keeps libdvt_funcs.so linked */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_restart_after_sigkill_and_sigterm),
        cmocka_unit_test(test_refuses_bad_files),
        cmocka_unit_test(test_publisher_killed_at_once),
    };
    return dvt_finish(cmocka_run_group_tests(tests, NULL, NULL));
}
