/* drove map: GNU parallel for the cluster. Each combination of the
 * arguments makes a command line from the template (map_template.c), run
 * as a command task (map_job.c) on the cluster dv_connect(NULL) reaches,
 * at most --jobs at once; each job's output is written whole as it
 * completes (or in argument order with --keep-order), and the exit status
 * counts the failed jobs as parallel's does.
 *
 * This file is the driver: options, the window of jobs in flight,
 * retries, --halt, --keep-order, the joblog's resume, and the signals
 * that stop a run (its jobs with it).
 */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "commands.h"
#include "drove.h"
#include "map_args.h"
#include "map_job.h"
#include "map_joblog.h"
#include "map_out.h"
#include "map_template.h"
#include "options.h"

/* Exit statuses besides the count of failed jobs (parallel's). */
enum { S_EXIT_USAGE = 2, S_EXIT_ERROR = 255, S_EXIT_MAX_FAILED = 101 };

static const char s_usage_line[] =
    "drove map [OPTIONS] [COMMAND [ARG...]] ::: ARGS... [::: ARGS...] "
    "[:::: FILES...]";

static const char s_about[] =
    "Runs COMMAND once per argument as a task on the cluster, as GNU "
    "parallel\nruns it on this machine: with the embedded cluster of "
    "dv_connect(NULL), or\nthe running scheduler that DROVE_SCHEDULER or "
    "DROVE_SCHEME names.\n\n"
    "arguments:\n"
    "  ::: A B ...      a source of arguments; several sources give every\n"
    "                   combination (the first varying slowest), read as\n"
    "                   {1}, {2}...\n"
    "  :::: FILE ...    each file a source, an argument a line (- : stdin)\n"
    "  (neither)        the lines of stdin\n\n"
    "replacement strings in COMMAND (values quoted for the shell):\n"
    "  {}  the argument (all of them, spaced)   {.}  without extension\n"
    "  {/} base name   {//} directory   {/.} base name without extension\n"
    "  {#} the job's number   {N} {N.} {N/} {N//} {N/.}  of source N\n"
    "  A COMMAND without one gets the arguments appended; no COMMAND at "
    "all\n  runs each argument as a command. A command line that needs "
    "no shell runs\n  without one; others run with /bin/sh -c. Jobs see "
    "PARALLEL_SEQ.\n\n"
    "output: each job's stdout, then its stderr, whole, as it finishes.\n"
    "exit status: 0 all jobs ok; 1-100 the number that failed; 101 more;\n"
    "  --halt ...,fail=1: the failed job's; 2 usage error; 255 other "
    "errors.\n"
    "-j N is --jobs N, -k --keep-order.";

/* The options, in --help's order. */
static dvi_option s_opts[] = {
    {"jobs", DVI_OPT_INT, NULL, 1, 1000000, NULL,
     "-j: jobs in flight at once (default: the cluster's worker threads, "
     "or the cores for the embedded cluster)",
     NULL},
    {"keep-order", DVI_OPT_FLAG, NULL, 0, 0, NULL,
     "-k: write outputs in the order of the arguments", NULL},
    {"tag", DVI_OPT_FLAG, NULL, 0, 0, NULL,
     "begin each output line with the job's arguments and a TAB", NULL},
    {"joblog", DVI_OPT_STR, NULL, 0, 0, NULL,
     "write a line per finished job to this file, in GNU parallel's "
     "format",
     NULL},
    {"resume", DVI_OPT_FLAG, NULL, 0, 0, NULL,
     "skip the jobs that --joblog lists, and append to it", NULL},
    {"resume-failed", DVI_OPT_FLAG, NULL, 0, 0, NULL,
     "as --resume, but run those it lists as failed again", NULL},
    {"retries", DVI_OPT_INT, "0", 0, 1000, NULL,
     "run a failed job up to N more times", NULL},
    {"timeout", DVI_OPT_NUM, NULL, 0, 100000000, NULL,
     "kill a job running longer than S seconds (TERM, then KILL 1 s "
     "later); it fails",
     NULL},
    {"halt", DVI_OPT_STR, NULL, 0, 0, NULL,
     "stop early: WHEN,WHAT=N: WHEN now (kill running jobs) or soon (let "
     "them finish), WHAT fail, success or done, N a count or a percentage "
     "(now,fail=1; soon,fail=10%); never",
     NULL},
    {"dry-run", DVI_OPT_FLAG, NULL, 0, 0, NULL,
     "print the command lines, run nothing", NULL},
    {"workdir", DVI_OPT_STR, ".", 0, 0, NULL,
     "the jobs' working directory; '...': a scratch directory of its own "
     "on its worker",
     NULL},
    {"no-bar", DVI_OPT_FLAG, NULL, 0, 0, NULL,
     "no progress bar (drawn on stderr when it is a terminal)", NULL},
};
#define S_NOPTS (sizeof(s_opts) / sizeof(s_opts[0]))

