/* dvi_server: the serving side of peer transfers, in a worker.
 *
 * Listens where peers and clients fetch results from, and answers each
 * GET from the worker's store: DATA with the result, or MISSING. A small
 * result is copied into the batch; a large one goes out from the store's
 * own memory, in a frame of its own, at once (a blob spliced into its outbox),
 * so serving a 256 MiB result copies nothing. A result spilled to disk is
 * read back first (dvi_store_get), then served the same way. The asking
 * side is proto/fetch.h.
 *
 * A GET may say it waits (wait_ms, dvi_fetcher_get_wait): a worker sent a
 * task ahead of its input, which runs here. Such a GET for a result not
 * here yet is kept until the worker says the key's task is over
 * (dvi_server_settle: DATA, or MISSING if it failed or was given back),
 * or, while the worker has no task of that key (its COMPUTE may still be
 * on its way), for wait_ms; then it is MISSING.
 *
 * Not thread-safe: the worker's loop thread only.
 */
#ifndef DVI_SERVE_H
#define DVI_SERVE_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "proto/tls_ctx.h"
#include "store.h"

typedef struct dvi_server dvi_server;

/* Serves the results in store (borrowed: it must outlive the server) to
 * whoever connects to addr ("tcp://IP:PORT", port 0 picks one,
 * "unix:///PATH" or "inproc://NAME"): on tcp, only to workers and clients
 * of tls's profile (proto/secure.h). bound (size bytes) receives the address
 * actually bound. Caller owns; free with dvi_server_destroy. NULL with the
 * reason set if it cannot listen. */
dvi_server *dvi_server_new(uv_loop_t *loop, const char *addr, dvi_tls_ctx *tls,
                           dvi_store *store, char *bound, size_t size);
/* Serves this host's peers also on the socket file for addr, the tcp://
 * address the worker advertises (proto/samehost.h): fetching from a
 * worker of the same host then skips TLS. Does nothing when there is no
 * such file; logs why it cannot listen there. */
void dvi_server_listen_samehost(dvi_server *s, dvi_tls_ctx *tls,
                                const char *addr);
/* Closes the listener and every connection (queued answers are sent
 * first when possible) and frees the server. Accepts NULL; sets *s to
 * NULL. */
void dvi_server_destroy(dvi_server **s);
/* Whether key is a task here whose result is to come. */
typedef int (*dvi_server_coming_fn)(void *ctx, const char *key);
/* A GET begins to wait for key here (the first for it). */
typedef void (*dvi_server_wanted_fn)(void *ctx, const char *key);
/* How the server asks whether a waited-for key is coming (none: never),
 * and tells that a key is waited for (wanted; may be NULL). */
void dvi_server_set_hooks(dvi_server *s, dvi_server_coming_fn coming,
                          dvi_server_wanted_fn wanted, void *ctx);
/* The task of key is over here (done, failed, given back): the GETs
 * waiting for it are answered from the store now. Accepts NULL. */
void dvi_server_settle(dvi_server *s, const char *key);
/* Whether a GET waits for key here (such a task is not given away).
 * Accepts NULL. */
int dvi_server_awaited(const dvi_server *s, const char *key);
/* Result bytes sent so far. */
uint64_t dvi_server_bytes_served(const dvi_server *s);

#endif
