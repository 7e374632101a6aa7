/* dvi_link: a worker's connection to its scheduler.
 *
 * Dials the scheduler (or adopts a connected socket) and, until the
 * scheduler has welcomed the worker, tries again when a connection fails
 * — refused, reset, unreachable, a host name that does not resolve yet —
 * after 50 ms, doubling to 2 s, until a deadline: a worker may start
 * before its scheduler. A peer that answers with something other than
 * drove's protocol, or refuses the worker, ends it at once: trying again
 * would not help. Each connection that opens is handed to the worker,
 * which introduces itself on it (HELLO).
 *
 * Once the worker is welcomed, the scheduler's PINGs start heartbeats
 * (proto/beat.h): a scheduler silent past its heartbeat timeout is lost
 * like one whose connection closed. Losing it is final, unless a rejoin
 * grace is set (dvi_link_set_rejoin): then the link dials again, with the
 * same backoff, for that long, each attempt given 5 s to be
 * welcomed (a stopped scheduler accepts connections it never answers).
 * The worker's session ended with the connection: it rejoins as a fresh
 * worker.
 *
 * Not thread-safe: the worker's loop thread only.
 */
#ifndef DVI_LINK_H
#define DVI_LINK_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "proto/beat.h"
#include "proto/conn.h"
#include "proto/tls_ctx.h"

typedef struct dvi_link dvi_link;

typedef struct dvi_link_fns {
    /* A connection to the scheduler opened: c (borrowed, valid until down
     * or lost) carries the worker's messages from now on. */
    void (*open)(void *ctx, dvi_conn *c);
    /* A frame from the scheduler; a negative return (reason set) drops
     * the connection, as dvi_conn_frame_fn. */
    int (*frame)(void *ctx, dvi_conn *c, const char *buf, size_t len);
    /* The connection went, and another attempt follows: forget it.
     * joined: the scheduler had welcomed the worker on it, so the
     * worker's session is over; code (a DV_E* code) and why: how. */
    void (*down)(void *ctx, int joined, int code, const char *why);
    /* The end: the scheduler could not be reached in time, is no drove
     * scheduler, refused the worker, or went away after welcoming it.
     * code is a DV_E* code; why names the address. */
    void (*lost)(void *ctx, int code, const char *why);
} dvi_link_fns;

/* A link to the scheduler at addr ("tcp://HOST:PORT", "unix:///PATH",
 * "inproc://NAME"), or (addr NULL) over the connected socket fd, that
 * keeps trying for timeout_ms (0: one attempt). On tcp it speaks TLS as
 * tls (held) and accepts only a scheduler's certificate; a failed
 * authentication is final. fns and ctx are borrowed. Caller owns;
 * free with dvi_link_destroy. NULL with the reason set if addr is not an
 * address. */
dvi_link *dvi_link_new(uv_loop_t *loop, const char *addr, int fd,
                       uint64_t timeout_ms, dvi_tls_ctx *tls,
                       const dvi_link_fns *fns, void *ctx);
/* Ends the link now, as the worker cannot go on (from any callback but
 * lost): closes the connection without calling back, then calls lost
 * with code and why. */
void dvi_link_fail(dvi_link *l, int code, const char *why);
/* The scheduler welcomed the worker: no more attempts, no deadline. */
void dvi_link_joined(dvi_link *l);
/* Asked for the scheduler's address before each attempt to rejoin (a
 * restarted scheduler may be elsewhere): writes it into buf and returns
 * 0, or returns -1 to keep the address in use. */
typedef int (*dvi_link_addr_fn)(void *ctx, char *buf, size_t size);
/* After a welcomed connection is lost, dials again for grace_ms (0: the
 * loss is final, the default), asking addr (may be NULL) where first. A
 * link over an adopted socket never rejoins. */
void dvi_link_set_rejoin(dvi_link *l, uint64_t grace_ms, dvi_link_addr_fn addr,
                         void *ctx);
/* A PING from the scheduler, read off the connection: answered, and its
 * heartbeats kept as it says. Returns 0, or DV_EPROTO. */
int dvi_link_on_ping(dvi_link *l, const msgpack_object *f, uint32_t n);
/* Closes the connection (what is queued goes first) without calling
 * back, and frees the link. Accepts NULL; sets *l to NULL. */
void dvi_link_destroy(dvi_link **l);

#endif