/* --halt: when a threshold of failed, succeeded or finished jobs stops
 * the run. */
typedef struct s_halt {
    int when;     /* 0 never, 1 soon (no new jobs), 2 now (kill the rest) */
    int what;     /* 0 fail, 1 success, 2 done */
    double count; /* the threshold: jobs, or a percentage of them */
    int pct;      /* count is a percentage */
} s_halt;

/* One run of drove map. */
typedef struct s_map {
    dvi_map_args *args;
    char *tmpl;          /* the command template, or NULL: run the args */
    size_t nsrc, njobs;  /* sources; jobs in all (with those skipped) */
    size_t next;         /* the next job index to start */
    size_t cursor;       /* -k: the next job index to write */
    size_t jobs;         /* --jobs */
    int keep, tag;       /* --keep-order, --tag */
    long retries;        /* --retries */
    s_halt halt;         /* --halt */
    unsigned char *prev; /* the joblog's states by seq (resume), or NULL */
    size_t nprev;
    int resume_failed;       /* --resume-failed (not --resume) */
    dvi_map_joblog *log;     /* --joblog, or NULL */
    dvi_map_runner run;      /* how jobs are submitted */
    dvi_map_job **flight;    /* jobs in flight, [0, nflight) */
    dv_future **fs;          /* their futures, in the same order */
    size_t nflight;          /* jobs in flight */
    dvi_map_job **held;      /* -k: finished jobs by index, or NULL */
    size_t total;            /* jobs to run (not skipped) */
    size_t done, failed;     /* jobs finished, and failed of those */
    int stop;                /* start no more jobs (--halt, an error) */
    int halted, halt_status; /* --halt fired; the status it set */
    dvi_map_out out;         /* the screen */
} s_map;

/* ---- Options --------------------------------------------------------- */

static const dvi_option *
s_find_opt(const char *name, size_t len)
{
    for (size_t i = 0; i < S_NOPTS; i++) {
        if (strlen(s_opts[i].name) == len &&
            strncmp(s_opts[i].name, name, len) == 0) {
            return &s_opts[i];
        }
    }
    return NULL;
}

/* Copies the options at the front of argv into optv (-j N as --jobs N,
 * -jN as --jobs N, -k as --keep-order), up to the first word that is not
 * one (the command) or "--". Returns the index of that word; *nopt gets
 * the number of words in optv. */
static int
s_scan_options(int argc, char **argv, char **optv, int *nopt)
{
    int i = 0, n = 0;
    while (i < argc) {
        char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (a[0] != '-' || a[1] == '\0') {
            break;
        }
        i++;
        if (strcmp(a, "-k") == 0) {
            optv[n++] = "--keep-order";
            continue;
        }
        if (strncmp(a, "-j", 2) == 0) {
            optv[n++] = "--jobs";
            if (a[2] != '\0') {
                optv[n++] = a + 2;
            } else if (i < argc) {
                optv[n++] = argv[i++];
            }
            continue;
        }
        optv[n++] = a;
        const char *eq = strchr(a, '=');
        const dvi_option *o =
            a[1] == '-'
                ? s_find_opt(a + 2, eq ? (size_t)(eq - a - 2) : strlen(a + 2))
                : NULL;
        if (o != NULL && o->type != DVI_OPT_FLAG && eq == NULL && i < argc) {
            optv[n++] = argv[i++];
        }
    }
    *nopt = n;
    return i;
}

