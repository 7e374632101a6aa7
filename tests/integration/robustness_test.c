/* drove — integration: a scheduler facing bad input on its TCP port.
 *
 * A raw TCP client, speaking the wire format directly (docs/protocol.md: a
 * frame is a 4-byte big-endian payload length and a msgpack array of
 * messages; each message is an array whose first element is its type; the
 * first message of a connection is HELLO [1, version, role, id, threads,
 * addr]),
 * sends an oversize length, garbage msgpack, a truncated frame, a HELLO of
 * another protocol version, and garbage after a good HELLO. Each time the
 * scheduler must drop that connection, stay up, and keep serving a
 * well-behaved client, already connected or new, which runs a small map.
 * A control case checks that the raw client's HELLO is otherwise right:
 * with the right version the scheduler answers WELCOME and keeps the
 * connection open. A worker's peer port (which other workers fetch
 * results from) gets the same treatment.
 *
 * Before its HELLO a connection is nobody: it may not make the scheduler
 * buffer a frame of 1 GiB (the limit for peers), and a crowd of silent
 * connections, on a scheduler allowed only 128 file descriptors, must
 * not keep a real client out.
 *
 * TLS would refuse all of these bytes before the framer saw them
 * (security_test shows that): this test speaks plain TCP on loopback with
 * the test-only switch, to show that even an authenticated peer cannot
 * break the framer or the scheduler behind it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <msgpack.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "dvt_funcs.h"
#include "dvt_wire.h" /* DVT_PROTOCOL_VERSION */
#include "dvtest.h"

#define MSG_HELLO 1
#define MSG_WELCOME 2
#define MSG_BYE 24
#define ROLE_CLIENT 1

static dvt_cluster s_cl;
static dv_client *s_client; /* connected before any bad input */
static dvt_proc *s_peer;    /* worker "wp", serving peers on s_peer_port */
static int s_peer_port;

/* Connects to 127.0.0.1:port; port 0 means the scheduler's. */
static int
s_raw_connect_port(int port)
{
    if (port == 0) {
        port = atoi(strrchr(s_cl.addr, ':') + 1);
    }
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    DVT_TRUE(fd >= 0);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        DVT_FAIL("connect to 127.0.0.1:%d: %s", port, strerror(errno));
    }
    return fd;
}

static int
s_raw_connect(void)
{
    return s_raw_connect_port(0);
}

/* A TCP port that was free a moment ago, for a worker's --listen. */
static int
s_free_port(void)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    close(fd);
    return ntohs(sa.sin_port);
}

static void
s_send_all(int fd, const void *p, size_t n)
{
    const char *b = p;
    while (n > 0) {
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w < 0) {
            /* The scheduler may close before we finish: that is its
             * right, and what the caller checks next. */
            return;
        }
        b += w;
        n -= (size_t)w;
    }
}

static void
s_send_frame(int fd, const void *payload, size_t n)
{
    unsigned char len[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16),
                            (unsigned char)(n >> 8), (unsigned char)n};
    s_send_all(fd, len, 4);
    s_send_all(fd, payload, n);
}

/* Sends a frame holding one HELLO of the given protocol version. */
static void
s_send_hello(int fd, int version)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 1);
    msgpack_pack_array(&pk, 6);
    msgpack_pack_int(&pk, MSG_HELLO);
    msgpack_pack_int(&pk, version);
    msgpack_pack_int(&pk, ROLE_CLIENT);
    msgpack_pack_str(&pk, 7);
    msgpack_pack_str_body(&pk, "dvt-raw", 7);
    msgpack_pack_int(&pk, 0);
    msgpack_pack_nil(&pk); /* no peer address: not a worker */
    s_send_frame(fd, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
}

/* Reads until the peer closes, for up to timeout_s. Returns 0 if it closed
 * (EOF or reset), DV_ETIMEDOUT if it kept the connection open. */
static int
s_wait_closed(int fd, double timeout_s)
{
    double deadline = dvt_now() + timeout_s;
    char buf[4096];

    for (;;) {
        int ms = (int)((deadline - dvt_now()) * 1000);
        if (ms <= 0) {
            return DV_ETIMEDOUT;
        }
        struct pollfd pfd = {fd, POLLIN, 0};
        int r = poll(&pfd, 1, ms);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            return DV_ETIMEDOUT;
        }
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
            return 0;
        }
    }
}

