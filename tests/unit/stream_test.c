/* drove — unit: dvi_stream, the byte streams under the framer.
 *
 * The framer's own tests (conn_test) cover what users see through
 * connections. These check the stream contract that a wrapping stream
 * (TLS, next) will rely on, with a plain user in place of the framer: the
 * bytes of written frames, spliced blobs included, arrive exactly and in
 * order on every transport; a user that cannot adopt buffers (as a TLS
 * stream will not) still gets in-process bytes, through small buffers of
 * its own; open comes once, before any byte; a graceful end delivers
 * everything before the peer hears "closed by peer"; each stream's closed
 * callback runs exactly once; and no handle is left on the loop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/blob.h"
#include "dvtest.h"
#include "proto/msg.h"
#include "proto/stream.h"

#define WAIT_S 20.0

/* A stream's user, recording what it was told. */
typedef struct s_side {
    dvi_stream *s;
    int opened;
    int read_before_open; /* bytes came before open */
    char *got;            /* every byte received, in order */
    size_t ngot, capgot;
    char small[7]; /* alloc's buffer when chunky */
    int chunky;    /* alloc gives 7 bytes at a time */
    int errors;
    char why[256];
    int closed; /* closed callbacks */
} s_side;

typedef struct s_pair {
    uv_loop_t loop;
    dvi_stream_listener *l;
    char bound[128];
    s_side a, b; /* a dialed, b accepted */
    int accepted;
} s_pair;

static void
s_open(void *ctx)
{
    ((s_side *)ctx)->opened++;
}

static void
s_keep(s_side *e, const char *p, size_t n)
{
    if (e->opened == 0) {
        e->read_before_open = 1;
    }
    if (e->ngot + n > e->capgot) {
        e->capgot = 2 * (e->ngot + n);
        e->got = realloc(e->got, e->capgot);
    }
    memcpy(e->got + e->ngot, p, n);
    e->ngot += n;
}

/* Reads land in a spare area at the end of got, then count as got. */
static void
s_alloc(void *ctx, size_t hint, uv_buf_t *buf)
{
    s_side *e = ctx;
    if (e->chunky) {
        *buf = uv_buf_init(e->small, sizeof(e->small));
        return;
    }
    if (e->capgot - e->ngot < 65536) {
        e->capgot = e->ngot + 65536 * 2;
        e->got = realloc(e->got, e->capgot);
    }
    *buf = uv_buf_init(e->got + e->ngot, 65536);
}

static void
s_read(void *ctx, size_t n)
{
    s_side *e = ctx;
    if (e->chunky) {
        s_keep(e, e->small, n);
        return;
    }
    if (e->opened == 0) {
        e->read_before_open = 1;
    }
    e->ngot += n;
}

static void
s_adopt(void *ctx, char *base, size_t len)
{
    s_keep(ctx, base, len);
    free(base);
}

static void
s_error(void *ctx, const char *why)
{
    s_side *e = ctx;
    e->errors++;
    snprintf(e->why, sizeof(e->why), "%s", why);
}

static const dvi_stream_user s_user = {s_open,  s_alloc, s_read,
                                       s_adopt, s_error, NULL};
/* A user that cannot adopt, as a TLS stream wrapping inproc would be. */
static const dvi_stream_user s_user_no_adopt = {s_open, s_alloc, s_read,
                                                NULL,   s_error, NULL};

static void
s_closed(void *ctx)
{
    ((s_side *)ctx)->closed++;
}

static void
s_accept(void *ctx, dvi_stream *s)
{
    s_pair *p = ctx;
    p->accepted++;
    p->b.s = s;
    dvi_stream_set_user(s, p->b.chunky ? &s_user_no_adopt : &s_user, &p->b);
    DVT_PASS(dvi_stream_start(s));
}

static void
s_expired(uv_timer_t *t)
{
    *(int *)t->data = 1;
}

