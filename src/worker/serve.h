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
/* Closes the listener and every connection (queued answers are sent
 * first when possible) and frees the server. Accepts NULL; sets *s to
 * NULL. */
void dvi_server_destroy(dvi_server **s);
/* Result bytes sent so far. */
uint64_t dvi_server_bytes_served(const dvi_server *s);

#endif
