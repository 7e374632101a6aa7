/* dvi_conn: a message connection on a libuv loop.
 *
 * Carries frames (a 4-byte big-endian length, then a msgpack array of
 * messages) over a stream (stream.h): TCP, a Unix socket, or a pair of
 * actors on the same loop (inproc, no sockets). Messages added during one
 * loop turn go out as one frame, flushed just before the loop sleeps:
 * batching is what makes tiny tasks cheap. The batch is a dvi_outbox,
 * which code without sockets can fill too. Every incoming length is
 * checked against a maximum before anything is allocated for it. All
 * functions run on the loop's thread only.
 */
#ifndef DVI_CONN_H
#define DVI_CONN_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common/blob.h"
#include "msg.h"
#include "outbox.h"
#include "stream.h"

typedef struct dvi_conn dvi_conn;
typedef struct dvi_listener dvi_listener;

/* Called with each frame's payload, borrowed until the callback returns. A
 * negative return closes the connection (a protocol error). */
typedef int (*dvi_conn_frame_fn)(dvi_conn *c, const char *buf, size_t len);
/* Called once when the connection goes down by the peer's doing or an
 * error, never after dvi_conn_close(). The conn is freed after it returns. */
typedef void (*dvi_conn_close_fn)(dvi_conn *c, const char *why);
/* Called once the connection is open (see dvi_conn_set_on_open). */
typedef void (*dvi_conn_open_fn)(dvi_conn *c);
/* Called for each accepted connection; its callbacks are set by then to the
 * listener's, and its data pointer to NULL. It is awaiting its handshake
 * (see DVI_HANDSHAKE_FRAME_MAX). */
typedef void (*dvi_accept_fn)(dvi_listener *l, dvi_conn *c);

/* The default and hard ceiling of a frame's payload, in bytes. */
#define DVI_FRAME_MAX_DEFAULT ((size_t)1 << 30)

/* A connection a listener accepted has not completed its handshake until
 * the role says so (dvi_conn_handshake_done, once HELLO is accepted).
 * Until then its frames may be at most DVI_HANDSHAKE_FRAME_MAX bytes, it
 * is closed if the handshake takes longer than a deadline, and only so
 * many such connections are kept, from one remote address and in all: a
 * newcomer over a limit closes the oldest one over it. Connections past
 * their handshake are never touched. The defaults: */
#define DVI_HANDSHAKE_FRAME_MAX ((size_t)64 * 1024)
#define DVI_HANDSHAKE_TIMEOUT_MS 10000
#define DVI_HANDSHAKE_PER_ADDR 64
#define DVI_HANDSHAKE_TOTAL 512

typedef struct dvi_handshake_limits {
    uint64_t timeout_ms; /* from accept to dvi_conn_handshake_done */
    unsigned per_addr;   /* pending connections from one remote IP */
    unsigned total;      /* pending connections in all */
} dvi_handshake_limits;

/* Connects to "tcp://HOST:PORT", "unix:///ABSOLUTE/PATH" or "inproc://NAME"
 * in plain: product code dials through secure.h, which adds TLS on tcp.
 * Messages may be added at once; they go out when connected. A host name
 * is resolved without blocking the loop; if that or the connection fails,
 * on_close says why, naming the address. Caller owns; close with
 * dvi_conn_close. NULL with the reason set if the address is invalid. */
dvi_conn *dvi_conn_dial(uv_loop_t *loop, const char *addr,
                        dvi_conn_frame_fn on_frame, dvi_conn_close_fn on_close,
                        void *data);
/* Adopts a connected stream socket (a socketpair end). */
dvi_conn *dvi_conn_from_fd(uv_loop_t *loop, int fd, dvi_conn_frame_fn on_frame,
                           dvi_conn_close_fn on_close, void *data);
/* Frames messages over stream s (any transport, not yet started; owned
 * from now on): dial with dvi_stream_dial or secure.h, then wrap. */
dvi_conn *dvi_conn_from_stream(dvi_stream *s, dvi_conn_frame_fn on_frame,
                               dvi_conn_close_fn on_close, void *data);
/* The stream under c. Borrowed; valid until c is closed. */
dvi_stream *dvi_conn_stream(const dvi_conn *c);
/* Calls fn once the connection carries writes (a dial connected): at once
 * if it does already (adopted and in-process connections are open from
 * the start). Never after on_close or dvi_conn_close. */
void dvi_conn_set_on_open(dvi_conn *c, dvi_conn_open_fn fn);
/* Closes and frees (after libuv lets go). Frames not yet flushed are sent
 * first when possible. Accepts NULL. */
void dvi_conn_close(dvi_conn *c);

/* Bytes up to this size are copied by dvi_conn_keep: keeping a frame's
 * memory for them is not worth it. */
#define DVI_CONN_COPY_MAX ((size_t)64 << 10)

