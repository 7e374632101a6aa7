/* dvi_stream: a reliable, ordered byte stream under the framer, and the
 * listeners that accept them.
 *
 * The framer (dvi_conn) cuts frames out of a stream's bytes and writes
 * frames into it; it never knows what carries them. A stream is an ops
 * table plus a small common header, and each transport implements it in
 * its own file: stream_tcp.c (uv_tcp, with asynchronous name resolution),
 * stream_pipe.c (uv_pipe: an adopted socketpair fd, and unix:///PATH) and
 * stream_inproc.c (two ends on one loop, no socket). The address's scheme
 * picks the transport in one place, dvi_stream_dial and dvi_stream_listen.
 *
 * Reading lands in the user's memory: the stream asks its user for a
 * buffer (alloc), reads into it, and says how many bytes landed (read).
 * That keeps the framer's buffer the only copy of incoming bytes, so a
 * receiver can keep a large frame in place. A transport whose bytes
 * already sit in a malloc'ed buffer hands the buffer over instead
 * (adopt); one whose peer is in this process (inproc) hands over the
 * frame as it was written, blobs and all (frame), so that they are
 * never copied.
 *
 * Writing takes a frame as dvi_outbox_frame: one buffer with blobs
 * spliced in at offsets. The stream owns both until they are written, so
 * large blobs go out from their own memory (writev, for TCP).
 *
 * Wrapping (stream_tls.h): a stream may be the user of another stream. A
 * TLS stream is created around an inner dvi_stream of any transport and
 * makes itself the inner stream's user (dvi_stream_set_user(inner,
 * &tls_user, tls)); its start starts the inner. Ciphertext then arrives
 * through the inner's alloc/read (or adopt) into the TLS stream's own
 * buffer; it decrypts and hands plaintext to its own user through
 * alloc/read. Its write encrypts the frame (blobs read in place, then
 * released) into ciphertext that it writes to the inner stream: small
 * frames as one buffer, large ones in chunks (each a blob segment, which
 * tells the TLS stream when the inner one has sent it). Its open comes
 * after the inner's open and the handshake; the inner's error, or a
 * failed handshake, becomes its error. Its shutdown sends close_notify
 * and shuts the inner down; its close closes the inner; either reports
 * closed from the inner's closed callback. A TLS listener wraps an inner
 * listener the same way: it accepts with its own callback and hands each
 * accepted stream up wrapped, once its handshake succeeded. secure.h
 * puts every tcp:// connection under TLS; the framer does not change.
 *
 * A stream and its callbacks live on the thread of its loop. Dialing and
 * listening may happen on any loop's thread (inproc names are shared by
 * the whole process, under a lock).
 */
#ifndef DVI_STREAM_H
#define DVI_STREAM_H

#include <stddef.h>
#include <uv.h>

#include "outbox.h"

typedef struct dvi_stream dvi_stream;
typedef struct dvi_stream_listener dvi_stream_listener;

/* Called once the stream (or listener) is freed, with the user's ctx. */
typedef void (*dvi_stream_closed_fn)(void *ctx);

/* What a stream tells its user (the framer, or a stream wrapping it). Each
 * call gets the ctx given to dvi_stream_set_user. After the user calls
 * shutdown or close, or after error, none of these is called again. */
typedef struct dvi_stream_user {
    /* The stream carries writes from now on (a dial connected; accepted,
     * adopted and in-process streams are open at once, and say so during
     * start). Called once, before any read. */
    void (*open)(void *ctx);
    /* Asks for memory to read into; buf->len == 0 means none (the stream
     * then fails with an error). hint is the size the stream would like. */
    void (*alloc)(void *ctx, size_t hint, uv_buf_t *buf);
    /* n > 0 bytes landed at the start of the buffer the last alloc gave. */
    void (*read)(void *ctx, size_t n);
    /* The next len bytes of the stream, in a malloc'ed buffer that the user
     * now owns (free()). May be NULL: the stream then copies them through
     * alloc and read (dvi_stream_deliver). */
    void (*adopt)(void *ctx, char *base, size_t len);
    /* The stream is broken or ended: why is "closed by peer", or a reason
     * that names the address for a dial that failed. Called at most once;
     * the user must then close the stream. */
    void (*error)(void *ctx, const char *why);
    /* A whole frame as the peer, in this process, wrote it: its spliced
     * blobs by reference. The user owns f's contents from now on. May be
     * NULL: the stream then flattens the frame and hands over its bytes
     * (adopt, or alloc and read). */
    void (*frame)(void *ctx, dvi_outbox_frame *f);
} dvi_stream_user;

typedef struct dvi_stream_ops {
    /* Starts the stream: events go to the user from now on. It reads as
     * soon as it is open (open may be called before start returns).
     * Returns 0, or a DV_E* code with the reason set. */
    int (*start)(dvi_stream *s);
    /* Writes frame f after earlier writes; only once the stream is open.
     * On success the stream owns f's buffer and segments (f is emptied),
     * holds the blobs until written and frees it all; a failure to write
     * later is reported through error. On failure f is untouched and the
     * reason is set. */
    int (*write)(dvi_stream *s, dvi_outbox_frame *f);
    /* Ends the stream gracefully: writes already given go out first, then
     * the peer sees the end of the stream, then the stream is freed and cb
     * runs (never before shutdown returns). cb may be NULL. */
    void (*shutdown)(dvi_stream *s, dvi_stream_closed_fn cb);
    /* Ends the stream now (writes not yet done are dropped), frees it and
     * then runs cb (never before close returns). cb may be NULL. */
    void (*close)(dvi_stream *s, dvi_stream_closed_fn cb);
} dvi_stream_ops;