/* Parses --halt's value into h. Returns 0, or -1 for a bad one. */
static int
s_parse_halt(const char *v, s_halt *h)
{
    memset(h, 0, sizeof(*h));
    if (v == NULL || strcmp(v, "never") == 0 || strcmp(v, "0") == 0) {
        return 0;
    }
    /* parallel's old forms: 1 is soon,fail=1, 2 now,fail=1. */
    if (strcmp(v, "1") == 0 || strcmp(v, "2") == 0) {
        h->when = v[0] == '1' ? 1 : 2;
        h->count = 1;
        return 0;
    }
    const char *comma = strchr(v, ',');
    const char *eq = comma ? strchr(comma, '=') : NULL;
    if (eq == NULL) {
        return -1;
    }
    size_t wl = (size_t)(comma - v), kl = (size_t)(eq - comma - 1);
    h->when = wl == 3 && strncmp(v, "now", 3) == 0    ? 2
              : wl == 4 && strncmp(v, "soon", 4) == 0 ? 1
                                                      : -1;
    const char *k = comma + 1;
    h->what = kl == 4 && strncmp(k, "fail", 4) == 0      ? 0
              : kl == 7 && strncmp(k, "success", 7) == 0 ? 1
              : kl == 4 && strncmp(k, "done", 4) == 0    ? 2
                                                         : -1;
    char *end;
    h->count = strtod(eq + 1, &end);
    h->pct = *end == '%';
    if (h->pct) {
        end++;
    }
    if (h->when < 0 || h->what < 0 || end == eq + 1 || *end != '\0' ||
        !(h->count > 0) || (h->pct && h->count > 100)) {
        return -1;
    }
    return 0;
}

/* Parses everything: options, command, sources (and the joblog to resume
 * from). Returns -1 to go on, else the exit status. */
static int
s_setup(s_map *m, int argc, char **argv)
{
    char **optv = calloc((size_t)argc * 2 + 1, sizeof(char *));
    if (optv == NULL) {
        return S_EXIT_ERROR;
    }
    int nopt, cmd = s_scan_options(argc, argv, optv, &nopt);
    int rc =
        dvi_options_parse(s_opts, S_NOPTS, nopt, optv, s_usage_line, s_about);
    free(optv);
    if (rc != 0) {
        return rc == 1 ? 0 : S_EXIT_USAGE;
    }
    if (s_parse_halt(dvi_opt_str(s_opts, S_NOPTS, "halt"), &m->halt) != 0) {
        fprintf(stderr,
                "drove map: --halt: '%s' is not WHEN,WHAT=N (now,fail=1; "
                "soon,fail=10%%; never)\n",
                dvi_opt_str(s_opts, S_NOPTS, "halt"));
        return S_EXIT_USAGE;
    }
    int src = cmd;
    while (src < argc && strcmp(argv[src], ":::") != 0 &&
           strcmp(argv[src], "::::") != 0) {
        src++;
    }
    m->tmpl = src > cmd ? dvi_map_template_make((const char *const *)argv + cmd,
                                                (size_t)(src - cmd))
                        : NULL;
    m->args = dvi_map_args_new();
    if ((src > cmd && m->tmpl == NULL) || m->args == NULL) {
        fprintf(stderr, "drove map: out of memory\n");
        return S_EXIT_ERROR;
    }
    if (src < argc) {
        if (dvi_map_args_parse(m->args, argc - src, argv + src, stderr)) {
            return S_EXIT_USAGE;
        }
    } else if (m->tmpl == NULL) {
        fprintf(stderr, "drove map: no command and no arguments (see "
                        "--help)\n");
        return S_EXIT_USAGE;
    } else if (dvi_map_args_read(m->args, stdin) != 0) {
        fprintf(stderr, "drove map: reading stdin: %s\n", strerror(errno));
        return S_EXIT_ERROR;
    }
    m->nsrc = dvi_map_args_nsources(m->args);
    m->njobs = dvi_map_args_njobs(m->args);
    if (m->njobs == SIZE_MAX) {
        fprintf(stderr, "drove map: too many combinations of arguments\n");
        return S_EXIT_USAGE;
    }
    return -1;
}

/* Reads the joblog to resume from and opens it for the new lines. Returns
 * -1 to go on, else the exit status. */
