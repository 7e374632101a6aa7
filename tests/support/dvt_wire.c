/* drove — test support: a hand-made wire peer and a recording relay.
 *
 * The peer uses blocking sockets with SO_RCVTIMEO set before each read,
 * so every wait has a deadline whether the bytes go through OpenSSL or
 * not. The relay runs poll() on a thread of its own; it writes each chunk
 * whole before reading the next, which is enough for the modest traffic
 * of one client session.
 */
#define _GNU_SOURCE
#include "dvt_wire.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <msgpack.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "dvtest.h"

/* ---- TCP on 127.0.0.1 --------------------------------------------------- */

int
dvt_port_of(const char *addr)
{
    const char *colon = strrchr(addr, ':');
    return colon ? atoi(colon + 1) : -1;
}

/* Connects to 127.0.0.1:port; -1 on failure (errno set). */
static int
s_dial(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

int
dvt_tcp_connect(int port)
{
    int fd = s_dial(port);
    if (fd < 0) {
        DVT_FAIL("connect to 127.0.0.1:%d: %s", port, strerror(errno));
    }
    return fd;
}

/* A listening socket on 127.0.0.1, port 0; its port in *port. */
static int
s_listen(int *port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof(sa);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        listen(fd, 8) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        DVT_FAIL("listen on 127.0.0.1: %s", strerror(errno));
    }
    *port = ntohs(sa.sin_port);
    return fd;
}

int
dvt_free_port(void)
{
    int port;
    close(s_listen(&port));
    return port;
}

/* ---- A hand-made peer --------------------------------------------------- */

struct dvt_peer {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;   /* NULL: plain TCP */
    int closed; /* the other side closed, or the handshake failed */
};

