/* dvi_worker: a worker, on one libuv loop.
 *
 * Receives tasks from the scheduler, fetches their inputs from the workers
 * that hold them (directly, never through the scheduler), runs them on its
 * executor, keeps their results in memory, and serves them to peers and
 * clients that ask. Runs as a daemon (`drove worker`), as a child process of
 * an embedded cluster, or inside a client (threads scheme). All functions
 * run on the loop's thread.
 */
#ifndef DVI_WORKER_H
#define DVI_WORKER_H

#include <stdint.h>
#include <uv.h>

typedef struct dvi_worker dvi_worker;

typedef struct dvi_worker_opts {
    const char *id;     /* proposed worker id */
    int nthreads;       /* executor threads, >= 1 */
    const char *listen; /* address peers fetch from ("tcp://IP:0") */
} dvi_worker_opts;

typedef struct dvi_worker_stats {
    uint64_t tasks_done;
    uint64_t tasks_failed;
    uint64_t bytes_served;  /* result bytes sent to peers and clients */
    uint64_t bytes_fetched; /* input bytes received from peers */
    uint64_t stored;        /* results held now */
} dvi_worker_stats;

/* Called once when the scheduler connection is lost (not on destroy). */
typedef void (*dvi_worker_lost_fn)(dvi_worker *w, const char *why, void *ctx);

/* A worker connecting to the scheduler at sched_addr, or (sched_addr NULL)
 * over the connected socket sched_fd. Caller owns; free with
 * dvi_worker_destroy. NULL with the reason set on failure. */
dvi_worker *dvi_worker_new(uv_loop_t *loop, const char *sched_addr,
                           int sched_fd, const dvi_worker_opts *opts,
                           dvi_worker_lost_fn lost, void *ctx);
/* Joins the executor (waiting for running calls), closes everything. */
void dvi_worker_destroy(dvi_worker **w);
const char *dvi_worker_id(const dvi_worker *w);
/* Whether the scheduler has welcomed it (the handshake completed). */
int dvi_worker_welcomed(const dvi_worker *w);
const char *dvi_worker_addr(const dvi_worker *w);
void dvi_worker_stats_get(const dvi_worker *w, dvi_worker_stats *out);

#endif
