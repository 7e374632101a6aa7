/* The inproc:// transport: two stream ends on one loop, no socket.
 *
 * The embedded scheduler and thread workers talk through these. A frame
 * written at one end is handed to the other as the framer built it: its
 * buffer, and its spliced blobs by reference, so a result goes from one
 * thread worker to another without a copy (the user's frame callback).
 * A user that takes bytes only gets the frame flattened into one buffer
 * (blobs copied in), which it adopts. No syscall either way. Delivery
 * waits for the next loop turn (a uv_idle), so a reader never runs inside
 * its peer's write. Both ends share one loop, so nothing here needs a lock
 * except the table of listener names, which every thread of the process sees.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/map.h"
#include "drove.h"
#include "stream.h"

typedef struct s_end {
    dvi_stream base;
    struct s_end *peer;  /* the other end; NULL once either end closed */
    uv_idle_t idle;      /* delivers queued frames on the next loop turn */
    dvi_outbox_frame *q; /* frames from the peer, q[qhead..qlen) in order */
    size_t qhead, qlen, qcap;
    int peer_gone; /* the peer closed: say so once the queue is drained */
    int started;
    dvi_stream_closed_fn closed_cb;
} s_end;

typedef struct s_listener {
    dvi_stream_listener base; /* base.name is the key in s_names */
} s_listener;

/* inproc://NAME listeners of this process: Maps name -> s_listener. */
static uv_mutex_t s_lock;
static dvi_map s_names;
static uv_once_t s_once = UV_ONCE_INIT;

static void
s_names_init(void)
{
    uv_mutex_init(&s_lock);
    dvi_map_init(&s_names);
}

/* ---- Delivery ----------------------------------------------------------- */

static void
s_idle_cb(uv_idle_t *i)
{
    s_end *e = i->data;
    uv_idle_stop(i);
    /* The user may write (the peer appends to q) or close (quiet) while a
     * frame is delivered: index afresh each time. */
    while (e->qhead < e->qlen && !e->base.quiet) {
        dvi_outbox_frame f = e->q[e->qhead++];
        if (e->base.user->frame != NULL) {
            e->base.user->frame(e->base.ctx, &f);
            continue;
        }
        dvi_outbox_frame_flatten(&f);
        dvi_stream_deliver(&e->base, f.buf, f.len);
    }
    if (e->qhead == e->qlen) {
        e->qhead = e->qlen = 0;
        if (e->peer_gone) {
            dvi_stream_error(&e->base, "closed by peer");
        }
    }
}

static void
s_wake(s_end *e)
{
    if (e->started && !e->base.quiet) {
        uv_idle_start(&e->idle, s_idle_cb);
    }
}

/* Queues frame f (its contents move) for e's user. */
static void
s_push(s_end *e, dvi_outbox_frame *f)
{
    if (e->qlen == e->qcap) {
        e->qcap = e->qcap ? 2 * e->qcap : 8;
        e->q = dvi_realloc(e->q, e->qcap * sizeof(*e->q));
    }
    e->q[e->qlen++] = *f;
    memset(f, 0, sizeof(*f));
    s_wake(e);
}

/* ---- Ops ---------------------------------------------------------------- */

static int
s_start(dvi_stream *s)
{
    s_end *e = (s_end *)s;
    e->started = 1;
    s->user->open(s->ctx);
    if (e->qlen > e->qhead || e->peer_gone) {
        s_wake(e);
    }
    return 0;
}

static int
s_write(dvi_stream *s, dvi_outbox_frame *f)
{
    s_end *e = (s_end *)s;
    if (e->peer == NULL) {
        dvi_outbox_frame_fini(f); /* nobody to read it */
        return 0;
    }
    s_push(e->peer, f);
    return 0;
}

static void
s_closed(uv_handle_t *h)
{
    s_end *e = h->data;
    for (size_t i = e->qhead; i < e->qlen; i++) {
        dvi_outbox_frame_fini(&e->q[i]);
    }
    free(e->q);
    dvi_stream_closed_fn cb = e->closed_cb;
    void *ctx = e->base.ctx;
    free(e);
    if (cb) {
        cb(ctx);
    }
}