/* Reads one frame (up to 64 KiB) within timeout_s; returns the type of its
 * first message, or -1. */
static int
s_read_first_type(int fd, double timeout_s)
{
    double deadline = dvt_now() + timeout_s;
    static char buf[65536];
    size_t have = 0, need = 4;

    while (have < need) {
        int ms = (int)((deadline - dvt_now()) * 1000);
        struct pollfd pfd = {fd, POLLIN, 0};
        if (ms <= 0 || poll(&pfd, 1, ms) <= 0) {
            return -1;
        }
        ssize_t n = recv(fd, buf + have, need - have, 0);
        if (n <= 0) {
            return -1;
        }
        have += (size_t)n;
        if (have == 4 && need == 4) {
            const unsigned char *u = (const unsigned char *)buf;
            need = 4 + (((size_t)u[0] << 24) | ((size_t)u[1] << 16) |
                        ((size_t)u[2] << 8) | u[3]);
            if (need > sizeof(buf)) {
                return -1;
            }
        }
    }
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    int type = -1;
    if (msgpack_unpack_next(&up, buf + 4, need - 4, NULL) ==
            MSGPACK_UNPACK_SUCCESS &&
        up.data.type == MSGPACK_OBJECT_ARRAY && up.data.via.array.size > 0) {
        const msgpack_object *m = &up.data.via.array.ptr[0];
        if (m->type == MSGPACK_OBJECT_ARRAY && m->via.array.size > 0 &&
            m->via.array.ptr[0].type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
            type = (int)m->via.array.ptr[0].via.u64;
        }
    }
    msgpack_unpacked_destroy(&up);
    return type;
}

/* The scheduler is up and serves both the old and a new client. */
static void
s_still_serving(const char *after)
{
    enum { N = 50 };
    dv_arg args[N];
    dv_future *out[N];

    if (!dvt_proc_alive(s_cl.sched)) {
        DVT_FAIL("the scheduler died after %s", after);
    }
    dv_client *fresh = DVT_NOTNULL(dvt_connect(s_cl.addr));
    dv_client *cs[2] = {s_client, fresh};
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < N; i++) {
            args[i] = dv_i64(i * 7 + k);
        }
        DVT_EQ_I64(dv_map(cs[k], "inc", N, args, out, NULL), N);
        for (int i = 0; i < N; i++) {
            DVT_EQ_I64(DVT_RESULT_I64(out[i], 30.0), i * 7 + k + 1);
        }
        dvt_release_all(out, N);
    }
    dv_close(fresh);
}

static void
test_control_good_hello_is_welcomed(void **state)
{
    int fd = s_raw_connect();
    s_send_hello(fd, DVT_PROTOCOL_VERSION);
    DVT_EQ_I64(s_read_first_type(fd, 10.0), MSG_WELCOME);
    /* And the connection stays open. */
    DVT_EQ_I64(s_wait_closed(fd, 0.3), DV_ETIMEDOUT);
    close(fd);
    s_still_serving("a good raw HELLO");
}

static void
test_oversize_frame(void **state)
{
    int fd = s_raw_connect();
    const unsigned char frame[] = {0xff, 0xff, 0xff, 0xf0, 0x91, 0x95, 0x01};
    s_send_all(fd, frame, sizeof(frame));
    DVT_EQ_I64(s_wait_closed(fd, 10.0), 0);
    close(fd);
    s_still_serving("an oversize frame");
}

