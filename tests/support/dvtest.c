/* drove — test support: cmocka helpers, child processes, clusters.
 *
 * Everything a test starts is recorded in s_procs, so that the exit cleanup
 * and the watchdog can kill it: a test that fails half-way, or hangs, must
 * not leave daemons behind on the machine. Children also get
 * PR_SET_PDEATHSIG, for the case where ctest kills the test with SIGKILL
 * and no cleanup runs at all.
 */
#define _GNU_SOURCE
#include "dvtest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DVT_MAX_PROCS 256

struct dvt_proc {
    char name[64];
    char out_path[512]; /* HOME/<name>.out: the child's stdout */
    char log_path[512]; /* HOME/<name>.log: the child's stderr */
    pid_t pid;          /* 0 once reaped */
    int status;         /* wait status, valid once reaped */
};

static char s_home[256];                 /* "" until dvt_init */
static dvt_proc *s_procs[DVT_MAX_PROCS]; /* every process started */
static size_t s_nprocs;
static volatile sig_atomic_t s_failed; /* print logs at exit */

const char *dvt_where;
unsigned dvt_kind;

/* ---- Asserts ------------------------------------------------------------ */

void
dvt_fail_at(const char *file, int line, const char *fmt, ...)
{
    char msg[4096];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    print_error("%s:%d: %s%s%s\n", file, line, msg, dvt_where ? " on " : "",
                dvt_where ? dvt_where : "");
    s_failed = 1;
    _fail(file, line);
}

void *
dvt_notnull_at(const char *file, int line, const char *what, const void *p)
{
    if (p == NULL) {
        dvt_fail_at(file, line, "%s returned NULL: %s", what, dv_last_error());
    }
    return (void *)p;
}

void
dvt_eq_str_at(const char *file, int line, const char *ea, const char *eb,
              const char *a, const char *b)
{
    if ((a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0)) {
        dvt_fail_at(file, line, "%s == %s: \"%s\" != \"%s\"", ea, eb,
                    a ? a : "(null)", b ? b : "(null)");
    }
}

void
dvt_ne_str_at(const char *file, int line, const char *ea, const char *eb,
              const char *a, const char *b)
{
    if ((a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0)) {
        dvt_fail_at(file, line, "%s != %s: both \"%s\"", ea, eb,
                    a ? a : "(null)");
    }
}

void
dvt_contains_at(const char *file, int line, const char *ehay, const char *hay,
                const char *needle)
{
    if (hay == NULL || strstr(hay, needle) == NULL) {
        dvt_fail_at(file, line, "%s = \"%s\" does not contain \"%s\"", ehay,
                    hay ? hay : "(null)", needle);
    }
}

/* ---- Futures ------------------------------------------------------------ */

const dv_value *
dvt_result_at(const char *file, int line, const char *what, dv_future *f,
              double timeout_s)
{
    if (f == NULL) {
        dvt_fail_at(file, line, "%s is NULL: %s", what, dv_last_error());
    }
    const dv_value *v = dv_result(f, timeout_s);
    if (v == NULL) {
        const char *err = dv_future_error(f);
        dvt_fail_at(file, line,
                    "dv_result(%s [%s], %g s) failed: status %d,"
                    " error \"%s\", last error \"%s\"",
                    what, dv_future_key(f) ? dv_future_key(f) : "?", timeout_s,
                    dv_future_status(f), err ? err : "(null)", dv_last_error());
    }
    return v;
}

int64_t
dvt_result_i64_at(const char *file, int line, const char *what, dv_future *f,
                  double timeout_s)
{
    const dv_value *v = dvt_result_at(file, line, what, f, timeout_s);
    if (dv_value_type(v) != DV_I64) {
        dvt_fail_at(file, line, "result of %s has type %d, want DV_I64", what,
                    dv_value_type(v));
    }
    return dv_value_i64(v);
}

const char *
dvt_error_at(const char *file, int line, const char *what, dv_future *f,
             double timeout_s)
{
    if (f == NULL) {
        dvt_fail_at(file, line, "%s is NULL: %s", what, dv_last_error());
    }
    if (dv_wait(&f, 1, timeout_s) != 0) {
        dvt_fail_at(file, line, "%s did not complete within %g s", what,
                    timeout_s);
    }
    const dv_value *v = dv_result(f, 0);
    if (v != NULL) {
        dvt_fail_at(file, line, "%s succeeded (type %d), want an error", what,
                    dv_value_type(v));
    }
    if (dv_future_status(f) != DV_ERRED) {
        dvt_fail_at(file, line, "%s status %d, want DV_ERRED (%d)", what,
                    dv_future_status(f), DV_ERRED);
    }
    const char *err = dv_future_error(f);
    if (err == NULL) {
        dvt_fail_at(file, line, "%s erred without an error text", what);
    }
    return err;
}