/* Runs the loop until *counter >= target or *bytes >= nbytes (pass NULL
 * for the one not waited on), with a deadline. */
static void
s_wait_for(s_pair *p, const int *counter, int target, const size_t *bytes,
           size_t nbytes)
{
    int expired = 0;
    uv_timer_t timer;
    uv_timer_init(&p->loop, &timer);
    timer.data = &expired;
    uv_timer_start(&timer, s_expired, (uint64_t)(WAIT_S * 1000), 0);
    while (!expired && (counter ? *counter < target : *bytes < nbytes)) {
        uv_run(&p->loop, UV_RUN_ONCE);
    }
    uv_close((uv_handle_t *)&timer, NULL);
    uv_run(&p->loop, UV_RUN_NOWAIT); /* lets the timer go */
    if (counter) {
        DVT_GE_I64(*counter, target);
    } else {
        DVT_EQ_I64(*bytes, nbytes);
    }
}

static void
s_wait(s_pair *p, const int *counter, int target)
{
    s_wait_for(p, counter, target, NULL, 0);
}

static void
s_wait_bytes(s_pair *p, s_side *e, size_t n)
{
    s_wait_for(p, NULL, 0, &e->ngot, n);
}

static void
s_pair_open(s_pair *p, const char *addr)
{
    DVT_EQ_I64(uv_loop_init(&p->loop), 0);
    p->l = DVT_NOTNULL(dvi_stream_listen(&p->loop, addr, s_accept, p, p->bound,
                                         sizeof(p->bound)));
    p->a.s = DVT_NOTNULL(dvi_stream_dial(&p->loop, p->bound));
    dvi_stream_set_user(p->a.s, &s_user, &p->a);
    DVT_PASS(dvi_stream_start(p->a.s));
    s_wait(p, &p->a.opened, 1);
    s_wait(p, &p->accepted, 1);
    s_wait(p, &p->b.opened, 1);
}

