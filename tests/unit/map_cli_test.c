/* drove — unit: the pieces of `drove map` that need no cluster.
 *
 * Quoting must be GNU parallel's to the byte (its --dry-run and joblogs
 * are compared with ours); the shell-free splitter must refuse every line
 * whose meaning depends on the shell, since it runs what it accepts
 * without one; combinations come in parallel's order; a joblog written
 * is read back for --resume with the last line of a job winning.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/map_args.h"
#include "cli/map_joblog.h"
#include "cli/map_shell.h"
#include "cli/map_template.h"
#include "dvtest.h"

/* s quoted by dvi_shell_quote. Caller frees. */
static char *
s_quoted(const char *s)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    dvi_shell_quote(f, s);
    fclose(f);
    return buf;
}

static void
test_quote_as_parallel(void **state)
{
    (void)state;
    /* Outputs of parallel --dry-run echo {} (GNU parallel 20221122). */
    static const char *const cases[][2] = {
        {"abc-_.+/09", "abc-_.+/09"},
        {"", "''"},
        {"a b", "'a b'"},
        {"it's", "'it'\"'\"'s'"},
        {"'", "\"'\""},
        {"''", "\"'\"''\"'\""},
        {"'a", "\"'\"'a'"},
        {"a'", "'a'\"'\""},
        {"x$y", "'x$y'"},
        {"\xc3\xa9", "'\xc3\xa9'"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *q = s_quoted(cases[i][0]);
        DVT_EQ_STR(q, cases[i][1]);
        free(q);
    }
}

static void
test_split_only_what_needs_no_shell(void **state)
{
    (void)state;
    char **argv = dvi_shell_split("gzip -9  'a b' x=1 '' c'd'e");
    DVT_NOTNULL(argv);
    const char *want[] = {"gzip", "-9", "a b", "x=1", "", "cde", NULL};
    for (size_t i = 0; want[i] != NULL; i++) {
        DVT_EQ_STR(argv[i], want[i]);
    }
    DVT_TRUE(argv[6] == NULL);
    free(argv);
    /* Each of these means something else to sh than its words. */
    static const char *const shell[] = {
        "echo $HOME", "echo a; echo b", "echo a | cat", "echo >f",
        "echo *",     "echo ~",         "echo \"a\"",   "echo a\\ b",
        "X=1 env",    "cd /tmp",        "exit 3",       "echo `id`",
        "echo 'open", "echo #c",        "echo {a,b}",   "",
        "for x in a", "echo a&",        "echo (a)",     "   ",
    };
    for (size_t i = 0; i < sizeof(shell) / sizeof(shell[0]); i++) {
        argv = dvi_shell_split(shell[i]);
        if (argv != NULL) {
            DVT_FAIL("'%s' split without a shell", shell[i]);
        }
    }
}

/* tmpl expanded for args (n of them) as job seq. */
static void
s_expect(const char *tmpl, const char *const *args, size_t n, size_t seq,
         const char *want)
{
    char *got = dvi_map_template_expand(tmpl, args, n, seq);
    DVT_EQ_STR(got, want);
    free(got);
}

static void
test_replacement_strings(void **state)
{
    (void)state;
    const char *p[] = {"/a/b.c/d.tar.gz"};
    s_expect("{} {.} {/} {//} {/.} {#}", p, 1, 7,
             "/a/b.c/d.tar.gz /a/b.c/d.tar d.tar.gz /a/b.c d.tar 7");
    /* Perl's dirname, as parallel's {//}. */
    const char *root[] = {"/"}, *empty[] = {""}, *dir[] = {"a.b/"};
    s_expect("{} {.} {/} {//} {/.}", root, 1, 1, "/ / '' / ''");
    s_expect("{} {.} {/} {//} {/.}", empty, 1, 1, "'' '' '' . ''");
    s_expect("{} {.} {/} {//} {/.}", dir, 1, 1, "a.b/ a.b/ '' . ''");
    const char *two[] = {"x y.c", "p/q.r"};
    s_expect("{} | {2/.} {1.} {3} {foo} {0} {#x}", two, 2, 1,
             "'x y.c' p/q.r | q 'x y'  {foo} {0} {#x}");
    const char *words[] = {"echo", "{.}"};
    char *t = dvi_map_template_make(words, 2);
    DVT_EQ_STR(t, "echo {.}");
    free(t);
    t = dvi_map_template_make(words, 1);
    DVT_EQ_STR(t, "echo {}");
    free(t);
    t = dvi_map_template_join(two, 2, "\t");
    DVT_EQ_STR(t, "x y.c p/q.r\t");
    free(t);
}

static void
test_combinations_in_parallels_order(void **state)
{
    (void)state;
    dvi_map_args *a = dvi_map_args_new();
    char *argv[] = {":::", "a", "b", ":::", "1", "2", "3"};
    DVT_EQ_I64(dvi_map_args_parse(a, 7, argv, stderr), 0);
    DVT_EQ_I64(dvi_map_args_nsources(a), 2);
    DVT_EQ_I64(dvi_map_args_njobs(a), 6);
    const char *got[2], *want[] = {"a1", "a2", "a3", "b1", "b2", "b3"};
    for (size_t j = 0; j < 6; j++) {
        dvi_map_args_job(a, j, got);
        char both[8];
        snprintf(both, sizeof(both), "%s%s", got[0], got[1]);
        DVT_EQ_STR(both, want[j]);
    }
    dvi_map_args_destroy(&a);
    DVT_TRUE(a == NULL);
    /* A :::: of a missing file, and one of no file, are refused. */
    a = dvi_map_args_new();
    char *bad[] = {"::::", "/nonexistent/drove-map"};
    DVT_NE_I64(dvi_map_args_parse(a, 2, bad, stderr), 0);
    DVT_NE_I64(dvi_map_args_parse(a, 1, bad, stderr), 0);
    dvi_map_args_destroy(&a);
}

static void
test_joblog_round_trip(void **state)
{
    (void)state;
    char path[] = "/tmp/dvtest-joblog-XXXXXX";
    int fd = mkstemp(path);
    DVT_TRUE(fd >= 0);
    close(fd);
    dvi_map_joblog *j = dvi_map_joblog_open(path, 0);
    DVT_NOTNULL(j);
    dvi_map_joblog_entry e = {1, "h", 1.5, 0.25, 0, 0, "echo a"};
    DVT_EQ_I64(dvi_map_joblog_write(j, &e), 0);
    e.seq = 2, e.exitval = 3;
    DVT_EQ_I64(dvi_map_joblog_write(j, &e), 0);
    e.seq = 3, e.exitval = 0, e.signal = 9;
    DVT_EQ_I64(dvi_map_joblog_write(j, &e), 0);
    dvi_map_joblog_close(&j);
    /* A rerun of job 2 that succeeded, appended: the last line wins. */
    j = dvi_map_joblog_open(path, 1);
    e.seq = 2, e.signal = 0, e.cmd = "two\nlines";
    DVT_EQ_I64(dvi_map_joblog_write(j, &e), 0);
    dvi_map_joblog_close(&j);
    unsigned char *st;
    size_t n;
    DVT_EQ_I64(dvi_map_joblog_read(path, &st, &n), 0);
    DVT_TRUE(n > 3);
    DVT_EQ_I64(st[1], DVI_JOBLOG_OK);
    DVT_EQ_I64(st[2], DVI_JOBLOG_OK);
    DVT_EQ_I64(st[3], DVI_JOBLOG_FAILED);
    DVT_EQ_I64(st[0], DVI_JOBLOG_NONE);
    free(st);
    FILE *f = fopen(path, "r");
    char line[256];
    DVT_NOTNULL(fgets(line, sizeof(line), f));
    DVT_EQ_STR(line, "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\t"
                     "Exitval\tSignal\tCommand\n");
    DVT_NOTNULL(fgets(line, sizeof(line), f));
    DVT_EQ_STR(line, "1\th\t1.500\t     0.250\t0\t0\t0\t0\techo a\n");
    fclose(f);
    unlink(path);
    /* No joblog yet: nothing to resume, not an error. */
    DVT_EQ_I64(dvi_map_joblog_read(path, &st, &n), 0);
    DVT_EQ_I64(n, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quote_as_parallel),
        cmocka_unit_test(test_split_only_what_needs_no_shell),
        cmocka_unit_test(test_replacement_strings),
        cmocka_unit_test(test_combinations_in_parallels_order),
        cmocka_unit_test(test_joblog_round_trip),
    };
    return cmocka_run_group_tests_name("map_cli", tests, NULL, NULL);
}