static void
test_garbage_msgpack(void **state)
{
    /* 0xc1 is never valid msgpack. */
    int fd = s_raw_connect();
    unsigned char junk[64];
    memset(junk, 0xc1, sizeof(junk));
    s_send_frame(fd, junk, sizeof(junk));
    DVT_EQ_I64(s_wait_closed(fd, 10.0), 0);
    close(fd);

    /* An array claiming 4 billion elements, in 5 bytes. */
    fd = s_raw_connect();
    const unsigned char huge[] = {0xdd, 0xff, 0xff, 0xff, 0xff};
    s_send_frame(fd, huge, sizeof(huge));
    DVT_EQ_I64(s_wait_closed(fd, 10.0), 0);
    close(fd);

    /* Arrays nested 100,000 deep: a recursive decoder would overflow its
     * stack. */
    fd = s_raw_connect();
    static unsigned char deep[100000];
    memset(deep, 0x91, sizeof(deep));
    s_send_frame(fd, deep, sizeof(deep));
    DVT_EQ_I64(s_wait_closed(fd, 10.0), 0);
    close(fd);

    /* Well-formed msgpack that is not an array of messages. */
    fd = s_raw_connect();
    const unsigned char notmsgs[] = {0xa5, 'h', 'e', 'l', 'l', 'o'};
    s_send_frame(fd, notmsgs, sizeof(notmsgs));
    DVT_EQ_I64(s_wait_closed(fd, 10.0), 0);
    close(fd);
    s_still_serving("garbage msgpack");
}

static void
test_truncated_frame(void **state)
{
    /* Announces 100 bytes, sends 10 and goes away. */
    int fd = s_raw_connect();
    const unsigned char part[] = {0x00, 0x00, 0x00, 0x64, 0x91, 0x95, 0x01,
                                  0x01, 0x01, 0xa3, 'a',  'b',  'c',  0x00};
    s_send_all(fd, part, sizeof(part));
    dvt_sleep(0.1);
    close(fd);
    /* Connects and leaves without a word. */
    fd = s_raw_connect();
    close(fd);
    s_still_serving("a truncated frame");
}

static void
test_wrong_protocol_version(void **state)
{
    int fd = s_raw_connect();
    s_send_hello(fd, DVT_PROTOCOL_VERSION + 9999);
    DVT_EQ_I64(s_wait_closed(fd, 10.0), 0);
    close(fd);
    s_still_serving("a HELLO of another protocol version");
}

static void
test_garbage_after_hello(void **state)
{
    int fd = s_raw_connect();
    s_send_hello(fd, DVT_PROTOCOL_VERSION);
    DVT_EQ_I64(s_read_first_type(fd, 10.0), MSG_WELCOME);
    /* A message type that does not exist, then a SUBMIT with no fields. */
    const unsigned char unknown[] = {0x91, 0x91, 0x7f};
    s_send_frame(fd, unknown, sizeof(unknown));
    DVT_EQ_I64(s_wait_closed(fd, 10.0), 0);
    close(fd);

    fd = s_raw_connect();
    s_send_hello(fd, DVT_PROTOCOL_VERSION);
    DVT_EQ_I64(s_read_first_type(fd, 10.0), MSG_WELCOME);
    const unsigned char bare_submit[] = {0x91, 0x91, 0x03};
    s_send_frame(fd, bare_submit, sizeof(bare_submit));
    DVT_EQ_I64(s_wait_closed(fd, 10.0), 0);
    close(fd);
    s_still_serving("bad messages after a good HELLO");
}

/* Worker wp is up and runs a task pinned to it. */
static void
s_peer_still_serving(const char *after)
{
    if (!dvt_proc_alive(s_peer)) {
        DVT_FAIL("worker wp died after %s on its peer port", after);
    }
    dv_opts opts = DV_OPTS_INIT;
    opts.worker = "wp";
    dv_future *f = DVT_NOTNULL(dv_submit(s_client, "whoami", 0, NULL, &opts));
    DVT_EQ_STR(dv_value_str(DVT_RESULT(f, 30.0), NULL), "wp");
    dv_release(f);
}