/* Writes were handed to the peer as they were made, so ending gracefully
 * and at once are the same: the peer reads what it has, then learns the
 * stream ended. */
static void
s_close(dvi_stream *s, dvi_stream_closed_fn cb)
{
    s_end *e = (s_end *)s;
    s->quiet = 1;
    e->closed_cb = cb;
    s_end *peer = e->peer;
    if (peer != NULL) {
        e->peer = NULL;
        peer->peer = NULL;
        peer->peer_gone = 1;
        s_wake(peer);
    }
    uv_close((uv_handle_t *)&e->idle, s_closed);
}

static const dvi_stream_ops s_ops = {
    .start = s_start,
    .write = s_write,
    .shutdown = s_close,
    .close = s_close,
};

static s_end *
s_end_new(uv_loop_t *loop)
{
    s_end *e = dvi_calloc(1, sizeof(*e));
    e->base.ops = &s_ops;
    e->base.loop = loop;
    e->base.in_process = 1;
    uv_idle_init(loop, &e->idle);
    e->idle.data = e;
    return e;
}

/* ---- Dialing and listening ---------------------------------------------- */

static dvi_stream *
s_dial(uv_loop_t *loop, const char *addr)
{
    uv_once(&s_once, s_names_init);
    uv_mutex_lock(&s_lock);
    s_listener *l = dvi_map_get(&s_names, addr);
    /* Read under the lock: a listener of another loop may close at any
     * time, and is not touched after. */
    uv_loop_t *where = l ? l->base.loop : NULL;
    uv_mutex_unlock(&s_lock);
    if (l == NULL) {
        dvi_seterr(DV_ECONN, "%s: nothing listens there", addr);
        return NULL;
    }
    if (where != loop) {
        /* In-process pairs share one loop: delivery needs no locks. */
        dvi_seterr(DV_EINVAL, "%s: listener runs on another loop", addr);
        return NULL;
    }
    s_end *a = s_end_new(loop);
    s_end *b = s_end_new(loop);
    snprintf(a->base.peer, sizeof(a->base.peer), "%s", addr);
    snprintf(b->base.peer, sizeof(b->base.peer), "inproc peer of %s", addr);
    a->peer = b;
    b->peer = a;
    l->base.on_accept(l->base.ctx, &b->base);
    return &a->base;
}

static void
s_listener_close(dvi_stream_listener *base)
{
    uv_mutex_lock(&s_lock);
    dvi_map_del(&s_names, base->name);
    uv_mutex_unlock(&s_lock);
    free(base);
}

static const dvi_stream_listener_ops s_listener_ops = {
    .close = s_listener_close,
};

static dvi_stream_listener *
s_listen(uv_loop_t *loop, const char *addr, dvi_stream_accept_fn on_accept,
         void *ctx)
{
    s_listener *l = dvi_calloc(1, sizeof(*l));
    if (strlen(addr) >= sizeof(l->base.name)) {
        free(l);
        dvi_seterr(DV_EINVAL, "%s: name too long", addr);
        return NULL;
    }
    l->base.ops = &s_listener_ops;
    l->base.loop = loop;
    l->base.on_accept = on_accept;
    l->base.ctx = ctx;
    snprintf(l->base.name, sizeof(l->base.name), "%s", addr);
    uv_once(&s_once, s_names_init);
    uv_mutex_lock(&s_lock);
    int taken = dvi_map_get(&s_names, l->base.name) != NULL;
    if (!taken) {
        dvi_map_put(&s_names, l->base.name, l);
    }
    uv_mutex_unlock(&s_lock);
    if (taken) {
        free(l);
        dvi_seterr(DV_ECONN, "%s: address in use", addr);
        return NULL;
    }
    return &l->base;
}

const dvi_stream_transport dvi_stream_inproc = {"inproc://", s_dial, s_listen};