void
dvt_release_all(dv_future **fs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        dv_release(fs[i]);
        fs[i] = NULL;
    }
}

/* ---- Time --------------------------------------------------------------- */

double
dvt_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
dvt_sleep(double seconds)
{
    struct timespec ts;

    ts.tv_sec = (time_t)seconds;
    ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* ---- Process setup ------------------------------------------------------ */

static int
s_rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void
s_rm_home(void)
{
    if (s_home[0] != '\0') {
        nftw(s_home, s_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        s_home[0] = '\0';
    }
}

/* Copies a file to stderr with write(2) only, so that the watchdog's signal
 * handler may use it. */
static void
s_cat_fd(const char *path)
{
    char buf[4096];
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        return;
    }
    while ((n = read(fd, buf, sizeof(buf))) > 0) {
        if (write(2, buf, (size_t)n) < 0) {
            break;
        }
    }
    close(fd);
}

static void
s_write_str(const char *s)
{
    if (write(2, s, strlen(s)) < 0) {
        return;
    }
}

static void
s_dump_all_logs(void)
{
    for (size_t i = 0; i < s_nprocs; i++) {
        s_write_str("---- stderr of ");
        s_write_str(s_procs[i]->name);
        s_write_str(" ----\n");
        s_cat_fd(s_procs[i]->log_path);
    }
    if (s_nprocs > 0) {
        s_write_str("---- end of logs ----\n");
    }
}

static void
s_kill_all(int sig)
{
    for (size_t i = 0; i < s_nprocs; i++) {
        if (s_procs[i]->pid > 0) {
            kill(s_procs[i]->pid, sig);
        }
    }
}

static void
s_cleanup(void)
{
    /* Give the daemons a chance to exit on SIGTERM (and sanitizers a chance
     * to report), then make sure. */
    for (size_t i = s_nprocs; i-- > 0;) {
        dvt_proc_kill(s_procs[i]);
    }
    if (s_failed) {
        s_dump_all_logs();
    }
    for (size_t i = 0; i < s_nprocs; i++) {
        free(s_procs[i]);
    }
    s_nprocs = 0;
    s_rm_home();
}

static void
s_on_alarm(int sig)
{
    (void)sig;
    s_write_str("dvtest: watchdog: the test ran too long; killing it\n");
    s_kill_all(SIGKILL);
    for (size_t i = 0; i < s_nprocs; i++) {
        if (s_procs[i]->pid > 0) {
            waitpid(s_procs[i]->pid, NULL, 0);
        }
    }
    s_dump_all_logs();
    s_rm_home();
    _exit(1);
}

void
dvt_init(unsigned watchdog_s)
{
    char tmpl[] = "/tmp/dvtest-XXXXXX";

    signal(SIGPIPE, SIG_IGN);
    if (mkdtemp(tmpl) == NULL) {
        perror("dvtest: mkdtemp");
        exit(1);
    }
    snprintf(s_home, sizeof(s_home), "%s", tmpl);
    setenv("DROVE_HOME", s_home, 1);
    /* Workers' socket files for same-host peers (proto/samehost.h) go
     * there too, and are removed with it. */
    setenv("XDG_RUNTIME_DIR", s_home, 1);
    unsetenv("DROVE_SAMEHOST");
    unsetenv("DROVE_SCHEDULER");
    unsetenv("DROVE_SCHEME");
    unsetenv("DROVE_PROFILE");
    atexit(s_cleanup);
    /* DVT_FILTER=test_name (a glob) runs only the tests it matches. */
    if (getenv("DVT_FILTER") != NULL) {
        cmocka_set_test_filter(getenv("DVT_FILTER"));
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = s_on_alarm;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    alarm(watchdog_s);
}

const char *
dvt_home(void)
{
    return s_home;
}

int
dvt_finish(int failed)
{
    if (failed) {
        s_failed = 1;
    }
    return failed;
}

const char *
dvt_drove_bin(void)
{
    const char *env = getenv("DVT_DROVE_BIN");
    if (env != NULL && env[0] != '\0') {
        return env;
    }
#ifdef DV_DROVE_BIN
    return DV_DROVE_BIN;
#else
    return "drove";
#endif
}

/* ---- Child processes ---------------------------------------------------- */

dvt_proc *
dvt_spawn(const char *name, char *const argv[])
{
    if (s_nprocs == DVT_MAX_PROCS) {
        fprintf(stderr, "dvtest: too many processes\n");
        return NULL;
    }
    dvt_proc *p = calloc(1, sizeof(*p));
    if (p == NULL) {
        return NULL;
    }
    snprintf(p->name, sizeof(p->name), "%s", name);
    snprintf(p->out_path, sizeof(p->out_path), "%s/%s.out", s_home, name);
    snprintf(p->log_path, sizeof(p->log_path), "%s/%s.log", s_home, name);
    int out = open(p->out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int log = open(p->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out < 0 || log < 0) {
        fprintf(stderr, "dvtest: %s: %s\n", p->out_path, strerror(errno));
        goto fail;
    }
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        perror("dvtest: fork");
        goto fail;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) {
            _exit(127);
        }
        dup2(out, 1);
        dup2(log, 2);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) {
            dup2(devnull, 0);
        }
        signal(SIGPIPE, SIG_DFL);
        alarm(0);
        execv(argv[0], argv);
        fprintf(stderr, "dvtest: exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(out);
    close(log);
    p->pid = pid;
    s_procs[s_nprocs++] = p;
    return p;

fail:
    if (out >= 0) {
        close(out);
    }
    if (log >= 0) {
        close(log);
    }
    free(p);
    return NULL;
}

pid_t
dvt_proc_pid(const dvt_proc *p)
{
    return p->pid;
}

const char *
dvt_proc_name(const dvt_proc *p)
{
    return p->name;
}

/* Reaps the process if it has exited; true if it is gone. */
static bool
s_reap(dvt_proc *p)
{
    if (p->pid == 0) {
        return true;
    }
    int status;
    pid_t r = waitpid(p->pid, &status, WNOHANG);
    if (r == p->pid || (r < 0 && errno == ECHILD)) {
        p->status = r == p->pid ? status : 0;
        p->pid = 0;
        return true;
    }
    return false;
}

bool
dvt_proc_alive(dvt_proc *p)
{
    return !s_reap(p);
}

int
dvt_proc_wait(dvt_proc *p, double timeout_s, int *status)
{
    double deadline = dvt_now() + timeout_s;

    while (!s_reap(p)) {
        if (dvt_now() > deadline) {
            return DV_ETIMEDOUT;
        }
        dvt_sleep(0.005);
    }
    if (status != NULL) {
        *status = p->status;
    }
    return 0;
}

void
dvt_proc_kill(dvt_proc *p)
{
    if (p == NULL || s_reap(p)) {
        return;
    }
    kill(p->pid, SIGTERM);
    if (dvt_proc_wait(p, 5.0, NULL) == 0) {
        return;
    }
    fprintf(stderr, "dvtest: %s (pid %d) ignored SIGTERM for 5 s; killing\n",
            p->name, (int)p->pid);
    kill(p->pid, SIGKILL);
    dvt_proc_wait(p, 5.0, NULL);
}

char *
dvt_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    while (buf != NULL) {
        size_t n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
        if (n == 0) {
            break;
        }
        if (cap - len - 1 == 0) {
            char *nb = realloc(buf, cap * 2);
            if (nb == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf != NULL) {
        buf[len] = '\0';
    }
    return buf;
}

char *
dvt_proc_log(const dvt_proc *p)
{
    return dvt_read_file(p->log_path);
}

bool
dvt_wait_text(const dvt_proc *p, const char *path, const char *needle,
              double timeout_s)
{
    double deadline = dvt_now() + timeout_s;
    for (;;) {
        char *text = path ? dvt_read_file(path) : dvt_proc_log(p);
        bool found = text != NULL && strstr(text, needle) != NULL;
        free(text);
        if (found) {
            return true;
        }
        if (dvt_now() > deadline) {
            fprintf(stderr, "dvtest: no \"%s\" in %s within %g s\n", needle,
                    path ? path : p->name, timeout_s);
            return false;
        }
        dvt_sleep(0.005);
    }
}

dv_future *
dvt_sleep_marked(dv_client *c, const char *path, int64_t ms, const char *pin)
{
    dv_opts opts = DV_OPTS_INIT;
    opts.worker = pin;
    dv_arg args[2] = {dv_str(path), dv_i64(ms)};
    return DVT_NOTNULL(dv_submit(c, "sleep_marked", 2, args, &opts));
}

int
dvt_count_lines(const char *path)
{
    char *text = dvt_read_file(path);
    int n = 0;
    for (char *c = text; c != NULL && *c != '\0'; c++) {
        n += *c == '\n';
    }
    free(text);
    return n;
}

void
dvt_proc_dump_log(const dvt_proc *p)
{
    fprintf(stderr, "---- stderr of %s ----\n", p->name);
    fflush(stderr);
    s_cat_fd(p->log_path);
    fprintf(stderr, "---- end of %s ----\n", p->name);
}

int
dvt_proc_read_line(dvt_proc *p, char *buf, size_t size, double timeout_s)
{
    double deadline = dvt_now() + timeout_s;

    for (;;) {
        char *text = dvt_read_file(p->out_path);
        char *nl = text ? strchr(text, '\n') : NULL;
        if (nl != NULL) {
            *nl = '\0';
            snprintf(buf, size, "%s", text);
            free(text);
            return 0;
        }
        free(text);
        if (!dvt_proc_alive(p)) {
            fprintf(stderr,
                    "dvtest: %s exited (status 0x%x) before printing"
                    " a line\n",
                    p->name, p->status);
            dvt_proc_dump_log(p);
            return DV_ECONN;
        }
        if (dvt_now() > deadline) {
            fprintf(stderr, "dvtest: %s printed no line within %g s\n", p->name,
                    timeout_s);
            dvt_proc_dump_log(p);
            return DV_ETIMEDOUT;
        }
        dvt_sleep(0.01);
    }
}

int64_t
dvt_proc_wchar(pid_t pid)
{
    char path[64];
    char line[256];
    int64_t wchar = -1;

    if (pid == 0) {
        snprintf(path, sizeof(path), "/proc/self/io");
    } else {
        snprintf(path, sizeof(path), "/proc/%d/io", (int)pid);
    }
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        long long v;
        if (sscanf(line, "wchar: %lld", &v) == 1) {
            wchar = v;
        }
    }
    fclose(f);
    return wchar;
}

int64_t
dvt_proc_rss_kib(pid_t pid)
{
    char path[64];
    char line[256];
    int64_t kib = -1;

    if (pid == 0) {
        snprintf(path, sizeof(path), "/proc/self/status");
    } else {
        snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    }
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        long long v;
        if (sscanf(line, "VmRSS: %lld kB", &v) == 1) {
            kib = v;
        }
    }
    fclose(f);
    return kib;
}

/* The parent pid of pid from /proc/PID/stat, or -1. The command name, in
 * parentheses, may hold spaces and parentheses: read after the last ')'. */
static pid_t
s_parent_of(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    char *text = dvt_read_file(path);
    char *close = text ? strrchr(text, ')') : NULL;
    char state;
    int ppid = -1;
    if (close == NULL || sscanf(close + 1, " %c %d", &state, &ppid) != 2 ||
        state == 'Z') {
        ppid = -1; /* unreadable, or exited and not yet reaped */
    }
    free(text);
    return (pid_t)ppid;
}

static int
s_cmp_pid(const void *a, const void *b)
{
    pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
    return (x > y) - (x < y);
}

int
dvt_children(pid_t *out, int max)
{
    DIR *d = opendir("/proc");
    pid_t self = getpid();
    int n = 0;

    if (d == NULL) {
        return 0;
    }
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end != '\0' || pid <= 0 || s_parent_of((pid_t)pid) != self) {
            continue;
        }
        if (n < max) {
            out[n] = (pid_t)pid;
        }
        n++;
    }
    closedir(d);
    qsort(out, (size_t)(n < max ? n : max), sizeof(*out), s_cmp_pid);
    return n;
}

