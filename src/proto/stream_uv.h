/* dvi_uvstream: a dvi_stream over a libuv stream handle.
 *
 * TCP and Unix sockets read, write, shut down and close the same way; only
 * how they connect differs. This is the shared part: stream_tcp.c and
 * stream_pipe.c embed a dvi_uvstream first in their own struct, give it a
 * handle, and use these ops; a dialer with more in flight than a connect
 * (a name being resolved) adds cancel and fini hooks.
 *
 * Frames go out with one write each, their spliced blobs as separate
 * buffers of the same write (writev), so blobs are never copied: at once
 * when the socket takes it all (uv_try_write), else queued (uv_write).
 *
 * Internal to the stream transports.
 */
#ifndef DVI_STREAM_UV_H
#define DVI_STREAM_UV_H

#include <uv.h>

#include "stream.h"

typedef struct dvi_uvstream dvi_uvstream;

struct dvi_uvstream {
    dvi_stream base;
    uv_stream_t *h; /* the live handle (malloc'ed uv_tcp_t or uv_pipe_t),
                       data points here; each transport sets one at once */
    uv_shutdown_t sreq;
    dvi_stream_closed_fn closed_cb; /* the user's, from shutdown or close */
    int busy;    /* callbacks due before the stream may be freed: handles
                    closing, requests of a dialer (dvi_uvstream_hold) */
    int open;    /* connected: writes may go out */
    int started; /* start was called: read as soon as open */
    int ending;  /* shutdown or close was called */
    /* A dialer's: stops what it has in flight when the stream is closed;
     * may be NULL. */
    void (*cancel)(dvi_uvstream *u);
    /* Frees what the transport added to the struct; may be NULL. */
    void (*fini)(dvi_uvstream *u);
};

/* Fills in the header, with the ops every libuv stream shares. u is the
 * first member of a dvi_calloc'ed struct, which is free()d once the stream
 * is closed and nothing is busy. */
void dvi_uvstream_init(dvi_uvstream *u, uv_loop_t *loop);
/* Gives u the handle h (malloc'ed, already uv_*_init'ed; u frees it once
 * closed). A handle u had before is closed: a dialer moving on to the next
 * address gets a fresh socket this way. */
void dvi_uvstream_set_handle(dvi_uvstream *u, uv_stream_t *h);
/* Makes u wait for one more callback before it is freed, and lets go. */
void dvi_uvstream_hold(dvi_uvstream *u);
void dvi_uvstream_rele(dvi_uvstream *u);
/* For dialers: the connection is up. Tells the user and starts reading. */
void dvi_uvstream_opened(dvi_uvstream *u);

#endif