static int
s_open_joblog(s_map *m)
{
    const char *path = dvi_opt_str(s_opts, S_NOPTS, "joblog");
    int resume = dvi_opt_flag(s_opts, S_NOPTS, "resume");
    m->resume_failed = dvi_opt_flag(s_opts, S_NOPTS, "resume-failed");
    if ((resume || m->resume_failed) && path == NULL) {
        fprintf(stderr, "drove map: --%s needs --joblog FILE\n",
                resume ? "resume" : "resume-failed");
        return S_EXIT_USAGE;
    }
    if (path == NULL) {
        return -1;
    }
    if ((resume || m->resume_failed) &&
        dvi_map_joblog_read(path, &m->prev, &m->nprev) != 0) {
        fprintf(stderr, "drove map: --joblog %s: %s\n", path, strerror(errno));
        return S_EXIT_ERROR;
    }
    if (dvi_opt_flag(s_opts, S_NOPTS, "dry-run")) {
        return -1;
    }
    m->log = dvi_map_joblog_open(path, resume || m->resume_failed);
    if (m->log == NULL) {
        fprintf(stderr, "drove map: --joblog %s: %s\n", path, strerror(errno));
        return S_EXIT_ERROR;
    }
    return -1;
}

/* Whether the joblog resumed from says to skip job index i. */
static int
s_skip(const s_map *m, size_t i)
{
    size_t seq = i + 1;
    if (seq >= m->nprev) {
        return 0;
    }
    return m->prev[seq] == DVI_JOBLOG_OK ||
           (m->prev[seq] == DVI_JOBLOG_FAILED && !m->resume_failed);
}

/* The job at index i, its command line and tag made. NULL when out of
 * memory. */
static dvi_map_job *
s_make_job(const s_map *m, size_t i)
{
    const char **a = calloc(m->nsrc ? m->nsrc : 1, sizeof(*a));
    dvi_map_job *j = calloc(1, sizeof(*j));
    if (a == NULL || j == NULL) {
        goto fail;
    }
    dvi_map_args_job(m->args, i, a);
    j->seq = i + 1;
    if (m->tmpl != NULL) {
        j->cmd = dvi_map_template_expand(m->tmpl, a, m->nsrc, j->seq);
    } else {
        /* No command: the arguments are the command line, as given. */
        j->cmd = dvi_map_template_join(a, m->nsrc, "");
    }
    if (j->cmd == NULL || (m->tag && (j->tag = dvi_map_template_join(
                                          a, m->nsrc, "\t")) == NULL)) {
        goto fail;
    }
    free(a);
    return j;
fail:
    if (j != NULL) {
        dvi_map_job_fini(j);
    }
    free(j);
    free(a);
    return NULL;
}

static void
s_free_job(dvi_map_job *j)
{
    if (j != NULL) {
        dvi_map_job_fini(j);
        free(j);
    }
}

/* Prints the command lines of the jobs to run. */
static int
s_dry_run(s_map *m)
{
    for (size_t i = 0; i < m->njobs; i++) {
        if (s_skip(m, i)) {
            continue;
        }
        dvi_map_job *j = s_make_job(m, i);
        if (j == NULL) {
            fprintf(stderr, "drove map: out of memory\n");
            return S_EXIT_ERROR;
        }
        printf("%s%s\n", j->tag ? j->tag : "", j->cmd);
        s_free_job(j);
    }
    return fflush(stdout) == 0 ? 0 : S_EXIT_ERROR;
}

/* The default --jobs: the threads of the cluster's workers (their sum in
 * the scheduler's totals), else the cores here. */
static size_t
s_default_jobs(dv_client *c)
{
    char *text = NULL;
    long threads = 0;
    if (dv_scheduler_info(c, &text) == 0) {
        json_t *o = json_loads(text, 0, NULL);
        json_t *t = json_object_get(json_object_get(o, "totals"), "threads");
        threads = json_is_integer(t) ? (long)json_integer_value(t) : 0;
        long sum = 0;
        size_t i;
        json_t *w;
        json_array_foreach(json_object_get(o, "workers"), i, w)
        {
            sum += (long)json_integer_value(json_object_get(w, "threads"));
        }
        threads = threads > 0 ? threads : sum;
        json_decref(o);
        free(text);
    }
    if (threads <= 0) {
        threads = sysconf(_SC_NPROCESSORS_ONLN);
    }
    return threads > 0 ? (size_t)threads : 1;
}

