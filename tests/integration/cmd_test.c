/* drove — integration: command tasks (dv_cmd_*), on local:threads=2,
 * local:processes=2 and a scheduler with two daemon workers.
 *
 *   - A program runs with its argv (no shell), its stdout, stderr, exit
 *     status, start time, runtime and host come back; its scratch
 *     directory is gone afterwards.
 *   - Inputs become files: bytes, a C task's string result, another
 *     command's stdout and one of its output files, and stdin; outputs
 *     come back, a directory's recursively; $DROVE_IN/$DROVE_OUT exist.
 *   - A non-zero exit, a signal, a program that does not exist: the task
 *     errs naming the command and the status with stderr's end, or (with
 *     DV_CMD_ANY_STATUS) finishes with them.
 *   - A time limit kills the program and what it started in the
 *     background; cancelling a running command kills it.
 *   - A C task submits a command as its child and continues as it.
 *   - 200 commands at once all finish with their own outputs.
 *   - Bad descriptions are refused: paths outside the scratch directory,
 *     an input given twice, a value that cannot be a file, a missing
 *     output, a forged description sent straight to the built-in.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dvt_funcs.h"
#include "dvtest.h"

/* Runs cmd and returns its (borrowed) result; the future goes to *fp. */
static const dv_value *
s_run(dv_client *c, const dv_cmd *cmd, dv_future **fp)
{
    dv_future *f = DVT_NOTNULL(dv_cmd_submit(c, cmd, NULL));
    *fp = f;
    const dv_value *r = dv_result(f, 60.0);
    if (r == NULL) {
        fprintf(stderr, "cmd_test: %s\n", dv_future_error(f));
    }
    return DVT_NOTNULL(r);
}

/* The command's stdout as a string (static buffer). */
static const char *
s_out(const dv_value *r)
{
    static char buf[4096];
    size_t n = 0;
    const char *p = dv_cmd_stdout(r, &n);
    snprintf(buf, sizeof(buf), "%.*s", (int)n, p ? p : "");
    return buf;
}

static void
test_argv_output_status(void **state)
{
    dv_client *c = *state;
    const char *argv[] = {"echo", "a  b", "$HOME", NULL};
    dv_cmd *cmd = DVT_NOTNULL(dv_cmd_new(argv));
    double t0 = dvt_now();
    dv_future *f;
    const dv_value *r = s_run(c, cmd, &f);
    DVT_EQ_STR(s_out(r), "a  b $HOME\n"); /* no shell */
    DVT_EQ_I64(dv_cmd_exit_status(r), 0);
    DVT_EQ_I64(dv_cmd_signal(r), 0);
    DVT_EQ_I64(dv_cmd_timed_out(r), 0);
    DVT_TRUE(dv_cmd_started(r) > 1e9);
    DVT_TRUE(dv_cmd_runtime(r) >= 0 && dv_cmd_runtime(r) < dvt_now() - t0 + 1);
    DVT_TRUE(dv_cmd_host(r) != NULL && dv_cmd_host(r)[0] != '\0');
    DVT_EQ_I64(dv_cmd_exit_status(dv_result(f, 0)), 0);
    dv_release(f);
    dv_cmd_free(cmd);

    /* Its scratch directory is removed once it ended. */
    cmd = DVT_NOTNULL(dv_cmd_new_shell("echo $DROVE_SCRATCH; "
                                       "test -d $DROVE_IN && test -d "
                                       "$DROVE_OUT && pwd"));
    r = s_run(c, cmd, &f);
    char dir[1024], pwd[1024];
    DVT_EQ_I64(sscanf(s_out(r), "%1023s %1023s", dir, pwd), 2);
    DVT_EQ_STR(dir, pwd);
    struct stat st;
    DVT_TRUE(stat(dir, &st) < 0 && errno == ENOENT);
    dv_release(f);
    dv_cmd_free(cmd);
}

