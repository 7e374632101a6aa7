/* The physical limits the drove figures are read against:
 *   physical.tcp_pingpong        median round trip of 64-byte messages
 *                                between two processes on 127.0.0.1 (blocking
 *                                sockets, TCP_NODELAY); every drove latency
 *                                is a few of these at best
 *   physical.tcp_pingpong_p99
 *   physical.tcp_bandwidth       256 MiB through one such connection into a
 *                                fresh buffer of the receiver
 *   physical.memcpy_fresh_bandwidth
 *                                memcpy of 256 MiB into freshly allocated
 *                                memory (page faults included), the cost of
 *                                one copy of a result */
#include "bench_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define MSG_BYTES 64
#define WARMUP 1000
#define ROUNDS 20000
#define BULK_BYTES ((size_t)256 << 20)
#define CHUNK_BYTES ((size_t)1 << 20)

static void
s_tune(int fd)
{
    int one = 1;
    struct timeval tv = {10, 0};

    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* The other process: echoes ping-pong messages, then receives the bulk
 * transfer into a fresh buffer and acknowledges it with one byte. */
static int
s_peer(int lfd)
{
    char buf[MSG_BYTES];
    int fd = accept(lfd, NULL, NULL);

    if (fd < 0) {
        return 1;
    }
    s_tune(fd);
    for (int i = 0; i < WARMUP + ROUNDS; i++) {
        if (bu_io(fd, buf, sizeof(buf), 0) != 0 ||
            bu_io(fd, buf, sizeof(buf), 1) != 0) {
            return 1;
        }
    }
    char *bulk = malloc(BULK_BYTES);
    if (bulk == NULL || bu_io(fd, bulk, BULK_BYTES, 0) != 0) {
        return 1;
    }
    buf[0] = bulk[BULK_BYTES - 1];
    return bu_io(fd, buf, 1, 1) != 0;
}

/* Sends BULK_BYTES and waits for the acknowledgement; seconds, or -1. */
static double
s_bulk(int fd)
{
    char *bulk = malloc(BULK_BYTES);
    char ack;

    if (bulk == NULL) {
        return -1;
    }
    memset(bulk, 7, BULK_BYTES);
    int64_t t0 = bu_now_ns();
    for (size_t off = 0; off < BULK_BYTES; off += CHUNK_BYTES) {
        if (bu_io(fd, bulk + off, CHUNK_BYTES, 1) != 0) {
            free(bulk);
            return -1;
        }
    }
    int rc = bu_io(fd, &ack, 1, 0);
    double s = (double)(bu_now_ns() - t0) / 1e9;
    free(bulk);
    return rc == 0 && ack == 7 ? s : -1;
}

/* Copies 256 MiB into fresh memory; the median of three, in seconds. */
static double
s_memcpy_fresh(void)
{
    double s[3];
    char *src = malloc(BULK_BYTES);

    if (src == NULL) {
        return -1;
    }
    memset(src, 3, BULK_BYTES);
    for (int i = 0; i < 3; i++) {
        int64_t t0 = bu_now_ns();
        char *dst = malloc(BULK_BYTES);
        if (dst == NULL) {
            free(src);
            return -1;
        }
        memcpy(dst, src, BULK_BYTES);
        /* Read the copy back, so that the compiler keeps it. */
        volatile char sink = dst[BULK_BYTES - 1 - (size_t)i];
        (void)sink;
        s[i] = (double)(bu_now_ns() - t0) / 1e9;
        free(dst);
    }
    free(src);
    return bu_percentile(s, 3, 50);
}

int
main(void)
{
    struct sockaddr_in addr;
    socklen_t alen = sizeof(addr);
    char buf[MSG_BYTES];
    static double rtt_us[ROUNDS];

    alarm(120); /* the deadline of the whole program */
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
        listen(lfd, 1) != 0 ||
        getsockname(lfd, (struct sockaddr *)&addr, &alen) != 0) {
        perror("bench_pingpong: listen");
        return 1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("bench_pingpong: fork");
        return 1;
    }
    if (pid == 0) {
        _exit(s_peer(lfd));
    }
    close(lfd);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
        perror("bench_pingpong: connect");
        return 1;
    }
    s_tune(fd);
    memset(buf, 'x', sizeof(buf));
    for (int i = 0; i < WARMUP + ROUNDS; i++) {
        int64_t t0 = bu_now_ns();
        if (bu_io(fd, buf, sizeof(buf), 1) != 0 ||
            bu_io(fd, buf, sizeof(buf), 0) != 0) {
            fprintf(stderr, "bench_pingpong: round trip %d failed\n", i);
            return 1;
        }
        if (i >= WARMUP) {
            rtt_us[i - WARMUP] = (double)(bu_now_ns() - t0) / 1e3;
        }
    }
    bu_line("physical.tcp_pingpong", bu_percentile(rtt_us, ROUNDS, 50), 1,
            "us");
    bu_line("physical.tcp_pingpong_p99", bu_percentile(rtt_us, ROUNDS, 99), 1,
            "us");
    double bulk_s = s_bulk(fd);
    close(fd);
    int status = 0;
    waitpid(pid, &status, 0);
    if (bulk_s <= 0 || status != 0) {
        fprintf(stderr, "bench_pingpong: bulk transfer failed\n");
        return 1;
    }
    bu_line("physical.tcp_bandwidth", (double)(BULK_BYTES >> 20) / bulk_s, 0,
            "MiB/s");
    double copy_s = s_memcpy_fresh();
    if (copy_s <= 0) {
        fprintf(stderr, "bench_pingpong: out of memory\n");
        return 1;
    }
    bu_line("physical.memcpy_fresh_bandwidth",
            (double)(BULK_BYTES >> 20) / copy_s, 0, "MiB/s");
    return 0;
}