/* ---- Running --------------------------------------------------------- */

/* Writes a finished job's output and what drove map has to say of it. */
static void
s_write_job(s_map *m, const dvi_map_job *j)
{
    if (j->error != NULL) {
        dvi_map_out_note(&m->out, "job %zu (%s) could not run: %s", j->seq,
                         j->cmd, j->error);
    } else if (j->timed_out) {
        dvi_map_out_note(
            &m->out, "this job was killed because it timed out: %s", j->cmd);
    }
    dvi_map_out_job(&m->out, j->tag, j->out, j->outlen, j->err, j->errlen);
}

/* -k: writes the held jobs whose turn has come, in order. */
static void
s_write_held(s_map *m, int all)
{
    while (m->cursor < m->njobs && m->cursor < m->next) {
        dvi_map_job *j = m->held[m->cursor];
        if (j == NULL && !all && !s_skip(m, m->cursor)) {
            return;
        }
        if (j != NULL) {
            s_write_job(m, j);
            s_free_job(j);
            m->held[m->cursor] = NULL;
        }
        m->cursor++;
    }
}

/* The number of tasks the cluster's workers are running, or -1. */
static long
s_running(dv_client *c)
{
    char *text = NULL;
    if (dv_scheduler_info(c, &text) != 0) {
        return -1;
    }
    json_t *o = json_loads(text, 0, NULL);
    json_t *r = json_object_get(json_object_get(o, "totals"), "running");
    long n = json_is_integer(r) ? (long)json_integer_value(r) : -1;
    json_decref(o);
    free(text);
    return n;
}

/* Stops the jobs in flight (--halt now, an error): a cancelled command
 * task has its process group killed by its worker. The cancellations
 * travel as messages, which dv_close would overtake (an embedded
 * cluster then waits for the calls to end by themselves), so wait,
 * briefly, for the workers to report nothing running. */
static void
s_kill_flight(s_map *m)
{
    size_t n = m->nflight;
    for (size_t i = 0; i < m->nflight; i++) {
        dv_cancel(m->fs[i]);
        s_free_job(m->flight[i]);
    }
    m->nflight = 0;
    double deadline = (double)uv_hrtime() / 1e9 + 3.0;
    while (n > 0 && s_running(m->run.c) > 0 &&
           (double)uv_hrtime() / 1e9 < deadline) {
        uv_sleep(20);
    }
}

/* Whether --halt fires after job j, and what it does then. */
static void
s_check_halt(s_map *m, const dvi_map_job *j)
{
    const s_halt *h = &m->halt;
    if (h->when == 0 || m->halted) {
        return;
    }
    size_t limit = h->what == 0   ? m->failed
                   : h->what == 1 ? m->done - m->failed
                                  : m->done;
    double need = h->pct ? (double)m->total * h->count / 100.0 : h->count;
    if ((double)limit < need) {
        return;
    }
    m->halted = 1;
    m->stop = 1;
    if (h->what == 1) {
        m->halt_status = 0;
    } else if (h->pct) {
        /* parallel's ceil(failed / total * 100), without libm. */
        size_t total = m->total ? m->total : 1;
        m->halt_status = (int)((m->failed * 100 + total - 1) / total);
    } else if (h->count == 1) {
        /* parallel: the job's own status, 128 + a signal as bash's. */
        m->halt_status = j->exitval  ? j->exitval
                         : j->signal ? 128 + j->signal
                                     : 0;
    } else {
        m->halt_status = m->failed > 100 ? 101 : (int)m->failed;
    }
    if (dvi_map_job_failed(j)) {
        dvi_map_out_note(&m->out, "this job failed: %s", j->cmd);
    }
    if (h->when == 2) {
        s_kill_flight(m);
    } else if (m->nflight > 0) {
        dvi_map_out_note(&m->out,
                         "starting no more jobs; waiting for %zu to finish",
                         m->nflight);
    }
}