static void
test_inputs_and_outputs(void **state)
{
    dv_client *c = *state;
    /* First: writes stdout and two files under $DROVE_OUT. */
    dv_cmd *a = DVT_NOTNULL(dv_cmd_new_shell(
        "printf 'from a'; mkdir -p $DROVE_OUT/d/e; printf x > $DROVE_OUT/x; "
        "printf deep > $DROVE_OUT/d/e/f"));
    DVT_PASS(dv_cmd_output(a, "out/"));
    dv_future *fa = DVT_NOTNULL(dv_cmd_submit(c, a, NULL));
    dv_future *fs = DVT_NOTNULL(DV_SUBMIT(c, "echo", dv_str("from C")));
    /* Second: reads them all, as files and on stdin, without waiting. */
    dv_cmd *b = DVT_NOTNULL(
        dv_cmd_new_shell("cat in/a.txt in/x in/c.txt; cat; cat sub/dir/raw; "
                         "cp in/x $DROVE_OUT/copy; echo $MYVAR"));
    DVT_PASS(dv_cmd_input(b, "in/a.txt", dv_fut(fa)));
    DVT_PASS(dv_cmd_input_output(b, "in/x", fa, "out/x"));
    DVT_PASS(dv_cmd_input(b, "in/c.txt", dv_fut(fs)));
    DVT_PASS(dv_cmd_input(b, "sub/dir/raw", dv_bytes("\0raw", 4)));
    DVT_PASS(dv_cmd_stdin(b, dv_str("|stdin|")));
    DVT_PASS(dv_cmd_env(b, "MYVAR", "first"));
    DVT_PASS(dv_cmd_env(b, "MYVAR", "set"));
    DVT_PASS(dv_cmd_output(b, "out/copy"));
    dv_future *fb;
    const dv_value *r = s_run(c, b, &fb);
    size_t n = 0;
    const char *p = dv_cmd_stdout(r, &n);
    DVT_EQ_I64(n, strlen("from axfrom C|stdin|") + 4 + strlen("set\n"));
    DVT_TRUE(memcmp(p,
                    "from axfrom C|stdin|\0raw"
                    "set\n",
                    n) == 0);
    DVT_EQ_I64(dv_cmd_noutputs(r), 1);
    DVT_EQ_STR(dv_cmd_output_path(r, 0), "out/copy");
    const char *copy = dv_cmd_output_find(r, "out/copy", &n);
    DVT_TRUE(copy != NULL && n == 1 && copy[0] == 'x');
    /* The first's outputs, the directory's files with their paths. */
    const dv_value *ra = DVT_NOTNULL(dv_result(fa, 10.0));
    DVT_EQ_I64(dv_cmd_noutputs(ra), 2);
    const char *deep = dv_cmd_output_find(ra, "out/d/e/f", &n);
    DVT_TRUE(deep != NULL && n == 4 && memcmp(deep, "deep", 4) == 0);
    DVT_TRUE(dv_cmd_output_find(ra, "out/none", &n) == NULL && n == 0);
    dv_release(fa);
    dv_release(fs);
    dv_release(fb);
    dv_cmd_free(a);
    dv_cmd_free(b);
}

