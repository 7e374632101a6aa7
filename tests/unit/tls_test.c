/* drove — unit: the TLS stream and listener (mutual TLS 1.3 around any
 * stream) and its context.
 *
 * What users will rely on: TLS streams over tcp, unix and inproc, and a
 * dvi_conn over tcp as secure.h makes it, carry frames both ways, a 20
 * MiB frame with a spliced blob included, byte for byte; tcp never goes
 * plain without credentials, and only the test switch on loopback lets
 * it; the stream keeps the stream contract (exact
 * bytes, open before bytes, a graceful end, one closed callback); each
 * side learns the other's role from its certificate, and can refuse
 * roles; a peer of another CA, without a certificate, with an expired or
 * not yet valid one, or of a role not accepted fails on both sides with
 * a reason that says "authentication failed" and why; a plaintext peer
 * (drove frames, random bytes, silence) is refused without a crash and
 * never reaches the listener's user; and the bytes on the wire hold none
 * of the plaintext, and cannot be altered unnoticed. A relay thread
 * between two socketpairs plays the wire; raw sockets play the plaintext
 * peers. Every test ends with uv_loop_close() succeeding.
 */
#define _GNU_SOURCE /* memmem */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/blob.h"
#include "common/err.h"
#include "common/pki.h"
#include "dvt_unit.h"
#include "dvtest.h"
#include "proto/conn.h"
#include "proto/msg.h"
#include "proto/secure.h"
#include "proto/stream_tls.h"

#define WAIT_S 60.0
#define BIT(r) DVI_PKI_ROLE_BIT(DVI_PKI_ROLE_##r)

/* ---- Certificates and contexts, made once ------------------------------ */

static struct {
    dvi_pki_cert *ca, *ca2;
    dvi_tls_ctx *sched;   /* the scheduler of profile 1 (names 127.0.0.1) */
    dvi_tls_ctx *worker;  /* a worker of profile 1 */
    dvi_tls_ctx *client;  /* a client of profile 1 */
    dvi_tls_ctx *other;   /* a worker of profile 2, trusting profile 2 */
    dvi_tls_ctx *mixed;   /* trusts profile 1, shows profile 2's cert */
    dvi_tls_ctx *nocert;  /* trusts profile 1, shows nothing */
    dvi_tls_ctx *expired; /* a worker of profile 1, expired yesterday */
    dvi_tls_ctx *future;  /* a worker of profile 1, valid from tomorrow */
    dvi_tls_ctx *quick;   /* a worker with a 300 ms handshake deadline */
} F;

static dvi_pki_cert *
s_issue(dvi_pki_cert *ca, int role, const char *name, time_t from, time_t until)
{
    dvi_pki_req req = {0};
    req.role = role;
    req.name = name;
    req.not_before = from;
    req.not_after = until;
    return dvi_pki_issue(ca, &req);
}

static dvi_tls_ctx *
s_ctx(dvi_pki_cert *ca, dvi_pki_cert *self)
{
    dvi_tls_ctx *c = dvi_tls_ctx_new(ca, self);
    dvi_pki_cert_destroy(&self);
    if (c == NULL) {
        fprintf(stderr, "tls_test: %s\n", dv_last_error());
        abort();
    }
    return c;
}

static int
s_setup(void **state)
{
    time_t now = time(NULL), day = 86400;
    /* Both CAs have the same name: only their keys tell them apart. */
    F.ca = dvi_pki_ca_new("drove CA", 0);
    F.ca2 = dvi_pki_ca_new("drove CA", 0);
    F.sched = s_ctx(F.ca, s_issue(F.ca, DVI_PKI_ROLE_SCHEDULER, "s", 0, 0));
    F.worker = s_ctx(F.ca, s_issue(F.ca, DVI_PKI_ROLE_WORKER, "w1", 0, 0));
    F.client = s_ctx(F.ca, s_issue(F.ca, DVI_PKI_ROLE_CLIENT, "c1", 0, 0));
    F.other = s_ctx(F.ca2, s_issue(F.ca2, DVI_PKI_ROLE_WORKER, "w1", 0, 0));
    F.mixed = s_ctx(F.ca, s_issue(F.ca2, DVI_PKI_ROLE_WORKER, "w1", 0, 0));
    F.nocert = s_ctx(F.ca, NULL);
    F.expired = s_ctx(F.ca, s_issue(F.ca, DVI_PKI_ROLE_WORKER, "old",
                                    now - 3 * day, now - day));
    F.future = s_ctx(F.ca, s_issue(F.ca, DVI_PKI_ROLE_WORKER, "new", now + day,
                                   now + 3 * day));
    F.quick = s_ctx(F.ca, s_issue(F.ca, DVI_PKI_ROLE_WORKER, "q", 0, 0));
    dvi_tls_ctx_set_handshake_timeout(F.quick, 300);
    return 0;
}

static int
s_teardown(void **state)
{
    dvi_tls_ctx **all[] = {&F.sched,  &F.worker,  &F.client, &F.other, &F.mixed,
                           &F.nocert, &F.expired, &F.future, &F.quick};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        dvi_tls_ctx_destroy(all[i]);
    }
    dvi_pki_cert_destroy(&F.ca);
    dvi_pki_cert_destroy(&F.ca2);
    return 0;
}

/* ---- Streams, as a plain user sees them --------------------------------- */

typedef struct s_side {
    dvi_stream *s; /* NULL once closed */
    int opened;
    int read_before_open;
    char *got; /* every byte received */
    size_t ngot, capgot;
    char small[7];
    int chunky; /* alloc gives 7 bytes at a time */
    int errors;
    char why[512];
    int closed;
} s_side;

typedef struct s_pair {
    uv_loop_t loop;
    int expired;
    dvi_stream_listener *l;
    char bound[160];
    s_side a, b; /* a dialed, b accepted */
    int accepted;
    int refused;
    char refused_why[512];
} s_pair;

static void
s_open(void *ctx)
{
    ((s_side *)ctx)->opened++;
}

static void
s_grow(s_side *e, size_t more)
{
    if (e->ngot + more > e->capgot) {
        e->capgot = 2 * (e->ngot + more);
        e->got = realloc(e->got, e->capgot);
    }
}

static void
s_alloc(void *ctx, size_t hint, uv_buf_t *buf)
{
    s_side *e = ctx;
    if (e->chunky) {
        *buf = uv_buf_init(e->small, sizeof(e->small));
        return;
    }
    s_grow(e, 65536);
    *buf = uv_buf_init(e->got + e->ngot, 65536);
}

