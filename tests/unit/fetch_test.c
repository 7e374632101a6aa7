/* drove — unit: dvi_fetcher, the asking side of GET / DATA / MISSING.
 *
 * A small hand-written peer on the same loop (a dvi_listen listener, over
 * TCP on 127.0.0.1 and over inproc) answers GETs by the key's prefix:
 * "small" and "big" with data, "missing" with MISSING, "hold" not at all,
 * and "drop" by closing the connection. What the worker and the client
 * rely on: the peer is greeted with HELLO as role PEER and the fetcher's
 * id; every GET is answered exactly once, with the data (a large result
 * kept in the frame it came in, not copied, and alive as long as a
 * reference is held; from a peer in this process, the peer's very blob)
 * or with DV_ENOTFOUND or DV_ECONN; a dropped
 * connection fails every GET still waiting on it, and a callback may ask
 * again; a bad address fails at once without a callback; destroy drops
 * what is pending without callbacks. Loops run with deadlines only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "common/blob.h"
#include "dvtest.h"
#include "proto/conn.h"
#include "proto/fetch.h"
#include "proto/hello.h"
#include "proto/msg.h"

#define WAIT_S 10.0
#define BIG (DVI_INLINE_MAX * 4 + 3)

/* ---- The peer ----------------------------------------------------------- */

typedef struct s_peer {
    dvi_listener *l;
    char addr[128];
    int hellos;
    uint64_t role;
    char id[128];
    int gets;
    int drop;       /* close the connection after this frame */
    dvi_blob *held; /* what "ref" keys answer, spliced by reference */
} s_peer;

static char
s_pattern(size_t i, char seed)
{
    return (char)((i * 7 + (size_t)seed) & 0xff);
}

static void
s_answer(s_peer *p, dvi_conn *c, const char *key)
{
    if (strncmp(key, "missing", 7) == 0) {
        dvi_pack_str(dvi_outbox_msg(dvi_conn_outbox(c), DVI_MSG_MISSING, 1),
                     key);
    } else if (strncmp(key, "small", 5) == 0) {
        msgpack_packer *pk =
            dvi_outbox_msg(dvi_conn_outbox(c), DVI_MSG_DATA, 2);
        dvi_pack_str(pk, key);
        dvi_pack_bin(pk, key, strlen(key));
    } else if (strncmp(key, "big", 3) == 0) {
        char *data = malloc(BIG);
        for (size_t i = 0; i < BIG; i++) {
            data[i] = s_pattern(i, key[3]);
        }
        msgpack_packer *pk =
            dvi_outbox_msg(dvi_conn_outbox(c), DVI_MSG_DATA, 2);
        dvi_pack_str(pk, key);
        dvi_pack_bin(pk, data, BIG);
        free(data);
    } else if (strncmp(key, "ref", 3) == 0) {
        /* As a worker serves a stored result (serve.c). */
        dvi_msg_data m = {.key = key, .value = {NULL, 0, p->held}};
        dvi_msg_data_pack(dvi_conn_outbox(c), &m);
    } else if (strcmp(key, "drop") == 0) {
        p->drop = 1;
    }
}

static int
s_peer_msg(void *ctx, int type, const msgpack_object *f, uint32_t n)
{
    dvi_conn *c = ctx;
    s_peer *p = dvi_conn_data(c);
    if (type == DVI_MSG_HELLO) {
        dvi_hello h;
        DVT_PASS(dvi_hello_parse(f, n, &h));
        p->hellos++;
        p->role = h.role;
        snprintf(p->id, sizeof(p->id), "%s", h.id);
        return 0;
    }
    DVT_EQ_I64(type, DVI_MSG_GET);
    char key[DVI_MAX_KEY + 1];
    DVT_PASS(dvi_msg_str(&f[0], key, sizeof(key)));
    p->gets++;
    s_answer(p, c, key);
    return 0;
}

static int
s_peer_frame(dvi_conn *c, const char *buf, size_t len)
{
    s_peer *p = dvi_conn_data(c);
    int rc = dvi_msg_each(buf, len, s_peer_msg, c);
    if (p->drop) {
        p->drop = 0;
        dvi_conn_close(c); /* answers queued so far go out first */
    }
    return rc;
}

static void
s_peer_close(dvi_conn *c, const char *why)
{
}

static void
s_peer_accept(dvi_listener *l, dvi_conn *c)
{
    dvi_conn_set_data(c, dvi_listener_data(l));
}

/* ---- The asking side ---------------------------------------------------- */

typedef struct s_got {
    char key[64];
    char addr[128];
    int code; /* 0 for data */
    char why[256];
    dvi_blob *blob; /* held, for data */
    int adopted;    /* the blob's bytes are inside a frame, not a copy */
} s_got;

typedef struct s_ctx {
    uv_loop_t loop;
    s_peer peer;
    dvi_fetcher *f;
    s_got got[32];
    int ngot;
    int ask_again; /* on_fail of "hold-again" asks for "small-again" */
} s_ctx;