/* The common header of every stream: implementations embed it first. It is
 * visible so that each transport, in its own file, can fill it in. */
struct dvi_stream {
    const dvi_stream_ops *ops;
    const dvi_stream_user *user; /* set before start; borrowed */
    void *ctx;                   /* the user's */
    uv_loop_t *loop;
    int quiet;       /* error reported, or shutdown/close called: no more
                        user callbacks but the closed one */
    int code;        /* the DV_E* code of the error reported: DV_EAUTH for
                        a peer that failed authentication; 0: DV_ECONN */
    int in_process;  /* the peer is this process (inproc): what it sends
                        was built by this program's own code */
    char peer[128];  /* the peer as text, for logs ("tcp://1.2.3.4:5") */
    char local[128]; /* once open, this end's address as text where it has
                        one ("tcp://10.0.0.2:41234": the interface the peer
                        is reached by), else "". A wrapping stream copies
                        its inner stream's. */
};

/* Sets who receives the stream's events; before start. */
void dvi_stream_set_user(dvi_stream *s, const dvi_stream_user *user, void *ctx);

static inline int
dvi_stream_start(dvi_stream *s)
{
    return s->ops->start(s);
}

static inline int
dvi_stream_write(dvi_stream *s, dvi_outbox_frame *f)
{
    return s->ops->write(s, f);
}

static inline void
dvi_stream_shutdown(dvi_stream *s, dvi_stream_closed_fn cb)
{
    s->ops->shutdown(s, cb);
}

static inline void
dvi_stream_close(dvi_stream *s, dvi_stream_closed_fn cb)
{
    s->ops->close(s, cb);
}

/* For implementations: reports why to the user once, unless it is quiet. */
void dvi_stream_error(dvi_stream *s, const char *why);
/* For implementations: hands len bytes in malloc'ed base to the user, by
 * adopt when it has one, else copied through alloc and read (base freed). */
void dvi_stream_deliver(dvi_stream *s, char *base, size_t len);

/* Called with each accepted stream, which the callee owns (set its user and
 * start it, or close it). */
typedef void (*dvi_stream_accept_fn)(void *ctx, dvi_stream *s);

typedef struct dvi_stream_listener_ops {
    /* Stops accepting (no accept callback after this) and frees the
     * listener once libuv lets go. Streams it accepted live on. */
    void (*close)(dvi_stream_listener *l);
} dvi_stream_listener_ops;

/* The common header of every listener: implementations embed it first. */
struct dvi_stream_listener {
    const dvi_stream_listener_ops *ops;
    uv_loop_t *loop;
    dvi_stream_accept_fn on_accept;
    void *ctx;
    char name[128]; /* the address actually bound */
};

static inline void
dvi_stream_listener_close(dvi_stream_listener *l)
{
    l->ops->close(l);
}

/* Connects to "tcp://HOST:PORT", "unix:///ABSOLUTE/PATH" or
 * "inproc://NAME", in plain (secure.h adds TLS). Only checks the address
 * and begins:
 * the connection opens (or fails, through error) once started, on the loop. A
 * host name is resolved without blocking the loop. Caller owns; end with
 * shutdown or close. NULL with the reason set if the address is invalid. */
dvi_stream *dvi_stream_dial(uv_loop_t *loop, const char *addr);
/* Adopts a connected stream socket (a socketpair end); open at once.
 * Caller owns. NULL with the reason set on failure (fd is then not
 * closed). */
dvi_stream *dvi_stream_pipe_open(uv_loop_t *loop, int fd);

/* Listens on "tcp://HOST:PORT" (port 0 picks one), "unix:///PATH" (a
 * socket file of mode 0600; a stale one there is replaced, a live one
 * refused; the file is removed on close) or "inproc://NAME", in plain
 * (secure.h adds TLS), calling
 * on_accept(ctx, stream) for each connection. A host name is resolved
 * here, and a Unix path checked, with blocking calls: listen only at
 * start-up, before the loop runs. bound (size bytes) receives the address
 * actually bound. Caller owns; close with dvi_stream_listener_close. NULL
 * with the reason set on failure. */
dvi_stream_listener *dvi_stream_listen(uv_loop_t *loop, const char *addr,
                                       dvi_stream_accept_fn on_accept,
                                       void *ctx, char *bound, size_t size);

/* A transport: the scheme it serves ("tcp://") and its constructors, which
 * get the whole address. One per stream_*.c file; stream.c lists them. */
typedef struct dvi_stream_transport {
    const char *scheme;
    dvi_stream *(*dial)(uv_loop_t *loop, const char *addr);
    dvi_stream_listener *(*listen)(uv_loop_t *loop, const char *addr,
                                   dvi_stream_accept_fn on_accept, void *ctx);
} dvi_stream_transport;

extern const dvi_stream_transport dvi_stream_tcp;
extern const dvi_stream_transport dvi_stream_unix;
extern const dvi_stream_transport dvi_stream_inproc;

#endif