dvt_peer *
dvt_peer_open(int port, const char *home, const char *role)
{
    dvt_peer *p = calloc(1, sizeof(*p));
    DVT_TRUE(p != NULL);
    p->fd = dvt_tcp_connect(port);
    if (home == NULL) {
        return p;
    }
    char cert[600], key[600];
    snprintf(cert, sizeof(cert), "%s/profile_default/%s.pem", home, role);
    snprintf(key, sizeof(key), "%s/profile_default/%s.key", home, role);
    p->ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(p->ctx, TLS1_3_VERSION);
    SSL_CTX_set_verify(p->ctx, SSL_VERIFY_NONE, NULL);
    if (SSL_CTX_use_certificate_file(p->ctx, cert, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_use_PrivateKey_file(p->ctx, key, SSL_FILETYPE_PEM) != 1) {
        DVT_FAIL("cannot load %s and its key", cert);
    }
    struct timeval tv = {10, 0}; /* the handshake's deadline */
    setsockopt(p->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    p->ssl = SSL_new(p->ctx);
    SSL_set_fd(p->ssl, p->fd);
    p->closed = SSL_connect(p->ssl) != 1;
    return p;
}

void
dvt_peer_close(dvt_peer **pp)
{
    dvt_peer *p = *pp;
    if (p == NULL) {
        return;
    }
    *pp = NULL;
    SSL_free(p->ssl);
    SSL_CTX_free(p->ctx);
    close(p->fd);
    free(p);
}

void
dvt_peer_write(dvt_peer *p, const void *buf, size_t n)
{
    const char *b = buf;
    while (n > 0 && !p->closed) {
        ssize_t w = p->ssl ? SSL_write(p->ssl, b, (int)n)
                           : send(p->fd, b, n, MSG_NOSIGNAL);
        if (w < 0 && !p->ssl && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            p->closed = 1;
            return;
        }
        b += w;
        n -= (size_t)w;
    }
}

/* Reads some bytes before the deadline: > 0 bytes, 0 when the other side
 * closed (or broke the connection off), -1 when the deadline passed. */
static ssize_t
s_read(dvt_peer *p, void *buf, size_t n, double deadline)
{
    double left = deadline - dvt_now();
    if (p->closed) {
        return 0;
    }
    if (left <= 0) {
        return -1;
    }
    struct timeval tv = {(time_t)left, (long)((left - (time_t)left) * 1e6)};
    tv.tv_usec = tv.tv_sec == 0 && tv.tv_usec == 0 ? 1000 : tv.tv_usec;
    setsockopt(p->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ssize_t r;
    if (p->ssl) {
        r = SSL_read(p->ssl, buf, (int)n);
        int e = r > 0 ? SSL_ERROR_NONE : SSL_get_error(p->ssl, (int)r);
        if (e == SSL_ERROR_WANT_READ ||
            (e == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EINTR))) {
            return -1;
        }
    } else {
        r = recv(p->fd, buf, n, 0);
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
            return -1;
        }
    }
    if (r <= 0) {
        p->closed = 1;
        return 0;
    }
    return r;
}

int
dvt_peer_wait_closed(dvt_peer *p, double timeout_s)
{
    double deadline = dvt_now() + timeout_s;
    char buf[4096];
    for (;;) {
        ssize_t r = s_read(p, buf, sizeof(buf), deadline);
        if (r == 0) {
            return 0;
        }
        if (r < 0) {
            return DV_ETIMEDOUT;
        }
    }
}

static int
s_read_exact(dvt_peer *p, char *buf, size_t n, double deadline)
{
    for (size_t have = 0; have < n;) {
        ssize_t r = s_read(p, buf + have, n - have, deadline);
        if (r <= 0) {
            return -1;
        }
        have += (size_t)r;
    }
    return 0;
}

/* Whether the frame's payload holds a message of type want; if so and
 * key is not NULL, its first field (a key) is copied there. */
static int
s_frame_has(const char *payload, size_t len, int want, char *key, size_t size)
{
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    int found = 0;
    if (msgpack_unpack_next(&up, payload, len, NULL) ==
            MSGPACK_UNPACK_SUCCESS &&
        up.data.type == MSGPACK_OBJECT_ARRAY) {
        for (uint32_t i = 0; !found && i < up.data.via.array.size; i++) {
            const msgpack_object *m = &up.data.via.array.ptr[i];
            found =
                m->type == MSGPACK_OBJECT_ARRAY && m->via.array.size > 0 &&
                m->via.array.ptr[0].type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
                m->via.array.ptr[0].via.u64 == (uint64_t)want;
            if (found && key != NULL) {
                const msgpack_object *k =
                    m->via.array.size > 1 ? &m->via.array.ptr[1] : NULL;
                key[0] = '\0';
                if (k != NULL && k->type == MSGPACK_OBJECT_STR) {
                    snprintf(key, size, "%.*s", (int)k->via.str.size,
                             k->via.str.ptr);
                }
            }
        }
    }
    msgpack_unpacked_destroy(&up);
    return found;
}

int
dvt_peer_wait_key(dvt_peer *p, int want, char *key, size_t size,
                  double timeout_s)
{
    double deadline = dvt_now() + timeout_s;
    for (;;) {
        unsigned char h[4];
        if (s_read_exact(p, (char *)h, 4, deadline) < 0) {
            return p->closed ? 0 : -1;
        }
        size_t len = ((size_t)h[0] << 24) | ((size_t)h[1] << 16) |
                     ((size_t)h[2] << 8) | h[3];
        char *payload = malloc(len ? len : 1);
        DVT_TRUE(payload != NULL);
        int ok = s_read_exact(p, payload, len, deadline) == 0;
        int found = ok && s_frame_has(payload, len, want, key, size);
        free(payload);
        if (!ok) {
            return p->closed ? 0 : -1;
        }
        if (found) {
            return 1;
        }
    }
}

int
dvt_peer_wait_msg(dvt_peer *p, int want, double timeout_s)
{
    return dvt_peer_wait_key(p, want, NULL, 0, timeout_s);
}

void
dvt_peer_send_msg(dvt_peer *p, const void *msg, size_t n)
{
    size_t len = n + 1; /* 0x91: an array of one message */
    unsigned char head[5] = {
        (unsigned char)(len >> 24), (unsigned char)(len >> 16),
        (unsigned char)(len >> 8), (unsigned char)len, 0x91};
    dvt_peer_write(p, head, sizeof(head));
    dvt_peer_write(p, msg, n);
}

/* A message being packed: [type, field...]. */
typedef struct s_msg {
    msgpack_sbuffer sb;
    msgpack_packer pk;
} s_msg;

/* Starts m as a message of type with nfields fields after the type;
 * returns its packer. */
static msgpack_packer *
s_begin(s_msg *m, int type, uint32_t nfields)
{
    msgpack_sbuffer_init(&m->sb);
    msgpack_packer_init(&m->pk, &m->sb, msgpack_sbuffer_write);
    msgpack_pack_array(&m->pk, nfields + 1);
    msgpack_pack_int(&m->pk, type);
    return &m->pk;
}

/* Sends m in a frame of its own, and frees it. */
static void
s_send_msg(dvt_peer *p, s_msg *m)
{
    dvt_peer_send_msg(p, m->sb.data, m->sb.size);
    msgpack_sbuffer_destroy(&m->sb);
}

static void
s_pack_str(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str(pk, strlen(s));
    msgpack_pack_str_body(pk, s, strlen(s));
}

static void
s_pack_bin(msgpack_packer *pk, const void *bytes, size_t n)
{
    msgpack_pack_bin(pk, n);
    msgpack_pack_bin_body(pk, bytes, n);
}

void
dvt_peer_send_hello(dvt_peer *p, int role, const char *id, int threads,
                    const char *addr)
{
    s_msg m;
    msgpack_packer *pk = s_begin(&m, DVT_MSG_HELLO, 5);
    msgpack_pack_int(pk, DVT_PROTOCOL_VERSION);
    msgpack_pack_int(pk, role);
    s_pack_str(pk, id);
    msgpack_pack_int(pk, threads);
    if (addr != NULL) {
        s_pack_str(pk, addr);
    } else {
        msgpack_pack_nil(pk);
    }
    s_send_msg(p, &m);
}

void
dvt_peer_send_done(dvt_peer *p, const char *key, const void *value, size_t n)
{
    s_msg m;
    msgpack_packer *pk = s_begin(&m, DVT_MSG_DONE, 4);
    s_pack_str(pk, key);
    msgpack_pack_uint64(pk, n); /* nbytes */
    s_pack_bin(pk, value, n);
    msgpack_pack_int(pk, 0); /* us */
    s_send_msg(p, &m);
}

void
dvt_peer_send_failed(dvt_peer *p, const char *key, int blame, const char *text)
{
    s_msg m;
    msgpack_packer *pk = s_begin(&m, DVT_MSG_FAILED, 3);
    s_pack_str(pk, key);
    msgpack_pack_int(pk, blame);
    s_pack_str(pk, text);
    s_send_msg(p, &m);
}

void
dvt_peer_send_get(dvt_peer *p, const char *key)
{
    s_msg m;
    msgpack_packer *pk = s_begin(&m, DVT_MSG_GET, 1);
    s_pack_str(pk, key);
    s_send_msg(p, &m);
}

void
dvt_peer_send_upload(dvt_peer *p, const char *hash, const char *name,
                     const void *bytes, size_t n)
{
    s_msg m;
    msgpack_packer *pk = s_begin(&m, DVT_MSG_UPLOAD, 3);
    s_pack_str(pk, hash);
    s_pack_str(pk, name);
    s_pack_bin(pk, bytes, n);
    s_send_msg(p, &m);
}

void
dvt_peer_send_submit(dvt_peer *p, const char *key, const char *fn,
                     const char *code, const void *args, size_t n)
{
    s_msg m;
    msgpack_packer *pk = s_begin(&m, DVT_MSG_SUBMIT, 9);
    s_pack_str(pk, key);
    s_pack_str(pk, fn);
    s_pack_str(pk, code);
    s_pack_bin(pk, args, n);
    msgpack_pack_int(pk, 0); /* flags: pure */
    msgpack_pack_int(pk, 0); /* priority */
    msgpack_pack_int(pk, 0); /* retries */
    msgpack_pack_nil(pk);    /* worker: any */
    msgpack_pack_array(pk, 0);
    s_send_msg(p, &m);
}

/* ---- A recording relay -------------------------------------------------- */

#define S_PAIRS 4

struct dvt_relay {
    int lfd, port, target;
    int stop[2]; /* a pipe: written to end the thread */
    pthread_t thread;
    int running;
    char *seen[2]; /* [0] towards the target, [1] back */
    size_t len[2], cap[2];
};

static void
s_keep(dvt_relay *r, int dir, const char *buf, size_t n)
{
    if (r->len[dir] + n > r->cap[dir]) {
        size_t cap = (r->len[dir] + n) * 2;
        char *b = realloc(r->seen[dir], cap);
        if (b == NULL) {
            return; /* the checks of what was seen will tell */
        }
        r->seen[dir] = b;
        r->cap[dir] = cap;
    }
    memcpy(r->seen[dir] + r->len[dir], buf, n);
    r->len[dir] += n;
}

/* Moves what pair[from] has to the other side; false when either side is
 * done. */
static bool
s_move(dvt_relay *r, const int *pair, int from)
{
    char buf[65536];
    ssize_t n = recv(pair[from], buf, sizeof(buf), 0);
    if (n <= 0) {
        return false;
    }
    s_keep(r, from, buf, (size_t)n);
    for (ssize_t off = 0; off < n;) {
        ssize_t w =
            send(pair[from ^ 1], buf + off, (size_t)(n - off), MSG_NOSIGNAL);
        if (w <= 0) {
            return false;
        }
        off += w;
    }
    return true;
}

static void
s_unpair(int *pair)
{
    if (pair[0] >= 0) {
        close(pair[0]);
    }
    if (pair[1] >= 0) {
        close(pair[1]);
    }
    pair[0] = pair[1] = -1;
}

static void *
s_relay_run(void *arg)
{
    dvt_relay *r = arg;
    int fds[S_PAIRS][2]; /* each: the client's side, the target's */
    memset(fds, 0xff, sizeof(fds));
    for (;;) {
        struct pollfd pf[2 + 2 * S_PAIRS] = {{r->stop[0], POLLIN, 0},
                                             {r->lfd, POLLIN, 0}};
        for (int i = 0; i < 2 * S_PAIRS; i++) {
            pf[2 + i] = (struct pollfd){fds[i / 2][i % 2], POLLIN, 0};
        }
        if (poll(pf, 2 + 2 * S_PAIRS, -1) < 0 || pf[0].revents) {
            break;
        }
        for (int i = 0; i < 2 * S_PAIRS; i++) {
            int *pair = fds[i / 2];
            if (pf[2 + i].revents && pair[0] >= 0 && !s_move(r, pair, i % 2)) {
                s_unpair(pair);
            }
        }
        for (int i = 0; pf[1].revents && i < S_PAIRS; i++) {
            if (fds[i][0] < 0) {
                fds[i][0] = accept4(r->lfd, NULL, NULL, SOCK_CLOEXEC);
                fds[i][1] = s_dial(r->target);
                if (fds[i][0] < 0 || fds[i][1] < 0) {
                    s_unpair(fds[i]);
                }
                break;
            }
        }
    }
    for (int i = 0; i < S_PAIRS; i++) {
        s_unpair(fds[i]);
    }
    return NULL;
}

dvt_relay *
dvt_relay_start(int target)
{
    dvt_relay *r = calloc(1, sizeof(*r));
    DVT_TRUE(r != NULL);
    r->target = target;
    r->lfd = s_listen(&r->port);
    DVT_TRUE(pipe2(r->stop, O_CLOEXEC) == 0);
    DVT_TRUE(pthread_create(&r->thread, NULL, s_relay_run, r) == 0);
    r->running = 1;
    return r;
}

int
dvt_relay_port(const dvt_relay *r)
{
    return r->port;
}

void
dvt_relay_stop(dvt_relay *r)
{
    if (!r->running) {
        return;
    }
    r->running = 0;
    if (write(r->stop[1], "x", 1) != 1) {
        DVT_FAIL("cannot stop the relay: %s", strerror(errno));
    }
    pthread_join(r->thread, NULL);
}

void
dvt_relay_destroy(dvt_relay **rp)
{
    dvt_relay *r = *rp;
    if (r == NULL) {
        return;
    }
    *rp = NULL;
    dvt_relay_stop(r);
    close(r->stop[0]);
    close(r->stop[1]);
    close(r->lfd);
    free(r->seen[0]);
    free(r->seen[1]);
    free(r);
}

size_t
dvt_relay_seen(const dvt_relay *r, int dir)
{
    return r->len[dir];
}

bool
dvt_relay_saw(const dvt_relay *r, int dir, const char *s)
{
    return r->len[dir] > 0 &&
           memmem(r->seen[dir], r->len[dir], s, strlen(s)) != NULL;
}
