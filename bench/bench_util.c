/* Helpers shared by the benchmark programs; see bench_util.h. */
#define _GNU_SOURCE
#include "bench_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BU_MAX_CHILDREN 64

/* Pids of live children, for the signal handler: entries are set to 0 when
 * the child is reaped. */
static volatile pid_t s_children[BU_MAX_CHILDREN];

/* Paths to remove at exit, prepared beforehand so that a signal handler
 * only calls unlink and rmdir. */
#define BU_MAX_PATHS 64
static char s_paths[BU_MAX_PATHS][512];
static volatile int s_npaths;

int64_t
bu_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

double
bu_now(void)
{
    return (double)bu_now_ns() / 1e9;
}

static int
s_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;

    return (x > y) - (x < y);
}

double
bu_percentile(double *v, size_t n, double p)
{
    if (n == 0) {
        return 0.0;
    }
    qsort(v, n, sizeof(*v), s_cmp_double);
    size_t rank = (size_t)((p / 100.0) * (double)n + 0.999999);
    if (rank < 1) {
        rank = 1;
    }
    if (rank > n) {
        rank = n;
    }
    return v[rank - 1];
}

double
bu_median(double *v, size_t n)
{
    if (n == 0) {
        return 0.0;
    }
    qsort(v, n, sizeof(*v), s_cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double
bu_loadavg(void)
{
    double load = -1;
    FILE *f = fopen("/proc/loadavg", "r");

    if (f != NULL) {
        if (fscanf(f, "%lf", &load) != 1) {
            load = -1;
        }
        fclose(f);
    }
    return load;
}

void
bu_print_spread(const char *prog, const char *name, const double *sorted,
                size_t n)
{
    size_t q3 = (3 * n) / 4 < n ? (3 * n) / 4 : n - 1;

    fprintf(stderr,
            "%s: %s: %zu ratios, min %.3f, quartiles %.3f %.3f, max %.3f; "
            "load average %.2f\n",
            prog, name, n, sorted[0], sorted[n / 4], sorted[q3], sorted[n - 1],
            bu_loadavg());
}

unsigned
bu_name_bits(const char *list, const char *const *names, int n)
{
    unsigned bits = 0;

    for (const char *p = list; *p != '\0';) {
        size_t len = strcspn(p, ",");
        int i = 0;
        while (i < n &&
               (strlen(names[i]) != len || strncmp(p, names[i], len) != 0)) {
            i++;
        }
        if (i == n) {
            return 0;
        }
        bits |= 1u << i;
        p += len + (p[len] == ',');
    }
    return bits;
}

long
bu_rss_kib(pid_t pid)
{
    char path[64];
    char line[256];
    long kib = -1;

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
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kib = strtol(line + 6, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kib;
}

static int
s_cmp_pid(const void *a, const void *b)
{
    pid_t x = *(const pid_t *)a;
    pid_t y = *(const pid_t *)b;

    return (x > y) - (x < y);
}

/* The parent of pid, or -1 if unreadable or a zombie. The command name in
 * parentheses may hold anything: read after the last ')'. */
static pid_t
s_parent_of(pid_t pid)
{
    char path[64];
    char buf[512];
    char state;
    int ppid = -1;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *close = strrchr(buf, ')');
    if (close == NULL || sscanf(close + 1, " %c %d", &state, &ppid) != 2 ||
        state == 'Z') {
        return -1;
    }
    return (pid_t)ppid;
}

int
bu_children(pid_t *out, int max)
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

/* The CPU time the threads of process pid have run, in seconds: their
 * /proc/PID/task/TID/schedstat (nanoseconds; /proc/PID/stat counts in
 * ticks of 10 ms, as long as a graph of tiny tasks). 0 if unreadable. */
static double
s_proc_cpu_s(pid_t pid)
{
    char path[96];
    unsigned long long ns = 0;

    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (d == NULL) {
        return 0;
    }
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        unsigned long long run = 0;
        if (e->d_name[0] == '.') {
            continue;
        }
        snprintf(path, sizeof(path), "/proc/%d/task/%.20s/schedstat",
                 (int)pid, e->d_name);
        FILE *f = fopen(path, "r");
        if (f != NULL) {
            ns += fscanf(f, "%llu", &run) == 1 ? run : 0;
            fclose(f);
        }
    }
    closedir(d);
    return (double)ns / 1e9;
}

double
bu_tree_cpu_s(void)
{
    pid_t kids[BU_MAX_CHILDREN];
    struct timespec ts;
    double s = 0;

    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) == 0) {
        s = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    }
    int n = bu_children(kids, BU_MAX_CHILDREN);
    for (int i = 0; i < n && i < BU_MAX_CHILDREN; i++) {
        s += s_proc_cpu_s(kids[i]);
    }
    return s;
}

