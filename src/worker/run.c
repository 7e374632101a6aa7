/* dvi_worker_run: a worker process's runtime, signals and exit status. */
#include "run.h"

#include <signal.h>
#include <stdlib.h>

#include "common/err.h"
#include "common/log.h"
#include "common/runtime.h"

typedef struct s_run {
    dvi_runtime *rt;
    dvi_worker *worker;
    int lost; /* lost a scheduler that never welcomed us */
} s_run;

static void
s_on_lost(dvi_worker *w, const char *why, void *ctx)
{
    s_run *r = ctx;
    /* Losing a scheduler that welcomed us is its shutdown; never reaching
     * one is an error. */
    if (!dvi_worker_welcomed(w)) {
        r->lost = 1;
        dvi_seterr(DV_ECONN, "%s", why);
    }
    dvi_runtime_stop(r->rt);
}

static void
s_on_signal(void *ctx, int signum, int count)
{
    s_run *r = ctx;
    DVI_LOG(DVI_LOG_NOTICE, "WORKER", "stopping on signal %d", signum);
    dvi_runtime_stop(r->rt);
}

int
dvi_worker_run(const char *sched_addr, int sched_fd,
               const dvi_worker_opts *opts)
{
    s_run r = {NULL, NULL, 0};
    r.rt = dvi_runtime_new();
    if (r.rt == NULL) {
        return 1;
    }
    /* A peer that vanishes mid-write must not kill the worker. */
    signal(SIGPIPE, SIG_IGN);
    if (dvi_runtime_catch_signals(r.rt, s_on_signal, &r) < 0) {
        DVI_LOG(DVI_LOG_WARN, "WORKER", "%s", dv_last_error());
    }
    r.worker = dvi_worker_new(dvi_runtime_loop(r.rt), sched_addr, sched_fd,
                              opts, s_on_lost, &r);
    int rc = 1;
    if (r.worker != NULL) {
        dvi_runtime_run(r.rt);
        rc = r.lost;
        dvi_worker_destroy(&r.worker);
    }
    /* Close callbacks and final writes run, then what is left is closed. */
    dvi_runtime_destroy(&r.rt);
    return rc;
}
