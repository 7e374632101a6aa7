/* dvi_beat: heartbeats on one connection, to tell a silent peer from a
 * quiet one.
 *
 * Every interval, a side that has received no whole frame since its last
 * tick sends PING, which the peer answers with PONG. Any byte received
 * counts as life, so a busy connection carries no extra messages; a side
 * that is receiving one long frame still pings, so that its peer, which
 * may be sending nothing else, hears from it. A peer silent for the
 * timeout is lost: the owner is told and closes the connection.
 * The scheduler decides the interval and timeout and sends them in every
 * PING (the first right after WELCOME); workers and clients follow them,
 * and keep no heartbeats of their own until their scheduler pings them.
 *
 * Only time this loop could have read counts as silence: a tick that comes
 * late (this loop was stalled by a long turn, a call run on the loop
 * thread, or SIGSTOP of this process) counts at most one interval, since
 * the peer's bytes may be waiting unread and libuv runs timers before it
 * reads. A stalled side therefore never accuses a live peer.
 *
 * Not thread-safe: the connection's loop thread only.
 */
#ifndef DVI_BEAT_H
#define DVI_BEAT_H

#include <msgpack.h>
#include <stdint.h>
#include <uv.h>

#include "conn.h"

typedef struct dvi_beat dvi_beat;

/* The peer has been silent for the timeout; why says for how long. The
 * owner closes the connection (and may destroy the beat) in it. */
typedef void (*dvi_beat_lost_fn)(void *ctx, const char *why);

/* Heartbeats on c (borrowed: destroy the beat before c is freed) every
 * interval_ms, the peer lost after timeout_ms of silence (at least twice
 * the interval; raised if not). lost NULL: PINGs only, the peer never
 * given up. Caller owns; free with dvi_beat_destroy. */
dvi_beat *dvi_beat_new(uv_loop_t *loop, dvi_conn *c, uint64_t interval_ms,
                       uint64_t timeout_ms, dvi_beat_lost_fn lost, void *ctx);
/* Sends a PING now: how the scheduler tells a peer its settings. */
void dvi_beat_announce(dvi_beat *b);
/* Reads a PING received on c and answers it with PONG. Returns 0, or
 * DV_EPROTO (reason set). */
int dvi_beat_answer(dvi_conn *c, const msgpack_object *f, uint32_t n);
/* A worker or client hearing its scheduler's PING on c: answers it, and
 * keeps heartbeats as it says, starting them (*bp NULL: a new beat that
 * calls lost) or adopting new settings. Returns 0, or DV_EPROTO. */
int dvi_beat_follow(dvi_beat **bp, uv_loop_t *loop, dvi_conn *c,
                    const msgpack_object *f, uint32_t n, dvi_beat_lost_fn lost,
                    void *ctx);
/* The timeout in force, in ms. */
uint64_t dvi_beat_timeout_ms(const dvi_beat *b);
/* Stops the heartbeats and frees the beat. Safe in its lost callback.
 * Accepts NULL; sets *b to NULL. */
void dvi_beat_destroy(dvi_beat **b);

#endif