int
bu_ticks_now(bu_ticks *t)
{
    /* The first line of /proc/stat: user nice system idle iowait irq
     * softirq steal, in ticks. */
    unsigned long long v[8] = {0};
    FILE *f = fopen("/proc/stat", "r");

    memset(t, 0, sizeof(*t));
    if (f == NULL) {
        return -1;
    }
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
                   &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
    fclose(f);
    if (n < 5) {
        return -1;
    }
    t->idle = v[3] + v[4];
    t->steal = v[7];
    for (int i = 0; i < 8; i++) {
        t->total += v[i];
    }
    return 0;
}

double
bu_cpu_busy(double window_s)
{
    bu_ticks t0, t1;
    struct timespec pause = {
        (time_t)window_s, (long)((window_s - (double)(time_t)window_s) * 1e9)};

    if (bu_ticks_now(&t0) != 0) {
        return -1;
    }
    nanosleep(&pause, NULL);
    if (bu_ticks_now(&t1) != 0 || t1.total <= t0.total) {
        return -1;
    }
    return 1.0 - (double)(t1.idle - t0.idle) / (double)(t1.total - t0.total);
}

double
bu_steal_between(const bu_ticks *t0, const bu_ticks *t1)
{
    if (t0->total == 0 || t1->total <= t0->total || t1->steal < t0->steal) {
        return -1;
    }
    return (double)(t1->steal - t0->steal) / (double)(t1->total - t0->total);
}

void
bu_line(const char *name, double value, int decimals, const char *unit)
{
    printf("%s: %.*f %s\n", name, decimals, value, unit);
    fflush(stdout);
}

static void
s_track(pid_t pid)
{
    for (int i = 0; i < BU_MAX_CHILDREN; i++) {
        if (s_children[i] == 0) {
            s_children[i] = pid;
            return;
        }
    }
}

static void
s_untrack(pid_t pid)
{
    for (int i = 0; i < BU_MAX_CHILDREN; i++) {
        if (s_children[i] == pid) {
            s_children[i] = 0;
        }
    }
}

