/* dvi_beat: PING when the peer has been quiet, lost when it stays silent. */
#include "beat.h"

#include <stdio.h>
#include <stdlib.h>

#include "common/err.h"
#include "common/log.h"
#include "drove.h"
#include "msg.h"

/* Settings a peer may ask for: anything shorter would make a loaded
 * machine look dead, anything longer would never notice it. */
#define S_MIN_INTERVAL_MS 100
#define S_MAX_TIMEOUT_MS (24ull * 3600 * 1000)

struct dvi_beat {
    uv_loop_t *loop;
    dvi_conn *conn;       /* borrowed */
    uv_timer_t *timer;    /* malloc'ed: it closes after the beat is freed */
    uint64_t interval_ms; /* between ticks */
    uint64_t timeout_ms;  /* of silence before the peer is lost */
    uint64_t seen;        /* the conn's bytes received at the last tick */
    uint64_t frames;      /* and frames received whole */
    uint64_t heard_at;    /* loop time (ms) the peer was last known alive */
    uint64_t tick_at;     /* loop time (ms) of the last tick */
    uint64_t seq;         /* PINGs sent */
    dvi_beat_lost_fn lost;
    void *ctx;
};

static void
s_timer_closed(uv_handle_t *h)
{
    free(h);
}

static void
s_ping(dvi_beat *b)
{
    dvi_msg_ping m = {.seq = ++b->seq, .interval_ms = b->interval_ms};
    m.timeout_ms = b->timeout_ms;
    dvi_msg_ping_pack(dvi_conn_outbox(b->conn), &m);
}

static void
s_tick(uv_timer_t *t)
{
    dvi_beat *b = t->data;
    uint64_t now = uv_now(b->loop), gap = now - b->tick_at;
    b->tick_at = now;
    if (gap > b->interval_ms) {
        /* This loop was stalled: only one interval of it counts. */
        b->heard_at += gap - b->interval_ms;
        b->heard_at = b->heard_at < now ? b->heard_at : now;
    }
    uint64_t bytes = dvi_conn_bytes_in(b->conn);
    uint64_t frames = dvi_conn_frames_in(b->conn);
    int quiet = frames == b->frames;
    b->frames = frames;
    if (bytes != b->seen) {
        b->seen = bytes;
        b->heard_at = now;
        if (quiet) {
            s_ping(b); /* amid a long frame: the peer may hear nothing */
        }
        return;
    }
    uint64_t silent = now - b->heard_at;
    if (silent >= b->timeout_ms && b->lost != NULL) {
        char why[160];
        snprintf(why, sizeof(why),
                 "nothing received for %.1f s (heartbeat timeout %.3g s)",
                 (double)silent / 1000, (double)b->timeout_ms / 1000);
        b->lost(b->ctx, why); /* may destroy b */
        return;
    }
    s_ping(b);
}

static void
s_set(dvi_beat *b, uint64_t interval_ms, uint64_t timeout_ms)
{
    interval_ms =
        interval_ms < S_MIN_INTERVAL_MS ? S_MIN_INTERVAL_MS : interval_ms;
    timeout_ms = timeout_ms < 2 * interval_ms ? 2 * interval_ms : timeout_ms;
    b->interval_ms = interval_ms;
    b->timeout_ms =
        timeout_ms > S_MAX_TIMEOUT_MS ? S_MAX_TIMEOUT_MS : timeout_ms;
    uv_timer_start(b->timer, s_tick, b->interval_ms, b->interval_ms);
}

dvi_beat *
dvi_beat_new(uv_loop_t *loop, dvi_conn *c, uint64_t interval_ms,
             uint64_t timeout_ms, dvi_beat_lost_fn lost, void *ctx)
{
    dvi_beat *b = dvi_calloc(1, sizeof(*b));
    b->loop = loop;
    b->conn = c;
    b->lost = lost;
    b->ctx = ctx;
    b->timer = dvi_malloc(sizeof(*b->timer));
    uv_timer_init(loop, b->timer);
    b->timer->data = b;
    b->seen = dvi_conn_bytes_in(c);
    b->frames = dvi_conn_frames_in(c);
    b->heard_at = b->tick_at = uv_now(loop);
    s_set(b, interval_ms, timeout_ms);
    return b;
}

void
dvi_beat_announce(dvi_beat *b)
{
    s_ping(b);
}

static int
s_read_answer(dvi_conn *c, const msgpack_object *f, uint32_t n, dvi_msg_ping *m)
{
    if (dvi_msg_ping_read(f, n, m) < 0) {
        return DV_EPROTO;
    }
    dvi_msg_pong pong = {.seq = m->seq};
    dvi_msg_pong_pack(dvi_conn_outbox(c), &pong);
    return 0;
}

int
dvi_beat_answer(dvi_conn *c, const msgpack_object *f, uint32_t n)
{
    dvi_msg_ping m;
    return s_read_answer(c, f, n, &m);
}

int
dvi_beat_follow(dvi_beat **bp, uv_loop_t *loop, dvi_conn *c,
                const msgpack_object *f, uint32_t n, dvi_beat_lost_fn lost,
                void *ctx)
{
    dvi_msg_ping m;
    if (s_read_answer(c, f, n, &m) < 0) {
        return DV_EPROTO;
    }
    dvi_beat *b = *bp;
    if (b != NULL && m.interval_ms == b->interval_ms &&
        m.timeout_ms == b->timeout_ms) {
        return 0;
    }
    DVI_LOG(DVI_LOG_INFO, "BEAT",
            "%s: heartbeats every %.3g s, lost after %.3g s of silence",
            dvi_conn_peer(c), (double)m.interval_ms / 1000,
            (double)m.timeout_ms / 1000);
    if (b == NULL) {
        *bp = dvi_beat_new(loop, c, m.interval_ms, m.timeout_ms, lost, ctx);
    } else {
        s_set(b, m.interval_ms, m.timeout_ms);
    }
    return 0;
}

uint64_t
dvi_beat_timeout_ms(const dvi_beat *b)
{
    return b->timeout_ms;
}

void
dvi_beat_destroy(dvi_beat **bp)
{
    dvi_beat *b = *bp;
    if (b == NULL) {
        return;
    }
    *bp = NULL;
    uv_close((uv_handle_t *)b->timer, s_timer_closed);
    free(b);
}