static void
s_read(void *ctx, size_t n)
{
    s_side *e = ctx;
    e->read_before_open |= e->opened == 0;
    if (e->chunky) {
        s_grow(e, n);
        memcpy(e->got + e->ngot, e->small, n);
    }
    e->ngot += n;
}

static void
s_error(void *ctx, const char *why)
{
    s_side *e = ctx;
    e->errors++;
    snprintf(e->why, sizeof(e->why), "%s", why);
}

/* TLS streams never adopt: what they decrypt lands in our buffers. */
static const dvi_stream_user s_user = {s_open, s_alloc, s_read,
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
    DVT_TRUE(dvi_tls_is_tls(s));
    dvi_stream_set_user(s, &s_user, &p->b);
    DVT_PASS(dvi_stream_start(s));
}

static void
s_refused(void *ctx, const char *peer, const char *why)
{
    s_pair *p = ctx;
    p->refused++;
    snprintf(p->refused_why, sizeof(p->refused_why), "%s", why);
}

static void
s_expired(uv_timer_t *t)
{
    *(int *)t->data = 1;
}

/* Runs the loop until *counter >= target, or *bytes >= n (counter NULL). */
static int
s_run_until(s_pair *p, const int *counter, int target, const size_t *bytes,
            size_t n)
{
    int expired = 0;
    uv_timer_t timer;
    uv_timer_init(&p->loop, &timer);
    timer.data = &expired;
    uv_timer_start(&timer, s_expired, (uint64_t)(WAIT_S * 1000), 0);
    while (!expired && (counter ? *counter < target : *bytes < n)) {
        uv_run(&p->loop, UV_RUN_ONCE);
    }
    uv_close((uv_handle_t *)&timer, NULL);
    uv_run(&p->loop, UV_RUN_NOWAIT);
    return counter ? *counter >= target : *bytes >= n;
}

#define WAIT(p, counter, target)                                            \
    do {                                                                    \
        if (!s_run_until((p), &(counter), (target), NULL, 0)) {             \
            DVT_FAIL("timed out waiting for %s >= %d (it is %d)", #counter, \
                     (int)(target), (counter));                             \
        }                                                                   \
    } while (0)

#define WAIT_BYTES(p, side, n)                                                 \
    do {                                                                       \
        if (!s_run_until((p), NULL, 0, &(side).ngot, (n))) {                   \
            DVT_FAIL("timed out waiting for %zu bytes (got %zu)", (size_t)(n), \
                     (side).ngot);                                             \
        }                                                                      \
    } while (0)

