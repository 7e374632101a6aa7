/* dvi_cmd_proc: running one program to its end from a task thread. */
#define _GNU_SOURCE /* posix_spawn_file_actions_addchdir_np, pipe2 */
#include "cmd_spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"

/* From SIGTERM to SIGKILL, and how long output may still come once the
 * program exited (a background child holding its pipes). */
#define S_KILL_AFTER_S 1.0
#define S_DRAIN_S 1.0
/* How often a running program's limit and cancellation are checked. */
#define S_POLL_MS 100

static double
s_clock(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One captured stream. */
typedef struct s_stream {
    int fd; /* the read end, or -1 at its end */
    char *p;
    size_t len, cap;
} s_stream;

/* Reads what is there. Returns 0, or DV_ELIMIT past max. */
static int
s_read(s_stream *s, size_t max)
{
    if (s->cap - s->len < 65536) {
        s->cap = s->cap * 2 + 65536;
        s->p = dvi_realloc(s->p, s->cap + 1);
    }
    ssize_t n = read(s->fd, s->p + s->len, s->cap - s->len);
    if (n > 0) {
        s->len += (size_t)n;
    } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        close(s->fd);
        s->fd = -1;
    }
    return s->len > max ? DV_ELIMIT : 0;
}

static void
s_close(s_stream *s)
{
    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
}

/* The signals a worker catches or ignores, which the program must find
 * at their defaults (an ignored SIGPIPE survives exec). */
static void
s_default_signals(sigset_t *set)
{
    static const int sigs[] = {SIGPIPE, SIGINT,  SIGTERM, SIGHUP,
                               SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2};
    sigemptyset(set);
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        sigaddset(set, sigs[i]);
    }
}

/* Spawns the program in its own process group, with its stdout and
 * stderr on out_w and err_w. Returns 0 or an errno value. */
static int
s_spawn(const dvi_cmd_proc *p, int out_w, int err_w, pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t none, defaults;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p->stdin_fd, 0);
    posix_spawn_file_actions_adddup2(&fa, out_w, 1);
    posix_spawn_file_actions_adddup2(&fa, err_w, 2);
    posix_spawn_file_actions_addchdir_np(&fa, p->cwd);
    posix_spawnattr_init(&at);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP |
                                      POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&at, 0);
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&at, &none);
    s_default_signals(&defaults);
    posix_spawnattr_setsigdefault(&at, &defaults);
    int rc = posix_spawnp(pid, p->argv[0], &fa, &at, p->argv, p->envp);
    posix_spawnattr_destroy(&at);
    posix_spawn_file_actions_destroy(&fa);
    return rc;
}

/* A program that could not be executed, told as a shell tells it. */
static void
s_not_run(dvi_cmd_proc *p, int err)
{
    p->status = err == ENOENT ? 127 : 126;
    char text[512];
    int n = snprintf(text, sizeof(text), "drove: cannot run '%s': %s\n",
                     p->argv[0], strerror(err));
    p->err = dvi_malloc((size_t)n + 1);
    memcpy(p->err, text, (size_t)n + 1);
    p->err_len = (size_t)n;
    p->out = dvi_calloc(1, 1);
}

/* The state of one program being waited for. */
typedef struct s_wait {
    dvi_cmd_proc *p;
    pid_t pid;
    s_stream s[2]; /* stdout, stderr */
    int pidfd;     /* readable once it exited; -1: none (an old kernel) */
    int exited, wstatus;
    double t0;      /* monotonic start */
    double kill_at; /* SIGKILL then; 0: none due */
    double drain_until;
} s_wait;

/* Checks the limit and the cancellation, and escalates a stop. */
static void
s_police(s_wait *w, double now)
{
    dvi_cmd_proc *p = w->p;
    int over = p->timeout_s > 0 && now - w->t0 >= p->timeout_s;
    int cancel = p->call != NULL && dv_call_cancelled(p->call);
    if (!w->exited && !p->timed_out && !p->cancelled && (over || cancel)) {
        p->timed_out = over;
        p->cancelled = !over;
        kill(-w->pid, SIGTERM);
        w->kill_at = now + S_KILL_AFTER_S;
    }
    if (w->kill_at > 0 && now >= w->kill_at) {
        kill(-w->pid, SIGKILL);
        w->kill_at = 0;
    }
}

/* Waits up to S_POLL_MS for output or the program's exit (its pidfd;
 * without one, a short nap when there is no output to wait for). Reads
 * what came. Returns 0 or DV_ELIMIT. */
