/* dvi_nanny: a worker process supervised by a small parent that restarts
 * it after a crash. Linux: the child's death with its parent is
 * PR_SET_PDEATHSIG. */
#include "nanny.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <uv.h>

#include "common/err.h"
#include "common/log.h"
#include "common/runtime.h"
#include "drove.h"
#include "run.h"

/* A child that lived this long was not dying young: no delay. */
#define S_STABLE_MS 30000
/* The delays between young deaths: from the first, doubling to the most. */
#define S_FIRST_DELAY_MS 500
#define S_MAX_DELAY_MS 30000

extern char **environ;

typedef struct s_nanny {
    dvi_runtime *rt;
    const char *name;
    char **args;         /* the child's argv */
    char **env;          /* the child's environment */
    char envvar[64];     /* DVI_ENV_NANNY=PID */
    uv_process_t *child; /* malloc'ed (closes later); NULL: none */
    uv_timer_t restart;  /* the next start, after a death */
    uint64_t started_ms; /* when the child started (uv_now) */
    uint64_t backoff_ms; /* see dvi_nanny_decide */
    int stopping;        /* told to stop: nothing restarts */
    int status;          /* to exit with */
} s_nanny;

int
dvi_nanny_decide(int64_t status, int signum, int stopping, uint64_t ran_ms,
                 uint64_t *backoff_ms, uint64_t *delay_ms)
{
    *delay_ms = 0;
    if (stopping || (signum == 0 && status != DVI_WORKER_EXIT_RESTART)) {
        return signum ? 128 + signum : (int)(status & 0xff);
    }
    if (signum == 0) {
        return -1; /* it ended itself to stop a call: at once */
    }
    if (ran_ms >= S_STABLE_MS) {
        *backoff_ms = 0;
    }
    *delay_ms = *backoff_ms;
    *backoff_ms = *backoff_ms == 0                   ? S_FIRST_DELAY_MS
                  : *backoff_ms * 2 > S_MAX_DELAY_MS ? S_MAX_DELAY_MS
                                                     : *backoff_ms * 2;
    return -1;
}

static int s_spawn(s_nanny *n);

static void
s_child_closed(uv_handle_t *h)
{
    free(h);
}

static void
s_restart_cb(uv_timer_t *t)
{
    s_nanny *n = t->data;
    if (!n->stopping && s_spawn(n) < 0) {
        DVI_LOG(DVI_LOG_ERROR, "NANNY", "%s", dv_last_error());
        n->status = 1;
        dvi_runtime_stop(n->rt);
    }
}

/* Says how the child ended, as the user would ask. */
static void
s_describe(char *buf, size_t size, int64_t status, int signum)
{
    if (signum == 0 && status == DVI_WORKER_EXIT_RESTART) {
        snprintf(buf, size,
                 "ended itself to stop a call that would not (status %d)",
                 DVI_WORKER_EXIT_RESTART);
    } else if (signum != 0) {
        snprintf(buf, size, "died of signal %d (%s)", signum,
                 strsignal(signum));
    } else {
        snprintf(buf, size, "exited with status %d", (int)status);
    }
}

static void
s_child_exit(uv_process_t *h, int64_t status, int signum)
{
    s_nanny *n = h->data;
    uint64_t ran = uv_now(dvi_runtime_loop(n->rt)) - n->started_ms, delay;
    n->child = NULL;
    uv_close((uv_handle_t *)h, s_child_closed);
    char how[128];
    s_describe(how, sizeof(how), status, signum);
    int rc = dvi_nanny_decide(status, signum, n->stopping, ran, &n->backoff_ms,
                              &delay);
    if (rc >= 0) {
        DVI_LOG(signum && !n->stopping ? DVI_LOG_WARN : DVI_LOG_NOTICE, "NANNY",
                "%s: worker process %s; exiting with status %d", n->name, how,
                rc);
        n->status = rc;
        dvi_runtime_stop(n->rt);
        return;
    }
    if (delay == 0) {
        DVI_LOG(DVI_LOG_WARN, "NANNY", "%s: worker process %s; restarting",
                n->name, how);
    } else {
        DVI_LOG(DVI_LOG_WARN, "NANNY",
                "%s: worker process %s; restarting in %.3g s (it lived "
                "%.3g s)",
                n->name, how, (double)delay / 1000, (double)ran / 1000);
    }
    uv_timer_start(&n->restart, s_restart_cb, delay, 0);
}

