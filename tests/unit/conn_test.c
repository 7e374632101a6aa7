/* drove — unit: dvi_conn, framed and batched connections on a libuv loop.
 *
 * Each test runs one uv loop with a listener and connections on it, over
 * TCP on 127.0.0.1 (port 0), a Unix socket in a fresh directory, a
 * socketpair, or inproc. What a user would notice: messages added in one
 * loop turn must travel as one frame (batching is what makes small tasks
 * cheap) and arrive complete and in order, large blobs spliced in
 * included; a peer that sends an oversize length, a truncated frame or
 * garbage must be disconnected with a reason that says what it sent,
 * before anything is allocated for it; closing must deliver what was
 * queued; a dial that cannot resolve or connect says so, naming the
 * address; a Unix listener replaces a stale socket file, refuses a live
 * one, and removes its own. Raw POSIX sockets play the misbehaving peers
 * and the crashed daemon. Every test closes everything and then checks
 * that uv_loop_close() succeeds, i.e. that no handle was left behind.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/blob.h"
#include "dvtest.h"
#include "proto/conn.h"
#include "proto/msg.h"

/* Deadlines: upper bounds for a loaded machine, never expected timings. */
#define WAIT_S 20.0
/* Resolving a name that does not exist may wait for a DNS server. */
#define RESOLVE_WAIT_S 45.0

/* One end of a connection, as the test sees it. */
typedef struct s_end {
    dvi_conn *c;       /* NULL once closed (by on_close or the test) */
    int frames;        /* frames received */
    int msgs;          /* messages received */
    uint64_t next_seq; /* the seq the next STORED message must carry */
    int out_of_order;  /* STORED messages with an unexpected seq */
    size_t data_len;   /* size of the last DATA message's payload */
    int data_ok;       /* its bytes matched the pattern */
    int closed;        /* on_close calls */
    char why[256];     /* on_close's reason */
    int refs;          /* reads blobs by reference (dvi_conn_accept_refs) */
    int take;          /* keep the payload of the first DATA message */
    dvi_blob *kept;    /* that payload, held */
    int kept_in_place; /* the kept blob's bytes are those of the frame */
    int took_twice;    /* a second keep of the same frame was not a copy */
    int shake;         /* ends the handshake on the first message, as a role
                          does on HELLO */
    int err;           /* on_close's dvi_conn_error */
} s_end;

typedef struct s_net {
    uv_loop_t loop;
    uv_timer_t timer; /* deadline of the running wait */
    int expired;
    dvi_listener *l;
    char bound[128];
    s_end server; /* the (single) accepted connection */
    int accepted;
    size_t server_max; /* max frame to set on accepted conns, 0: default */
    int awaiting;      /* accepted conns await a handshake (else the test
                          plays a role that ended it at once) */
    s_end client;
} s_net;

/* ---- Callbacks ---------------------------------------------------------- */

static int
s_on_msg(void *ctx, int type, const msgpack_object *f, uint32_t n)
{
    s_end *e = ctx;
    if (e->msgs++ == 0 && e->shake) {
        dvi_conn_handshake_done(e->c);
    }
    if (type == DVI_MSG_STORED) {
        uint64_t seq;
        if (dvi_msg_u64(&f[1], &seq) < 0 || seq != e->next_seq) {
            e->out_of_order++;
        }
        e->next_seq++;
    } else if (type == DVI_MSG_DATA) {
        const char *p;
        size_t len;
        e->data_ok = 0;
        if (dvi_msg_bytes(&f[1], &p, &len) == 0) {
            e->data_len = len;
            e->data_ok = 1;
            for (size_t i = 0; i < len; i++) {
                if (p[i] != (char)(i * 7)) {
                    e->data_ok = 0;
                    break;
                }
            }
        }
        if (e->take && e->data_ok && e->kept == NULL) {
            /* Keep the payload where it is, as a worker keeps a fetched
             * result: no copy. Once the frame is taken, more is copied. */
            e->kept = dvi_conn_keep(e->c, p, len);
            e->kept_in_place = e->kept->data == p;
            dvi_blob *again = dvi_conn_keep(e->c, p, len);
            e->took_twice = again->data == p;
            dvi_blob_rele(again);
        }
    }
    return 0;
}

static int
s_on_frame(dvi_conn *c, const char *buf, size_t len)
{
    s_end *e = dvi_conn_data(c);
    e->frames++;
    /* A malformed payload makes this return DV_EPROTO, which closes the
     * connection with dv_last_error() as the reason. */
    if (e->refs) {
        return dvi_conn_each_msg(c, buf, len, s_on_msg, e);
    }
    return dvi_msg_each(buf, len, s_on_msg, e);
}

static void
s_on_close(dvi_conn *c, const char *why)
{
    s_end *e = dvi_conn_data(c);
    if (e == NULL) {
        return; /* failed before on_accept adopted it */
    }
    e->closed++;
    e->err = dvi_conn_error(c);
    snprintf(e->why, sizeof(e->why), "%s", why ? why : "(null)");
    e->c = NULL; /* freed after we return */
}

static void
s_on_accept(dvi_listener *l, dvi_conn *c)
{
    s_net *n = dvi_listener_data(l);
    DVT_TRUE(dvi_conn_data(c) == NULL);
    n->accepted++;
    n->server.c = c;
    dvi_conn_set_data(c, &n->server);
    if (n->server_max) {
        dvi_conn_set_max_frame(c, n->server_max);
    }
    if (n->server.refs) {
        dvi_conn_accept_refs(c);
    }
    if (!n->awaiting) {
        dvi_conn_handshake_done(c);
    }
}

static void
s_timeout_cb(uv_timer_t *t)
{
    s_net *n = t->data;
    n->expired = 1;
}

/* ---- Helpers ------------------------------------------------------------ */

static void
s_net_init(s_net *n)
{
    memset(n, 0, sizeof(*n));
    assert_int_equal(uv_loop_init(&n->loop), 0);
    uv_timer_init(&n->loop, &n->timer);
    n->timer.data = n;
}

/* Runs the loop until *counter >= target or wait_s seconds pass; returns
 * whether the target was reached. */
static int
s_wait(s_net *n, const int *counter, int target, double wait_s)
{
    n->expired = 0;
    uv_timer_start(&n->timer, s_timeout_cb, (uint64_t)(wait_s * 1000), 0);
    while (*counter < target && !n->expired) {
        uv_run(&n->loop, UV_RUN_ONCE);
    }
    uv_timer_stop(&n->timer);
    return *counter >= target;
}

#define WAIT_FOR_S(n, counter, target, wait_s)                              \
    do {                                                                    \
        if (!s_wait((n), &(counter), (target), (wait_s))) {                 \
            DVT_FAIL("timed out waiting for %s >= %d (it is %d)", #counter, \
                     (int)(target), (counter));                             \
        }                                                                   \
    } while (0)

#define WAIT_FOR(n, counter, target) WAIT_FOR_S(n, counter, target, WAIT_S)

/* Runs a few loop turns without waiting, for things that must not
 * happen. */