static void
test_worker_peer_port(void **state)
{
    /* A worker's peer port takes connections from other workers: it must
     * withstand the same bad input as the scheduler. */
    int fd = s_raw_connect_port(s_peer_port);
    const unsigned char big[] = {0xff, 0xff, 0xff, 0xf0, 0x91, 0x95, 0x01};
    s_send_all(fd, big, sizeof(big));
    DVT_EQ_I64(s_wait_closed(fd, 10.0), 0);
    close(fd);
    s_peer_still_serving("an oversize frame");

    fd = s_raw_connect_port(s_peer_port);
    unsigned char junk[64];
    memset(junk, 0xc1, sizeof(junk));
    s_send_frame(fd, junk, sizeof(junk));
    DVT_EQ_I64(s_wait_closed(fd, 10.0), 0);
    close(fd);
    s_peer_still_serving("garbage msgpack");

    fd = s_raw_connect_port(s_peer_port);
    static unsigned char deep[100000];
    memset(deep, 0x91, sizeof(deep));
    s_send_frame(fd, deep, sizeof(deep));
    DVT_EQ_I64(s_wait_closed(fd, 10.0), 0);
    close(fd);
    s_peer_still_serving("arrays nested 100,000 deep");

    fd = s_raw_connect_port(s_peer_port);
    s_send_hello(fd, DVT_PROTOCOL_VERSION + 9999);
    DVT_EQ_I64(s_wait_closed(fd, 10.0), 0);
    close(fd);
    s_peer_still_serving("a HELLO of another protocol version");

    fd = s_raw_connect_port(s_peer_port);
    const unsigned char part[] = {0x00, 0x00, 0x01, 0x00, 0x91, 0x91};
    s_send_all(fd, part, sizeof(part));
    close(fd);
    s_peer_still_serving("a truncated frame");
}

/* Sends a frame header announcing 1 GiB (the most any peer may send once
 * known), then 256 KiB of its bytes: before a HELLO the connection must
 * be closed from the header alone. Returns 0 if it was, within 10 s. */
static int
s_gib_before_hello(int port)
{
    int fd = s_raw_connect_port(port);
    const unsigned char hdr[] = {0x40, 0x00, 0x00, 0x00};
    s_send_all(fd, hdr, sizeof(hdr));
    static char body[256 * 1024];
    memset(body, 0x90, sizeof(body));
    s_send_all(fd, body, sizeof(body));
    int rc = s_wait_closed(fd, 10.0);
    close(fd);
    return rc;
}

static void
test_gib_frame_before_hello(void **state)
{
    DVT_EQ_I64(s_gib_before_hello(0), 0);
    s_still_serving("a 1 GiB frame before HELLO");
    DVT_EQ_I64(s_gib_before_hello(s_peer_port), 0);
    s_peer_still_serving("a 1 GiB frame before HELLO");
}

/* Counts the fds of n that the peer has closed (EOF or reset), waiting up
 * to timeout_s for at least want of them. */
static int
s_count_closed(const int *fds, int n, int want, double timeout_s)
{
    double deadline = dvt_now() + timeout_s;
    int closed;
    for (;;) {
        closed = 0;
        for (int i = 0; i < n; i++) {
            struct pollfd pfd = {fds[i], POLLIN, 0};
            char c;
            if (poll(&pfd, 1, 0) == 1 &&
                recv(fds[i], &c, 1, MSG_PEEK | MSG_DONTWAIT) <= 0) {
                closed++;
            }
        }
        if (closed >= want || dvt_now() > deadline) {
            return closed;
        }
        dvt_sleep(0.05);
    }
}