/* ---- Clusters ----------------------------------------------------------- */

/* Polls dv_nworkers until the scheduler at addr reports want workers. */
static int
s_wait_workers(const char *addr, int want, double timeout_s)
{
    double deadline = dvt_now() + timeout_s;
    dv_client *c = NULL;
    int have = -1;

    while (dvt_now() < deadline) {
        if (c == NULL) {
            c = dv_connect(addr);
        }
        if (c != NULL) {
            have = dv_nworkers(c);
            if (have >= want) {
                dv_close(c);
                return 0;
            }
        }
        dvt_sleep(0.02);
    }
    fprintf(stderr,
            "dvtest: %s reports %d workers after %g s, want %d (%s)"
            "\n",
            addr, have, timeout_s, want,
            c == NULL ? dv_last_error() : "connected");
    dv_close(c);
    return DV_ETIMEDOUT;
}

/* Starts the next worker of cl, wN, of `threads` threads, with the
 * NULL-terminated args (at most 15) after its name. NULL on failure. */
static dvt_proc *
s_spawn_worker(dvt_cluster *cl, int threads, const char *const *args)
{
    int i = cl->nworkers;
    char wname[16], pname[96], nthreads[16];
    snprintf(wname, sizeof(wname), "w%d", i);
    snprintf(pname, sizeof(pname), "%s-worker%d", dvt_proc_name(cl->sched), i);
    snprintf(nthreads, sizeof(nthreads), "%d", threads);
    char *wargv[24] = {(char *)dvt_drove_bin(),
                       "worker",
                       "--scheduler",
                       cl->addr,
                       "--threads",
                       nthreads,
                       "--name",
                       wname};
    for (int k = 0; args != NULL && args[k] != NULL && k < 15; k++) {
        wargv[8 + k] = (char *)args[k];
    }
    cl->workers[i] = dvt_spawn(pname, wargv);
    if (cl->workers[i] != NULL) {
        cl->nworkers++;
    }
    return cl->workers[i];
}