static void
test_failures(void **state)
{
    dv_client *c = *state;
    dv_cmd *cmd = DVT_NOTNULL(
        dv_cmd_new_shell("echo partial; echo 'it went wrong' >&2; exit 3"));
    dv_future *f = DVT_NOTNULL(dv_cmd_submit(c, cmd, NULL));
    DVT_TRUE(dv_result(f, 60.0) == NULL);
    DVT_EQ_I64(dv_future_status(f), DV_ERRED);
    DVT_CONTAINS(dv_future_error(f), "'/bin/sh' exited with status 3");
    DVT_CONTAINS(dv_future_error(f), "it went wrong");
    dv_release(f);
    /* The same, as a result. */
    DVT_PASS(dv_cmd_flags(cmd, DV_CMD_ANY_STATUS));
    const dv_value *r = s_run(c, cmd, &f);
    DVT_EQ_I64(dv_cmd_exit_status(r), 3);
    DVT_EQ_STR(s_out(r), "partial\n");
    size_t n = 0;
    DVT_TRUE(memcmp(dv_cmd_stderr(r, &n), "it went wrong\n", 14) == 0);
    dv_release(f);
    dv_cmd_free(cmd);

    /* A signal. */
    cmd = DVT_NOTNULL(dv_cmd_new_shell("kill -9 $$"));
    f = DVT_NOTNULL(dv_cmd_submit(c, cmd, NULL));
    DVT_TRUE(dv_result(f, 60.0) == NULL);
    DVT_CONTAINS(dv_future_error(f), "killed by signal 9");
    dv_release(f);
    DVT_PASS(dv_cmd_flags(cmd, DV_CMD_ANY_STATUS));
    r = s_run(c, cmd, &f);
    DVT_EQ_I64(dv_cmd_signal(r), 9);
    DVT_EQ_I64(dv_cmd_exit_status(r), 137);
    dv_release(f);
    dv_cmd_free(cmd);

    /* No such program: as a shell says it. */
    const char *argv[] = {"drove-no-such-program", "x", NULL};
    cmd = DVT_NOTNULL(dv_cmd_new(argv));
    f = DVT_NOTNULL(dv_cmd_submit(c, cmd, NULL));
    DVT_TRUE(dv_result(f, 60.0) == NULL);
    DVT_CONTAINS(dv_future_error(f), "exited with status 127");
    DVT_CONTAINS(dv_future_error(f),
                 "cannot run 'drove-no-such-program': No such file");
    dv_release(f);
    dv_cmd_free(cmd);
}

/* Whether process pid is gone within timeout_s. */
static bool
s_gone(pid_t pid, double timeout_s)
{
    double end = dvt_now() + timeout_s;
    while (kill(pid, 0) == 0 || errno != ESRCH) {
        if (dvt_now() > end) {
            return false;
        }
        dvt_sleep(0.02);
    }
    return true;
}

static void
test_timeout_and_cancel(void **state)
{
    dv_client *c = *state;
    /* The limit ends the program and its background child. */
    dv_cmd *cmd = DVT_NOTNULL(
        dv_cmd_new_shell("sleep 30 & echo $!; sleep 30; echo never"));
    DVT_PASS(dv_cmd_timeout(cmd, 0.4));
    double t0 = dvt_now();
    dv_future *f = DVT_NOTNULL(dv_cmd_submit(c, cmd, NULL));
    DVT_TRUE(dv_result(f, 60.0) == NULL);
    DVT_TRUE(dvt_now() - t0 < 10.0);
    DVT_CONTAINS(dv_future_error(f), "timed out after 0.4 s");
    dv_release(f);
    DVT_PASS(dv_cmd_flags(cmd, DV_CMD_ANY_STATUS));
    const dv_value *r = s_run(c, cmd, &f);
    DVT_EQ_I64(dv_cmd_timed_out(r), 1);
    DVT_EQ_I64(dv_cmd_signal(r), SIGTERM);
    pid_t bg = (pid_t)atoi(s_out(r));
    DVT_TRUE(bg > 0);
    DVT_TRUE(s_gone(bg, 5.0));
    dv_release(f);
    dv_cmd_free(cmd);
    DVT_EQ_I64(dv_cmd_timeout(NULL, 1), DV_EINVAL);

    /* Cancelling a running command stops its program. */
    char pidfile[512], script[2048];
    snprintf(pidfile, sizeof(pidfile), "%s/cancel-%u.pid", dvt_home(),
             dvt_kind);
    snprintf(script, sizeof(script),
             "echo $$ > %s.tmp; mv %s.tmp %s; "
             "exec sleep 30",
             pidfile, pidfile, pidfile);
    cmd = DVT_NOTNULL(dv_cmd_new_shell(script));
    f = DVT_NOTNULL(dv_cmd_submit(c, cmd, NULL));
    char *text = NULL;
    for (double end = dvt_now() + 30.0;
         (text = dvt_read_file(pidfile)) == NULL && dvt_now() < end;) {
        dvt_sleep(0.02);
    }
    DVT_NOTNULL(text);
    pid_t pid = (pid_t)atoi(text);
    free(text);
    DVT_PASS(dv_cancel(f));
    DVT_TRUE(s_gone(pid, 10.0));
    dv_release(f);
    dv_cmd_free(cmd);
}

