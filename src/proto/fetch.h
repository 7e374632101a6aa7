/* dvi_fetcher: fetching results from the workers that hold them.
 *
 * The one implementation of the asking side of GET / DATA / MISSING, for
 * a worker fetching task inputs from its peers and a client fetching
 * results. It keeps one outgoing connection per peer address (opened with
 * HELLO as role PEER on first use, kept while it lasts), and the GETs each
 * peer has not answered yet. Every GET is answered exactly once: with the
 * data, or with a failure and its reason, when the peer does not hold the
 * key or when the connection to it drops (then every GET still waiting on
 * that peer fails).
 *
 * A large result is not copied (dvi_conn_keep): its blob adopts the frame
 * it arrived in, whose memory is placed so that an array in it can be
 * read in place (inbuf.h); from a worker in this process (inproc), it is
 * the very blob that worker holds, handed over by reference.
 *
 * Not thread-safe: every function and callback runs on the loop's thread.
 * The callbacks may call dvi_fetcher_get, but must not destroy the
 * fetcher.
 */
#ifndef DVI_FETCH_H
#define DVI_FETCH_H

#include <stdint.h>
#include <uv.h>

#include "common/blob.h"
#include "tls_ctx.h"

typedef struct dvi_fetcher dvi_fetcher;

/* The result of key arrived from the peer at addr. blob is borrowed for
 * the call (take a reference with dvi_blob_hold to keep it); it may live
 * inside the frame it came in. */
typedef void (*dvi_fetch_data_fn)(void *ctx, const char *key, const char *addr,
                                  dvi_blob *blob);
/* Fetching key from addr failed: code is DV_ENOTFOUND if the peer does
 * not hold it, DV_ECONN if the connection to the peer dropped; why says
 * more ("the peer does not hold it", the connection's reason). */
typedef void (*dvi_fetch_fail_fn)(void *ctx, const char *key, const char *addr,
                                  int code, const char *why);

/* A fetcher on loop that introduces itself to peers as id (copied) and
 * reports to on_data and on_fail with ctx. Caller owns; free with
 * dvi_fetcher_destroy. */
dvi_fetcher *dvi_fetcher_new(uv_loop_t *loop, const char *id,
                             dvi_fetch_data_fn on_data,
                             dvi_fetch_fail_fn on_fail, void *ctx);
/* Closes every peer connection and frees the fetcher. GETs not answered
 * yet are dropped without a callback. Accepts NULL; sets *f to NULL. */
void dvi_fetcher_destroy(dvi_fetcher **f);
/* The identity used to reach peers on tcp:// from now on (held; NULL:
 * none), which must be workers of the same profile (proto/secure.h). */
void dvi_fetcher_set_tls(dvi_fetcher *f, dvi_tls_ctx *tls);
/* The id sent in the HELLO of connections opened from now on (copied;
 * at most 127 bytes are kept). */
void dvi_fetcher_set_id(dvi_fetcher *f, const char *id);

/* Asks the peer at addr ("tcp://HOST:PORT", "inproc://NAME") for key,
 * connecting first if need be. Returns 0, and the answer comes through a
 * callback; or a negative DV_E* code with the reason set if addr cannot
 * be dialled, and then no callback is ever called for this request. */
int dvi_fetcher_get(dvi_fetcher *f, const char *key, const char *addr);
/* As dvi_fetcher_get, for a result that may not exist yet: the peer
 * answers once it does, if it computes it, or once it has not heard of
 * key for wait_ms (then DV_ENOTFOUND). */
int dvi_fetcher_get_wait(dvi_fetcher *f, const char *key, const char *addr,
                         uint64_t wait_ms);
/* GETs sent and not answered yet, over all peers. */
size_t dvi_fetcher_pending(const dvi_fetcher *f);

#endif