static void
s_on_data(void *ctx, const char *key, const char *addr, dvi_blob *blob)
{
    s_ctx *t = ctx;
    DVT_TRUE(t->ngot < 32);
    s_got *g = &t->got[t->ngot++];
    snprintf(g->key, sizeof(g->key), "%s", key);
    snprintf(g->addr, sizeof(g->addr), "%s", addr);
    g->blob = dvi_blob_hold(blob);
    /* A copy has its bytes in its own allocation; an adopted frame holds
     * them after the frame's header and the message around them. */
    g->adopted = dvi_blob_is_adopted(blob);
}

static void
s_on_fail(void *ctx, const char *key, const char *addr, int code,
          const char *why)
{
    s_ctx *t = ctx;
    DVT_TRUE(t->ngot < 32);
    s_got *g = &t->got[t->ngot++];
    snprintf(g->key, sizeof(g->key), "%s", key);
    snprintf(g->addr, sizeof(g->addr), "%s", addr);
    snprintf(g->why, sizeof(g->why), "%s", why);
    g->code = code;
    if (t->ask_again && strcmp(key, "hold-again") == 0) {
        DVT_PASS(dvi_fetcher_get(t->f, "small-again", addr));
    }
}

static void
s_setup(s_ctx *t, const char *listen)
{
    memset(t, 0, sizeof(*t));
    DVT_EQ_I64(uv_loop_init(&t->loop), 0);
    t->peer.l = DVT_NOTNULL(dvi_listen(&t->loop, listen, s_peer_accept,
                                       s_peer_frame, s_peer_close, &t->peer,
                                       t->peer.addr, sizeof(t->peer.addr)));
    t->f = DVT_NOTNULL(
        dvi_fetcher_new(&t->loop, "first-id", s_on_data, s_on_fail, t));
}

/* Runs the loop until n answers have come, or fails at the deadline. */
static void
s_wait_answers(s_ctx *t, int n)
{
    double deadline = dvt_now() + WAIT_S;
    while (t->ngot < n && dvt_now() < deadline) {
        uv_run(&t->loop, UV_RUN_ONCE);
    }
    DVT_EQ_I64(t->ngot, n);
}

static s_got *
s_find(s_ctx *t, const char *key)
{
    for (int i = 0; i < t->ngot; i++) {
        if (strcmp(t->got[i].key, key) == 0) {
            return &t->got[i];
        }
    }
    DVT_FAIL("no answer for %s", key);
    return NULL;
}

static void
s_check_big(const s_got *g, char seed)
{
    DVT_EQ_I64(g->code, 0);
    DVT_EQ_I64(g->blob->len, BIG);
    for (size_t i = 0; i < BIG; i++) {
        if (g->blob->data[i] != s_pattern(i, seed)) {
            DVT_FAIL("byte %zu of %s differs", i, g->key);
        }
    }
}

static void
s_teardown(s_ctx *t)
{
    for (int i = 0; i < t->ngot; i++) {
        dvi_blob_rele(t->got[i].blob);
    }
    dvi_fetcher_destroy(&t->f);
    DVT_TRUE(t->f == NULL);
    dvi_listener_close(t->peer.l);
    uv_run(&t->loop, UV_RUN_DEFAULT);
    DVT_EQ_I64(uv_loop_close(&t->loop), 0);
}

static void
s_answers(const char *listen)
{
    s_ctx t;
    s_setup(&t, listen);
    DVT_PASS(dvi_fetcher_get(t.f, "small-1", t.peer.addr));
    DVT_PASS(dvi_fetcher_get(t.f, "missing-1", t.peer.addr));
    /* Two large results in one frame, and one asked for twice. */
    DVT_PASS(dvi_fetcher_get(t.f, "big1", t.peer.addr));
    DVT_PASS(dvi_fetcher_get(t.f, "big2", t.peer.addr));
    DVT_PASS(dvi_fetcher_get(t.f, "small-2", t.peer.addr));
    DVT_PASS(dvi_fetcher_get(t.f, "small-2", t.peer.addr));
    DVT_EQ_I64(dvi_fetcher_pending(t.f), 6);
    s_wait_answers(&t, 6);
    DVT_EQ_I64(dvi_fetcher_pending(t.f), 0);

    /* One connection, greeted once, as a peer with the fetcher's id. */
    DVT_EQ_I64(t.peer.hellos, 1);
    DVT_EQ_I64(t.peer.role, DVI_ROLE_PEER);
    DVT_EQ_STR(t.peer.id, "first-id");
    DVT_EQ_I64(t.peer.gets, 6);

    s_got *g = s_find(&t, "small-1");
    DVT_EQ_I64(g->code, 0);
    DVT_EQ_STR(g->addr, t.peer.addr);
    DVT_TRUE(g->blob->len == 7 && memcmp(g->blob->data, "small-1", 7) == 0);
    g = s_find(&t, "missing-1");
    DVT_EQ_I64(g->code, DV_ENOTFOUND);
    DVT_TRUE(g->blob == NULL);
    DVT_CONTAINS(g->why, "does not hold");
    /* The first large result adopted its frame; the second, in the same
     * frame, is a copy. Both outlive the frame (ASan checks). */
    g = s_find(&t, "big1");
    DVT_TRUE(g->adopted);
    s_check_big(g, '1');
    g = s_find(&t, "big2");
    s_check_big(g, '2');
    int twice = 0;
    for (int i = 0; i < t.ngot; i++) {
        twice += strcmp(t.got[i].key, "small-2") == 0 && t.got[i].code == 0;
    }
    DVT_EQ_I64(twice, 2);
    s_teardown(&t);
}