static void
s_spin(s_net *n, int turns)
{
    for (int i = 0; i < turns; i++) {
        uv_run(&n->loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
}

/* Closes whatever is still open and checks the loop ends with no handle
 * left (which also means every conn was freed: ASan checks the rest). */
static void
s_net_fini(s_net *n)
{
    dvi_conn_close(n->client.c);
    n->client.c = NULL;
    dvi_conn_close(n->server.c);
    n->server.c = NULL;
    dvi_listener_close(n->l);
    n->l = NULL;
    uv_close((uv_handle_t *)&n->timer, NULL);
    double deadline = dvt_now() + WAIT_S;
    while (uv_loop_alive(&n->loop) && dvt_now() < deadline) {
        uv_run(&n->loop, UV_RUN_NOWAIT);
        usleep(1000);
    }
    DVT_EQ_I64(uv_loop_alive(&n->loop), 0);
    DVT_EQ_I64(uv_loop_close(&n->loop), 0);
}

static void
s_send_stored(dvi_conn *c, uint64_t seq)
{
    char key[32];
    snprintf(key, sizeof(key), "key-%llu", (unsigned long long)seq);
    msgpack_packer *pk = dvi_outbox_msg(dvi_conn_outbox(c), DVI_MSG_STORED, 2);
    dvi_pack_str(pk, key);
    msgpack_pack_uint64(pk, seq);
}

static void
s_listen(s_net *n, const char *addr)
{
    n->l = dvi_listen(&n->loop, addr, s_on_accept, s_on_frame, s_on_close, n,
                      n->bound, sizeof(n->bound));
    DVT_NOTNULL(n->l);
}

static void
s_dial(s_net *n, const char *addr)
{
    n->client.c = DVT_NOTNULL(
        dvi_conn_dial(&n->loop, addr, s_on_frame, s_on_close, &n->client));
}

static int
s_port_of(const char *bound)
{
    const char *colon = strrchr(bound, ':');
    DVT_TRUE(colon != NULL);
    return atoi(colon + 1);
}

/* A blocking TCP socket connected to 127.0.0.1:port, with a 5 s receive
 * timeout. */
static int
s_raw_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    DVT_TRUE(fd >= 0);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        DVT_FAIL("connect to port %d: %s", port, strerror(errno));
    }
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

static void
s_raw_write(int fd, const void *p, size_t n)
{
    DVT_EQ_I64(write(fd, p, n), (int64_t)n);
}

/* True when the peer has closed fd (EOF or reset) within 5 s. */
static int
s_raw_closed_by_peer(int fd)
{
    char buf[256];
    for (;;) {
        ssize_t r = read(fd, buf, sizeof(buf));
        if (r == 0 || (r < 0 && errno == ECONNRESET)) {
            return 1;
        }
        if (r < 0) {
            return 0; /* timeout */
        }
    }
}

/* A frame holding one STORED message with the given seq and a bin field
 * padded so that the payload is exactly payload_len bytes (>= 17). */
static size_t
s_raw_frame(char *out, size_t payload_len, uint64_t seq)
{
    size_t pad = payload_len - 17;
    unsigned char *p = (unsigned char *)out;
    p[0] = (unsigned char)(payload_len >> 24);
    p[1] = (unsigned char)(payload_len >> 16);
    p[2] = (unsigned char)(payload_len >> 8);
    p[3] = (unsigned char)payload_len;
    p[4] = 0x91; /* a batch of one message */
    p[5] = 0x94; /* [type, key, seq, padding] */
    p[6] = DVI_MSG_STORED;
    p[7] = 0xa1; /* key "k" */
    p[8] = 'k';
    p[9] = 0xcf; /* seq as uint64 */
    for (int i = 0; i < 8; i++) {
        p[10 + i] = (unsigned char)(seq >> (56 - 8 * i));
    }
    p[18] = 0xc5; /* bin16 padding */
    p[19] = (unsigned char)(pad >> 8);
    p[20] = (unsigned char)pad;
    memset(p + 21, 0, pad);
    return 4 + payload_len;
}

/* A blob of len bytes of the pattern s_on_msg checks. Caller owns. */
static dvi_blob *
s_pattern_blob(size_t len)
{
    dvi_blob *b = dvi_blob_new(len, 0);
    for (size_t i = 0; i < len; i++) {
        b->data[i] = (char)(i * 7);
    }
    return b;
}

/* A DATA message whose payload is b, spliced in without a copy. */
static void
s_send_blob(dvi_conn *c, dvi_blob *b)
{
    msgpack_packer *pk = dvi_outbox_msg(dvi_conn_outbox(c), DVI_MSG_DATA, 2);
    dvi_pack_str(pk, "big");
    msgpack_pack_bin(pk, b->len);
    dvi_outbox_put_blob(dvi_conn_outbox(c), b);
}

/* ---- TCP ---------------------------------------------------------------- */

static void
test_tcp_batches_one_frame_per_turn(void **state)
{
    s_net n;
    s_net_init(&n);
    s_listen(&n, "tcp://127.0.0.1:0");
    DVT_CONTAINS(n.bound, "tcp://127.0.0.1:");
    DVT_NE_I64(s_port_of(n.bound), 0);
    s_dial(&n, n.bound);

    /* 100 messages added before the connection is even up: one frame. */
    for (uint64_t i = 0; i < 100; i++) {
        s_send_stored(n.client.c, i);
    }
    WAIT_FOR(&n, n.server.msgs, 100);
    DVT_EQ_I64(n.accepted, 1);
    DVT_EQ_I64(n.server.frames, 1);
    DVT_EQ_I64(n.server.out_of_order, 0);
    DVT_CONTAINS(dvi_conn_peer(n.server.c), "tcp://127.0.0.1:");

    /* The reply: 50 messages in one turn, one frame. */
    for (uint64_t i = 0; i < 50; i++) {
        s_send_stored(n.server.c, i);
    }
    WAIT_FOR(&n, n.client.msgs, 50);
    DVT_EQ_I64(n.client.frames, 1);
    DVT_EQ_I64(n.client.out_of_order, 0);

    /* Another turn, another frame; an explicit flush cuts a frame. */
    for (uint64_t i = 100; i < 110; i++) {
        s_send_stored(n.client.c, i);
    }
    dvi_conn_flush(n.client.c);
    s_send_stored(n.client.c, 110);
    WAIT_FOR(&n, n.server.msgs, 111);
    DVT_EQ_I64(n.server.frames, 3);
    DVT_EQ_I64(n.server.out_of_order, 0);

    /* Pre-encoded messages appended in bulk count as separate messages. */
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    for (uint64_t i = 111; i < 114; i++) {
        msgpack_pack_array(&pk, 3);
        msgpack_pack_int(&pk, DVI_MSG_STORED);
        dvi_pack_str(&pk, "k");
        msgpack_pack_uint64(&pk, i);
    }
    dvi_outbox_append(dvi_conn_outbox(n.client.c), sb.data, sb.size, 3);
    s_send_stored(n.client.c, 114);
    msgpack_sbuffer_destroy(&sb);
    WAIT_FOR(&n, n.server.msgs, 115);
    DVT_EQ_I64(n.server.frames, 4);
    DVT_EQ_I64(n.server.out_of_order, 0);

    /* Both ends count the same bytes. */
    DVT_EQ_I64(dvi_conn_bytes_out(n.client.c), dvi_conn_bytes_in(n.server.c));
    DVT_EQ_I64(dvi_conn_bytes_out(n.server.c), dvi_conn_bytes_in(n.client.c));
    DVT_EQ_I64(n.client.closed + n.server.closed, 0);
    s_net_fini(&n);
}

static void
test_tcp_large_frame(void **state)
{
    /* A 5 MB message spans many reads and arrives intact. */
    s_net n;
    s_net_init(&n);
    s_listen(&n, "tcp://127.0.0.1:0");
    s_dial(&n, n.bound);
    size_t len = 5u << 20;
    char *big = malloc(len);
    assert_non_null(big);
    for (size_t i = 0; i < len; i++) {
        big[i] = (char)(i * 7);
    }
    msgpack_packer *pk =
        dvi_outbox_msg(dvi_conn_outbox(n.client.c), DVI_MSG_DATA, 2);
    dvi_pack_str(pk, "big");
    dvi_pack_bin(pk, big, len);
    free(big);
    s_send_stored(n.client.c, 0);
    WAIT_FOR(&n, n.server.msgs, 2);
    DVT_EQ_I64(n.server.frames, 1);
    DVT_EQ_I64(n.server.data_len, len);
    DVT_TRUE(n.server.data_ok);
    DVT_EQ_I64(n.server.out_of_order, 0);
    s_net_fini(&n);
}

static void
test_tcp_oversize_length_closes(void **state)
{
    s_net n;
    s_net_init(&n);
    s_listen(&n, "tcp://127.0.0.1:0");
    int fd = s_raw_connect(s_port_of(n.bound));
    /* A length of 0xFFFFFFF0, far above the 1 GiB default maximum. */
    s_raw_write(fd,
                "\xff\xff\xff\xf0"
                "abcdef",
                10);
    WAIT_FOR(&n, n.server.closed, 1);
    DVT_CONTAINS(n.server.why, "4294967280");
    DVT_CONTAINS(n.server.why, "max");
    DVT_EQ_I64(n.server.frames, 0);
    DVT_TRUE(s_raw_closed_by_peer(fd));
    close(fd);
    /* The listener is unaffected: a good client still gets through. */
    s_dial(&n, n.bound);
    s_send_stored(n.client.c, 0);
    WAIT_FOR(&n, n.accepted, 2);
    WAIT_FOR(&n, n.server.msgs, 1);
    s_net_fini(&n);
}

static void
test_tcp_max_frame_is_exact(void **state)
{
    /* With a maximum of 1000 bytes, a 1000-byte payload is delivered and a
     * 1001-byte one closes the connection, naming both sizes. */
    s_net n;
    s_net_init(&n);
    n.server_max = 1000;
    s_listen(&n, "tcp://127.0.0.1:0");
    int fd = s_raw_connect(s_port_of(n.bound));
    char frame[1100];
    size_t flen = s_raw_frame(frame, 1000, 0);
    s_raw_write(fd, frame, flen);
    WAIT_FOR(&n, n.server.msgs, 1);
    DVT_EQ_I64(n.server.out_of_order, 0);
    DVT_EQ_I64(n.server.closed, 0);
    flen = s_raw_frame(frame, 1001, 1);
    s_raw_write(fd, frame, flen);
    WAIT_FOR(&n, n.server.closed, 1);
    DVT_CONTAINS(n.server.why, "1001");
    DVT_CONTAINS(n.server.why, "1000");
    DVT_EQ_I64(n.server.msgs, 1);
    DVT_TRUE(s_raw_closed_by_peer(fd));
    close(fd);
    s_net_fini(&n);
}

static void
test_tcp_max_frame_between_conns(void **state)
{
    /* The same limit on a real conn pair: the dialer learns the
     * connection is gone. */
    s_net n;
    s_net_init(&n);
    n.server_max = 1000;
    s_listen(&n, "tcp://127.0.0.1:0");
    s_dial(&n, n.bound);
    char pad[2000] = {0};
    msgpack_packer *pk =
        dvi_outbox_msg(dvi_conn_outbox(n.client.c), DVI_MSG_DATA, 2);
    dvi_pack_str(pk, "k");
    dvi_pack_bin(pk, pad, sizeof(pad));
    WAIT_FOR(&n, n.server.closed, 1);
    DVT_CONTAINS(n.server.why, "> max 1000");
    WAIT_FOR(&n, n.client.closed, 1);
    DVT_EQ_I64(n.server.msgs, 0);
    s_net_fini(&n);
}

static void
test_tcp_reassembles_split_frames(void **state)
{
    /* Two frames and 3 bytes of a third's length in one write; the rest
     * later. */
    s_net n;
    s_net_init(&n);
    s_listen(&n, "tcp://127.0.0.1:0");
    int fd = s_raw_connect(s_port_of(n.bound));
    char buf[3 * 64];
    size_t a = s_raw_frame(buf, 40, 0);
    size_t b = s_raw_frame(buf + a, 50, 1);
    size_t c = s_raw_frame(buf + a + b, 60, 2);
    s_raw_write(fd, buf, a + b + 3);
    WAIT_FOR(&n, n.server.frames, 2);
    s_spin(&n, 20);
    DVT_EQ_I64(n.server.frames, 2); /* the partial one is held back */
    s_raw_write(fd, buf + a + b + 3, 10);
    s_spin(&n, 20);
    DVT_EQ_I64(n.server.frames, 2);
    s_raw_write(fd, buf + a + b + 13, c - 13);
    WAIT_FOR(&n, n.server.frames, 3);
    DVT_EQ_I64(n.server.msgs, 3);
    DVT_EQ_I64(n.server.out_of_order, 0);
    DVT_EQ_I64(n.server.closed, 0);
    close(fd);
    WAIT_FOR(&n, n.server.closed, 1);
    DVT_CONTAINS(n.server.why, "closed");
    s_net_fini(&n);
}

/* The bytes of a frame carrying one DATA message of the pattern, len
 * bytes long; *n gets the frame's size. Caller frees. */
static char *
s_data_frame(size_t len, size_t *n)
{
    dvi_outbox o;
    dvi_outbox_init(&o, NULL, NULL);
    dvi_blob *b = s_pattern_blob(len);
    msgpack_packer *pk = dvi_outbox_msg(&o, DVI_MSG_DATA, 2);
    dvi_pack_str(pk, "big");
    dvi_pack_bin(pk, b->data, b->len);
    dvi_blob_rele(b);
    dvi_outbox_frame f;
    DVT_EQ_I64(dvi_outbox_take(&o, &f), 0);
    dvi_outbox_fini(&o);
    *n = f.len;
    return f.buf;
}

static void
test_tcp_large_frame_in_pieces(void **state)
{
    /* A frame far larger than the socket's buffers, written in many
     * pieces with loop turns between them, after a small frame (in the
     * same write as its first bytes) and before another: each is decoded
     * exactly. The large one lands in a buffer of its own, kept without a
     * copy, whose payload ends on an 8-byte boundary (an array ending a
     * value there is read in place), whatever the frame's length. */
    for (size_t extra = 0; extra < 8; extra += 3) {
        s_net n;
        s_net_init(&n);
        n.server.take = 1;
        s_listen(&n, "tcp://127.0.0.1:0");
        int fd = s_raw_connect(s_port_of(n.bound));
        size_t blen, len = ((size_t)3 << 20) + extra;
        char *big = s_data_frame(len, &blen);
        char head[64];
        size_t hlen = s_raw_frame(head, 40, 0);
        memcpy(head + hlen, big, 20);
        s_raw_write(fd, head, hlen + 20);
        size_t pieces = 0;
        for (size_t off = 20; off < blen; off += 64 << 10) {
            size_t k = blen - off < (64 << 10) ? blen - off : 64 << 10;
            s_raw_write(fd, big + off, k);
            s_spin(&n, 1);
            pieces++;
        }
        size_t tlen = s_raw_frame(head, 50, 1);
        s_raw_write(fd, head, tlen);
        WAIT_FOR(&n, n.server.msgs, 3);
        DVT_TRUE(pieces > 40);
        DVT_EQ_I64(n.server.frames, 3);
        DVT_EQ_I64(n.server.out_of_order, 0);
        DVT_TRUE(n.server.kept != NULL && n.server.kept_in_place);
        DVT_EQ_I64(n.server.kept->len, len);
        DVT_TRUE(memcmp(n.server.kept->data, big + blen - len, len) == 0);
        DVT_EQ_I64((uintptr_t)(n.server.kept->data + n.server.kept->len) % 8,
                   0);
        DVT_EQ_I64(n.server.closed, 0);
        dvi_blob_rele(n.server.kept);
        free(big);
        close(fd);
        s_net_fini(&n);
    }
}

static void
test_tcp_truncated_frame_then_eof(void **state)
{
    s_net n;
    s_net_init(&n);
    s_listen(&n, "tcp://127.0.0.1:0");
    int fd = s_raw_connect(s_port_of(n.bound));
    s_raw_write(fd,
                "\x00\x00\x00\x64"
                "0123456789",
                14); /* 10 of 100 */
    close(fd);
    WAIT_FOR(&n, n.server.closed, 1);
    DVT_EQ_I64(n.server.frames, 0);
    DVT_CONTAINS(n.server.why, "closed by peer");
    s_net_fini(&n);
}

static void
test_tcp_garbage_payload_closes(void **state)
{
    /* A frame whose payload is not a batch: on_frame fails, and the
     * connection closes with the decoder's reason. */
    s_net n;
    s_net_init(&n);
    s_listen(&n, "tcp://127.0.0.1:0");
    int fd = s_raw_connect(s_port_of(n.bound));
    s_raw_write(fd, "\x00\x00\x00\x03\x91\x92\xc1", 7);
    WAIT_FOR(&n, n.server.closed, 1);
    DVT_EQ_I64(n.server.frames, 1);
    DVT_EQ_I64(n.server.msgs, 0);
    DVT_CONTAINS(n.server.why, "msgpack");
    DVT_TRUE(s_raw_closed_by_peer(fd));
    close(fd);
    s_net_fini(&n);
}

static void
test_tcp_close_flushes(void **state)
{
    /* Messages added just before dvi_conn_close still arrive, then the
     * peer sees the connection end. */
    s_net n;
    s_net_init(&n);
    s_listen(&n, "tcp://127.0.0.1:0");
    s_dial(&n, n.bound);
    s_send_stored(n.client.c, 0);
    WAIT_FOR(&n, n.server.msgs, 1);
    for (uint64_t i = 1; i <= 5; i++) {
        s_send_stored(n.client.c, i);
    }
    dvi_conn_close(n.client.c);
    n.client.c = NULL;
    WAIT_FOR(&n, n.server.closed, 1);
    DVT_EQ_I64(n.server.msgs, 6);
    DVT_EQ_I64(n.server.out_of_order, 0);
    DVT_CONTAINS(n.server.why, "closed by peer");
    /* dvi_conn_close never calls on_close. */
    DVT_EQ_I64(n.client.closed, 0);
    s_net_fini(&n);
}

static void
test_tcp_dial_errors(void **state)
{
    s_net n;
    s_net_init(&n);
    DVT_TRUE(dvi_conn_dial(&n.loop, "tcp://no-port-here", s_on_frame,
                           s_on_close, NULL) == NULL);
    DVT_CONTAINS(dv_last_error(), "tcp://no-port-here");
    DVT_TRUE(dvi_conn_dial(&n.loop, "tcp://127.0.0.1:99999", s_on_frame,
                           s_on_close, NULL) == NULL);
    DVT_CONTAINS(dv_last_error(), "port");
    DVT_TRUE(dvi_conn_dial(&n.loop, "udp://127.0.0.1:5", s_on_frame, s_on_close,
                           NULL) == NULL);
    DVT_CONTAINS(dv_last_error(), "unix:///PATH"); /* says what would do */
    DVT_TRUE(dvi_listen(&n.loop, "tcp://127.0.0.1:x", s_on_accept, s_on_frame,
                        s_on_close, &n, n.bound, sizeof(n.bound)) == NULL);

    /* A port nobody listens on any more: the dial fails asynchronously,
     * through on_close, with the system's reason. */
    s_listen(&n, "tcp://127.0.0.1:0");
    char addr[128];
    snprintf(addr, sizeof(addr), "%s", n.bound);
    dvi_listener_close(n.l);
    n.l = NULL;
    s_spin(&n, 5);
    s_dial(&n, addr);
    s_send_stored(n.client.c, 0);
    WAIT_FOR(&n, n.client.closed, 1);
    DVT_CONTAINS(n.client.why, "refused");
    DVT_TRUE(n.client.c == NULL);
    s_net_fini(&n);
}

static void
test_tcp_large_spliced_frame(void **state)
{
    /* A 6 MB blob spliced into a frame (the path of results served to
     * peers) arrives intact, both ways, after the messages around it. */
    s_net n;
    s_net_init(&n);
    s_listen(&n, "tcp://127.0.0.1:0");
    s_dial(&n, n.bound);
    dvi_blob *b = s_pattern_blob((size_t)6 << 20);
    s_send_stored(n.client.c, 0);
    s_send_blob(n.client.c, b);
    s_send_stored(n.client.c, 1);
    WAIT_FOR(&n, n.server.msgs, 3);
    DVT_EQ_I64(n.server.frames, 1);
    DVT_EQ_I64(n.server.data_len, b->len);
    DVT_TRUE(n.server.data_ok);
    DVT_EQ_I64(n.server.out_of_order, 0);
    s_send_blob(n.server.c, b);
    WAIT_FOR(&n, n.client.msgs, 1);
    DVT_EQ_I64(n.client.data_len, b->len);
    DVT_TRUE(n.client.data_ok);
    DVT_EQ_I64(dvi_conn_bytes_out(n.client.c), dvi_conn_bytes_in(n.server.c));
    s_net_fini(&n);
    /* Every reference the connections took was given back. */
    DVT_EQ_I64(atomic_load(&b->refs), 1);
    dvi_blob_rele(b);
}

/* ---- TCP host names ----------------------------------------------------- */

static void
test_tcp_dial_resolves_localhost(void **state)
{
    /* "localhost" goes through the asynchronous resolver; messages added
     * meanwhile wait, and still travel as one frame. */
    s_net n;
    s_net_init(&n);
    s_listen(&n, "tcp://127.0.0.1:0");
    char addr[128];
    snprintf(addr, sizeof(addr), "tcp://localhost:%d", s_port_of(n.bound));
    s_dial(&n, addr);
    DVT_EQ_STR(dvi_conn_peer(n.client.c), addr);
    for (uint64_t i = 0; i < 10; i++) {
        s_send_stored(n.client.c, i);
    }
    WAIT_FOR(&n, n.server.msgs, 10);
    DVT_EQ_I64(n.server.frames, 1);
    DVT_EQ_I64(n.server.out_of_order, 0);
    s_send_stored(n.server.c, 0);
    WAIT_FOR(&n, n.client.msgs, 1);
    DVT_EQ_I64(n.client.closed + n.server.closed, 0);

    /* Closing a conn while its name is being resolved is clean: no
     * callback, nothing left on the loop (s_net_fini checks). */
    dvi_conn *c = DVT_NOTNULL(
        dvi_conn_dial(&n.loop, addr, s_on_frame, s_on_close, &n.client));
    s_send_stored(c, 0);
    dvi_conn_close(c);
    s_spin(&n, 5);
    DVT_EQ_I64(n.client.closed, 0);
    DVT_EQ_I64(n.accepted, 1);
    s_net_fini(&n);
}

static void
test_tcp_dial_unresolvable_host(void **state)
{
    /* A name that cannot resolve (.invalid never does): the dial itself
     * succeeds without blocking, and on_close then names the address. */
    s_net n;
    s_net_init(&n);
    const char *addr = "tcp://no-such-host.invalid:5000";
    s_dial(&n, addr);
    s_send_stored(n.client.c, 0);
    WAIT_FOR_S(&n, n.client.closed, 1, RESOLVE_WAIT_S);
    DVT_CONTAINS(n.client.why, addr);
    DVT_CONTAINS(n.client.why, "resolve");
    DVT_TRUE(n.client.c == NULL);

    /* A name that resolves, to where nobody listens: every address is
     * tried, and the last refusal is the reason. */
    s_listen(&n, "tcp://127.0.0.1:0");
    char gone[128];
    snprintf(gone, sizeof(gone), "tcp://localhost:%d", s_port_of(n.bound));
    dvi_listener_close(n.l);
    n.l = NULL;
    s_spin(&n, 5);
    s_dial(&n, gone);
    WAIT_FOR(&n, n.client.closed, 2);
    DVT_CONTAINS(n.client.why, gone);
    DVT_CONTAINS(n.client.why, "refused");
    s_net_fini(&n);
}

/* ---- Unix sockets ------------------------------------------------------- */

/* A fresh directory for socket files, and "unix://DIR/NAME" in addr. */
static void
s_unix_addr(char *dir, char *addr, size_t size, const char *name)
{
    strcpy(dir, "/tmp/dvconn-XXXXXX");
    DVT_TRUE(mkdtemp(dir) != NULL);
    snprintf(addr, size, "unix://%s/%s", dir, name);
}

/* True when path exists and is a socket. */
static int
s_is_socket(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

static void
test_unix_frames_both_ways(void **state)
{
    char dir[64], addr[128];
    s_unix_addr(dir, addr, sizeof(addr), "sched.sock");
    const char *path = addr + strlen("unix://");
    s_net n;
    s_net_init(&n);
    s_listen(&n, addr);
    DVT_EQ_STR(n.bound, addr);
    DVT_TRUE(s_is_socket(path));
    struct stat st;
    DVT_EQ_I64(stat(path, &st), 0);
    DVT_EQ_I64(st.st_mode & 0777, 0600); /* only this user may connect */
    s_dial(&n, addr);

    for (uint64_t i = 0; i < 100; i++) {
        s_send_stored(n.client.c, i);
    }
    WAIT_FOR(&n, n.server.msgs, 100);
    DVT_EQ_I64(n.accepted, 1);
    DVT_EQ_I64(n.server.frames, 1);
    DVT_EQ_I64(n.server.out_of_order, 0);
    DVT_EQ_STR(dvi_conn_peer(n.server.c), addr);
    for (uint64_t i = 0; i < 50; i++) {
        s_send_stored(n.server.c, i);
    }
    WAIT_FOR(&n, n.client.msgs, 50);
    DVT_EQ_I64(n.client.frames, 1);

    /* A large spliced blob, both ways. */
    dvi_blob *b = s_pattern_blob((size_t)5 << 20);
    s_send_blob(n.client.c, b);
    WAIT_FOR(&n, n.server.msgs, 101);
    DVT_EQ_I64(n.server.data_len, b->len);
    DVT_TRUE(n.server.data_ok);
    s_send_blob(n.server.c, b);
    WAIT_FOR(&n, n.client.msgs, 51);
    DVT_EQ_I64(n.client.data_len, b->len);
    DVT_TRUE(n.client.data_ok);
    DVT_EQ_I64(dvi_conn_bytes_out(n.client.c), dvi_conn_bytes_in(n.server.c));
    DVT_EQ_I64(dvi_conn_bytes_out(n.server.c), dvi_conn_bytes_in(n.client.c));

    /* Closing the listener removes the socket file, and leaves the
     * connection it accepted working. */
    dvi_listener_close(n.l);
    n.l = NULL;
    DVT_TRUE(!s_is_socket(path));
    DVT_EQ_I64(access(path, F_OK), -1);
    s_send_stored(n.client.c, 100);
    WAIT_FOR(&n, n.server.msgs, 102);
    DVT_EQ_I64(n.server.out_of_order, 0);

    /* Closing one end delivers what it queued, then the other end hears. */
    s_send_stored(n.client.c, 101);
    dvi_conn_close(n.client.c);
    n.client.c = NULL;
    WAIT_FOR(&n, n.server.closed, 1);
    DVT_EQ_I64(n.server.msgs, 103);
    DVT_CONTAINS(n.server.why, "closed by peer");
    s_net_fini(&n);
    DVT_EQ_I64(atomic_load(&b->refs), 1);
    dvi_blob_rele(b);
    DVT_EQ_I64(rmdir(dir), 0); /* nothing left in it */
}

/* Leaves a socket file at path that nobody listens on, as a daemon that
 * crashed would. */
static void
s_stale_socket(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {0};
    sa.sun_family = AF_UNIX;
    DVT_LT_I64(strlen(path), sizeof(sa.sun_path));
    memcpy(sa.sun_path, path, strlen(path) + 1);
    DVT_EQ_I64(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(fd);
    DVT_TRUE(s_is_socket(path));
}

static void
test_unix_socket_files(void **state)
{
    char dir[64], addr[128];
    s_unix_addr(dir, addr, sizeof(addr), "d.sock");
    const char *path = addr + strlen("unix://");
    s_net n;
    s_net_init(&n);

    /* A stale socket file is replaced. */
    s_stale_socket(path);
    s_listen(&n, addr);
    s_dial(&n, addr);
    s_send_stored(n.client.c, 0);
    WAIT_FOR(&n, n.server.msgs, 1);

    /* A live one is not: the second listener is refused, and the first
     * still answers. */
    char other[128];
    DVT_TRUE(dvi_listen(&n.loop, addr, s_on_accept, s_on_frame, s_on_close, &n,
                        other, sizeof(other)) == NULL);
    DVT_CONTAINS(dv_last_error(), "in use");
    DVT_TRUE(s_is_socket(path));
    dvi_conn *c = DVT_NOTNULL(
        dvi_conn_dial(&n.loop, addr, s_on_frame, s_on_close, &n.client));
    dvi_conn_close(n.client.c);
    n.client.c = c;
    WAIT_FOR(&n, n.accepted, 2);

    /* Anything else at the path is left alone. */
    char file[128], faddr[160];
    snprintf(file, sizeof(file), "%s/plain", dir);
    snprintf(faddr, sizeof(faddr), "unix://%s", file);
    FILE *fp = fopen(file, "w");
    DVT_TRUE(fp != NULL);
    fclose(fp);
    DVT_TRUE(dvi_listen(&n.loop, faddr, s_on_accept, s_on_frame, s_on_close, &n,
                        other, sizeof(other)) == NULL);
    DVT_CONTAINS(dv_last_error(), "not a socket");
    DVT_EQ_I64(access(file, F_OK), 0);
    unlink(file);

    /* Paths must be absolute and fit a socket address. */
    DVT_TRUE(dvi_conn_dial(&n.loop, "unix://relative/d.sock", s_on_frame,
                           s_on_close, NULL) == NULL);
    DVT_CONTAINS(dv_last_error(), "ABSOLUTE");
    char longer[300];
    snprintf(longer, sizeof(longer), "unix:///tmp/%0200d", 0);
    DVT_TRUE(dvi_listen(&n.loop, longer, s_on_accept, s_on_frame, s_on_close,
                        &n, other, sizeof(other)) == NULL);
    DVT_CONTAINS(dv_last_error(), "longer");

    /* Nobody at a path: the dial fails through on_close, naming it. */
    char none[160];
    snprintf(none, sizeof(none), "unix://%s/none.sock", dir);
    dvi_conn_close(n.client.c);
    s_dial(&n, none);
    WAIT_FOR(&n, n.client.closed, 1);
    DVT_CONTAINS(n.client.why, none);
    s_net_fini(&n);
    DVT_EQ_I64(access(path, F_OK), -1);
    DVT_EQ_I64(rmdir(dir), 0);
}

/* ---- Socketpairs (process workers) -------------------------------------- */

static void
test_socketpair_fds(void **state)
{
    int fds[2];
    DVT_EQ_I64(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    s_net n;
    s_net_init(&n);
    n.client.c = DVT_NOTNULL(
        dvi_conn_from_fd(&n.loop, fds[0], s_on_frame, s_on_close, &n.client));
    n.server.c = DVT_NOTNULL(
        dvi_conn_from_fd(&n.loop, fds[1], s_on_frame, s_on_close, &n.server));
    char name[32];
    snprintf(name, sizeof(name), "fd %d", fds[0]);
    DVT_EQ_STR(dvi_conn_peer(n.client.c), name);
    for (uint64_t i = 0; i < 30; i++) {
        s_send_stored(n.client.c, i);
    }
    dvi_blob *b = s_pattern_blob((size_t)3 << 20);
    s_send_blob(n.server.c, b);
    WAIT_FOR(&n, n.server.msgs, 30);
    WAIT_FOR(&n, n.client.msgs, 1);
    DVT_EQ_I64(n.server.frames, 1);
    DVT_EQ_I64(n.server.out_of_order, 0);
    DVT_EQ_I64(n.client.data_len, b->len);
    DVT_TRUE(n.client.data_ok);
    dvi_conn_close(n.server.c);
    n.server.c = NULL;
    WAIT_FOR(&n, n.client.closed, 1);
    DVT_CONTAINS(n.client.why, "closed by peer");
    s_net_fini(&n);
    dvi_blob_rele(b);

    /* A descriptor that is no socket at all is refused at once. */
    s_net_init(&n);
    DVT_TRUE(dvi_conn_from_fd(&n.loop, -1, s_on_frame, s_on_close, NULL) ==
             NULL);
    DVT_CONTAINS(dv_last_error(), "fd -1");
    s_net_fini(&n);
}

/* ---- Every transport ---------------------------------------------------- */

static void
s_take_frame_over(const char *addr)
{
    /* A receiver that takes a frame keeps its bytes after the callback,
     * while the input after it (the rest of the frame, and the next
     * frame) is still delivered. */
    s_net n;
    s_net_init(&n);
    n.server.take = 1;
    s_listen(&n, addr);
    s_dial(&n, n.bound);
    dvi_blob *b = s_pattern_blob((size_t)1 << 20);
    s_send_stored(n.client.c, 0);
    s_send_blob(n.client.c, b);
    s_send_stored(n.client.c, 1);
    dvi_conn_flush(n.client.c);
    for (uint64_t i = 2; i < 20; i++) {
        s_send_stored(n.client.c, i);
    }
    WAIT_FOR(&n, n.server.msgs, 21);
    DVT_EQ_I64(n.server.frames, 2);
    DVT_EQ_I64(n.server.out_of_order, 0);
    DVT_TRUE(n.server.kept != NULL);
    DVT_TRUE(n.server.kept_in_place);
    DVT_TRUE(dvi_blob_is_adopted(n.server.kept));
    DVT_TRUE(!n.server.took_twice);
    DVT_EQ_I64(n.server.kept->len, b->len);
    DVT_TRUE(memcmp(n.server.kept->data, b->data, b->len) == 0);
    dvi_blob_rele(n.server.kept);
    s_net_fini(&n);
    dvi_blob_rele(b);
}

static void
test_take_frame_every_transport(void **state)
{
    s_take_frame_over("tcp://127.0.0.1:0");
    char dir[64], addr[128];
    s_unix_addr(dir, addr, sizeof(addr), "take.sock");
    s_take_frame_over(addr);
    DVT_EQ_I64(rmdir(dir), 0);
    snprintf(addr, sizeof(addr), "inproc://conn-take-%d", (int)getpid());
    s_take_frame_over(addr);
}

/* ---- inproc ------------------------------------------------------------- */

static void
test_inproc_pair(void **state)
{
    s_net n;
    s_net_init(&n);
    char addr[64];
    snprintf(addr, sizeof(addr), "inproc://conn-test-%d", (int)getpid());
    s_listen(&n, addr);
    DVT_EQ_STR(n.bound, addr);

    /* The name is taken while the listener lives. */
    char other[128];
    DVT_TRUE(dvi_listen(&n.loop, addr, s_on_accept, s_on_frame, s_on_close, &n,
                        other, sizeof(other)) == NULL);
    DVT_CONTAINS(dv_last_error(), "in use");
    /* Nothing listens on another name. */
    DVT_TRUE(dvi_conn_dial(&n.loop, "inproc://nobody-here", s_on_frame,
                           s_on_close, NULL) == NULL);
    DVT_CONTAINS(dv_last_error(), "nothing listens");

    s_dial(&n, addr);
    DVT_EQ_I64(n.accepted, 1); /* accepted at once, on the same loop */
    for (uint64_t i = 0; i < 100; i++) {
        s_send_stored(n.client.c, i);
    }
    WAIT_FOR(&n, n.server.msgs, 100);
    DVT_EQ_I64(n.server.frames, 1);
    DVT_EQ_I64(n.server.out_of_order, 0);
    for (uint64_t i = 0; i < 20; i++) {
        s_send_stored(n.server.c, i);
    }
    WAIT_FOR(&n, n.client.msgs, 20);
    DVT_EQ_I64(n.client.frames, 1);
    for (uint64_t i = 100; i < 103; i++) {
        s_send_stored(n.client.c, i);
    }
    WAIT_FOR(&n, n.server.msgs, 103);
    DVT_EQ_I64(n.server.frames, 2);
    DVT_EQ_I64(dvi_conn_bytes_out(n.client.c), dvi_conn_bytes_in(n.server.c));

    /* Closing one end flushes its last messages, then the other end is
     * told the peer went away. */
    s_send_stored(n.client.c, 103);
    dvi_conn_close(n.client.c);
    n.client.c = NULL;
    WAIT_FOR(&n, n.server.closed, 1);
    DVT_EQ_I64(n.server.msgs, 104);
    DVT_EQ_I64(n.server.out_of_order, 0);
    DVT_CONTAINS(n.server.why, "closed by peer");
    DVT_EQ_I64(n.client.closed, 0);

    /* Once the listener is closed the name is free again. */
    dvi_listener_close(n.l);
    n.l = NULL;
    s_listen(&n, addr);
    s_net_fini(&n);
}

static void
test_inproc_other_loop_refused(void **state)
{
    s_net a, b;
    s_net_init(&a);
    s_net_init(&b);
    char addr[64];
    snprintf(addr, sizeof(addr), "inproc://conn-loop-%d", (int)getpid());
    s_listen(&a, addr);
    DVT_TRUE(dvi_conn_dial(&b.loop, addr, s_on_frame, s_on_close, NULL) ==
             NULL);
    DVT_CONTAINS(dv_last_error(), "another loop");
    DVT_EQ_I64(a.accepted, 0);
    s_net_fini(&b);
    s_net_fini(&a);
}

static void
test_inproc_garbage_closes(void **state)
{
    /* A frame that fails on_frame closes the receiving end with the
     * decoder's reason; the sender is told the peer went away. */
    s_net n;
    s_net_init(&n);
    char addr[64];
    snprintf(addr, sizeof(addr), "inproc://conn-bad-%d", (int)getpid());
    s_listen(&n, addr);
    s_dial(&n, addr);
    /* A STORED message with one field (it needs two). */
    msgpack_packer *pk =
        dvi_outbox_msg(dvi_conn_outbox(n.client.c), DVI_MSG_STORED, 1);
    dvi_pack_str(pk, "k");
    WAIT_FOR(&n, n.server.closed, 1);
    DVT_CONTAINS(n.server.why, "STORED");
    WAIT_FOR(&n, n.client.closed, 1);
    DVT_CONTAINS(n.client.why, "closed by peer");
    s_net_fini(&n);
}

static void
s_by_reference(int refs)
{
    s_net n;
    s_net_init(&n);
    n.server.refs = refs;
    n.server.take = 1;
    char addr[64];
    snprintf(addr, sizeof(addr), "inproc://conn-refs-%d", (int)getpid());
    s_listen(&n, addr);
    s_dial(&n, addr);
    dvi_blob *b = s_pattern_blob(((size_t)1 << 20) + 3);
    s_send_stored(n.client.c, 0);
    s_send_blob(n.client.c, b);
    s_send_stored(n.client.c, 1);
    WAIT_FOR(&n, n.server.msgs, 3);
    DVT_EQ_I64(n.server.frames, 1);
    DVT_EQ_I64(n.server.out_of_order, 0);
    DVT_TRUE(n.server.data_ok);
    DVT_EQ_I64(n.server.data_len, b->len);
    DVT_TRUE(n.server.kept != NULL);
    /* By reference, the receiver keeps the sender's very blob; else it
     * keeps the bytes where they landed in the frame. */
    DVT_EQ_I64(n.server.kept == b, refs);
    DVT_EQ_I64(dvi_blob_is_adopted(n.server.kept), !refs);
    DVT_TRUE(memcmp(n.server.kept->data, b->data, b->len) == 0);
    DVT_EQ_I64(dvi_conn_bytes_out(n.client.c), dvi_conn_bytes_in(n.server.c));
    dvi_blob_rele(n.server.kept);
    s_net_fini(&n);
    /* Every other reference was given back. */
    DVT_EQ_I64(atomic_load(&b->refs), 1);
    dvi_blob_rele(b);
}

static void
test_inproc_blobs_by_reference(void **state)
{
    /* A receiver that reads blobs by reference gets a blob spliced into a
     * frame by a peer in this process as that blob: not one byte copied.
     * One that does not gets its bytes, as from a socket. */
    s_by_reference(1);
    s_by_reference(0);
}

/* ---- Handshakes --------------------------------------------------------- */

static void
test_handshake_frame_limit(void **state)
{
    /* Before its handshake a connection may send frames of 64 KiB at
     * most: a larger one, even the 1 GiB any peer may send afterwards, is
     * refused from its header alone. */
    s_net n;
    s_net_init(&n);
    n.awaiting = 1;
    s_listen(&n, "tcp://127.0.0.1:0");
    int fd = s_raw_connect(s_port_of(n.bound));
    size_t cap = DVI_HANDSHAKE_FRAME_MAX + 64;
    char *frame = malloc(cap);
    size_t flen = s_raw_frame(frame, DVI_HANDSHAKE_FRAME_MAX, 0);
    s_raw_write(fd, frame, flen);
    WAIT_FOR(&n, n.server.msgs, 1);
    flen = s_raw_frame(frame, DVI_HANDSHAKE_FRAME_MAX + 1, 1);
    s_raw_write(fd, frame, flen);
    WAIT_FOR(&n, n.server.closed, 1);
    DVT_CONTAINS(n.server.why, "65537 bytes > max 65536 before the handshake");
    DVT_EQ_I64(n.server.err, DV_EPROTO);
    DVT_TRUE(s_raw_closed_by_peer(fd));
    close(fd);

    fd = s_raw_connect(s_port_of(n.bound));
    s_raw_write(fd, "\x40\x00\x00\x00", 4); /* 1 GiB, and nothing more */
    WAIT_FOR(&n, n.server.closed, 2);
    DVT_CONTAINS(n.server.why, "1073741824 bytes");
    DVT_TRUE(s_raw_closed_by_peer(fd));
    close(fd);

    /* Once a first frame ends the handshake, the ordinary limit holds
     * from the very next frame, though both came in one write. */
    n.server.shake = 1;
    n.server.msgs = 0;
    n.server.next_seq = 0;
    fd = s_raw_connect(s_port_of(n.bound));
    size_t big = 17 + 65535; /* the largest s_raw_frame, over 64 KiB */
    char *two = malloc(8 + 64 + big);
    size_t a = s_raw_frame(two, 64, 0);
    size_t b = s_raw_frame(two + a, big, 1);
    s_raw_write(fd, two, a + b);
    WAIT_FOR(&n, n.server.msgs, 2);
    DVT_EQ_I64(n.server.closed, 2);
    DVT_EQ_I64(n.server.out_of_order, 0);
    DVT_EQ_I64(dvi_listener_pending(n.l), 0);
    close(fd);
    WAIT_FOR(&n, n.server.closed, 3);
    free(two);
    free(frame);
    s_net_fini(&n);
}

static void
test_handshake_deadline(void **state)
{
    /* A connection that says nothing is closed at its deadline, with the
     * reason; one that completed its handshake is never. */
    s_net n;
    s_net_init(&n);
    n.awaiting = 1;
    n.server.shake = 1;
    s_listen(&n, "tcp://127.0.0.1:0");
    dvi_handshake_limits lim = {200, 8, 8};
    dvi_listener_set_handshake(n.l, &lim);
    s_dial(&n, n.bound);
    s_send_stored(n.client.c, 0);
    WAIT_FOR(&n, n.server.msgs, 1);
    dvi_conn *established = n.server.c;
    int fd = s_raw_connect(s_port_of(n.bound));
    WAIT_FOR(&n, n.accepted, 2);
    DVT_EQ_I64(dvi_listener_pending(n.l), 1);
    WAIT_FOR(&n, n.server.closed, 1);
    DVT_CONTAINS(n.server.why, "no handshake within 0.2 s");
    DVT_EQ_I64(n.server.err, DV_ETIMEDOUT);
    DVT_TRUE(s_raw_closed_by_peer(fd));
    close(fd);
    DVT_EQ_I64(dvi_listener_pending(n.l), 0);
    /* Well past the deadline, the established connection still works. */
    s_spin(&n, 300);
    s_send_stored(n.client.c, 1);
    WAIT_FOR(&n, n.server.msgs, 2);
    DVT_EQ_I64(n.server.closed, 1);
    DVT_EQ_I64(n.client.closed, 0);
    n.server.c = established;
    s_net_fini(&n);
}

static void
test_handshake_caps(void **state)
{
    /* Silent connections over the limits (3 from one address, 5 in all)
     * close the oldest silent ones: the newest always gets its chance,
     * and an established connection is never touched. */
    s_net n;
    s_net_init(&n);
    n.awaiting = 1;
    n.server.shake = 1;
    s_listen(&n, "tcp://127.0.0.1:0");
    dvi_handshake_limits lim = {60000, 3, 5};
    dvi_listener_set_handshake(n.l, &lim);
    s_dial(&n, n.bound);
    s_send_stored(n.client.c, 0);
    WAIT_FOR(&n, n.server.msgs, 1);
    int fds[8];
    for (int i = 0; i < 8; i++) {
        fds[i] = s_raw_connect(s_port_of(n.bound));
        WAIT_FOR(&n, n.accepted, 2 + i);
    }
    WAIT_FOR(&n, n.server.closed, 5);
    DVT_EQ_I64(dvi_listener_pending(n.l), 3);
    DVT_CONTAINS(n.server.why, "over 3 connections from tcp://127.0.0.1");
    DVT_EQ_I64(n.server.err, DV_ELIMIT);
    for (int i = 0; i < 5; i++) {
        DVT_TRUE(s_raw_closed_by_peer(fds[i]));
    }
    s_send_stored(n.client.c, 1);
    WAIT_FOR(&n, n.server.msgs, 2);
    DVT_EQ_I64(n.client.closed, 0);
    /* The newest silent ones are still there: a HELLO now gets through. */
    char frame[64];
    size_t flen = s_raw_frame(frame, 40, 2);
    s_raw_write(fds[7], frame, flen);
    WAIT_FOR(&n, n.server.msgs, 3);
    DVT_EQ_I64(n.server.closed, 5);
    for (int i = 0; i < 8; i++) {
        close(fds[i]);
    }
    dvi_conn_close(n.client.c);
    n.client.c = NULL;
    WAIT_FOR(&n, n.server.closed, n.accepted);
    s_net_fini(&n);
}

static void
test_peer_speaking_another_protocol(void **state)
{
    /* A dialled port that answers in text (an SSH server) is named for
     * what it is, not as a 1.3 GB frame. */
    s_net n;
    s_net_init(&n);
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {0};
    socklen_t salen = sizeof(sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    DVT_EQ_I64(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    DVT_EQ_I64(listen(lfd, 4), 0);
    DVT_EQ_I64(getsockname(lfd, (struct sockaddr *)&sa, &salen), 0);
    char addr[64];
    snprintf(addr, sizeof(addr), "tcp://127.0.0.1:%d", ntohs(sa.sin_port));
    s_dial(&n, addr);
    int fd = accept(lfd, NULL, NULL);
    DVT_TRUE(fd >= 0);
    s_raw_write(fd, "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n", 32);
    WAIT_FOR(&n, n.client.closed, 1);
    DVT_CONTAINS(n.client.why, "does not speak drove's protocol");
    DVT_CONTAINS(n.client.why, "\"SSH-2.0-OpenSSH_9.2p1 Debian-2\"");
    DVT_EQ_I64(n.client.err, DV_EPROTO);
    close(fd);
    close(lfd);

    /* A browser at a listener, before any handshake. */
    n.awaiting = 1;
    s_listen(&n, "tcp://127.0.0.1:0");
    fd = s_raw_connect(s_port_of(n.bound));
    s_raw_write(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27);
    WAIT_FOR(&n, n.server.closed, 1);
    DVT_CONTAINS(n.server.why, "it sent \"GET / HTTP/1.1\"");
    close(fd);
    s_net_fini(&n);
}

int
main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tcp_batches_one_frame_per_turn),
        cmocka_unit_test(test_tcp_large_frame),
        cmocka_unit_test(test_tcp_oversize_length_closes),
        cmocka_unit_test(test_tcp_max_frame_is_exact),
        cmocka_unit_test(test_tcp_max_frame_between_conns),
        cmocka_unit_test(test_tcp_reassembles_split_frames),
        cmocka_unit_test(test_tcp_large_frame_in_pieces),
        cmocka_unit_test(test_tcp_truncated_frame_then_eof),
        cmocka_unit_test(test_tcp_garbage_payload_closes),
        cmocka_unit_test(test_tcp_close_flushes),
        cmocka_unit_test(test_tcp_dial_errors),
        cmocka_unit_test(test_tcp_large_spliced_frame),
        cmocka_unit_test(test_tcp_dial_resolves_localhost),
        cmocka_unit_test(test_tcp_dial_unresolvable_host),
        cmocka_unit_test(test_unix_frames_both_ways),
        cmocka_unit_test(test_unix_socket_files),
        cmocka_unit_test(test_socketpair_fds),
        cmocka_unit_test(test_take_frame_every_transport),
        cmocka_unit_test(test_inproc_pair),
        cmocka_unit_test(test_inproc_other_loop_refused),
        cmocka_unit_test(test_inproc_garbage_closes),
        cmocka_unit_test(test_inproc_blobs_by_reference),
        cmocka_unit_test(test_handshake_frame_limit),
        cmocka_unit_test(test_handshake_deadline),
        cmocka_unit_test(test_handshake_caps),
        cmocka_unit_test(test_peer_speaking_another_protocol),
    };
    return cmocka_run_group_tests_name("conn", tests, NULL, NULL);
}