static void
s_pair_close(s_pair *p)
{
    dvi_stream_listener_close(p->l);
    double deadline = dvt_now() + WAIT_S;
    while (uv_loop_alive(&p->loop) && dvt_now() < deadline) {
        uv_run(&p->loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
    DVT_EQ_I64(uv_loop_close(&p->loop), 0);
    free(p->a.got);
    free(p->b.got);
}

/* A frame of a few messages with blob spliced in, and its flat bytes. */
static void
s_frame(dvi_blob *blob, dvi_outbox_frame *f, dvi_outbox_frame *flat)
{
    dvi_outbox o;
    dvi_outbox_init(&o, NULL, NULL);
    for (int k = 0; k < 2; k++) {
        msgpack_packer *pk = dvi_outbox_msg(&o, DVI_MSG_DATA, 2);
        dvi_pack_str(pk, "k");
        msgpack_pack_bin(pk, blob->len);
        dvi_outbox_put_blob(&o, blob);
    }
    dvi_pack_str(dvi_outbox_msg(&o, DVI_MSG_FREE, 1), "k");
    DVT_EQ_I64(dvi_outbox_take(&o, f), 0);
    dvi_outbox_fini(&o);
    /* The same frame, flattened, is what the reader must see. */
    *flat = *f;
    flat->buf = malloc(f->len);
    memcpy(flat->buf, f->buf, f->len);
    flat->segs = malloc(f->nsegs * sizeof(*f->segs));
    for (size_t i = 0; i < f->nsegs; i++) {
        flat->segs[i].at = f->segs[i].at;
        flat->segs[i].blob = dvi_blob_hold(f->segs[i].blob);
    }
    dvi_outbox_frame_flatten(flat);
}

/* Writes two frames from a to b, then ends a gracefully; b must read
 * exactly their bytes, then hear that the peer closed. */
static void
s_both_frames_then_end(const char *addr, int chunky)
{
    s_pair p = {0};
    p.b.chunky = chunky;
    s_pair_open(&p, addr);
    dvi_blob *blob = dvi_blob_new(100 * 1000, 0);
    for (size_t i = 0; i < blob->len; i++) {
        blob->data[i] = (char)(i * 13);
    }
    dvi_outbox_frame f1, flat1, f2, flat2;
    s_frame(blob, &f1, &flat1);
    s_frame(blob, &f2, &flat2);
    DVT_PASS(dvi_stream_write(p.a.s, &f1));
    DVT_TRUE(f1.buf == NULL && f1.segs == NULL); /* the stream owns it */
    DVT_PASS(dvi_stream_write(p.a.s, &f2));
    dvi_stream_shutdown(p.a.s, s_closed);
    s_wait_bytes(&p, &p.b, flat1.len + flat2.len);
    DVT_TRUE(memcmp(p.b.got, flat1.buf, flat1.len) == 0);
    DVT_TRUE(memcmp(p.b.got + flat1.len, flat2.buf, flat2.len) == 0);
    s_wait(&p, &p.b.errors, 1);
    DVT_EQ_STR(p.b.why, "closed by peer");
    DVT_EQ_I64(p.b.read_before_open, 0);
    DVT_EQ_I64(p.a.opened + p.b.opened, 2);
    DVT_EQ_I64(p.a.errors, 0); /* it ended: no error for the closer */
    dvi_stream_close(p.b.s, s_closed);
    s_wait(&p, &p.a.closed, 1);
    s_wait(&p, &p.b.closed, 1);
    s_pair_close(&p);
    DVT_EQ_I64(p.a.closed + p.b.closed, 2);
    dvi_outbox_frame_fini(&flat1);
    dvi_outbox_frame_fini(&flat2);
    DVT_EQ_I64(atomic_load(&blob->refs), 1); /* writes gave theirs back */
    dvi_blob_rele(blob);
}

static void
test_tcp_frames_then_end(void **state)
{
    s_both_frames_then_end("tcp://127.0.0.1:0", 0);
    s_both_frames_then_end("tcp://127.0.0.1:0", 1);
}

static void
test_unix_frames_then_end(void **state)
{
    char dir[] = "/tmp/dvstream-XXXXXX", addr[128];
    DVT_TRUE(mkdtemp(dir) != NULL);
    snprintf(addr, sizeof(addr), "unix://%s/s.sock", dir);
    s_both_frames_then_end(addr, 0);
    DVT_EQ_I64(rmdir(dir), 0);
}

static void
test_inproc_frames_then_end(void **state)
{
    char addr[64];
    snprintf(addr, sizeof(addr), "inproc://stream-test-%d", (int)getpid());
    s_both_frames_then_end(addr, 0);
    /* A user without adopt gets the same bytes in its own 7-byte
     * buffers. */
    s_both_frames_then_end(addr, 1);
}

static void
test_bad_addresses(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    DVT_TRUE(dvi_stream_dial(&loop, "udp://127.0.0.1:5") == NULL);
    DVT_CONTAINS(dv_last_error(), "tcp://HOST:PORT");
    DVT_CONTAINS(dv_last_error(), "inproc://NAME");
    char bound[64];
    DVT_TRUE(dvi_stream_listen(&loop, "tcp:/127.0.0.1:0", s_accept, NULL, bound,
                               sizeof(bound)) == NULL);
    DVT_CONTAINS(dv_last_error(), "tcp:/127.0.0.1:0");
    DVT_EQ_I64(uv_run(&loop, UV_RUN_NOWAIT), 0);
    DVT_EQ_I64(uv_loop_close(&loop), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tcp_frames_then_end),
        cmocka_unit_test(test_unix_frames_then_end),
        cmocka_unit_test(test_inproc_frames_then_end),
        cmocka_unit_test(test_bad_addresses),
    };
    return cmocka_run_group_tests_name("stream", tests, NULL, NULL);
}