static void
test_silent_crowd(void **state)
{
    /* A scheduler allowed 128 file descriptors, one worker, and 200
     * connections that never send HELLO: a real client still gets in and
     * runs tasks, the worker keeps working, and the silent connections
     * over the limit (64 from one address) are closed. */
    char *sargv[] = {"/bin/sh", "-c",
                     "ulimit -n 128 && exec \"$0\" scheduler --address "
                     "tcp://127.0.0.1:0 --profile crowd",
                     (char *)dvt_drove_bin(), NULL};
    dvt_proc *sched = DVT_NOTNULL(dvt_spawn("crowd-scheduler", sargv));
    char addr[128];
    DVT_PASS(dvt_proc_read_line(sched, addr, sizeof(addr), 20.0));
    char *wargv[] = {(char *)dvt_drove_bin(),
                     "worker",
                     "--scheduler",
                     addr,
                     "--threads",
                     "1",
                     "--name",
                     "wc",
                     NULL};
    dvt_proc *worker = DVT_NOTNULL(dvt_spawn("crowd-worker", wargv));
    dv_client *first = DVT_NOTNULL(dvt_connect(addr));
    double deadline = dvt_now() + 20.0;
    while (dv_nworkers(first) < 1 && dvt_now() < deadline) {
        dvt_sleep(0.02);
    }
    DVT_EQ_I64(dv_nworkers(first), 1);
    dv_close(first);

    enum { CROWD = 200 };
    static int fds[CROWD];
    int port = atoi(strrchr(addr, ':') + 1);
    for (int i = 0; i < CROWD; i++) {
        fds[i] = s_raw_connect_port(port);
    }
    dv_client *c = DVT_NOTNULL(dvt_connect(addr));
    DVT_EQ_I64(dv_nworkers(c), 1);
    dv_future *f = DVT_NOTNULL(DV_SUBMIT(c, "inc", dv_i64(41)));
    DVT_EQ_I64(DVT_RESULT_I64(f, 30.0), 42);
    dv_release(f);
    dv_close(c);
    int closed = s_count_closed(fds, CROWD, CROWD - 64, 20.0);
    fprintf(stderr, "robustness_test: %d of %d silent connections closed\n",
            closed, CROWD);
    DVT_GE_I64(closed, CROWD - 64);
    for (int i = 0; i < CROWD; i++) {
        close(fds[i]);
    }
    char *log = dvt_proc_log(sched);
    DVT_CONTAINS(log, "without a handshake");
    free(log);
    dvt_proc_kill(worker);
    dvt_proc_kill(sched);
}

static int
s_setup(void **state)
{
    s_client = dvt_connect(s_cl.addr);
    if (s_client == NULL) {
        return -1;
    }
    /* Wait for wp too (the cluster's own worker is already there). */
    double deadline = dvt_now() + 20.0;
    while (dv_nworkers(s_client) < 2 && dvt_now() < deadline) {
        dvt_sleep(0.02);
    }
    if (dv_nworkers(s_client) < 2) {
        fprintf(stderr, "robustness_test: worker wp did not join\n");
        dvt_proc_dump_log(s_peer);
        return -1;
    }
    return 0;
}

static int
s_teardown(void **state)
{
    dv_close(s_client);
    s_client = NULL;
    return 0;
}

int
main(void)
{
    dvt_init(170);
    setenv("DROVE_TEST_PLAINTEXT", "1", 1); /* before any process starts */
    (void)dvt_funcs_anchor();               /* keeps libdvt_funcs.so linked */
    if (dvt_cluster_start(&s_cl, 1, 1) != 0) {
        fprintf(stderr, "robustness_test: the cluster did not start\n");
        return dvt_finish(1);
    }
    char listen[64];
    s_peer_port = s_free_port();
    snprintf(listen, sizeof(listen), "tcp://127.0.0.1:%d", s_peer_port);
    char *wargv[] = {(char *)dvt_drove_bin(),
                     "worker",
                     "--scheduler",
                     s_cl.addr,
                     "--threads",
                     "1",
                     "--name",
                     "wp",
                     "--listen",
                     listen,
                     NULL};
    s_peer = dvt_spawn("peer-worker", wargv);
    if (s_peer_port <= 0 || s_peer == NULL) {
        fprintf(stderr, "robustness_test: cannot start worker wp\n");
        return dvt_finish(1);
    }
    dvt_where = s_cl.addr;
    dvt_kind = DVT_TCP;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_control_good_hello_is_welcomed),
        cmocka_unit_test(test_oversize_frame),
        cmocka_unit_test(test_garbage_msgpack),
        cmocka_unit_test(test_truncated_frame),
        cmocka_unit_test(test_wrong_protocol_version),
        cmocka_unit_test(test_garbage_after_hello),
        cmocka_unit_test(test_worker_peer_port),
        cmocka_unit_test(test_gib_frame_before_hello),
        cmocka_unit_test(test_silent_crowd),
    };
    int failed = cmocka_run_group_tests_name("robustness on tcp", tests,
                                             s_setup, s_teardown);
    dvt_proc_kill(s_peer);
    dvt_cluster_stop(&s_cl);
    return dvt_finish(failed);
}
