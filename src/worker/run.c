/* dvi_worker_run: a worker process's runtime, signals and exit status.
 *
 * A scheduler that goes away is dialled again for the reconnect grace
 * (dvi_worker_net), the worker rejoining it as a fresh one; the worker
 * stops when that ends. The first SIGTERM or SIGINT retires the worker: it
 * takes no new work, gives back what it has not started, and stops once the
 * tasks running have finished, or when the grace period ends, and the
 * results it holds have moved to workers that stay (dvi_worker_leave). A
 * second signal stops it at once. Task functions running on the executor's
 * threads cannot be interrupted: a worker that stops with some still running
 * ends the process without waiting for them, once what it queued for the
 * scheduler is written. That is also how a call that would not stop
 * (cancelled, or past its time limit, and still running after its grace)
 * is stopped: the process ends with DVI_WORKER_EXIT_RESTART, and whoever
 * supervises it (the nanny, an embedded cluster) starts another at once.
 */
#include "run.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "common/runtime.h"
#include "common/trim.h"
#include "common/watchdog.h"

/* How long a process ending with calls still running gives its last
 * messages to go out. */
#define S_LAST_WORDS_MS 2000
/* How long the worker may take to close down once its loop has ended. */
#define S_EXIT_LIMIT_S 5.0

typedef struct s_run {
    dvi_runtime *rt;
    dvi_worker *worker;
    int lost;          /* lost a scheduler that never welcomed us */
    uint64_t grace_ms; /* for running tasks after the first signal */
    uv_timer_t grace;  /* ends it; then bounds the last words */
    int restart;       /* a call had to be stopped: exit to restart */
    int rc;            /* the exit status, once decided */
} s_run;

static void
s_on_lost(dvi_worker *w, const char *why, void *ctx)
{
    s_run *r = ctx;
    /* Losing a scheduler that welcomed us (and did not come back within
     * the reconnect grace) is its shutdown; never reaching one is an
     * error. */
    if (dvi_worker_sessions(w) == 0) {
        r->lost = 1;
        dvi_seterr(dvi_last_code(), "%s", why);
    }
    dvi_runtime_stop(r->rt);
}

static void
s_on_left(dvi_worker *w, void *ctx)
{
    s_run *r = ctx;
    (void)w;
    dvi_runtime_stop(r->rt);
}

static void
s_on_drained(dvi_worker *w, void *ctx)
{
    s_run *r = ctx;
    DVI_LOG(DVI_LOG_NOTICE, "WORKER", "%s: every running task finished",
            dvi_worker_id(w));
    uv_timer_stop(&r->grace);
    dvi_worker_leave(w, s_on_left, r);
}

static void
s_on_grace_over(uv_timer_t *t)
{
    s_run *r = t->data;
    DVI_LOG(DVI_LOG_NOTICE, "WORKER",
            "%s: the grace period is over with %zu tasks unfinished",
            dvi_worker_id(r->worker), dvi_worker_ntasks(r->worker));
    dvi_worker_leave(r->worker, s_on_left, r);
}

/* A call would not stop: the process ends so that it does. */
static void
s_on_stop(dvi_worker *w, const char *why, void *ctx)
{
    s_run *r = ctx;
    (void)w;
    (void)why; /* logged by the worker */
    r->restart = 1;
    dvi_runtime_stop(r->rt);
}

static void
s_last_words_over(uv_timer_t *t)
{
    s_run *r = t->data;
    DVI_LOG(DVI_LOG_WARN, "WORKER",
            "the scheduler did not take the last messages within %d ms; "
            "exiting",
            S_LAST_WORDS_MS);
    fflush(NULL);
    _exit(r->rc);
}

/* Ends the process with calls still running, whose threads can be
 * neither stopped nor joined (the scheduler places them again when it
 * sees the worker go), once the connections have written what is queued
 * (a call's FAILED, RETIRING, tasks given back), for a bounded time. */
static void
s_exit_running(s_run *r, size_t left)
{
    DVI_LOG(DVI_LOG_NOTICE, "WORKER", "%s: exiting with %zu tasks unfinished",
            dvi_worker_id(r->worker), left);
    dvi_worker_abandon(&r->worker);
    uv_timer_start(&r->grace, s_last_words_over, S_LAST_WORDS_MS, 0);
    uv_unref((uv_handle_t *)&r->grace);
    dvi_runtime_destroy(&r->rt);
    fflush(NULL);
    _exit(r->rc);
}

/* Retires: no new tasks; the running ones have the grace period. */
static void
s_retire(dvi_worker *w, const char *why, void *ctx)
{
    s_run *r = ctx;
    DVI_LOG(DVI_LOG_NOTICE, "WORKER",
            "stopping (%s): no new tasks; the running ones have %.3g s to "
            "finish (a signal stops at once)",
            why, (double)r->grace_ms / 1000);
    if (!uv_is_active((uv_handle_t *)&r->grace)) {
        uv_timer_start(&r->grace, s_on_grace_over, r->grace_ms, 0);
    }
    dvi_worker_retire(w, why, s_on_drained, r);
}

static void
s_on_signal(void *ctx, int signum, int count)
{
    s_run *r = ctx;
    if (count > 1 || !dvi_worker_welcomed(r->worker)) {
        DVI_LOG(DVI_LOG_NOTICE, "WORKER", "stopping now on signal %d", signum);
        dvi_runtime_stop(r->rt);
        return;
    }
    char why[32];
    snprintf(why, sizeof(why), "signal %d", signum);
    s_retire(r->worker, why, r);
}

int
dvi_worker_run(const char *sched_addr, int sched_fd,
               const dvi_worker_opts *opts, const dvi_worker_net *net,
               int grace_s)
{
    s_run r;
    memset(&r, 0, sizeof(r));
    r.grace_ms = (uint64_t)(grace_s > 0 ? grace_s : 0) * 1000;
    r.rt = dvi_runtime_new();
    if (r.rt == NULL) {
        return 1;
    }
    /* A peer that vanishes mid-write must not kill the worker. */
    signal(SIGPIPE, SIG_IGN);
    dvi_trim_tune_process();
    uv_timer_init(dvi_runtime_loop(r.rt), &r.grace);
    r.grace.data = &r;
    if (dvi_runtime_catch_signals(r.rt, s_on_signal, &r) < 0) {
        DVI_LOG(DVI_LOG_WARN, "WORKER", "%s", dv_last_error());
    }
    r.worker = dvi_worker_new_net(dvi_runtime_loop(r.rt), sched_addr, sched_fd,
                                  opts, net, s_on_lost, &r);
    int rc = 1;
    if (r.worker != NULL) {
        dvi_worker_set_stop(r.worker, s_on_stop, &r);
        dvi_worker_set_retire(r.worker, s_retire, &r);
        dvi_runtime_run(r.rt);
        uv_timer_stop(&r.grace);
        rc = r.restart ? DVI_WORKER_EXIT_RESTART : r.lost;
        r.rc = rc;
        dvi_watchdog_start(S_EXIT_LIMIT_S, rc, "ending the worker");
        size_t left = dvi_worker_ntasks(r.worker);
        if (left > 0) {
            s_exit_running(&r, left);
        }
        dvi_worker_destroy(&r.worker);
    }
    /* Close callbacks and final writes run, then what is left is closed. */
    dvi_watchdog_step("closing the event loop");
    dvi_runtime_destroy(&r.rt);
    return rc;
}
