/* dvi_worker_run: a worker process's loop, signals and exit. */
#include "run.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "common/err.h"
#include "common/log.h"

typedef struct s_run {
    uv_loop_t loop;
    uv_signal_t sigterm, sigint;
    dvi_worker *worker;
    int lost;
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
    uv_stop(&r->loop);
}

static void
s_on_signal(uv_signal_t *h, int signum)
{
    s_run *r = h->data;
    DVI_LOG(DVI_LOG_NOTICE, "WORKER", "stopping on signal %d", signum);
    uv_stop(&r->loop);
}

static void
s_close_walk(uv_handle_t *h, void *arg)
{
    if (!uv_is_closing(h)) {
        uv_close(h, NULL);
    }
}

int
dvi_worker_run(const char *sched_addr, int sched_fd,
               const dvi_worker_opts *opts)
{
    s_run r;
    memset(&r, 0, sizeof(r));
    uv_loop_init(&r.loop);
    /* A peer that vanishes mid-write must not kill the worker. */
    signal(SIGPIPE, SIG_IGN);
    uv_signal_init(&r.loop, &r.sigterm);
    uv_signal_init(&r.loop, &r.sigint);
    r.sigterm.data = r.sigint.data = &r;
    uv_signal_start(&r.sigterm, s_on_signal, SIGTERM);
    uv_signal_start(&r.sigint, s_on_signal, SIGINT);
    r.worker =
        dvi_worker_new(&r.loop, sched_addr, sched_fd, opts, s_on_lost, &r);
    int rc = 1;
    if (r.worker != NULL) {
        uv_run(&r.loop, UV_RUN_DEFAULT);
        rc = r.lost;
        dvi_worker_destroy(&r.worker);
    }
    uv_close((uv_handle_t *)&r.sigterm, NULL);
    uv_close((uv_handle_t *)&r.sigint, NULL);
    /* Let close callbacks and final writes run, then close what is left. */
    uv_run(&r.loop, UV_RUN_DEFAULT);
    uv_walk(&r.loop, s_close_walk, NULL);
    uv_run(&r.loop, UV_RUN_DEFAULT);
    uv_loop_close(&r.loop);
    return rc;
}
