/* dvi_embedded: the cluster an embedded dv_connect("local...") starts.
 *
 * A scheduler on the client's loop, so a submission reaches it without a
 * socket, and its workers: "local:threads=N" puts N workers on the same
 * loop, talking in-process; "local:processes=N" starts N child processes
 * running this same executable in the worker role (worker/role.c), each
 * connected over a socketpair, replaced when it dies, and remembered by
 * how it died so the scheduler can say why a task was lost. Nothing is
 * left on disk and no port stays open once it has stopped.
 *
 * Not thread-safe: every function runs on the loop's thread (before that
 * thread starts, the thread that will start it).
 */
#ifndef DVI_EMBEDDED_H
#define DVI_EMBEDDED_H

#include <uv.h>

#include "worker/worker.h"

typedef struct dvi_embedded dvi_embedded;

/* Starts the cluster spec asks for ("local", one thread worker per core;
 * "local:threads=N"; "local:processes=N") on loop. Caller owns; end it
 * with dvi_embedded_stop. NULL with the reason set on failure: DV_EINVAL
 * for a bad spec, DV_ECONN or DV_ESYS if a part could not start (what did
 * start is stopped, and goes once the loop runs). */
dvi_embedded *dvi_embedded_start(uv_loop_t *loop, const char *spec);
/* The scheduler's address, for clients to dial. Borrowed; valid until
 * dvi_embedded_stop. */
const char *dvi_embedded_addr(const dvi_embedded *e);
/* The workers it starts: a client waits for this many to join before it
 * submits, so the first tasks spread over all of them. */
int dvi_embedded_nworkers(const dvi_embedded *e);
/* The threads scheme: its workers' chaining and fusion counters summed
 * (dvi_worker_fusion_stats). Any thread. */
void dvi_embedded_fusion_stats(dvi_embedded *e, dvi_fusion_stats *sum);
/* Stops the cluster: thread workers and the scheduler at once; child
 * processes are told by their sockets closing and killed if they have not
 * exited after a grace period. It frees itself when the last child is
 * gone, so the loop must run until it ends by itself. Accepts NULL; sets
 * *e to NULL. */
void dvi_embedded_stop(dvi_embedded **e);

#endif
