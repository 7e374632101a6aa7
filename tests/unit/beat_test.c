/* drove — unit: dvi_beat, heartbeats on one connection.
 *
 * Two conns over a socketpair on one loop play a scheduler (A, whose beat
 * sets the pace: 100 ms interval, 300 ms timeout) and its peer (B). What
 * must hold: a quiet peer that answers PINGs is never lost; a peer that
 * stops answering is lost after the timeout (and not long after), with a
 * reason that says for how long it was silent; a loop stalled for longer
 * than the timeout (here both sides, as a long turn or a SIGSTOP of the
 * process would) accuses nobody; a follower starts heartbeats from its
 * scheduler's first PING, with the scheduler's settings, and gives up a
 * scheduler that falls silent. Every test closes everything and checks
 * that uv_loop_close() succeeds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dvtest.h"
#include "proto/beat.h"
#include "proto/conn.h"
#include "proto/msg.h"

#define S_INTERVAL_MS 100
#define S_TIMEOUT_MS 300

typedef struct s_side {
    uv_loop_t *loop;
    dvi_conn *c;
    dvi_beat *beat;
    int answer;     /* answers PINGs */
    int follow;     /* follows the PINGs' settings (a worker, a client) */
    int pings;      /* PINGs received */
    int pongs;      /* PONGs received */
    int lost;       /* the beat said the peer was lost */
    double lost_at; /* when */
    char why[256];
} s_side;

typedef struct s_pair {
    uv_loop_t loop;
    s_side a, b;
    double t0;
} s_pair;

static void s_lost(void *ctx, const char *why);

static int
s_on_msg(void *ctx, int type, const msgpack_object *f, uint32_t n)
{
    s_side *s = ctx;
    if (type == DVI_MSG_PONG) {
        s->pongs++;
        return 0;
    }
    if (type != DVI_MSG_PING) {
        return 0;
    }
    s->pings++;
    if (!s->answer) {
        return 0;
    }
    if (s->follow) {
        return dvi_beat_follow(&s->beat, s->loop, s->c, f, n, s_lost, s);
    }
    return dvi_beat_answer(s->c, f, n);
}

static void
s_lost(void *ctx, const char *why)
{
    s_side *s = ctx;
    s->lost++;
    s->lost_at = dvt_now();
    snprintf(s->why, sizeof(s->why), "%s", why);
    dvi_beat_destroy(&s->beat);
}

static int
s_on_frame(dvi_conn *c, const char *buf, size_t len)
{
    return dvi_msg_each(buf, len, s_on_msg, dvi_conn_data(c));
}

static void
s_on_close(dvi_conn *c, const char *why)
{
    s_side *s = dvi_conn_data(c);
    s->c = NULL;
}

/* A and B joined by a socketpair; A's beat started and announced. */
static void
s_open(s_pair *p)
{
    memset(p, 0, sizeof(*p));
    DVT_EQ_I64(uv_loop_init(&p->loop), 0);
    int sv[2];
    DVT_EQ_I64(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    p->a.loop = p->b.loop = &p->loop;
    p->a.answer = p->b.answer = 1;
    p->a.c = DVT_NOTNULL(
        dvi_conn_from_fd(&p->loop, sv[0], s_on_frame, s_on_close, &p->a));
    p->b.c = DVT_NOTNULL(
        dvi_conn_from_fd(&p->loop, sv[1], s_on_frame, s_on_close, &p->b));
    p->a.beat = dvi_beat_new(&p->loop, p->a.c, S_INTERVAL_MS, S_TIMEOUT_MS,
                             s_lost, &p->a);
    dvi_beat_announce(p->a.beat);
    p->t0 = dvt_now();
}

static void
s_stop_cb(uv_timer_t *t)
{
    uv_stop(t->loop);
}

/* Runs the loop for ms, or until *until is set (if not NULL). */
static void
s_run(s_pair *p, uint64_t ms, const int *until)
{
    uv_timer_t t;
    uv_timer_init(&p->loop, &t);
    uv_timer_start(&t, s_stop_cb, ms, 0);
    while (uv_run(&p->loop, UV_RUN_ONCE) && uv_is_active((uv_handle_t *)&t) &&
           (until == NULL || !*until)) {
    }
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(&p->loop, UV_RUN_NOWAIT);
}

static void
s_close(s_pair *p)
{
    dvi_beat_destroy(&p->a.beat);
    dvi_beat_destroy(&p->b.beat);
    dvi_conn_close(p->a.c);
    dvi_conn_close(p->b.c);
    uv_run(&p->loop, UV_RUN_DEFAULT);
    DVT_EQ_I64(uv_loop_close(&p->loop), 0);
}

static void
test_quiet_peer_that_answers_stays(void **state)
{
    s_pair p;
    s_open(&p);
    s_run(&p, 1200, NULL);
    DVT_EQ_I64(p.a.lost, 0);
    /* Quiet both ways: A pinged about every interval, and heard back. */
    DVT_GE_I64(p.b.pings, 4);
    DVT_GE_I64(p.a.pongs, 4);
    s_close(&p);
}

static void
test_silent_peer_is_lost(void **state)
{
    s_pair p;
    s_open(&p);
    s_run(&p, 250, NULL);
    p.b.answer = 0;
    double t = dvt_now();
    s_run(&p, 5000, &p.a.lost);
    DVT_EQ_I64(p.a.lost, 1);
    double after = p.a.lost_at - t;
    /* Between the timeout and the timeout and an interval (and the last
     * answer, up to an interval earlier); a loaded machine adds more. */
    DVT_GE_I64((int64_t)(after * 1000), S_TIMEOUT_MS - S_INTERVAL_MS);
    DVT_LT_I64((int64_t)(after * 1000), 1500);
    DVT_CONTAINS(p.a.why, "nothing received for 0.");
    DVT_CONTAINS(p.a.why, "(heartbeat timeout 0.3 s)");
    s_close(&p);
}

static void
s_stall_cb(uv_timer_t *t)
{
    uv_sleep(4 * S_TIMEOUT_MS);
    uv_close((uv_handle_t *)t, NULL);
}

static void
test_stalled_loop_accuses_nobody(void **state)
{
    s_pair p;
    s_open(&p);
    s_run(&p, 250, NULL);
    uv_timer_t stall;
    uv_timer_init(&p.loop, &stall);
    uv_timer_start(&stall, s_stall_cb, 10, 0);
    s_run(&p, 1000, NULL);
    DVT_EQ_I64(p.a.lost, 0);
    s_close(&p);
}

static void
test_follower_adopts_and_gives_up(void **state)
{
    s_pair p;
    s_open(&p);
    p.b.follow = 1;
    s_run(&p, 50, NULL);
    DVT_TRUE(p.b.beat != NULL);
    DVT_EQ_I64(dvi_beat_timeout_ms(p.b.beat), S_TIMEOUT_MS);
    /* The scheduler falls silent: no PINGs, no PONGs. */
    dvi_beat_destroy(&p.a.beat);
    p.a.answer = 0;
    double t = dvt_now();
    s_run(&p, 5000, &p.b.lost);
    DVT_EQ_I64(p.b.lost, 1);
    DVT_LT_I64((int64_t)((p.b.lost_at - t) * 1000), 1500);
    DVT_CONTAINS(p.b.why, "nothing received for");
    s_close(&p);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quiet_peer_that_answers_stays),
        cmocka_unit_test(test_silent_peer_is_lost),
        cmocka_unit_test(test_stalled_loop_accuses_nobody),
        cmocka_unit_test(test_follower_adopts_and_gives_up),
    };
    return cmocka_run_group_tests_name("beat", tests, NULL, NULL);
}
