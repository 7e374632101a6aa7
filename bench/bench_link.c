/* A result moved between workers on two hosts, against plain TCP over the
 * same link, in alternation (run by bench/link.sh, which plays the hosts
 * with network namespaces):
 *
 *   bench_link sink IP PORT
 *       the plain TCP floor's receiver: takes 256 MiB a connection into
 *       a buffer in memory already, answers one byte, for ever
 *   bench_link run SCHEDULER FNS_SO SINK_IP SINK_PORT ROUNDS
 *       on host A: ROUNDS times, 256 MiB sent to the sink, then a 256 MiB
 *       result made by worker wa (host A) and read by a task on worker wb
 *       (host B), over mutual TLS; prints
 *         link.transfer_256mib_tcp_floor  MiB/s, the median of the rounds
 *         link.transfer_256mib_bandwidth  MiB/s, drove's median
 *         link.transfer_256mib_vs_tcp     the median over rounds of
 *                                         drove's bandwidth / the floor's
 *       A first drove transfer, not counted, opens the workers' connection.
 */
#include "bench_util.h"

#include <arpa/inet.h>
#include <drove.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BYTES ((size_t)256 << 20)
#define CHUNK ((size_t)1 << 20)
#define MAX_ROUNDS 32
#define DEADLINE_S 120.0

static int
s_socket(const char *ip, int port, struct sockaddr_in *sa)
{
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, ip, &sa->sin_addr) != 1) {
        fprintf(stderr, "bench_link: bad IPv4 address %s\n", ip);
        return -1;
    }
    return socket(AF_INET, SOCK_STREAM, 0);
}

static int
s_sink(const char *ip, int port)
{
    struct sockaddr_in sa;
    int one = 1, s = s_socket(ip, port, &sa);
    char *buf = malloc(BYTES);
    if (s < 0 || buf == NULL) {
        return 1;
    }
    memset(buf, 0, BYTES);
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s, 4) < 0) {
        perror("bench_link: sink");
        return 1;
    }
    for (;;) {
        int c = accept(s, NULL, NULL);
        size_t n = 0;
        ssize_t k = 1;
        while (c >= 0 && n < BYTES && k > 0) {
            k = recv(c, buf + n, BYTES - n < CHUNK ? BYTES - n : CHUNK, 0);
            n += k > 0 ? (size_t)k : 0;
        }
        if (c >= 0) {
            send(c, "k", 1, MSG_NOSIGNAL);
            close(c);
        }
    }
}

/* 256 MiB from src to the sink, until its answer; seconds, or -1. */
static double
s_floor(const char *ip, int port, const char *src)
{
    struct sockaddr_in sa;
    int s = s_socket(ip, port, &sa);
    if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        perror("bench_link: connect to the sink");
        return -1;
    }
    int64_t t0 = bu_now_ns();
    int ok = bu_io(s, (void *)src, BYTES, 1) == 0;
    char ack = 0;
    ok = ok && recv(s, &ack, 1, MSG_WAITALL) == 1;
    int64_t t1 = bu_now_ns();
    close(s);
    return ok ? (double)(t1 - t0) / 1e9 : -1;
}

/* make_f64s on wa, read by where_len on wb; seconds, or -1. */
static double
s_drove(dv_client *c)
{
    dv_opts on_a = DV_OPTS_INIT, on_b = DV_OPTS_INIT;
    on_a.impure = on_b.impure = 1; /* no run reuses the one before */
    on_a.worker = "wa";
    on_b.worker = "wb";
    dv_arg len = dv_i64((int64_t)(BYTES / sizeof(double)));
    dv_future *fa = dv_submit(c, "make_f64s", 1, &len, &on_a), *fb = NULL;
    double s = -1;
    if (fa == NULL || dv_wait(&fa, 1, DEADLINE_S) != 0) {
        fprintf(stderr, "bench_link: make_f64s on wa: %s\n", dv_last_error());
        goto done;
    }
    int64_t t0 = bu_now_ns();
    dv_arg dep = dv_fut(fa);
    fb = dv_submit(c, "where_len", 1, &dep, &on_b);
    const dv_value *v = fb ? dv_result(fb, DEADLINE_S) : NULL;
    int64_t t1 = bu_now_ns();
    if (v == NULL ||
        dv_value_i64(dv_value_at(v, 0)) != (int64_t)(BYTES / sizeof(double))) {
        fprintf(stderr, "bench_link: where_len on wb: %s\n", dv_last_error());
        goto done;
    }
    s = (double)(t1 - t0) / 1e9;
done:
    dv_release(fb);
    dv_release(fa);
    return s;
}

static int
s_run(const char *sched, const char *fns, const char *ip, int port, int rounds)
{
    double floor_s[MAX_ROUNDS], drove_s[MAX_ROUNDS], ratio[MAX_ROUNDS];
    char *src = malloc(BYTES);
    dv_client *c = dv_connect(sched);
    if (src == NULL || c == NULL || dv_upload_library(c, fns) < 0) {
        fprintf(stderr, "bench_link: %s: %s\n", sched, dv_last_error());
        return 1;
    }
    memset(src, 7, BYTES);
    double deadline = bu_now() + 30.0;
    while (dv_nworkers(c) < 2 && bu_now() < deadline) {
        usleep(10000);
    }
    int ok = s_drove(c) > 0; /* opens wb's connection to wa */
    for (int r = 0; ok && r < rounds; r++) {
        floor_s[r] = s_floor(ip, port, src);
        drove_s[r] = s_drove(c);
        ok = floor_s[r] > 0 && drove_s[r] > 0;
        ratio[r] = ok ? floor_s[r] / drove_s[r] : 0;
    }
    dv_close(c);
    free(src);
    if (!ok) {
        printf("link.transfer_256mib_bandwidth: FAILED MiB/s\n");
        return 1;
    }
    bu_line("link.transfer_256mib_tcp_floor", 256 / bu_median(floor_s, rounds),
            0, "MiB/s");
    bu_line("link.transfer_256mib_bandwidth", 256 / bu_median(drove_s, rounds),
            0, "MiB/s");
    bu_line("link.transfer_256mib_vs_tcp", bu_median(ratio, rounds), 3, "x");
    return 0;
}

int
main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "sink") == 0) {
        return s_sink(argv[2], atoi(argv[3]));
    }
    if (argc == 7 && strcmp(argv[1], "run") == 0 && atoi(argv[6]) > 0 &&
        atoi(argv[6]) <= MAX_ROUNDS) {
        return s_run(argv[2], argv[3], argv[4], atoi(argv[5]), atoi(argv[6]));
    }
    fprintf(stderr,
            "usage: bench_link sink IP PORT\n"
            "       bench_link run SCHEDULER FNS_SO SINK_IP "
            "SINK_PORT ROUNDS (1..%d)\n"
            "Run by bench/link.sh.\n",
            MAX_ROUNDS);
    return 2;
}