/* Runs a few loop turns, for things that must not happen. */
static void
s_spin(s_pair *p, int ms)
{
    double end = dvt_now() + ms / 1e3;
    while (dvt_now() < end) {
        uv_run(&p->loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
}

/* A TLS listener on addr with srv, then a dial from cli (not waited on). */
static void
s_pair_open(s_pair *p, const char *addr, dvi_tls_ctx *srv, unsigned sroles,
            dvi_tls_ctx *cli, unsigned croles, int check_host)
{
    DVT_EQ_I64(uv_loop_init(&p->loop), 0);
    p->l = DVT_NOTNULL(dvi_tls_listen(srv, &p->loop, addr, sroles, s_accept, p,
                                      p->bound, sizeof(p->bound)));
    dvi_tls_listener_set_refused(p->l, s_refused);
    p->a.s =
        DVT_NOTNULL(dvi_tls_dial(cli, &p->loop, p->bound, croles, check_host));
    dvi_stream_set_user(p->a.s, &s_user, &p->a);
    DVT_PASS(dvi_stream_start(p->a.s));
}

static void
s_side_close(s_side *e)
{
    if (e->s != NULL) {
        dvi_stream_close(e->s, s_closed);
        e->s = NULL;
    }
}

static void
s_loop_fini(uv_loop_t *loop)
{
    double deadline = dvt_now() + WAIT_S;
    while (uv_loop_alive(loop) && dvt_now() < deadline) {
        uv_run(loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
    DVT_EQ_I64(uv_loop_close(loop), 0);
}

static void
s_pair_close(s_pair *p)
{
    s_side_close(&p->a);
    s_side_close(&p->b);
    if (p->l != NULL) {
        dvi_stream_listener_close(p->l);
    }
    s_loop_fini(&p->loop);
    free(p->a.got);
    free(p->b.got);
}

/* Dials srv from cli and expects both to open. */
static void
s_connect(s_pair *p, const char *addr, dvi_tls_ctx *srv, unsigned sroles,
          dvi_tls_ctx *cli, unsigned croles, int check_host)
{
    s_pair_open(p, addr, srv, sroles, cli, croles, check_host);
    WAIT(p, p->a.opened, 1);
    WAIT(p, p->b.opened, 1);
    DVT_EQ_I64(p->a.errors + p->b.errors + p->refused, 0);
}

/* Dials srv from cli and expects both sides to fail; the whys are in
 * p->a.why (the dialer) and p->refused_why (the listener). */
static void
s_refuse(s_pair *p, const char *addr, dvi_tls_ctx *srv, unsigned sroles,
         dvi_tls_ctx *cli, unsigned croles, int check_host)
{
    s_pair_open(p, addr, srv, sroles, cli, croles, check_host);
    WAIT(p, p->a.errors, 1);
    WAIT(p, p->refused, 1);
    DVT_EQ_I64(p->a.opened, 0); /* a refused dialer never opens */
    DVT_EQ_I64(p->accepted, 0); /* nor does the listener's user see it */
    DVT_CONTAINS(p->a.why, "authentication failed: ");
    DVT_CONTAINS(p->refused_why, "authentication failed: ");
}

/* ---- Frames ------------------------------------------------------------- */

/* A frame of two DATA messages with blob spliced in twice, and the same
 * frame flattened: the bytes the reader must see. */
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

static dvi_blob *
s_pattern(size_t len, uint64_t seed)
{
    dvi_blob *b = dvi_blob_new(len, 0);
    uint64_t st = seed;
    for (size_t i = 0; i + 8 <= len; i += 8) {
        uint64_t r = dvt_rand(&st);
        memcpy(b->data + i, &r, 8);
    }
    for (size_t i = len & ~(size_t)7; i < len; i++) {
        b->data[i] = (char)i;
    }
    return b;
}

/* ---- The stream contract over TLS --------------------------------------- */

/* Two frames of 2 x 3 MiB blobs from a to b (more than the encryption
 * budget, so the backlog path runs), a shutdown right after them; b must
 * read exactly their bytes, then hear "closed by peer". */
static void
s_frames_then_end(const char *addr, int chunky)
{
    s_pair p = {0};
    p.b.chunky = chunky;
    s_connect(&p, addr, F.sched, 0, F.worker, 0, 0);
    dvi_blob *blob = s_pattern(chunky ? 50 * 1000 : 3u << 20, 7);
    dvi_outbox_frame f1, flat1, f2, flat2;
    s_frame(blob, &f1, &flat1);
    s_frame(blob, &f2, &flat2);
    DVT_PASS(dvi_stream_write(p.a.s, &f1));
    DVT_TRUE(f1.buf == NULL && f1.segs == NULL); /* the stream owns it */
    DVT_PASS(dvi_stream_write(p.a.s, &f2));
    dvi_stream_shutdown(p.a.s, s_closed);
    p.a.s = NULL;
    WAIT_BYTES(&p, p.b, flat1.len + flat2.len);
    DVT_EQ_I64(p.b.ngot, flat1.len + flat2.len);
    DVT_TRUE(memcmp(p.b.got, flat1.buf, flat1.len) == 0);
    DVT_TRUE(memcmp(p.b.got + flat1.len, flat2.buf, flat2.len) == 0);
    WAIT(&p, p.b.errors, 1);
    DVT_EQ_STR(p.b.why, "closed by peer");
    DVT_EQ_I64(p.a.read_before_open + p.b.read_before_open, 0);
    DVT_EQ_I64(p.a.opened + p.b.opened, 2);
    DVT_EQ_I64(p.a.errors, 0);
    s_side_close(&p.b);
    WAIT(&p, p.a.closed, 1);
    WAIT(&p, p.b.closed, 1);
    s_pair_close(&p);
    DVT_EQ_I64(p.a.closed + p.b.closed, 2);
    dvi_outbox_frame_fini(&flat1);
    dvi_outbox_frame_fini(&flat2);
    DVT_EQ_I64(atomic_load(&blob->refs), 1); /* writes gave theirs back */
    dvi_blob_rele(blob);
}

static void
test_stream_tcp(void **state)
{
    s_frames_then_end("tcp://127.0.0.1:0", 0);
    s_frames_then_end("tcp://127.0.0.1:0", 1);
}

static void
test_stream_unix(void **state)
{
    char dir[] = "/tmp/dvtls-XXXXXX", addr[128];
    DVT_TRUE(mkdtemp(dir) != NULL);
    snprintf(addr, sizeof(addr), "unix://%s/s.sock", dir);
    s_frames_then_end(addr, 0);
    DVT_EQ_I64(rmdir(dir), 0);
}

static void
test_stream_inproc(void **state)
{
    char addr[64];
    snprintf(addr, sizeof(addr), "inproc://tls-test-%d", (int)getpid());
    s_frames_then_end(addr, 0);
    s_frames_then_end(addr, 1);
}

/* ---- Conns over TLS, as secure.h makes them ----------------------------- */

typedef struct s_cend {
    dvi_conn *c;
    int msgs;
    size_t data_len; /* the last DATA payload's size */
    int data_ok;     /* it matched the blob sent */
    int closed;
    char why[256];
} s_cend;

typedef struct s_cnet {
    uv_loop_t loop;
    dvi_listener *l;
    char bound[160];
    s_cend server, client;
    int accepted;
    const dvi_blob *expect; /* what a large DATA message must hold */
} s_cnet;

static s_cnet *s_net; /* the running test's, for s_on_msg */

static int
s_on_msg(void *ctx, int type, const msgpack_object *f, uint32_t n)
{
    s_cend *e = ctx;
    e->msgs++;
    const char *p;
    size_t len;
    if (type == DVI_MSG_DATA && dvi_msg_bytes(&f[1], &p, &len) == 0 &&
        len > 1000) {
        e->data_len = len;
        e->data_ok = len == s_net->expect->len &&
                     memcmp(p, s_net->expect->data, len) == 0;
    }
    return 0;
}

static int
s_on_frame(dvi_conn *c, const char *buf, size_t len)
{
    return dvi_msg_each(buf, len, s_on_msg, dvi_conn_data(c));
}

static void
s_on_close(dvi_conn *c, const char *why)
{
    s_cend *e = dvi_conn_data(c);
    if (e != NULL) {
        e->closed++;
        snprintf(e->why, sizeof(e->why), "%s", why);
        e->c = NULL;
    }
}

static void
s_on_accept(dvi_listener *l, dvi_conn *c)
{
    s_cnet *n = dvi_listener_data(l);
    n->accepted++;
    n->server.c = c;
    dvi_conn_set_data(c, &n->server);
    /* No HELLO in this test: the peer is known, lift the pre-HELLO limits
     * (a 20 MiB frame is far over them). */
    dvi_conn_handshake_done(c);
}

static int
s_cwait(s_cnet *n, const int *counter, int target)
{
    double deadline = dvt_now() + WAIT_S;
    while (*counter < target && dvt_now() < deadline) {
        uv_run(&n->loop, UV_RUN_ONCE);
    }
    if (*counter < target) {
        DVT_FAIL("timed out: %d < %d", *counter, target);
    }
    return 1;
}

static void
s_send_small(dvi_conn *c, int count)
{
    for (int i = 0; i < count; i++) {
        msgpack_packer *pk =
            dvi_outbox_msg(dvi_conn_outbox(c), DVI_MSG_DATA, 2);
        dvi_pack_str(pk, "small");
        dvi_pack_str(pk, "a few bytes of a small message");
    }
}

static void
s_send_big(dvi_conn *c, dvi_blob *b)
{
    msgpack_packer *pk = dvi_outbox_msg(dvi_conn_outbox(c), DVI_MSG_DATA, 2);
    dvi_pack_str(pk, "big");
    msgpack_pack_bin(pk, b->len);
    dvi_outbox_put_blob(dvi_conn_outbox(c), b);
}

/* Small messages and a 20 MiB spliced blob, each way, over addr. */
static void
s_conn_both_ways(const char *addr)
{
    s_cnet n = {0};
    s_net = &n;
    DVT_EQ_I64(uv_loop_init(&n.loop), 0);
    n.l = DVT_NOTNULL(dvi_listen_secure(&n.loop, addr, F.worker, BIT(CLIENT),
                                        s_on_accept, s_on_frame, s_on_close, &n,
                                        n.bound, sizeof(n.bound)));
    DVT_TRUE(strncmp(n.bound, "tcp://", 6) == 0);
    n.client.c = DVT_NOTNULL(dvi_conn_dial_secure(&n.loop, n.bound, F.client,
                                                  BIT(WORKER), s_on_frame,
                                                  s_on_close, &n.client));
    dvi_blob *big = s_pattern(20u << 20, 99);
    n.expect = big;
    s_send_small(n.client.c, 100);
    s_cwait(&n, &n.server.msgs, 100);
    s_send_small(n.server.c, 50);
    s_cwait(&n, &n.client.msgs, 50);
    s_send_big(n.client.c, big);
    s_send_small(n.client.c, 1);
    s_cwait(&n, &n.server.msgs, 102);
    DVT_EQ_I64(n.server.data_len, big->len);
    DVT_TRUE(n.server.data_ok);
    s_send_big(n.server.c, big);
    s_cwait(&n, &n.client.msgs, 51);
    DVT_EQ_I64(n.client.data_len, big->len);
    DVT_TRUE(n.client.data_ok);
    DVT_EQ_I64(dvi_conn_bytes_out(n.client.c), dvi_conn_bytes_in(n.server.c));
    DVT_EQ_I64(dvi_conn_bytes_out(n.server.c), dvi_conn_bytes_in(n.client.c));
    DVT_EQ_I64(n.accepted, 1);
    DVT_EQ_I64(n.client.closed + n.server.closed, 0);
    DVT_EQ_I64(dvi_conn_peer_role(n.server.c), DVI_PKI_ROLE_CLIENT);
    DVT_EQ_I64(dvi_conn_peer_role(n.client.c), DVI_PKI_ROLE_WORKER);
    /* A graceful close reaches the peer as the end of the stream. */
    dvi_conn_close(n.client.c);
    s_cwait(&n, &n.server.closed, 1);
    DVT_EQ_STR(n.server.why, "closed by peer");
    dvi_listener_close(n.l);
    s_loop_fini(&n.loop);
    DVT_EQ_I64(atomic_load(&big->refs), 1);
    dvi_blob_rele(big);
}

static void
test_conn_tls_tcp(void **state)
{
    s_conn_both_ways("tcp://127.0.0.1:0");
}

/* A server on a loop of its own, where nothing else happens, answers a
 * small message with a 32 MiB frame: the whole frame must arrive. (The
 * write backlog once resumed only after the next poll, which a quiet loop
 * never leaves: a worker serving a large result stalled after a few MiB.) */
typedef struct s_quiet {
    uv_loop_t loop;
    uv_async_t stop;
    dvi_listener *l;
    char bound[160];
    dvi_blob *big;
} s_quiet;

static int
s_quiet_frame(dvi_conn *c, const char *buf, size_t len)
{
    s_quiet *q = dvi_listener_data(dvi_conn_data(c));
    s_send_big(c, q->big);
    return 0;
}

static void
s_quiet_accept(dvi_listener *l, dvi_conn *c)
{
    dvi_conn_set_data(c, l);
    dvi_conn_handshake_done(c);
}

static void
s_quiet_closed(dvi_conn *c, const char *why)
{
}

static void
s_quiet_stop(uv_async_t *a)
{
    s_quiet *q = a->data;
    dvi_listener_close(q->l);
    uv_close((uv_handle_t *)a, NULL);
    uv_stop(&q->loop);
}

static void
s_quiet_run(void *arg)
{
    s_quiet *q = arg;
    uv_run(&q->loop, UV_RUN_DEFAULT);
}

static void
test_large_frame_from_a_quiet_loop(void **state)
{
    s_quiet q = {0};
    q.big = s_pattern(32u << 20, 7);
    DVT_EQ_I64(uv_loop_init(&q.loop), 0);
    uv_async_init(&q.loop, &q.stop, s_quiet_stop);
    q.stop.data = &q;
    q.l = DVT_NOTNULL(dvi_listen_secure(
        &q.loop, "tcp://127.0.0.1:0", F.worker, BIT(WORKER), s_quiet_accept,
        s_quiet_frame, s_quiet_closed, &q, q.bound, sizeof(q.bound)));
    uv_thread_t th;
    DVT_EQ_I64(uv_thread_create(&th, s_quiet_run, &q), 0);

    s_cnet n = {0};
    s_net = &n;
    n.expect = q.big;
    DVT_EQ_I64(uv_loop_init(&n.loop), 0);
    n.client.c = DVT_NOTNULL(dvi_conn_dial_secure(&n.loop, q.bound, F.worker,
                                                  BIT(WORKER), s_on_frame,
                                                  s_on_close, &n.client));
    dvi_conn_set_max_frame(n.client.c, 64u << 20);
    s_send_small(n.client.c, 1);
    s_cwait(&n, &n.client.msgs, 1);
    DVT_EQ_I64(n.client.data_len, q.big->len);
    DVT_TRUE(n.client.data_ok);
    dvi_conn_close(n.client.c);
    s_loop_fini(&n.loop);
    uv_async_send(&q.stop);
    uv_thread_join(&th);
    s_loop_fini(&q.loop);
    dvi_blob_rele(q.big);
}

/* tcp:// needs credentials; the test switch lets plain TCP through on
 * loopback only; unix:// and inproc:// are plain and trusted. */
static void
test_secure_chooses(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    unsetenv(DVI_ENV_TEST_PLAINTEXT);
    DVT_TRUE(dvi_secure_dial(&loop, "tcp://127.0.0.1:1", NULL, 0) == NULL);
    DVT_EQ_I64(dvi_last_code(), DV_EAUTH);
    DVT_CONTAINS(dv_last_error(), "authentication failed");
    char b[128];
    DVT_TRUE(dvi_secure_listen(&loop, "tcp://127.0.0.1:0", NULL, 0, s_accept,
                               NULL, b, sizeof(b)) == NULL);
    DVT_EQ_I64(dvi_last_code(), DV_EAUTH);
    dvi_stream *s =
        DVT_NOTNULL(dvi_secure_dial(&loop, "tcp://127.0.0.1:1", F.client, 0));
    DVT_TRUE(dvi_tls_is_tls(s));
    dvi_stream_close(s, NULL);
    s = DVT_NOTNULL(dvi_secure_dial(&loop, "unix:///tmp/nobody.sock", NULL, 0));
    DVT_TRUE(!dvi_tls_is_tls(s));
    dvi_stream_close(s, NULL);

    setenv(DVI_ENV_TEST_PLAINTEXT, "1", 1);
    DVT_TRUE(dvi_secure_plaintext("tcp://127.0.0.1:1"));
    DVT_TRUE(dvi_secure_plaintext("tcp://localhost:1"));
    DVT_TRUE(!dvi_secure_plaintext("tcp://10.1.2.3:1"));
    DVT_TRUE(!dvi_secure_plaintext("tcp://0.0.0.0:1"));
    s = DVT_NOTNULL(dvi_secure_dial(&loop, "tcp://127.0.0.1:1", F.client, 0));
    DVT_TRUE(!dvi_tls_is_tls(s));
    dvi_stream_close(s, NULL);
    DVT_TRUE(dvi_secure_dial(&loop, "tcp://10.1.2.3:1", NULL, 0) == NULL);
    DVT_EQ_I64(dvi_last_code(), DV_EAUTH);
    unsetenv(DVI_ENV_TEST_PLAINTEXT);
    s_loop_fini(&loop);
}

/* ---- Roles -------------------------------------------------------------- */

static void
test_roles_from_certificates(void **state)
{
    s_pair p = {0};
    s_connect(&p, "tcp://127.0.0.1:0", F.sched, 0, F.worker, BIT(SCHEDULER), 1);
    DVT_EQ_I64(dvi_tls_peer_role(p.a.s), DVI_PKI_ROLE_SCHEDULER);
    DVT_EQ_I64(dvi_tls_peer_role(p.b.s), DVI_PKI_ROLE_WORKER);
    DVT_EQ_STR(dvi_tls_peer_name(p.b.s), "w1");
    DVT_EQ_STR(dvi_tls_peer_name(p.a.s), "s");
    DVT_PASS(dvi_tls_check_peer_role(p.b.s, BIT(WORKER) | BIT(CLIENT)));
    const char *cipher = dvi_tls_cipher(p.a.s);
    DVT_TRUE(strstr(cipher, "GCM") != NULL || strstr(cipher, "CHACHA"));
    DVT_EQ_I64(dvi_tls_ctx_role(F.client), DVI_PKI_ROLE_CLIENT);
    s_pair_close(&p);

    /* A client's certificate cannot pass as a worker's. */
    s_pair q = {0};
    s_connect(&q, "tcp://127.0.0.1:0", F.sched, 0, F.client, 0, 0);
    DVT_EQ_I64(dvi_tls_peer_role(q.b.s), DVI_PKI_ROLE_CLIENT);
    DVT_FAILS_WITH(DV_EPROTO, dvi_tls_check_peer_role(q.b.s, BIT(WORKER)));
    DVT_CONTAINS(dv_last_error(), "authentication failed");
    DVT_CONTAINS(dv_last_error(), "is for a client");
    s_pair_close(&q);
}

static void
test_role_refused(void **state)
{
    /* A listener for workers only refuses a client, and both say why. */
    s_pair p = {0};
    s_refuse(&p, "tcp://127.0.0.1:0", F.worker, BIT(WORKER), F.client, 0, 0);
    DVT_CONTAINS(p.refused_why,
                 "the client's certificate is for a client, not a worker");
    DVT_CONTAINS(p.a.why, "the server refused our certificate: its role");
    s_pair_close(&p);
    /* A dialer that wants the scheduler refuses a worker. */
    s_pair q = {0};
    s_refuse(&q, "tcp://127.0.0.1:0", F.worker, 0, F.client, BIT(SCHEDULER), 0);
    DVT_CONTAINS(q.a.why,
                 "the server's certificate is for a worker, not a scheduler");
    s_pair_close(&q);
}

/* ---- Authentication failures -------------------------------------------- */

static void
test_other_ca(void **state)
{
    /* A whole other profile: the dialer refuses the server first. */
    s_pair p = {0};
    s_refuse(&p, "tcp://127.0.0.1:0", F.sched, 0, F.other, 0, 0);
    DVT_CONTAINS(p.a.why,
                 "the server's certificate is not signed by this profile's CA");
    DVT_CONTAINS(p.refused_why, "the client refused our certificate");
    s_pair_close(&p);
    /* A dialer that trusts our CA but shows another's certificate. */
    s_pair q = {0};
    s_refuse(&q, "tcp://127.0.0.1:0", F.sched, 0, F.mixed, 0, 0);
    DVT_CONTAINS(q.refused_why,
                 "the client's certificate is not signed by this profile's CA");
    DVT_CONTAINS(q.a.why, "the server refused our certificate: it is not "
                          "signed by the profile's CA");
    s_pair_close(&q);
    /* And a server with another CA's certificate. */
    s_pair r = {0};
    s_refuse(&r, "tcp://127.0.0.1:0", F.mixed, 0, F.client, 0, 0);
    DVT_CONTAINS(r.a.why,
                 "the server's certificate is not signed by this profile's CA");
    s_pair_close(&r);
}

static void
test_no_certificate(void **state)
{
    s_pair p = {0};
    s_refuse(&p, "tcp://127.0.0.1:0", F.sched, 0, F.nocert, 0, 0);
    DVT_CONTAINS(p.refused_why, "the client presented no certificate");
    DVT_CONTAINS(p.a.why, "the server requires a certificate and this side "
                          "presented none");
    s_pair_close(&p);
}

static void
test_expired_and_future(void **state)
{
    s_pair p = {0};
    s_refuse(&p, "tcp://127.0.0.1:0", F.sched, 0, F.expired, 0, 0);
    DVT_CONTAINS(p.refused_why, "the client's certificate expired on ");
    DVT_CONTAINS(p.a.why, "the server refused our certificate: it has expired");
    s_pair_close(&p);
    s_pair q = {0};
    s_refuse(&q, "tcp://127.0.0.1:0", F.sched, 0, F.future, 0, 0);
    DVT_CONTAINS(q.refused_why, "the client's certificate is not valid yet");
    DVT_CONTAINS(q.a.why, "the server refused our certificate");
    s_pair_close(&q);
    /* A server whose certificate expired is refused by the dialer. */
    s_pair r = {0};
    s_refuse(&r, "tcp://127.0.0.1:0", F.expired, 0, F.client, 0, 0);
    DVT_CONTAINS(r.a.why, "the server's certificate expired on ");
    s_pair_close(&r);
}

static void
test_host_checked(void **state)
{
    s_pair p = {0};
    s_connect(&p, "tcp://127.0.0.1:0", F.sched, 0, F.client, BIT(SCHEDULER), 1);
    s_pair_close(&p);
    /* A worker's certificate names no host. */
    s_pair q = {0};
    s_refuse(&q, "tcp://127.0.0.1:0", F.worker, 0, F.client, 0, 1);
    DVT_CONTAINS(q.a.why, "does not name the host dialed (127.0.0.1)");
    s_pair_close(&q);
}

/* A context of profile 1 whose certificate, signed by its CA, carries no
 * role (no OU): made by hand, as pki.c never would. */
static dvi_tls_ctx *
s_ctx_without_role(const char *dir)
{
    char ca[128], cert[128], key[128];
    snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
    snprintf(cert, sizeof(cert), "%s/n.pem", dir);
    snprintf(key, sizeof(key), "%s/n.key", dir);
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    DVT_TRUE(k != NULL && x != NULL);
    X509_set_version(x, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 42);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_UTF8,
                               (const unsigned char *)"nobody", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(dvi_pki_cert_x509(F.ca)));
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, k);
    DVT_TRUE(X509_sign(x, dvi_pki_cert_key(F.ca), EVP_sha256()) > 0);
    FILE *f = fopen(cert, "w");
    DVT_TRUE(f != NULL && PEM_write_X509(f, x) == 1);
    fclose(f);
    f = fopen(key, "w");
    DVT_TRUE(f != NULL &&
             PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) == 1);
    fclose(f);
    X509_free(x);
    EVP_PKEY_free(k);
    DVT_PASS(dvi_pki_save(F.ca, ca, NULL));
    dvi_tls_ctx *c = DVT_NOTNULL(dvi_tls_ctx_load(ca, cert, key));
    DVT_EQ_I64(dvi_tls_ctx_role(c), DVI_PKI_ROLE_NONE);
    unlink(ca);
    unlink(cert);
    unlink(key);
    return c;
}

static void
test_no_role(void **state)
{
    char dir[] = "/tmp/dvtls-XXXXXX";
    DVT_TRUE(mkdtemp(dir) != NULL);
    dvi_tls_ctx *nobody = s_ctx_without_role(dir);
    DVT_EQ_I64(rmdir(dir), 0);
    s_pair p = {0};
    s_refuse(&p, "tcp://127.0.0.1:0", F.sched, 0, nobody, 0, 0);
    DVT_CONTAINS(p.refused_why,
                 "the client's certificate carries no drove role");
    DVT_CONTAINS(p.a.why, "the server refused our certificate");
    s_pair_close(&p);
    s_pair q = {0};
    s_refuse(&q, "tcp://127.0.0.1:0", nobody, 0, F.client, 0, 0);
    DVT_CONTAINS(q.a.why, "the server's certificate carries no drove role");
    s_pair_close(&q);
    dvi_tls_ctx_destroy(&nobody);
}

static void
test_abrupt_end(void **state)
{
    /* close without shutdown sends no close_notify: the peer is told the
     * end may have been cut short. */
    s_pair p = {0};
    s_connect(&p, "tcp://127.0.0.1:0", F.sched, 0, F.worker, 0, 0);
    s_side_close(&p.a);
    WAIT(&p, p.b.errors, 1);
    DVT_EQ_STR(p.b.why, "closed by peer without TLS close_notify");
    s_pair_close(&p);
}

/* ---- Plaintext peers ---------------------------------------------------- */

static int
s_port_of(const char *bound)
{
    const char *colon = strrchr(bound, ':');
    DVT_TRUE(colon != NULL);
    return atoi(colon + 1);
}

static int
s_raw_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    DVT_TRUE(fd >= 0);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    DVT_EQ_I64(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

/* Runs the loop until the peer has closed fd (EOF or reset). */
static void
s_raw_wait_closed(s_pair *p, int fd)
{
    double deadline = dvt_now() + WAIT_S;
    char buf[4096];
    while (dvt_now() < deadline) {
        uv_run(&p->loop, UV_RUN_NOWAIT);
        ssize_t r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
            return;
        }
        usleep(r > 0 ? 0 : 1000);
    }
    DVT_FAIL("the listener did not close the connection");
}

/* A raw peer sends bytes (or nothing) to a TLS listener of ctx. */
static void
s_raw_refused(dvi_tls_ctx *ctx, const void *bytes, size_t n, const char *why)
{
    s_pair p = {0};
    DVT_EQ_I64(uv_loop_init(&p.loop), 0);
    p.l = DVT_NOTNULL(dvi_tls_listen(ctx, &p.loop, "tcp://127.0.0.1:0", 0,
                                     s_accept, &p, p.bound, sizeof(p.bound)));
    dvi_tls_listener_set_refused(p.l, s_refused);
    int fd = s_raw_connect(s_port_of(p.bound));
    if (n > 0) {
        DVT_EQ_I64(send(fd, bytes, n, MSG_NOSIGNAL), (int64_t)n);
    }
    WAIT(&p, p.refused, 1);
    DVT_CONTAINS(p.refused_why, why);
    DVT_EQ_I64(p.accepted, 0);
    s_raw_wait_closed(&p, fd);
    close(fd);
    s_pair_close(&p);
}

static void
test_plaintext_refused(void **state)
{
    /* A drove frame, as a peer without TLS would send it. */
    const unsigned char frame[] = {
        0, 0, 0, 7, 0x91, 0x93, DVI_MSG_DATA, 0xa1, 'k', 0xa1, 'v'};
    s_raw_refused(F.sched, frame, sizeof(frame),
                  "TLS handshake failed: the client does not speak TLS");
    /* Random bytes, in several sizes. */
    uint64_t st = 12345;
    for (size_t n = 1; n <= 65536; n *= 16) {
        char *junk = malloc(n);
        for (size_t i = 0; i < n; i++) {
            junk[i] = (char)dvt_rand(&st);
        }
        s_raw_refused(F.sched, junk, n, "TLS handshake failed");
        free(junk);
    }
    /* An HTTP request. */
    const char *get = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    s_raw_refused(F.sched, get, strlen(get), "does not speak TLS");
    /* Silence: the deadline ends it. */
    s_raw_refused(F.quick, NULL, 0, "TLS handshake timed out after 0.3 s");
}

static void
s_plain_accept(void *ctx, dvi_stream *s)
{
    s_pair *p = ctx;
    p->accepted++;
    p->b.s = s;
    dvi_stream_set_user(s, &s_user, &p->b);
    DVT_PASS(dvi_stream_start(s));
}

static void
test_dial_plaintext_listener(void **state)
{
    /* A TLS dialer meets a listener that never answers in TLS. */
    s_pair p = {0};
    DVT_EQ_I64(uv_loop_init(&p.loop), 0);
    p.l = DVT_NOTNULL(dvi_stream_listen(&p.loop, "tcp://127.0.0.1:0",
                                        s_plain_accept, &p, p.bound,
                                        sizeof(p.bound)));
    p.a.s = DVT_NOTNULL(dvi_tls_dial(F.quick, &p.loop, p.bound, 0, 0));
    dvi_stream_set_user(p.a.s, &s_user, &p.a);
    DVT_PASS(dvi_stream_start(p.a.s));
    WAIT(&p, p.a.errors, 1);
    DVT_CONTAINS(p.a.why, "TLS handshake timed out");
    DVT_EQ_I64(p.a.opened, 0);
    DVT_TRUE(p.b.ngot > 5 && p.b.got[0] == 0x16); /* a ClientHello record */
    /* And one that answers with plaintext. */
    const char hello[] = "\0\0\0\7 plaintext frame";
    dvi_outbox_frame f = {0};
    f.buf = malloc(sizeof(hello));
    memcpy(f.buf, hello, sizeof(hello));
    f.len = sizeof(hello);
    s_side_close(&p.a);
    s_side_close(&p.b);
    free(p.a.got);
    free(p.b.got);
    p.a = (s_side){0};
    p.b = (s_side){0};
    p.a.s = DVT_NOTNULL(dvi_tls_dial(F.client, &p.loop, p.bound, 0, 0));
    dvi_stream_set_user(p.a.s, &s_user, &p.a);
    DVT_PASS(dvi_stream_start(p.a.s));
    WAIT(&p, p.accepted, 2);
    DVT_PASS(dvi_stream_write(p.b.s, &f));
    WAIT(&p, p.a.errors, 1);
    DVT_CONTAINS(p.a.why, "TLS handshake failed");
    s_pair_close(&p);
}

static void
test_listener_close_in_handshake(void **state)
{
    /* Connections still in their handshake close with the listener. */
    s_pair p = {0};
    DVT_EQ_I64(uv_loop_init(&p.loop), 0);
    p.l = DVT_NOTNULL(dvi_tls_listen(F.sched, &p.loop, "tcp://127.0.0.1:0", 0,
                                     s_accept, &p, p.bound, sizeof(p.bound)));
    int fd1 = s_raw_connect(s_port_of(p.bound));
    int fd2 = s_raw_connect(s_port_of(p.bound));
    DVT_EQ_I64(send(fd2, "\x16\x03\x01", 3, MSG_NOSIGNAL), 3); /* a start */
    s_spin(&p, 100);
    dvi_stream_listener_close(p.l);
    p.l = NULL;
    s_raw_wait_closed(&p, fd1);
    s_raw_wait_closed(&p, fd2);
    close(fd1);
    close(fd2);
    DVT_EQ_I64(p.accepted + p.refused, 0);
    s_pair_close(&p);
}

/* ---- The wire ----------------------------------------------------------- */

/* Copies bytes between two socketpair ends, recording all it sees;
 * optionally flips one byte going from a to b. */
typedef struct s_relay {
    int a, b;
    char *cap;
    size_t ncap, capcap;
    size_t flip_at; /* offset in the a->b bytes to corrupt; 0: none */
    size_t a2b;
    uv_thread_t th;
} s_relay;

static int
s_relay_move(s_relay *r, int from, int to)
{
    char buf[65536];
    ssize_t n = read(from, buf, sizeof(buf));
    if (n <= 0) {
        return -1;
    }
    if (from == r->a && r->flip_at > r->a2b &&
        r->flip_at < r->a2b + (size_t)n) {
        buf[r->flip_at - r->a2b] ^= 0x01;
    }
    if (from == r->a) {
        r->a2b += (size_t)n;
    }
    if (r->ncap + (size_t)n > r->capcap) {
        r->capcap = 2 * (r->ncap + (size_t)n);
        r->cap = realloc(r->cap, r->capcap);
    }
    memcpy(r->cap + r->ncap, buf, (size_t)n);
    r->ncap += (size_t)n;
    for (ssize_t done = 0; done < n;) {
        ssize_t w = send(to, buf + done, (size_t)(n - done), MSG_NOSIGNAL);
        if (w <= 0) {
            return -1;
        }
        done += w;
    }
    return 0;
}

static void
s_relay_run(void *arg)
{
    s_relay *r = arg;
    for (;;) {
        struct pollfd pf[2] = {{r->a, POLLIN, 0}, {r->b, POLLIN, 0}};
        if (poll(pf, 2, -1) < 0) {
            return;
        }
        if ((pf[0].revents && s_relay_move(r, r->a, r->b) < 0) ||
            (pf[1].revents && s_relay_move(r, r->b, r->a) < 0)) {
            shutdown(r->a, SHUT_RDWR);
            shutdown(r->b, SHUT_RDWR);
            return;
        }
    }
}

/* a (the dialer) and b over two socketpairs and the relay between them. */
static void
s_wire_open(s_pair *p, s_relay *r)
{
    int sa[2], sb[2];
    DVT_EQ_I64(socketpair(AF_UNIX, SOCK_STREAM, 0, sa), 0);
    DVT_EQ_I64(socketpair(AF_UNIX, SOCK_STREAM, 0, sb), 0);
    r->a = sa[1];
    r->b = sb[1];
    DVT_EQ_I64(uv_thread_create(&r->th, s_relay_run, r), 0);
    DVT_EQ_I64(uv_loop_init(&p->loop), 0);
    dvi_stream *ia = DVT_NOTNULL(dvi_stream_pipe_open(&p->loop, sa[0]));
    dvi_stream *ib = DVT_NOTNULL(dvi_stream_pipe_open(&p->loop, sb[0]));
    p->a.s = DVT_NOTNULL(dvi_tls_wrap(F.worker, ia, 0, BIT(SCHEDULER), NULL));
    p->b.s = DVT_NOTNULL(dvi_tls_wrap(F.sched, ib, 1, BIT(WORKER), NULL));
    dvi_stream_set_user(p->a.s, &s_user, &p->a);
    dvi_stream_set_user(p->b.s, &s_user, &p->b);
    DVT_PASS(dvi_stream_start(p->a.s));
    DVT_PASS(dvi_stream_start(p->b.s));
    WAIT(p, p->a.opened, 1);
    WAIT(p, p->b.opened, 1);
}

static void
s_wire_close(s_pair *p, s_relay *r)
{
    s_side_close(&p->a);
    s_side_close(&p->b);
    s_loop_fini(&p->loop); /* closes our ends: the relay sees EOF */
    uv_thread_join(&r->th);
    close(r->a);
    close(r->b);
    free(p->a.got);
    free(p->b.got);
}

static const char s_marker[] = "PLAINTEXT-MARKER:drove-tls-test";

/* A frame whose blob repeats the marker. */
static dvi_blob *
s_marker_blob(size_t len)
{
    dvi_blob *b = dvi_blob_new(len, 0);
    for (size_t i = 0; i < len; i++) {
        b->data[i] = s_marker[i % (sizeof(s_marker) - 1)];
    }
    return b;
}

static void
test_wire_holds_no_plaintext(void **state)
{
    s_pair p = {0};
    s_relay r = {0};
    s_wire_open(&p, &r);
    dvi_blob *blob = s_marker_blob(1u << 20);
    dvi_outbox_frame f, flat, g, gflat;
    s_frame(blob, &f, &flat);
    s_frame(blob, &g, &gflat);
    DVT_PASS(dvi_stream_write(p.a.s, &f));
    DVT_PASS(dvi_stream_write(p.b.s, &g));
    WAIT_BYTES(&p, p.b, flat.len);
    WAIT_BYTES(&p, p.a, gflat.len);
    DVT_TRUE(memcmp(p.b.got, flat.buf, flat.len) == 0);
    DVT_TRUE(memcmp(p.a.got, gflat.buf, gflat.len) == 0);
    DVT_TRUE(memmem(p.b.got, p.b.ngot, s_marker, strlen(s_marker)) != NULL);
    s_wire_close(&p, &r);
    /* Everything crossed the relay; none of it in the clear. */
    DVT_TRUE(r.ncap > flat.len + gflat.len);
    DVT_TRUE(memmem(r.cap, r.ncap, s_marker, strlen(s_marker)) == NULL);
    DVT_TRUE(memmem(r.cap, r.ncap, s_marker + 10, 12) == NULL);
    free(r.cap);
    dvi_outbox_frame_fini(&flat);
    dvi_outbox_frame_fini(&gflat);
    dvi_blob_rele(blob);
}

static void
test_wire_tampering_detected(void **state)
{
    s_pair p = {0};
    s_relay r = {0};
    r.flip_at = 50000; /* well past the handshake */
    s_wire_open(&p, &r);
    dvi_blob *blob = s_marker_blob(1u << 20);
    dvi_outbox_frame f, flat;
    s_frame(blob, &f, &flat);
    DVT_PASS(dvi_stream_write(p.a.s, &f));
    WAIT(&p, p.b.errors, 1);
    DVT_CONTAINS(p.b.why, "TLS: ");
    DVT_TRUE(p.b.ngot < flat.len); /* the altered record never went up */
    WAIT(&p, p.a.errors, 1);       /* the peer's alert, or the end */
    s_wire_close(&p, &r);
    free(r.cap);
    dvi_outbox_frame_fini(&flat);
    dvi_blob_rele(blob);
}

/* ---- Contexts and addresses --------------------------------------------- */

static void
test_ctx_and_address_errors(void **state)
{
    dvi_pki_cert *w = s_issue(F.ca, DVI_PKI_ROLE_WORKER, "w", 0, 0);
    DVT_TRUE(dvi_tls_ctx_new(w, w) == NULL); /* a worker is no CA */
    DVT_EQ_I64(dvi_last_code(), DV_EINVAL);
    DVT_CONTAINS(dv_last_error(), "is not a CA certificate");
    char dir[] = "/tmp/dvtls-XXXXXX", path[128];
    DVT_TRUE(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/w.pem", dir);
    DVT_PASS(dvi_pki_save(w, path, NULL));
    dvi_pki_cert *cert_only = DVT_NOTNULL(dvi_pki_load(path, NULL));
    DVT_TRUE(dvi_tls_ctx_new(F.ca, cert_only) == NULL);
    DVT_CONTAINS(dv_last_error(), "comes without its key");
    DVT_TRUE(dvi_tls_ctx_load(path, path, "/nonexistent/k") == NULL);
    DVT_EQ_I64(dvi_last_code(), DV_EIO);
    DVT_CONTAINS(dv_last_error(), "/nonexistent/k");
    char ca[128], key[128];
    snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
    snprintf(key, sizeof(key), "%s/w.key", dir);
    DVT_PASS(dvi_pki_save(F.ca, ca, NULL));
    DVT_TRUE(dvi_tls_ctx_load(ca, path, key) == NULL);
    DVT_EQ_I64(dvi_last_code(), DV_EIO);
    DVT_CONTAINS(dv_last_error(), key);
    DVT_PASS(dvi_pki_save(w, path, key));
    dvi_tls_ctx *c = DVT_NOTNULL(dvi_tls_ctx_load(ca, path, key));
    DVT_EQ_I64(dvi_tls_ctx_role(c), DVI_PKI_ROLE_WORKER);
    DVT_EQ_I64(dvi_tls_ctx_handshake_timeout(c), DVI_TLS_HANDSHAKE_TIMEOUT_MS);
    dvi_tls_ctx_destroy(&c);
    DVT_TRUE(c == NULL);
    unlink(ca);
    unlink(key);
    unlink(path);
    DVT_EQ_I64(rmdir(dir), 0);
    dvi_pki_cert_destroy(&w);
    dvi_pki_cert_destroy(&cert_only);

    uv_loop_t loop;
    uv_loop_init(&loop);
    DVT_TRUE(dvi_tls_dial(F.client, &loop, "unix:///tmp/x", 0, 1) == NULL);
    DVT_CONTAINS(dv_last_error(), "only for tcp://HOST:PORT");
    DVT_TRUE(dvi_tls_dial(F.client, &loop, "tcp:/x", 0, 0) == NULL);
    DVT_TRUE(dvi_tls_listen(F.sched, &loop, "tcp://127.0.0.1:x", 0, s_accept,
                            NULL, NULL, 0) == NULL);
    DVT_CONTAINS(dv_last_error(), "bad port");
    DVT_EQ_I64(uv_run(&loop, UV_RUN_NOWAIT), 0);
    DVT_EQ_I64(uv_loop_close(&loop), 0);
}

int
main(void)
{
    signal(SIGPIPE, SIG_IGN); /* as every drove process does */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stream_tcp),
        cmocka_unit_test(test_stream_unix),
        cmocka_unit_test(test_stream_inproc),
        cmocka_unit_test(test_conn_tls_tcp),
        cmocka_unit_test(test_secure_chooses),
        cmocka_unit_test(test_large_frame_from_a_quiet_loop),
        cmocka_unit_test(test_roles_from_certificates),
        cmocka_unit_test(test_role_refused),
        cmocka_unit_test(test_other_ca),
        cmocka_unit_test(test_no_certificate),
        cmocka_unit_test(test_expired_and_future),
        cmocka_unit_test(test_host_checked),
        cmocka_unit_test(test_no_role),
        cmocka_unit_test(test_abrupt_end),
        cmocka_unit_test(test_plaintext_refused),
        cmocka_unit_test(test_dial_plaintext_listener),
        cmocka_unit_test(test_listener_close_in_handshake),
        cmocka_unit_test(test_wire_holds_no_plaintext),
        cmocka_unit_test(test_wire_tampering_detected),
        cmocka_unit_test(test_ctx_and_address_errors),
    };
    return cmocka_run_group_tests_name("tls", tests, s_setup, s_teardown);
}