/* A job is over (no more tries): joblog, counts, output, --halt. Takes
 * j. */
static void
s_complete(s_map *m, dvi_map_job *j)
{
    if (m->log != NULL) {
        dvi_map_joblog_entry e = {j->seq,     j->host,   j->start, j->runtime,
                                  j->exitval, j->signal, j->cmd};
        if (dvi_map_joblog_write(m->log, &e) != 0) {
            dvi_map_out_note(&m->out, "--joblog: %s", strerror(errno));
        }
    }
    m->done++;
    m->failed += dvi_map_job_failed(j) ? 1 : 0;
    if (!m->keep) {
        s_write_job(m, j);
    }
    s_check_halt(m, j);
    if (m->keep) {
        m->held[j->seq - 1] = j;
        s_write_held(m, 0);
    } else {
        s_free_job(j);
    }
}

/* Starts jobs until --jobs are in flight. Returns 0, or -1 after saying
 * why a job could not be submitted. */
static int
s_fill(s_map *m)
{
    while (!m->stop && m->nflight < m->jobs && m->next < m->njobs) {
        size_t i = m->next++;
        if (s_skip(m, i)) {
            continue;
        }
        dvi_map_job *j = s_make_job(m, i);
        if (j == NULL || dvi_map_job_submit(j, &m->run) != 0) {
            dvi_map_out_note(&m->out, "job %zu: %s", i + 1,
                             j ? dv_last_error() : "out of memory");
            s_free_job(j);
            return -1;
        }
        m->flight[m->nflight] = j;
        m->fs[m->nflight++] = j->f;
    }
    return 0;
}

/* Takes the job whose future f completed out of the window. */
static dvi_map_job *
s_take(s_map *m, dv_future *f)
{
    for (size_t i = 0; i < m->nflight; i++) {
        if (m->fs[i] == f) {
            dvi_map_job *j = m->flight[i];
            m->nflight--;
            m->flight[i] = m->flight[m->nflight];
            m->fs[i] = m->fs[m->nflight];
            return j;
        }
    }
    return NULL;
}

/* ---- Signals ---------------------------------------------------------- */

/* The signal that asked drove map to stop, or 0. */
static volatile sig_atomic_t s_signal;

static void
s_on_signal(int sig)
{
    s_signal = sig;
}

static const int s_signals[] = {SIGINT, SIGTERM, SIGHUP};

/* Catches the signals that end a run (those not ignored: a job started
 * with nohup keeps ignoring them) and blocks them in this thread while
 * dv_connect starts the embedded cluster's threads, so that they inherit
 * the block and the main thread alone takes them. The jobs' process
 * groups do not get a terminal's ^C: drove map must cancel them, or they
 * would run on after it. */
static void
s_catch_signals(sigset_t *set)
{
    sigemptyset(set);
    for (size_t i = 0; i < sizeof(s_signals) / sizeof(s_signals[0]); i++) {
        struct sigaction old, sa;
        if (sigaction(s_signals[i], NULL, &old) != 0 ||
            old.sa_handler == SIG_IGN) {
            continue;
        }
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = s_on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(s_signals[i], &sa, NULL);
        sigaddset(set, s_signals[i]);
    }
    pthread_sigmask(SIG_BLOCK, set, NULL);
}

/* Runs the jobs to the end (or the halt, or a signal). Returns 0, or -1
 * after an error or a signal that ended the run. */
static int
s_loop(s_map *m)
{
    for (;;) {
        if (s_signal != 0) {
            dvi_map_out_note(&m->out, "%s: stopping %zu running jobs",
                             strsignal(s_signal), m->nflight);
            return -1;
        }
        if (s_fill(m) != 0) {
            return -1;
        }
        dvi_map_out_progress(&m->out, m->done, m->failed, m->nflight, 0);
        if (m->nflight == 0) {
            return 0;
        }
        /* A bounded wait: a signal's flag and the bar are looked at. */
        dv_future *f = dv_next_completed(m->run.c, m->fs, m->nflight, 0.25);
        if (f == NULL && dv_last_code() == DV_ETIMEDOUT) {
            continue;
        }
        dvi_map_job *j = f ? s_take(m, f) : NULL;
        if (j == NULL) {
            dvi_map_out_note(&m->out, "%s", dv_last_error());
            return -1;
        }
        dvi_map_job_read(j);
        if (dvi_map_job_failed(j) && j->tries <= m->retries && !m->stop) {
            if (dvi_map_job_submit(j, &m->run) != 0) {
                dvi_map_out_note(&m->out, "job %zu: %s", j->seq,
                                 dv_last_error());
                s_free_job(j);
                return -1;
            }
            m->flight[m->nflight] = j;
            m->fs[m->nflight++] = j->f;
            continue;
        }
        s_complete(m, j);
    }
}