int
dvt_cluster_start(dvt_cluster *cl, int nworkers, int threads)
{
    static const char *const no_nanny[] = {"--no-nanny", NULL};
    return dvt_cluster_start_args(cl, nworkers, threads, no_nanny);
}

int
dvt_cluster_start_args(dvt_cluster *cl, int nworkers, int threads,
                       const char *const *worker_args)
{
    char sname[32];
    static int s_clusters;
    int idx = s_clusters++;

    memset(cl, 0, sizeof(*cl));
    if (nworkers > DVT_MAX_WORKERS) {
        return DV_EINVAL;
    }
    snprintf(sname, sizeof(sname), "scheduler%d", idx);
    char *sargv[] = {(char *)dvt_drove_bin(), "scheduler", "--address",
                     "tcp://127.0.0.1:0", NULL};
    cl->sched = dvt_spawn(sname, sargv);
    if (cl->sched == NULL) {
        return DV_ESYS;
    }
    int rc = dvt_proc_read_line(cl->sched, cl->addr, sizeof(cl->addr), 20.0);
    if (rc != 0) {
        return rc;
    }
    if (strncmp(cl->addr, "tcp://127.0.0.1:", 16) != 0) {
        fprintf(stderr,
                "dvtest: the scheduler printed \"%s\", want "
                "tcp://127.0.0.1:PORT\n",
                cl->addr);
        return DV_EPROTO;
    }
    for (int i = 0; i < nworkers; i++) {
        if (s_spawn_worker(cl, threads, worker_args) == NULL) {
            return DV_ESYS;
        }
    }
    rc = s_wait_workers(cl->addr, nworkers, 30.0);
    if (rc != 0) {
        dvt_proc_dump_log(cl->sched);
        for (int i = 0; i < nworkers; i++) {
            dvt_proc_dump_log(cl->workers[i]);
        }
    }
    return rc;
}