static void
test_command_child_of_a_task(void **state)
{
    dv_client *c = *state;
    dv_future *f = DVT_NOTNULL(
        DV_SUBMIT(c, "count_words", dv_str("one two three four\nfive")));
    const dv_value *r = dv_result(f, 60.0);
    if (r == NULL) {
        fprintf(stderr, "cmd_test: %s\n", dv_future_error(f));
    }
    DVT_NOTNULL(r);
    DVT_EQ_I64(atoi(s_out(r)), 5);
    DVT_EQ_I64(dv_cmd_exit_status(r), 0);
    dv_release(f);
}

static void
test_many_at_once(void **state)
{
    dv_client *c = *state;
    enum { N = 200 };
    dv_future *fs[N];
    for (int i = 0; i < N; i++) {
        char n[32];
        snprintf(n, sizeof(n), "%d", i);
        const char *argv[] = {"echo", n, NULL};
        dv_cmd *cmd = DVT_NOTNULL(dv_cmd_new(argv));
        fs[i] = DVT_NOTNULL(dv_cmd_submit(c, cmd, NULL));
        dv_cmd_free(cmd);
    }
    DVT_PASS(dv_wait(fs, N, 120.0));
    for (int i = 0; i < N; i++) {
        char want[32];
        snprintf(want, sizeof(want), "%d\n", i);
        DVT_EQ_STR(s_out(DVT_NOTNULL(dv_result(fs[i], 0))), want);
        dv_release(fs[i]);
    }
}

static void
test_pure_commands_share(void **state)
{
    dv_client *c = *state;
    const char *argv[] = {"echo", "same", NULL};
    dv_cmd *cmd = DVT_NOTNULL(dv_cmd_new(argv));
    dv_future *a = DVT_NOTNULL(dv_cmd_submit(c, cmd, NULL));
    dv_future *b = DVT_NOTNULL(dv_cmd_submit(c, cmd, NULL));
    DVT_TRUE(strcmp(dv_future_key(a), dv_future_key(b)) != 0);
    DVT_PASS(dv_cmd_flags(cmd, DV_CMD_PURE));
    dv_future *p = DVT_NOTNULL(dv_cmd_submit(c, cmd, NULL));
    dv_future *q = DVT_NOTNULL(dv_cmd_submit(c, cmd, NULL));
    DVT_EQ_STR(dv_future_key(p), dv_future_key(q));
    DVT_EQ_STR(s_out(DVT_NOTNULL(dv_result(q, 60.0))), "same\n");
    dv_future *all[] = {a, b, p, q};
    DVT_PASS(dv_wait(all, 4, 60.0));
    for (int i = 0; i < 4; i++) {
        dv_release(all[i]);
    }
    dv_cmd_free(cmd);
}

