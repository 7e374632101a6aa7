/* dvi_relay: results the scheduler fetches for clients that cannot reach
 * the workers (a client tunnelled over ssh: dv_connect("ssh://...")).
 *
 * Such a client says so (CONTROL "relay"). Where another client is told
 * FINISHED with a worker's address to fetch from, this one is sent
 * FINISHED with the result itself, once the scheduler has fetched it from
 * that worker (GET, as the client would have). Should the fetch fail,
 * the client is told the holder as usual.
 */
#ifndef DVI_RELAY_H
#define DVI_RELAY_H

#include <uv.h>

#include "core.h"
#include "proto/tls_ctx.h"
#include "task.h"

typedef struct dvi_relay dvi_relay;

/* A relay for core c's clients, fetching on loop as tls (held; NULL on a
 * cluster without TCP). Caller owns; free with dvi_relay_destroy before
 * the core. */
dvi_relay *dvi_relay_new(dvi_core *c, uv_loop_t *loop, dvi_tls_ctx *tls);
/* Drops the fetches under way (no client is told). Accepts NULL. */
void dvi_relay_destroy(dvi_relay **r);
/* Fetches t's result (held by a worker) and sends it to cl in FINISHED. */
void dvi_relay_get(dvi_relay *r, const dvi_task *t, dvi_sclient *cl);

#endif
