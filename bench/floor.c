/* The floors drove's figures are read against; see floor.h.
 *
 * The peer speaks a protocol of 64-byte headers: byte 0 says what comes,
 * 'p' a ping (the header is echoed) or 'b' a bulk send (bytes 8..15 hold
 * its length; the bytes follow, and the peer answers with the last one
 * once it has them all). Blocking sockets, as bench_pingpong's: the floor
 * is what two processes get from the kernel, nothing cleverer. */
#define _GNU_SOURCE
#include "floor.h"

#include "bench_util.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define FL_HEADER 64

/* TCP_NODELAY on TCP (Unix sockets have no Nagle), and deadlines on
 * every read and write, so that a dead peer cannot hang the benchmark. */
static void
s_tune(int fd, int tcp)
{
    int one = 1;
    struct timeval tv = {30, 0};

    if (tcp) {
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* Fills a Unix address with path; 0, or -1 if it is too long. */
static int
s_unix_addr(struct sockaddr_un *a, const char *path)
{
    memset(a, 0, sizeof(*a));
    a->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(a->sun_path)) {
        return -1;
    }
    strcpy(a->sun_path, path);
    return 0;
}

/* The listening socket of how ("tcp", "relay:PORT" or "unix:PATH"), its
 * port in *port (0 for Unix); -1 on failure. */
static int
s_listen(const char *how, int *port)
{
    if (strncmp(how, "unix:", 5) != 0) {
        struct sockaddr_in a;
        socklen_t alen = sizeof(a);
        memset(&a, 0, sizeof(a));
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
            listen(fd, 1) != 0 ||
            getsockname(fd, (struct sockaddr *)&a, &alen) != 0) {
            return -1;
        }
        *port = ntohs(a.sin_port);
        return fd;
    }
    struct sockaddr_un a;
    if (s_unix_addr(&a, how + 5) != 0) {
        return -1;
    }
    unlink(how + 5);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        listen(fd, 1) != 0) {
        return -1;
    }
    *port = 0;
    return fd;
}

/* Receives a bulk send of n bytes and acknowledges it. 0, or -1. The
 * buffer is kept from one send to the next, in memory already: the floor
 * is the wire's speed. (A fresh buffer's page faults cost more than the
 * wire on this VM; drove's own buffers are allocated per result and pay
 * their share, on huge pages.) */
static int
s_sink(int fd, uint64_t n)
{
    static char *buf;
    static size_t cap;
    if (n == 0 || n > ((uint64_t)1 << 40)) {
        return -1;
    }
    if (cap < n) {
        free(buf);
        cap = 0;
        buf = malloc((size_t)n);
        if (buf == NULL) {
            return -1;
        }
        memset(buf, 0, (size_t)n);
        cap = (size_t)n;
    }
    if (bu_io(fd, buf, (size_t)n, 0) != 0) {
        return -1;
    }
    char ack = buf[n - 1];
    return bu_io(fd, &ack, 1, 1);
}