dvt_proc *
dvt_cluster_add_worker(dvt_cluster *cl, int threads, const char *const *args)
{
    if (cl->nworkers >= DVT_MAX_WORKERS) {
        fprintf(stderr, "dvtest: no room for another worker\n");
        return NULL;
    }
    const char *all[16] = {"--no-nanny"};
    for (int k = 0; args != NULL && args[k] != NULL && k < 14; k++) {
        all[k + 1] = args[k];
    }
    dvt_proc *p = s_spawn_worker(cl, threads, all);
    if (p != NULL && s_wait_workers(cl->addr, cl->nworkers, 30.0) != 0) {
        dvt_proc_dump_log(p);
        return NULL;
    }
    return p;
}

void
dvt_cluster_stop(dvt_cluster *cl)
{
    for (int i = 0; i < cl->nworkers; i++) {
        dvt_proc_kill(cl->workers[i]);
    }
    dvt_proc_kill(cl->sched);
}

/* ---- Running a group on each cluster ------------------------------------ */

static dvt_cluster s_tcp;
static int s_tcp_state; /* 0 not started, 1 running, -1 failed */

dvt_cluster *
dvt_tcp_cluster(void)
{
    if (s_tcp_state == 0) {
        s_tcp_state = dvt_cluster_start(&s_tcp, 2, 1) == 0 ? 1 : -1;
        if (s_tcp_state < 0) {
            s_failed = 1;
        }
    }
    return s_tcp_state > 0 ? &s_tcp : NULL;
}