static void
test_bad_descriptions(void **state)
{
    dv_client *c = *state;
    const char *empty[] = {NULL};
    DVT_TRUE(dv_cmd_new(empty) == NULL && dv_last_code() == DV_EINVAL);
    DVT_TRUE(dv_cmd_new(NULL) == NULL);
    DVT_TRUE(dv_cmd_new_shell(NULL) == NULL);
    dv_cmd *cmd = DVT_NOTNULL(dv_cmd_new_shell("cat in/n"));
    DVT_EQ_I64(dv_cmd_input(cmd, "../x", dv_str("")), DV_EINVAL);
    DVT_EQ_I64(dv_cmd_input(cmd, "/etc/x", dv_str("")), DV_EINVAL);
    DVT_EQ_I64(dv_cmd_input(cmd, "a/../../x", dv_str("")), DV_EINVAL);
    DVT_EQ_I64(dv_cmd_input(cmd, "a//x", dv_str("")), DV_EINVAL);
    DVT_EQ_I64(dv_cmd_input(cmd, "in/n", dv_i64(3)), DV_EINVAL);
    DVT_EQ_I64(dv_cmd_output(cmd, "../out/"), DV_EINVAL);
    DVT_EQ_I64(dv_cmd_env(cmd, "A=B", "c"), DV_EINVAL);
    DVT_EQ_I64(dv_cmd_env(cmd, "", "c"), DV_EINVAL);
    DVT_EQ_I64(dv_cmd_flags(cmd, 64), DV_EINVAL);
    DVT_EQ_I64(dv_cmd_input_file(cmd, "in/f", "/nonexistent/file"), DV_EIO);
    DVT_CONTAINS(dv_last_error(), "/nonexistent/file");
    /* A C task's number is not a file: the task says which input. */
    dv_future *num = DVT_NOTNULL(DV_SUBMIT(c, "inc", dv_i64(1)));
    DVT_PASS(dv_cmd_input(cmd, "in/n", dv_fut(num)));
    DVT_EQ_I64(dv_cmd_input(cmd, "in/n", dv_str("again")), DV_EINVAL);
    dv_future *f = DVT_NOTNULL(dv_cmd_submit(c, cmd, NULL));
    DVT_TRUE(dv_result(f, 60.0) == NULL);
    DVT_CONTAINS(dv_future_error(f), "command input 'in/n'");
    dv_release(f);
    dv_release(num);
    dv_cmd_free(cmd);

    /* An output the program did not write. */
    cmd = DVT_NOTNULL(dv_cmd_new_shell("true"));
    DVT_PASS(dv_cmd_output(cmd, "out/missing"));
    f = DVT_NOTNULL(dv_cmd_submit(c, cmd, NULL));
    DVT_TRUE(dv_result(f, 60.0) == NULL);
    DVT_CONTAINS(dv_future_error(f), "command output 'out/missing'");
    dv_release(f);
    dv_cmd_free(cmd);

    /* Forged descriptions sent to the built-in itself. */
    dv_opts o = DV_OPTS_INIT;
    o.impure = 1;
    const dv_arg forged[][2] = {
        {dv_i64(1), dv_nil()},
        {dv_list((dv_arg[]){dv_str("drove-cmd/1"), dv_i64(2)}, 2), dv_nil()},
    };
    for (int i = 0; i < 2; i++) {
        f = DVT_NOTNULL(dv_submit(c, "drove_cmd", 1, forged[i], &o));
        DVT_TRUE(dv_result(f, 60.0) == NULL);
        DVT_CONTAINS(dv_future_error(f), "not a command description");
        dv_release(f);
    }
    /* The worker is fine. */
    const char *argv[] = {"true", NULL};
    cmd = DVT_NOTNULL(dv_cmd_new(argv));
    const dv_value *r = s_run(c, cmd, &f);
    DVT_EQ_I64(dv_cmd_exit_status(r), 0);
    DVT_EQ_I64(dv_cmd_exit_status(NULL), DV_ETYPE);
    DVT_TRUE(dv_cmd_stdout(NULL, NULL) == NULL);
    dv_release(f);
    dv_cmd_free(cmd);
}

int
main(void)
{
    dvt_init(600);
    (void)dvt_funcs_anchor();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_argv_output_status),
        cmocka_unit_test(test_inputs_and_outputs),
        cmocka_unit_test(test_failures),
        cmocka_unit_test(test_timeout_and_cancel),
        cmocka_unit_test(test_command_child_of_a_task),
        cmocka_unit_test(test_many_at_once),
        cmocka_unit_test(test_pure_commands_share),
        cmocka_unit_test(test_bad_descriptions),
    };
    return dvt_finish(dvt_run_clusters(
        "cmd", tests, sizeof(tests) / sizeof(tests[0]), DVT_ALL));
}
