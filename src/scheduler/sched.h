/* dvi_sched: the scheduler, on one libuv loop.
 *
 * Knows the task graph, the workers and where every result lives; decides
 * what runs where. Never runs user code. It runs as a daemon (`drove
 * scheduler`) or inside a client (the embedded cluster), on the loop it is
 * given; all its functions run on that loop's thread.
 */
#ifndef DVI_SCHED_H
#define DVI_SCHED_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core.h"
#include "proto/conn.h"
#include "proto/tls_ctx.h"
#include "trace.h"

typedef struct dvi_sched dvi_sched;
typedef struct dvi_durable dvi_durable;

/* A scheduler listening on each of the n addresses ("tcp://HOST:PORT",
 * "unix:///PATH", "inproc://NAME"). On tcp it speaks TLS as tls (held
 * while listening; NULL only for addresses that need none, see
 * proto/secure.h) and admits workers and clients whose certificates say
 * so. bound receives the first address as bound (port 0 resolved).
 * Caller owns; free with dvi_sched_destroy. NULL with the reason set on
 * failure. */
dvi_sched *dvi_sched_new(uv_loop_t *loop, const char *const *addrs, size_t n,
                         dvi_tls_ctx *tls, char *bound, size_t size);
/* Heartbeats on every connection from now on: a peer that has sent
 * nothing for interval_ms is sent PING, and a worker silent for
 * timeout_ms (at least twice the interval) is dropped as if its
 * connection had closed (a silent client is kept). Workers and clients follow
 * these settings (the first PING after WELCOME carries them). interval_ms 0,
 * the default, turns heartbeats off: an embedded cluster's peers are this
 * process and its children, and a debugger that stops one for a while must not
 * lose it. */
void dvi_sched_set_heartbeat(dvi_sched *s, uint64_t interval_ms,
                             uint64_t timeout_ms);
/* Says how a worker that vanished died ("killed by signal 11 ...") into
 * buf; returns 0 if it knows, -1 if not. */
typedef int (*dvi_sched_epitaph_fn)(void *ctx, const char *worker_id, char *buf,
                                    size_t size);
/* Sets who is asked when a worker's connection drops: the embedded
 * cluster knows its children's exit status. */
void dvi_sched_set_epitaph(dvi_sched *s, dvi_sched_epitaph_fn fn, void *ctx);
/* Keeps the scheduler's state in d (--state, durable.h): what the file
 * holds goes into the core now, and the core's changes are saved from
 * now on; small results are fetched from workers as tls (held). Takes d
 * (sets *d to NULL) and closes it with the scheduler. Call before the
 * loop runs. */
void dvi_sched_set_durable(dvi_sched *s, dvi_durable **d, dvi_tls_ctx *tls);
/* Lets clients shut the scheduler down (CONTROL "shutdown", as `drove
 * cluster down` does): every worker is then told BYE as final (it exits
 * rather than wait for the scheduler to come back), every client BYE, and
 * once the workers are gone (5 s at most) fn is called: it stops the
 * loop. address (copied) is the scheduler's, as status reports it.
 * Without this, shutting down is refused: an embedded cluster ends with
 * its client. */
typedef void (*dvi_sched_shutdown_fn)(void *ctx);
void dvi_sched_set_control(dvi_sched *s, const char *address,
                           dvi_sched_shutdown_fn fn, void *ctx);
/* A client's CONTROL (status, retire, shutdown), answered with REPLY. */
void dvi_sched_control(dvi_sched *s, dvi_sclient *cl, const dvi_msg_control *m);
/* Adopts a connected socket as a peer (an embedded worker process). */
int dvi_sched_adopt_fd(dvi_sched *s, int fd);
/* Closes every connection and listener and frees the scheduler. */
void dvi_sched_destroy(dvi_sched **s);
/* The scheduler's core, for reading its counters (dvi_core_stats_get).
 * Borrowed; valid until the scheduler is destroyed. */
const dvi_core *dvi_sched_core(const dvi_sched *s);
/* Records the recent past into t from now on (the dashboard's; NULL:
 * stop). Borrowed: stop it before t is freed. */
void dvi_sched_set_trace(dvi_sched *s, dvi_trace *t);
/* How many workers are connected. */
size_t dvi_sched_nworkers(const dvi_sched *s);

#endif