static void
test_answers_over_tcp(void **state)
{
    s_answers("tcp://127.0.0.1:0");
}

static void
test_answers_over_inproc(void **state)
{
    s_answers("inproc://fetch-test-answers");
}

static void
s_by_reference(const char *listen, int same)
{
    s_ctx t;
    s_setup(&t, listen);
    t.peer.held = dvi_blob_new(BIG, 0);
    for (size_t i = 0; i < BIG; i++) {
        t.peer.held->data[i] = s_pattern(i, 'r');
    }
    DVT_PASS(dvi_fetcher_get(t.f, "ref1", t.peer.addr));
    DVT_PASS(dvi_fetcher_get(t.f, "small-1", t.peer.addr));
    s_wait_answers(&t, 2);
    s_got *g = s_find(&t, "ref1");
    s_check_big(g, 'r');
    /* In this process the result is the holder's blob itself: no copy. */
    DVT_EQ_I64(g->blob == t.peer.held, same);
    DVT_EQ_I64(s_find(&t, "small-1")->code, 0);
    dvi_blob_rele(t.peer.held);
    s_teardown(&t);
}

static void
test_results_by_reference_in_process(void **state)
{
    s_by_reference("inproc://fetch-test-refs", 1);
    s_by_reference("tcp://127.0.0.1:0", 0);
}

static void
test_a_dropped_peer_fails_what_waits_on_it(void **state)
{
    s_ctx t;
    s_setup(&t, "tcp://127.0.0.1:0");
    t.ask_again = 1;
    dvi_fetcher_set_id(t.f, "second-id");
    DVT_PASS(dvi_fetcher_get(t.f, "hold-1", t.peer.addr));
    DVT_PASS(dvi_fetcher_get(t.f, "hold-1", t.peer.addr));
    DVT_PASS(dvi_fetcher_get(t.f, "hold-again", t.peer.addr));
    DVT_PASS(dvi_fetcher_get(t.f, "small-1", t.peer.addr));
    DVT_PASS(dvi_fetcher_get(t.f, "drop", t.peer.addr));
    /* small-1 is answered before the peer closes; the two hold-1, the
     * hold-again and the drop then fail; hold-again's callback asks for
     * small-again, on a new connection. */
    s_wait_answers(&t, 6);
    DVT_EQ_I64(s_find(&t, "small-1")->code, 0);
    int failed = 0;
    for (int i = 0; i < t.ngot; i++) {
        if (t.got[i].code != 0) {
            DVT_EQ_I64(t.got[i].code, DV_ECONN);
            DVT_EQ_STR(t.got[i].addr, t.peer.addr);
            DVT_TRUE(t.got[i].why[0] != '\0');
            failed++;
        }
    }
    DVT_EQ_I64(failed, 4);
    DVT_EQ_I64(s_find(&t, "small-again")->code, 0);
    DVT_EQ_I64(t.peer.hellos, 2);
    DVT_EQ_STR(t.peer.id, "second-id");
    DVT_EQ_I64(dvi_fetcher_pending(t.f), 0);
    s_teardown(&t);
}

static void
test_bad_address_and_destroy_call_nothing(void **state)
{
    s_ctx t;
    s_setup(&t, "tcp://127.0.0.1:0");
    DVT_TRUE(dvi_fetcher_get(t.f, "small-1", "bogus://nowhere") < 0);
    DVT_EQ_I64(dvi_fetcher_pending(t.f), 0);
    DVT_PASS(dvi_fetcher_get(t.f, "hold-1", t.peer.addr));
    DVT_PASS(dvi_fetcher_get(t.f, "hold-2", t.peer.addr));
    DVT_EQ_I64(dvi_fetcher_pending(t.f), 2);
    /* Let the GETs reach the peer, then destroy with them pending. */
    double deadline = dvt_now() + WAIT_S;
    while (t.peer.gets < 2 && dvt_now() < deadline) {
        uv_run(&t.loop, UV_RUN_ONCE);
    }
    DVT_EQ_I64(t.peer.gets, 2);
    s_teardown(&t);
    DVT_EQ_I64(t.ngot, 0);
}

int
main(void)
{
    /* What GET / DATA / MISSING do, over plain loopback TCP: TLS under
     * them is tls_test's, and the integration tests run both. */
    setenv("DROVE_TEST_PLAINTEXT", "1", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answers_over_tcp),
        cmocka_unit_test(test_answers_over_inproc),
        cmocka_unit_test(test_results_by_reference_in_process),
        cmocka_unit_test(test_a_dropped_peer_fails_what_waits_on_it),
        cmocka_unit_test(test_bad_address_and_destroy_call_nothing),
    };
    return cmocka_run_group_tests_name("fetch", tests, NULL, NULL);
}
