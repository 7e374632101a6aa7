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

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "proto/tls_ctx.h"

typedef struct dvi_runner_group dvi_runner_group; /* runner.h */

typedef struct dvi_worker dvi_worker;

/* A worker's memory limit (memwatch.h). */
typedef struct dvi_worker_memory {
    uint64_t limit;        /* bytes; 0: none (nothing spills or pauses) */
    double target;         /* fraction of limit past which results spill
                              to disk (0: 0.6) */
    double pause;          /* fraction of limit past which it takes no new
                              tasks (0: 0.8) */
    const char *spill_dir; /* where its spill directory goes; NULL:
                              $TMPDIR, else /tmp */
} dvi_worker_memory;

typedef struct dvi_worker_opts {
    const char *id;     /* proposed worker id */
    int nthreads;       /* executor threads, >= 1 */
    int max_blocked;    /* calls that may wait for their children at once
                           with another thread lent to the worker (dask's
                           secede); 0: $DROVE_MAX_BLOCKED, else
                           DVI_MAX_BLOCKED (64) */
    const char *listen; /* where peers fetch from ("tcp://IP:0"); NULL:
                           the interface the scheduler is reached by */
    const dvi_worker_memory *memory; /* its limit; NULL: none */
    dvi_runner_group *group;         /* the workers sharing its loop (runner.h);
                                        NULL: it has the loop to itself */
    const char *resources; /* what it declares ("GPU=1,MEM=8e9", checked
                              by the caller: common/resources.h); NULL:
                              none */
} dvi_worker_opts;

/* Where the scheduler is now ("tcp://HOST:PORT" into buf, size bytes):
 * 0, or -1 to keep dialling the address in use. */
typedef int (*dvi_worker_addr_fn)(void *ctx, char *buf, size_t size);

/* What a daemon adds to how a worker meets the network (a worker of an
 * embedded cluster needs none of it). Zeroed: the defaults. */
typedef struct dvi_worker_net {
    int connect_timeout_ms;        /* how long to keep trying to reach the
                                      scheduler (a refused connection is tried
                                      again); 0: once */
    const char *contact;           /* the address peers are told to fetch from,
                                      "tcp://HOST:PORT" (port 0: the one listened
                                      on); NULL: see dvi_worker_new */
    dvi_tls_ctx *tls;              /* the worker's identity for tcp:// (held
                                      while it lives): its profile's worker
                                      certificate; NULL: none */
    int cancel_grace_ms;           /* how long a call asked to stop (cancelled,
                                      or past its time limit) has to return by
                                      itself; 0: DVI_CANCEL_GRACE_MS (0.5 s);
                                      negative: none, stopped at once */
    int reconnect_grace_ms;        /* after losing a scheduler that welcomed it
                                      (closed, or silent past its heartbeat
                                      timeout), how long to dial it again; the
                                      worker rejoins as a fresh one, its tasks
                                      and results dropped; 0: the loss is final */
    dvi_worker_addr_fn sched_addr; /* asked before each such attempt (a
                                      profile's connection file); NULL:
                                      the same address */
    void *sched_addr_ctx;
} dvi_worker_net;

typedef struct dvi_worker_stats {
    uint64_t tasks_done;
    uint64_t tasks_failed;
    uint64_t bytes_served;  /* result bytes sent to peers and clients */
    uint64_t bytes_fetched; /* input bytes received from peers */
    uint64_t stored;        /* results held now */
    uint64_t stored_peak;   /* the most held at once, by tasks' results */
    uint64_t chained;       /* tasks run right after their last input on
                               its thread, the input in memory */
    uint64_t fused;         /* of those, the ones whose input was never
                               stored (fusion) */
} dvi_worker_stats;

/* Called once when the scheduler connection is lost for good (after the
 * reconnect grace, if any), or could not be made (not on destroy); why,
 * also in dv_last_error(), names the address. */
typedef void (*dvi_worker_lost_fn)(dvi_worker *w, const char *why, void *ctx);
/* Called once a retiring worker has no task left (dvi_worker_retire), or
 * has left (dvi_worker_leave). */
typedef void (*dvi_worker_drained_fn)(dvi_worker *w, void *ctx);
/* Called once when a call still runs at the end of its grace (why says
 * which and why it had to stop): the process must end so that the call
 * does, and soon (see dvi_worker_abandon). The worker has told the
 * scheduler already: RETIRING, the tasks not started given back, FAILED
 * for a call past its time limit, and its results moved away (LEAVING). */
typedef void (*dvi_worker_stop_fn)(dvi_worker *w, const char *why, void *ctx);