static int
s_poll(s_wait *w, unsigned *nap_us)
{
    /* A closed stream, or no pidfd, polls as -1: ignored. */
    struct pollfd pf[3] = {{.fd = w->s[0].fd, .events = POLLIN},
                           {.fd = w->s[1].fd, .events = POLLIN},
                           {.fd = w->exited ? -1 : w->pidfd, .events = POLLIN}};
    if (pf[0].fd < 0 && pf[1].fd < 0 && pf[2].fd < 0) {
        usleep(*nap_us); /* it closed its output and runs on */
        *nap_us = *nap_us < 20000 ? *nap_us * 2 : *nap_us;
        return 0;
    }
    if (poll(pf, 3, S_POLL_MS) <= 0) {
        return 0;
    }
    for (int i = 0; i < 2; i++) {
        if (pf[i].fd >= 0 && pf[i].revents != 0 &&
            s_read(&w->s[i], w->p->max_output) < 0) {
            return dvi_seterr(DV_ELIMIT,
                              "the command's %s passed %zu bytes: write "
                              "large outputs to files under $DROVE_OUT",
                              i == 0 ? "stdout" : "stderr", w->p->max_output);
        }
    }
    return 0;
}

/* Waits for the program and its output. Returns 0 or DV_ELIMIT. */
static int
s_wait_all(s_wait *w)
{
    unsigned nap_us = 50;
    for (;;) {
        double now = s_clock(CLOCK_MONOTONIC);
        s_police(w, now);
        if (!w->exited && waitpid(w->pid, &w->wstatus, WNOHANG) == w->pid) {
            w->exited = 1;
            w->drain_until = now + S_DRAIN_S;
        }
        int open = (w->s[0].fd >= 0) + (w->s[1].fd >= 0);
        if (w->exited && (open == 0 || now >= w->drain_until)) {
            return 0;
        }
        int rc = s_poll(w, &nap_us);
        if (rc < 0) {
            return rc;
        }
    }
}

/* Ends the run: the program's group is gone, its status is known. */
static void
s_finish(s_wait *w)
{
    dvi_cmd_proc *p = w->p;
    kill(-w->pid, SIGKILL); /* what it left running in its group */
    if (!w->exited) {
        waitpid(w->pid, &w->wstatus, 0);
    }
    s_close(&w->s[0]);
    s_close(&w->s[1]);
    if (w->pidfd >= 0) {
        close(w->pidfd);
    }
    if (WIFSIGNALED(w->wstatus)) {
        p->signal = WTERMSIG(w->wstatus);
        p->status = 128 + p->signal;
    } else {
        p->status = WEXITSTATUS(w->wstatus);
    }
    p->runtime = s_clock(CLOCK_MONOTONIC) - w->t0;
    for (int i = 0; i < 2; i++) {
        if (w->s[i].p == NULL) {
            w->s[i].p = dvi_malloc(1);
        }
        w->s[i].p[w->s[i].len] = '\0';
    }
    p->out = w->s[0].p;
    p->out_len = w->s[0].len;
    p->err = w->s[1].p;
    p->err_len = w->s[1].len;
}

int
dvi_cmd_proc_run(dvi_cmd_proc *p)
{
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) < 0) {
        return dvi_seterr(DV_ESYS, "pipe: %s", strerror(errno));
    }
    if (pipe2(err, O_CLOEXEC) < 0) {
        int e = errno;
        close(out[0]);
        close(out[1]);
        return dvi_seterr(DV_ESYS, "pipe: %s", strerror(e));
    }
    s_wait w = {.p = p, .s = {{.fd = out[0]}, {.fd = err[0]}}, .pidfd = -1};
    p->started = s_clock(CLOCK_REALTIME);
    w.t0 = s_clock(CLOCK_MONOTONIC);
    int rc = s_spawn(p, out[1], err[1], &w.pid);
    close(out[1]);
    close(err[1]);
    if (rc != 0) {
        s_close(&w.s[0]);
        s_close(&w.s[1]);
        s_not_run(p, rc);
        return 0;
    }
    /* Nothing else reaps it, so its pid cannot name another process. */
    w.pidfd = pidfd_open(w.pid, 0);
    rc = s_wait_all(&w);
    s_finish(&w);
    if (rc < 0) {
        dvi_cmd_proc_fini(p);
    }
    return rc;
}

void
dvi_cmd_proc_fini(dvi_cmd_proc *p)
{
    free(p->out);
    free(p->err);
    p->out = p->err = NULL;
    p->out_len = p->err_len = 0;
}