/* Connects to the peer of how, listening on port. The fd, or -1. */
static int
s_connect(const char *how, int port)
{
    int tcp = strncmp(how, "unix:", 5) != 0;
    int fd = socket(tcp ? AF_INET : AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int rc = -1;

    if (fd < 0) {
        return -1;
    }
    if (tcp) {
        struct sockaddr_in a;
        memset(&a, 0, sizeof(a));
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons((uint16_t)port);
        rc = connect(fd, (struct sockaddr *)&a, sizeof(a));
    } else {
        struct sockaddr_un a;
        if (s_unix_addr(&a, how + 5) == 0) {
            rc = connect(fd, (struct sockaddr *)&a, sizeof(a));
        }
    }
    if (rc != 0) {
        close(fd);
        return -1;
    }
    s_tune(fd, tcp);
    return fd;
}

/* A ping from the benchmark, in h: echoed, or passed on to the peer up
 * (a relay) and its echo passed back. 0, or -1. */
static int
s_pong(int fd, int up, char *h)
{
    if (up >= 0 &&
        (bu_io(up, h, FL_HEADER, 1) != 0 || bu_io(up, h, FL_HEADER, 0) != 0)) {
        return -1;
    }
    return bu_io(fd, h, FL_HEADER, 1);
}

int
fl_peer_main(const char *how)
{
    char h[FL_HEADER];
    int port = 0;
    int up = -1; /* a relay's connection to the echo it relays to */

    /* A forgotten peer ends by itself; bu_spawn's parent-death signal
     * ends it sooner when the benchmark dies. */
    alarm(900);
    if (strncmp(how, "relay:", 6) == 0 &&
        (up = s_connect("tcp", atoi(how + 6))) < 0) {
        fprintf(stderr, "floor peer %s: connect: %s\n", how, strerror(errno));
        return 1;
    }
    int lfd = s_listen(how, &port);
    if (lfd < 0) {
        fprintf(stderr, "floor peer %s: listen: %s\n", how, strerror(errno));
        return 1;
    }
    printf("%d\n", port);
    fflush(stdout);
    int fd = accept(lfd, NULL, NULL);
    close(lfd);
    if (strncmp(how, "unix:", 5) == 0) {
        unlink(how + 5);
    }
    if (fd < 0) {
        return 1;
    }
    s_tune(fd, port != 0);
    for (;;) {
        ssize_t k = read(fd, h, 1);
        if (k == 0) {
            return 0; /* the benchmark closed: done */
        }
        if (k < 0 || bu_io(fd, h + 1, FL_HEADER - 1, 0) != 0) {
            return 1;
        }
        uint64_t n = 0;
        memcpy(&n, h + 8, sizeof(n));
        int rc = h[0] == 'p'             ? s_pong(fd, up, h)
                 : h[0] == 'b' && up < 0 ? s_sink(fd, n)
                                         : -1;
        if (rc != 0) {
            fprintf(stderr, "floor peer %s: '%c' failed\n", how, h[0]);
            return 1;
        }
    }
}

int
fl_peer_spawn(fl_peer *p, const char *exe, const char *how)
{
    char line[64];
    int out = -1;
    char *argv[] = {(char *)exe, "--floor-peer", (char *)how, NULL};

    p->fd = -1;
    p->port = 0;
    p->pid = bu_spawn(argv, &out, NULL);
    if (p->pid < 0) {
        fprintf(stderr, "floor peer %s: spawn %s: %s\n", how, exe,
                strerror(errno));
        p->pid = 0;
        return -1;
    }
    int n = bu_read_line(out, line, sizeof(line), 10.0);
    close(out);
    if (n <= 0) {
        fprintf(stderr, "floor peer %s: it printed no port\n", how);
        fl_peer_stop(p);
        return -1;
    }
    p->port = atoi(line);
    return 0;
}

int
fl_peer_start(fl_peer *p, const char *exe, const char *how)
{
    if (fl_peer_spawn(p, exe, how) != 0) {
        return -1;
    }
    p->fd = s_connect(how, p->port);
    if (p->fd < 0) {
        fprintf(stderr, "floor peer %s: connect: %s\n", how, strerror(errno));
        fl_peer_stop(p);
        return -1;
    }
    return 0;
}

void
fl_peer_stop(fl_peer *p)
{
    if (p->fd >= 0) {
        close(p->fd);
        p->fd = -1;
    }
    if (p->pid > 0) {
        /* Closing the connection ends it: a short grace, then SIGTERM. */
        int status = 0;
        if (bu_wait(p->pid, 5.0, &status) != 0) {
            bu_stop(p->pid, 1.0);
        }
        p->pid = 0;
    }
}

double
fl_peer_ping(fl_peer *p)
{
    char h[FL_HEADER];

    memset(h, 0, sizeof(h));
    h[0] = 'p';
    int64_t t0 = bu_now_ns();
    if (bu_io(p->fd, h, FL_HEADER, 1) != 0 ||
        bu_io(p->fd, h, FL_HEADER, 0) != 0 || h[0] != 'p') {
        return -1;
    }
    return (double)(bu_now_ns() - t0) / 1e3;
}

double
fl_peer_bulk(fl_peer *p, const char *buf, size_t n)
{
    const size_t chunk = (size_t)1 << 20;
    char h[FL_HEADER];
    uint64_t len = n;
    char ack = 0;

    memset(h, 0, sizeof(h));
    h[0] = 'b';
    memcpy(h + 8, &len, sizeof(len));
    int64_t t0 = bu_now_ns();
    if (n == 0 || bu_io(p->fd, h, FL_HEADER, 1) != 0) {
        return -1;
    }
    for (size_t off = 0; off < n; off += chunk) {
        size_t k = n - off < chunk ? n - off : chunk;
        if (bu_io(p->fd, (char *)buf + off, k, 1) != 0) {
            return -1;
        }
    }
    if (bu_io(p->fd, &ack, 1, 0) != 0 || ack != buf[n - 1]) {
        return -1;
    }
    return (double)(bu_now_ns() - t0) / 1e9;
}

static void *
s_handoff_main(void *arg)
{
    fl_handoff *h = arg;
    long seen = 0;

    pthread_mutex_lock(&h->lock);
    for (;;) {
        while (h->sent == seen) {
            pthread_cond_wait(&h->to_peer, &h->lock);
        }
        if (h->sent < 0) {
            break;
        }
        seen = h->sent;
        h->echoed = seen;
        pthread_cond_signal(&h->to_caller);
    }
    pthread_mutex_unlock(&h->lock);
    return NULL;
}

int
fl_handoff_start(fl_handoff *h)
{
    memset(h, 0, sizeof(*h));
    pthread_mutex_init(&h->lock, NULL);
    pthread_cond_init(&h->to_peer, NULL);
    pthread_cond_init(&h->to_caller, NULL);
    if (pthread_create(&h->thread, NULL, s_handoff_main, h) != 0) {
        return -1;
    }
    h->started = 1;
    return 0;
}

double
fl_handoff_ping(fl_handoff *h)
{
    int64_t t0 = bu_now_ns();

    pthread_mutex_lock(&h->lock);
    h->sent++;
    pthread_cond_signal(&h->to_peer);
    while (h->echoed != h->sent) {
        pthread_cond_wait(&h->to_caller, &h->lock);
    }
    pthread_mutex_unlock(&h->lock);
    return (double)(bu_now_ns() - t0) / 1e3;
}

void
fl_handoff_stop(fl_handoff *h)
{
    if (!h->started) {
        return;
    }
    pthread_mutex_lock(&h->lock);
    h->sent = -1;
    pthread_cond_signal(&h->to_peer);
    pthread_mutex_unlock(&h->lock);
    pthread_join(h->thread, NULL);
    pthread_cond_destroy(&h->to_peer);
    pthread_cond_destroy(&h->to_caller);
    pthread_mutex_destroy(&h->lock);
    h->started = 0;
}

double
fl_memcpy(const char *src, size_t n)
{
    static char *dst;
    static size_t cap;
    if (n == 0) {
        return -1;
    }
    if (cap < n) {
        /* In memory before the clock starts: a copy's speed, not the
         * page faults'. */
        free(dst);
        cap = 0;
        if ((dst = malloc(n)) == NULL) {
            return -1;
        }
        memset(dst, 0, n);
        cap = n;
    }
    int64_t t0 = bu_now_ns();
    memcpy(dst, src, n);
    /* Read the copy back, so that the compiler keeps it. */
    volatile char sink = dst[n - 1];
    (void)sink;
    return (double)(bu_now_ns() - t0) / 1e9;
}