/* During on_frame only: a blob of the n bytes at p, which are part of the
 * frame being delivered, for the caller to keep (dvi_blob_rele when
 * done). Large bytes are not copied: bytes a peer in this process handed
 * over by reference are its blob itself; otherwise the first large bytes
 * of a frame take over the memory holding the frame (which the conn keeps
 * alive until on_frame returns), and later ones are copied. */
dvi_blob *dvi_conn_keep(dvi_conn *c, const char *p, size_t n);
/* Says that c's user reads every frame with dvi_conn_each_msg and keeps
 * bytes only with dvi_conn_keep: a peer in this process (inproc) then
 * hands it large blobs by reference, without a copy, instead of bytes. */
void dvi_conn_accept_refs(dvi_conn *c);
/* During on_frame: calls fn for each message of the frame, a field that
 * stands for a blob that came by reference read as its bytes
 * (dvi_msg_each_refs); the bytes are checked (dvi_mpcheck) unless c's
 * peer is in this process. Returns as dvi_msg_each. */
int dvi_conn_each_msg(const dvi_conn *c, const char *buf, size_t len,
                      dvi_msg_fn fn, void *ctx);
/* Sends what is pending now instead of before the loop sleeps. */
void dvi_conn_flush(dvi_conn *c);
/* The batch of messages the conn sends before the loop sleeps, for code
 * that adds messages to an outbox without knowing about connections (the
 * scheduler core). Borrowed; valid until the conn is closed. */
dvi_outbox *dvi_conn_outbox(dvi_conn *c);

void *dvi_conn_data(const dvi_conn *c);
void dvi_conn_set_data(dvi_conn *c, void *data);
/* The peer as text ("tcp://127.0.0.1:5000", "unix:///run/d.sock",
 * "inproc://NAME", "fd 3"), for logs. */
const char *dvi_conn_peer(const dvi_conn *c);
/* Once open, this end's address where the transport has one
 * ("tcp://10.0.0.2:41234": the interface the peer is reached by), else "".
 * Borrowed; valid until the conn is closed. */
const char *dvi_conn_local(const dvi_conn *c);
/* Bytes written and read so far (frames included), for counters. */
uint64_t dvi_conn_bytes_out(const dvi_conn *c);
uint64_t dvi_conn_bytes_in(const dvi_conn *c);
/* Frames received whole so far. */
uint64_t dvi_conn_frames_in(const dvi_conn *c);
/* The largest frame accepted from the peer once the handshake is done
 * (before it, at most DVI_HANDSHAKE_FRAME_MAX). */
void dvi_conn_set_max_frame(dvi_conn *c, size_t max);
/* The role accepted the peer's HELLO: the maximum frame is raised, the
 * deadline cleared, and the listener no longer counts the connection as
 * pending. Cheap; does nothing for a connection past its handshake (every
 * dialled or adopted one). */
void dvi_conn_handshake_done(dvi_conn *c);
/* During on_close: the DV_E* code of the failure. DV_ECONN when the stream
 * failed or the peer closed it; DV_EAUTH when TLS authentication failed
 * (either side refused the other); DV_EPROTO when the peer sent what is not
 * drove's protocol, or the role's own code when on_frame refused a frame;
 * DV_ETIMEDOUT or DV_ELIMIT when a listener closed a connection that had
 * not completed its handshake. */
int dvi_conn_error(const dvi_conn *c);

/* In plain, as dvi_conn_dial (product code listens through secure.h):
 * listens on "tcp://HOST:PORT" (port 0 picks one), "unix:///ABSOLUTE/PATH"
 * (a stale socket file is replaced; the file is removed on close) or
 * "inproc://NAME". A host name is resolved synchronously, and a Unix path
 * checked with blocking calls: listen at start-up, before the loop runs.
 * bound (size bytes) receives the address actually bound. Caller owns;
 * close with dvi_listener_close. NULL with the reason set on failure. */
dvi_listener *dvi_listen(uv_loop_t *loop, const char *addr,
                         dvi_accept_fn on_accept, dvi_conn_frame_fn on_frame,
                         dvi_conn_close_fn on_close, void *data, char *bound,
                         size_t size);
/* The same around a listener already made (any transport, TLS
 * included), which the listener owns from now on: its accept callback is
 * taken over. Before the loop runs. */
dvi_listener *dvi_listen_stream(dvi_stream_listener *sl,
                                dvi_accept_fn on_accept,
                                dvi_conn_frame_fn on_frame,
                                dvi_conn_close_fn on_close, void *data);
/* Sets the limits on connections that have not completed their handshake
 * (the defaults are DVI_HANDSHAKE_*); before the loop runs. */
void dvi_listener_set_handshake(dvi_listener *l,
                                const dvi_handshake_limits *lim);
/* Accepted connections not past their handshake, now. */
size_t dvi_listener_pending(const dvi_listener *l);
void *dvi_listener_data(const dvi_listener *l);
/* Stops listening and frees the listener. The connections it accepted
 * live on (a pending one without its deadline). */
void dvi_listener_close(dvi_listener *l);

#endif
