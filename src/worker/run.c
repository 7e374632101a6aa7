/* dvi_worker_run: a worker process's runtime, signals and exit status.
 *
 * The first SIGTERM or SIGINT retires the worker: it takes no new work,
 * gives back what it has not started, and stops once the tasks running
 * have finished, or when the grace period ends. A second signal stops it
 * at once. Task functions running on the executor's threads cannot be
 * interrupted: a worker that stops with some still running ends the
 * process without waiting for them.
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

typedef struct s_run {
    dvi_runtime *rt;
    dvi_worker *worker;
    int lost;          /* lost a scheduler that never welcomed us */
    uint64_t grace_ms; /* for running tasks after the first signal */
    uv_timer_t grace;  /* ends it */
} s_run;

static void
s_on_lost(dvi_worker *w, const char *why, void *ctx)
{
    s_run *r = ctx;
    /* Losing a scheduler that welcomed us is its shutdown; never reaching
     * one is an error. */
    if (!dvi_worker_welcomed(w)) {
        r->lost = 1;
        dvi_seterr(dvi_last_code(), "%s", why);
    }
    dvi_runtime_stop(r->rt);
}

static void
s_on_drained(dvi_worker *w, void *ctx)
{
    s_run *r = ctx;
    DVI_LOG(DVI_LOG_NOTICE, "WORKER", "%s: every running task finished",
            dvi_worker_id(w));
    dvi_runtime_stop(r->rt);
}

static void
s_on_grace_over(uv_timer_t *t)
{
    s_run *r = t->data;
    DVI_LOG(DVI_LOG_NOTICE, "WORKER",
            "%s: the grace period is over with %zu tasks unfinished",
            dvi_worker_id(r->worker), dvi_worker_ntasks(r->worker));
    dvi_runtime_stop(r->rt);
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
    DVI_LOG(DVI_LOG_NOTICE, "WORKER",
            "stopping on signal %d: no new tasks; the running ones have "
            "%.3g s to finish (a second signal stops at once)",
            signum, (double)r->grace_ms / 1000);
    char why[32];
    snprintf(why, sizeof(why), "signal %d", signum);
    uv_timer_start(&r->grace, s_on_grace_over, r->grace_ms, 0);
    dvi_worker_retire(r->worker, why, s_on_drained, r);
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
        dvi_runtime_run(r.rt);
        uv_timer_stop(&r.grace);
        rc = r.lost;
        size_t left = dvi_worker_ntasks(r.worker);
        if (left > 0) {
            /* Their threads cannot be stopped, nor waited for: the
             * scheduler places them again when it sees us go. */
            DVI_LOG(DVI_LOG_NOTICE, "WORKER",
                    "%s: exiting with %zu tasks unfinished",
                    dvi_worker_id(r.worker), left);
            dvi_worker_drop_spill(r.worker);
            fflush(stdout);
            fflush(stderr);
            _exit(rc);
        }
        dvi_worker_destroy(&r.worker);
    }
    /* Close callbacks and final writes run, then what is left is closed. */
    dvi_runtime_destroy(&r.rt);
    return rc;
}