dv_client *
dvt_connect(const char *where)
{
    dv_client *c = dv_connect(where);
    if (c == NULL) {
        fprintf(stderr, "dvtest: dv_connect(\"%s\"): %s\n",
                where ? where : "(null)", dv_last_error());
        return NULL;
    }
    if (where != NULL && strncmp(where, "tcp://", 6) == 0) {
#ifdef DVT_FUNCS_LIB
        int n = dv_upload_library(c, DVT_FUNCS_LIB);
        if (n < 0) {
            fprintf(stderr, "dvtest: dv_upload_library(%s): %d %s\n",
                    DVT_FUNCS_LIB, n, dv_last_error());
            dv_close(c);
            return NULL;
        }
#endif
    }
    return c;
}

static int
s_group_setup(void **state)
{
    dv_client *c = dvt_connect(dvt_where);
    if (c == NULL) {
        s_failed = 1;
        return -1;
    }
    *state = c;
    return 0;
}

static int
s_group_teardown(void **state)
{
    dv_close(*state);
    *state = NULL;
    return 0;
}

static bool
s_wanted(const char *word)
{
    const char *env = getenv("DVT_CLUSTERS");
    return env == NULL || env[0] == '\0' || strstr(env, word) != NULL;
}

int
dvt_run_clusters(const char *name, const struct CMUnitTest *tests,
                 size_t ntests, unsigned clusters)
{
    static const struct {
        unsigned kind;
        const char *word;
        const char *where;
    } kinds[] = {
        {DVT_THREADS, "threads", "local:threads=2"},
        {DVT_PROCESSES, "processes", "local:processes=2"},
        {DVT_TCP, "tcp", NULL},
    };
    int failures = 0;

    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        if (!(clusters & kinds[k].kind) || !s_wanted(kinds[k].word)) {
            continue;
        }
        const char *where = kinds[k].where;
        if (kinds[k].kind == DVT_TCP) {
            dvt_cluster *cl = dvt_tcp_cluster();
            if (cl == NULL) {
                fprintf(stderr, "dvtest: %s: no tcp cluster\n", name);
                failures += (int)ntests;
                continue;
            }
            where = cl->addr;
        }
        char group[256];
        snprintf(group, sizeof(group), "%s on %s", name,
                 kinds[k].kind == DVT_TCP ? "tcp" : where);
        dvt_where = where;
        dvt_kind = kinds[k].kind;
        double t0 = dvt_now();
        int f = _cmocka_run_group_tests(group, tests, ntests, s_group_setup,
                                        s_group_teardown);
        fprintf(stderr, "dvtest: %s: %d failed, %.2f s\n", group, f,
                dvt_now() - t0);
        failures += f;
        dvt_where = NULL;
        dvt_kind = 0;
    }
    if (failures) {
        s_failed = 1;
    }
    return failures;
}

void
dvt_two_workers(dv_client *c, char *w0, char *w1, size_t size)
{
    int n = dv_nworkers(c);
    if (n < 2) {
        DVT_FAIL("dv_nworkers() = %d, want >= 2: %s", n, dv_last_error());
    }
    DVT_PASS(dv_worker_id(c, 0, w0, size));
    DVT_PASS(dv_worker_id(c, 1, w1, size));
    DVT_NE_STR(w0, w1);
}

double
dvt_wait_workers(dv_client *c, int want, double timeout_s)
{
    double t0 = dvt_now(), deadline = t0 + timeout_s;
    while (dv_nworkers(c) != want && dvt_now() < deadline) {
        dvt_sleep(0.01);
    }
    DVT_EQ_I64(dv_nworkers(c), want);
    return dvt_now() - t0;
}