/* Starts the child. Returns 0, or a DV_E* code with the reason set. */
static int
s_spawn(s_nanny *n)
{
    uv_stdio_container_t stdio[3];
    for (int i = 0; i < 3; i++) {
        stdio[i].flags = UV_INHERIT_FD;
        stdio[i].data.fd = i;
    }
    uv_process_options_t o;
    memset(&o, 0, sizeof(o));
    o.file = "/proc/self/exe";
    o.args = n->args;
    o.env = n->env;
    o.stdio = stdio;
    o.stdio_count = 3;
    o.exit_cb = s_child_exit;
    /* A session of its own: a terminal's signals reach it through us. */
    o.flags = UV_PROCESS_DETACHED;
    uv_process_t *h = dvi_calloc(1, sizeof(*h));
    h->data = n;
    int rc = uv_spawn(dvi_runtime_loop(n->rt), h, &o);
    if (rc < 0) {
        uv_close((uv_handle_t *)h, s_child_closed);
        return dvi_seterr_uv(rc, "cannot start the worker process");
    }
    n->child = h;
    n->started_ms = uv_now(dvi_runtime_loop(n->rt));
    DVI_LOG(DVI_LOG_INFO, "NANNY", "%s: worker process %d started", n->name,
            h->pid);
    return 0;
}

static void
s_on_signal(void *ctx, int signum, int count)
{
    s_nanny *n = ctx;
    n->stopping = 1;
    if (n->child == NULL) {
        DVI_LOG(DVI_LOG_NOTICE, "NANNY",
                "%s: stopping on signal %d (no worker process running)",
                n->name, signum);
        uv_timer_stop(&n->restart);
        dvi_runtime_stop(n->rt);
        return;
    }
    DVI_LOG(DVI_LOG_NOTICE, "NANNY",
            "%s: passing signal %d to worker process %d (%s)", n->name, signum,
            n->child->pid, count > 1 ? "it stops at once" : "it retires");
    uv_process_kill(n->child, signum);
}

/* The child's argv ("drove worker" and the same arguments) and its
 * environment (this one and DVI_ENV_NANNY). */
static void
s_command(s_nanny *n, int argc, char **argv)
{
    n->args = dvi_calloc((size_t)argc + 3, sizeof(char *));
    n->args[0] = "drove";
    n->args[1] = "worker";
    for (int i = 0; i < argc; i++) {
        n->args[i + 2] = argv[i];
    }
    size_t len = 0;
    while (environ[len] != NULL) {
        len++;
    }
    n->env = dvi_calloc(len + 2, sizeof(char *));
    size_t k = 0, plen = strlen(DVI_ENV_NANNY "=");
    for (size_t i = 0; i < len; i++) {
        if (strncmp(environ[i], DVI_ENV_NANNY "=", plen) != 0) {
            n->env[k++] = environ[i];
        }
    }
    snprintf(n->envvar, sizeof(n->envvar), DVI_ENV_NANNY "=%d", (int)getpid());
    n->env[k] = n->envvar;
}

int
dvi_nanny_run(int argc, char **argv, const char *name)
{
    s_nanny n;
    memset(&n, 0, sizeof(n));
    n.name = name;
    n.rt = dvi_runtime_new();
    if (n.rt == NULL) {
        fprintf(stderr, "drove worker: %s\n", dv_last_error());
        return 1;
    }
    s_command(&n, argc, argv);
    uv_timer_init(dvi_runtime_loop(n.rt), &n.restart);
    n.restart.data = &n;
    if (dvi_runtime_catch_signals(n.rt, s_on_signal, &n) < 0 ||
        s_spawn(&n) < 0) {
        fprintf(stderr, "drove worker: %s\n", dv_last_error());
        n.status = 1;
    } else {
        dvi_runtime_run(n.rt);
    }
    uv_timer_stop(&n.restart);
    if (n.child != NULL) {
        /* Stopped before its child ended (the loop failed): take it
         * down too rather than leave it unsupervised. */
        n.stopping = 1;
        uv_process_kill(n.child, SIGTERM);
    }
    dvi_runtime_destroy(&n.rt);
    free(n.args);
    free(n.env);
    return n.status;
}

int
dvi_nanny_child_init(int *nanny)
{
    const char *v = getenv(DVI_ENV_NANNY);
    *nanny = 0;
    if (v == NULL) {
        return 0;
    }
    int pid = atoi(v);
    unsetenv(DVI_ENV_NANNY); /* v may go with it */
    /* SIGTERM: without its nanny, the worker retires. The nanny may have
     * gone before this line: then we would never get it. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (pid <= 0 || getppid() != pid) {
        return dvi_seterr(DV_ESYS, "its nanny (pid %d) is gone", pid);
    }
    *nanny = pid;
    return 1;
}