/* A worker connecting to the scheduler at sched_addr, or (sched_addr NULL)
 * over the connected socket sched_fd, under opts->memory's limit if any. It
 * serves peers at opts->listen; if that is NULL, on port 0 of the interface by
 * which it reaches the scheduler (127.0.0.1 over a socket without an IP). It
 * tells peers the contact address if there is one, else where it listens, a
 * wildcard host replaced by that interface: an address they can dial. Caller
 * owns; free with dvi_worker_destroy. NULL with the reason set on failure. */
dvi_worker *dvi_worker_new(uv_loop_t *loop, const char *sched_addr,
                           int sched_fd, const dvi_worker_opts *opts,
                           dvi_worker_lost_fn lost, void *ctx);
/* The same, with network settings (net may be NULL: the defaults). */
dvi_worker *dvi_worker_new_net(uv_loop_t *loop, const char *sched_addr,
                               int sched_fd, const dvi_worker_opts *opts,
                               const dvi_worker_net *net,
                               dvi_worker_lost_fn lost, void *ctx);
/* Joins the executor (waiting for running calls), closes everything. */
void dvi_worker_destroy(dvi_worker **w);
/* For a process about to end with calls still running, which cannot be
 * joined: closes the connections (what is queued for the scheduler goes
 * first, as the loop runs on) and the timers, removes the spill
 * directory (results held on disk are lost with the process), and leaves
 * the executor's
 * threads and the loaded libraries alone, never freed, as calls may
 * still run their code. Sets *w to NULL. The loop then ends once the
 * connections have closed; the process must end right after. */
void dvi_worker_abandon(dvi_worker **w);
/* Called when the scheduler asks the worker to retire (RETIRE: `drove
 * cluster remove`, dv_retire_workers): a worker process retires as on its
 * first SIGTERM. Without it the worker only retires (takes no new work). */
typedef void (*dvi_worker_retire_fn)(dvi_worker *w, const char *why, void *ctx);
void dvi_worker_set_retire(dvi_worker *w, dvi_worker_retire_fn fn, void *ctx);
/* Lets the worker stop calls that would not (see dvi_worker_stop_fn) by
 * ending the process: a worker process sets it; a worker that shares its
 * process (local:threads) cannot, and such a call runs on, its result
 * discarded. */
void dvi_worker_set_stop(dvi_worker *w, dvi_worker_stop_fn fn, void *ctx);
const char *dvi_worker_id(const dvi_worker *w);
/* Whether the scheduler has welcomed it on the connection in use (the
 * handshake completed, and the connection has not been lost since). */
int dvi_worker_welcomed(const dvi_worker *w);
/* How many times a scheduler has welcomed it: 0 if it never reached
 * one, more than 1 after rejoining. */
unsigned dvi_worker_sessions(const dvi_worker *w);
/* The address peers are told to fetch from ("" until the scheduler's
 * connection first opens). */
const char *dvi_worker_addr(const dvi_worker *w);
/* Stops taking work (why: "signal 15"): tells the scheduler (RETIRING),
 * gives back every task not started (FAILED, blamed on the worker, which
 * the scheduler places elsewhere), answers any COMPUTE still coming the
 * same way, and calls drained once the tasks running now have finished
 * and been reported (at once if there are none). The worker keeps
 * serving its results to peers meanwhile. Once. */
void dvi_worker_retire(dvi_worker *w, const char *why,
                       dvi_worker_drained_fn drained, void *ctx);
/* Before exiting (a retired worker drained, or ending its process to
 * stop a call): asks the scheduler to move the results only this worker
 * holds to workers that stay (LEAVING; they fetch them from it), and
 * calls done once it has (its BYE), when the scheduler is lost, or after
 * DVI_WORKER_LEAVE_MS at the most; at once if no scheduler is connected.
 * The worker serves its results to peers meanwhile. Once: later calls
 * are ignored. */
#define DVI_WORKER_LEAVE_MS 60000
void dvi_worker_leave(dvi_worker *w, dvi_worker_drained_fn done, void *ctx);
/* Tasks received and not yet answered (running, or waiting for inputs),
 * and those of a lost session still running. */
size_t dvi_worker_ntasks(const dvi_worker *w);
void dvi_worker_stats_get(const dvi_worker *w, dvi_worker_stats *out);
/* Its stats' chained, fused and stored_peak, from any thread (fuse.c). */
typedef struct dvi_fusion_stats {
    uint64_t chained, fused, stored_peak;
} dvi_fusion_stats;
void dvi_worker_fusion_stats(dvi_worker *w, dvi_fusion_stats *out);

#endif