pid_t
bu_spawn(char *const argv[], int *out_fd, const char *err_path)
{
    int fds[2] = {-1, -1};
    int err_fd = -1;

    if (out_fd != NULL && pipe2(fds, O_CLOEXEC) != 0) {
        return -1;
    }
    if (err_path != NULL) {
        err_fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (err_fd < 0) {
            goto fail;
        }
    }
    pid_t parent = getpid();
    /* vfork, not fork: fork write-protects every page of this process,
     * which then faults once on each page it writes. A bench process hosts
     * embedded clusters, and bench_metg spawns an OpenMP child between
     * their graphs: after a fork, a graph of 2,304 tiny tasks on
     * local:threads=2 took 680 more page faults and 60-75% longer. */
    pid_t pid = vfork();
    if (pid < 0) {
        goto fail;
    }
    if (pid == 0) {
        /* The child shares the parent's memory until execv: only system
         * calls here, no writes, no libc state. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent) {
            _exit(127);
        }
        if (fds[1] >= 0) {
            dup2(fds[1], STDOUT_FILENO);
        }
        if (err_fd >= 0) {
            dup2(err_fd, STDERR_FILENO);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    s_track(pid);
    if (fds[1] >= 0) {
        close(fds[1]);
        *out_fd = fds[0];
    }
    if (err_fd >= 0) {
        close(err_fd);
    }
    return pid;

fail:
    if (fds[0] >= 0) {
        close(fds[0]);
        close(fds[1]);
    }
    if (err_fd >= 0) {
        close(err_fd);
    }
    return -1;
}

int
bu_read_line(int fd, char *buf, size_t size, double timeout_s)
{
    double deadline = bu_now() + timeout_s;
    size_t len = 0;

    while (len + 1 < size) {
        struct pollfd p = {fd, POLLIN, 0};
        int left_ms = (int)((deadline - bu_now()) * 1000);
        if (left_ms <= 0) {
            return -1;
        }
        int rc = poll(&p, 1, left_ms);
        if (rc < 0 && errno == EINTR) {
            continue;
        }
        if (rc <= 0) {
            return -1;
        }
        char ch;
        ssize_t n = read(fd, &ch, 1);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return -1;
        }
        if (ch == '\n') {
            break;
        }
        buf[len++] = ch;
    }
    buf[len] = '\0';
    return (int)len;
}

int
bu_exited(pid_t pid, int *status)
{
    int st = 0;

    if (waitpid(pid, &st, WNOHANG) == pid) {
        s_untrack(pid);
        if (status != NULL) {
            *status = st;
        }
        return 1;
    }
    return 0;
}

int
bu_wait(pid_t pid, double timeout_s, int *status)
{
    double deadline = bu_now() + timeout_s;
    struct timespec pause = {0, 1000 * 1000};

    for (;;) {
        if (bu_exited(pid, status)) {
            return 0;
        }
        if (bu_now() >= deadline) {
            return -1;
        }
        nanosleep(&pause, NULL);
    }
}

int
bu_stop(pid_t pid, double grace_s)
{
    int status = 0;

    if (bu_exited(pid, &status)) {
        return status;
    }
    kill(pid, SIGTERM);
    if (bu_wait(pid, grace_s, &status) == 0) {
        return status;
    }
    kill(pid, SIGKILL);
    if (bu_wait(pid, 5.0, &status) == 0) {
        return status;
    }
    return -1;
}

void
bu_kill_children(void)
{
    for (int i = 0; i < BU_MAX_CHILDREN; i++) {
        pid_t pid = s_children[i];
        if (pid > 0) {
            kill(pid, SIGTERM);
        }
    }
}

void
bu_remove_on_exit(const char *path)
{
    if (s_npaths < BU_MAX_PATHS && strlen(path) < sizeof(s_paths[0])) {
        strcpy(s_paths[s_npaths], path);
        s_npaths++;
    }
}

static void
s_remove_paths(void)
{
    for (int i = s_npaths - 1; i >= 0; i--) {
        if (unlink(s_paths[i]) != 0) {
            rmdir(s_paths[i]);
        }
    }
}

void
bu_remove_now(void)
{
    s_remove_paths();
    s_npaths = 0;
}

static void
s_at_exit(void)
{
    bu_kill_children();
    s_remove_paths();
}

static void
s_on_signal(int sig)
{
    bu_kill_children();
    s_remove_paths();
    signal(sig, SIG_DFL);
    raise(sig);
}

void
bu_cleanup_on_exit(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    atexit(s_at_exit);
}

/* ---- A cluster of daemons ------------------------------------------------ */

static void s_derr(bu_daemons *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
s_derr(bu_daemons *d, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(d->err, sizeof(d->err), fmt, ap);
    va_end(ap);
}

/* Registers the directory and what the daemons' profile (DROVE_HOME is
 * home/ in it) puts there, parents first, as they go last. */
static void
s_daemons_clean_on_exit(const bu_daemons *d)
{
    static const char *const names[] = {
        "home",
        "home/profile_default",
        "home/profile_default/logs",
        "scheduler.log",
        "home/profile_default/ca.pem",
        "home/profile_default/ca.key",
        "home/profile_default/scheduler.pem",
        "home/profile_default/scheduler.key",
        "home/profile_default/worker.pem",
        "home/profile_default/worker.key",
        "home/profile_default/client.pem",
        "home/profile_default/client.key",
        "home/profile_default/connection.json",
        "home/profile_default/dashboard.token",
        "home/profile_default/scheduler.lock",
        "home/profile_default/logs/scheduler.log"};
    char path[512];

    bu_remove_on_exit(d->tmpdir);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", d->tmpdir, names[i]);
        bu_remove_on_exit(path);
    }
    for (int i = 0; i < d->nworkers; i++) {
        snprintf(path, sizeof(path), "%s/worker%d.log", d->tmpdir, i);
        bu_remove_on_exit(path);
        snprintf(path, sizeof(path),
                 "%s/home/profile_default/logs/worker-bench-w%d.log", d->tmpdir,
                 i);
        bu_remove_on_exit(path);
    }
}

int
bu_daemons_init(bu_daemons *d, const char *drove, const char *prog,
                int nworkers)
{
    char home[sizeof(d->tmpdir) + 8];
    const char *tmp = getenv("TMPDIR");

    memset(d, 0, sizeof(*d));
    d->drove = drove;
    d->prog = prog;
    d->nworkers = nworkers < BU_MAX_WORKERS ? nworkers : BU_MAX_WORKERS;
    snprintf(d->tmpdir, sizeof(d->tmpdir), "%s/drove-bench-XXXXXX",
             tmp != NULL ? tmp : "/tmp");
    if (mkdtemp(d->tmpdir) == NULL) {
        s_derr(d, "mkdtemp %s: %s", d->tmpdir, strerror(errno));
        return -1;
    }
    s_daemons_clean_on_exit(d);
    snprintf(home, sizeof(home), "%s/home", d->tmpdir);
    setenv("DROVE_HOME", home, 1);
    /* The workers' socket files (src/proto/samehost.h), removed with it. */
    setenv("XDG_RUNTIME_DIR", d->tmpdir, 1);
    return 0;
}

int
bu_daemons_start(bu_daemons *d, const char *state_path)
{
    char log[512];
    int out = -1;

    snprintf(log, sizeof(log), "%s/scheduler.log", d->tmpdir);
    char *sargv[] = {(char *)d->drove,
                     "scheduler",
                     "--address",
                     "tcp://127.0.0.1:0",
                     state_path ? "--state" : NULL,
                     (char *)state_path,
                     NULL};
    d->sched_pid = bu_spawn(sargv, &out, log);
    if (d->sched_pid < 0) {
        d->sched_pid = 0;
        s_derr(d, "spawn %s: %s", d->drove, strerror(errno));
        return -1;
    }
    int n = bu_read_line(out, d->addr, sizeof(d->addr), 20.0);
    close(out);
    if (n <= 0 || strncmp(d->addr, "tcp://", 6) != 0) {
        s_derr(d,
               "the scheduler printed no address (it exited, or 20 s "
               "passed): '%s'",
               n > 0 ? d->addr : "");
        return -1;
    }
    for (int i = 0; i < d->nworkers; i++) {
        char name[32];
        snprintf(log, sizeof(log), "%s/worker%d.log", d->tmpdir, i);
        snprintf(name, sizeof(name), "bench-w%d", i);
        /* --no-nanny: worker_pid is the process whose memory is read. */
        char *wargv[] = {(char *)d->drove, "worker", "--scheduler", d->addr,
                         "--threads",      "1",      "--name",      name,
                         "--no-nanny",     NULL};
        d->worker_pid[i] = bu_spawn(wargv, NULL, log);
        if (d->worker_pid[i] < 0) {
            d->worker_pid[i] = 0;
            s_derr(d, "spawn worker: %s", strerror(errno));
            return -1;
        }
    }
    return 0;
}

static void
s_print_logs(const bu_daemons *d)
{
    char path[512];
    char line[512];

    for (int i = -1; i < d->nworkers; i++) {
        char name[32];
        if (i < 0) {
            snprintf(name, sizeof(name), "scheduler.log");
        } else {
            snprintf(name, sizeof(name), "worker%d.log", i);
        }
        snprintf(path, sizeof(path), "%s/%s", d->tmpdir, name);
        FILE *f = fopen(path, "r");
        if (f == NULL) {
            continue;
        }
        /* The last lines are the ones that say what went wrong. */
        long lines = 0;
        while (fgets(line, sizeof(line), f) != NULL) {
            lines++;
        }
        rewind(f);
        fprintf(stderr, "---- %s (last lines) ----\n", name);
        for (long k = 0; fgets(line, sizeof(line), f) != NULL; k++) {
            if (k >= lines - 20) {
                fputs(line, stderr);
            }
        }
        fclose(f);
    }
}

/* "worker I" for i < n, else "scheduler". */
static void
s_daemon_name(char *buf, size_t size, int i, int n)
{
    if (i < n) {
        snprintf(buf, size, "worker %d", i);
    } else {
        snprintf(buf, size, "scheduler");
    }
}

/* Stops the daemons, and says if one had died on its own or did not stop
 * cleanly on SIGTERM (exit 0, or death by that signal): a crash is a
 * finding of the benchmark. Which had died is read before any is stopped,
 * as workers whose scheduler went first would exit by themselves. */
int
bu_daemons_stop(bu_daemons *d, int print_logs)
{
    int crashed = 0;
    int n = d->nworkers;
    pid_t pids[BU_MAX_WORKERS + 1];
    char what[BU_MAX_WORKERS + 1][32];

    for (int i = 0; i < n; i++) {
        pids[i] = d->worker_pid[i];
        d->worker_pid[i] = 0;
    }
    pids[n] = d->sched_pid;
    d->sched_pid = 0;
    for (int i = 0; i <= n; i++) {
        int status = 0;
        s_daemon_name(what[i], sizeof(what[i]), i, n);
        if (pids[i] > 0 && bu_exited(pids[i], &status)) {
            fprintf(stderr,
                    "%s: tcp %s (pid %d) had exited by itself: "
                    "status 0x%x\n",
                    d->prog, what[i], (int)pids[i], status);
            crashed = 1;
            pids[i] = 0;
        }
    }
    for (int i = 0; i <= n; i++) {
        if (pids[i] <= 0) {
            continue;
        }
        int status = bu_stop(pids[i], 5.0);
        if (status == -1 || (WIFEXITED(status) && WEXITSTATUS(status) != 0) ||
            (WIFSIGNALED(status) && WTERMSIG(status) != SIGTERM)) {
            fprintf(stderr,
                    "%s: tcp %s (pid %d) did not stop cleanly "
                    "on SIGTERM: status 0x%x\n",
                    d->prog, what[i], (int)pids[i], status);
            crashed = 1;
        }
    }
    if (crashed || print_logs) {
        s_print_logs(d);
    }
    return crashed ? -1 : 0;
}

int
bu_io(int fd, void *buf, size_t n, int writing)
{
    char *p = buf;

    while (n > 0) {
        ssize_t k = writing ? write(fd, p, n) : read(fd, p, n);
        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k <= 0) {
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}