/* Connects, sizes the window and runs the jobs. Returns the exit
 * status. */
static int
s_run(s_map *m)
{
    for (size_t i = 0; i < m->njobs; i++) {
        m->total += s_skip(m, i) ? 0 : 1;
    }
    m->out.total = m->total;
    sigset_t set;
    s_catch_signals(&set);
    dv_client *c = dv_connect(NULL);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    if (c == NULL) {
        fprintf(stderr, "drove map: cannot connect: %s\n", dv_last_error());
        return S_EXIT_ERROR;
    }
    m->run.c = c;
    m->jobs = dvi_opt_str(s_opts, S_NOPTS, "jobs")
                  ? (size_t)dvi_opt_int(s_opts, S_NOPTS, "jobs")
                  : s_default_jobs(c);
    m->flight = calloc(m->jobs, sizeof(*m->flight));
    m->fs = calloc(m->jobs, sizeof(*m->fs));
    m->held =
        m->keep ? calloc(m->njobs ? m->njobs : 1, sizeof(*m->held)) : NULL;
    int rc = S_EXIT_ERROR;
    if (m->flight == NULL || m->fs == NULL || (m->keep && m->held == NULL)) {
        fprintf(stderr, "drove map: out of memory\n");
    } else if (s_loop(m) == 0) {
        rc = m->halted                       ? m->halt_status & 0xff
             : m->failed > S_EXIT_MAX_FAILED ? S_EXIT_MAX_FAILED
                                             : (int)m->failed;
    } else if (s_signal != 0) {
        rc = 128 + s_signal; /* as a shell reports a killed command */
    }
    s_kill_flight(m);
    if (m->keep) {
        s_write_held(m, 1);
    }
    dvi_map_out_fini(&m->out);
    free(m->flight);
    free(m->fs);
    free(m->held);
    dv_close(c);
    return rc;
}

int
dvi_cmd_map(int argc, char **argv)
{
    s_map m;
    memset(&m, 0, sizeof(m));
    int rc = s_setup(&m, argc, argv);
    if (rc < 0) {
        rc = s_open_joblog(&m);
    }
    if (rc < 0) {
        m.keep = dvi_opt_flag(s_opts, S_NOPTS, "keep-order");
        m.tag = dvi_opt_flag(s_opts, S_NOPTS, "tag");
        m.retries = dvi_opt_int(s_opts, S_NOPTS, "retries");
        m.run.timeout_s = dvi_opt_num(s_opts, S_NOPTS, "timeout");
        const char *wd = dvi_opt_str(s_opts, S_NOPTS, "workdir");
        char cwd[4096];
        if (strcmp(wd, "...") == 0) {
            wd = NULL;
        } else if (strcmp(wd, ".") == 0) {
            /* The worker may run elsewhere: the directory by its name. */
            wd = getcwd(cwd, sizeof(cwd)) ? cwd : ".";
        } else if (wd[0] != '/') {
            wd = realpath(wd, cwd) ? cwd : wd; /* as dv_cmd_workdir wants */
        }
        m.run.workdir = wd;
        if (dvi_opt_flag(s_opts, S_NOPTS, "dry-run")) {
            rc = s_dry_run(&m);
        } else {
            dvi_map_out_init(&m.out,
                             !dvi_opt_flag(s_opts, S_NOPTS, "no-bar") &&
                                 isatty(STDERR_FILENO),
                             0);
            rc = s_run(&m);
        }
    }
    dvi_map_joblog_close(&m.log);
    dvi_map_args_destroy(&m.args);
    free(m.tmpl);
    free(m.prev);
    return rc;
}
