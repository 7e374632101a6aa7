/* What mutual TLS costs drove's connections: the same dvi_conn over
 * plain tcp and over tcp with TLS (proto/secure.h) between two processes on
 * 127.0.0.1, measured in the same run, in interleaved batches so that the
 * machine's drift hits both alike. tls.rtt_tcp, tls.rtt_tls   median round trip
 * of a frame of one small message (the peer answers with another) tls.rtt_added
 * median over batches of (tls - tcp) tls.rtt_ratio              median over
 * batches of tls / tcp tls.bw_tcp, tls.bw_tls     a 256 MiB frame (a blob
 * spliced in, no copy on the sender) into the receiver's memory, then a small
 * acknowledgement; median of the rounds tls.bw_ratio               tls / tcp
 *   tls.handshake              median time to open a TLS connection
 * Goals: TLS adds at most 15 us to a round trip and keeps at least 70% of
 * the bandwidth.
 *
 * usage: bench_tls [--rounds N] (N rounds of 256 MiB each way; default 3)
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"
#include "common/blob.h"
#include "common/pki.h"
#include "drove.h"
#include "proto/conn.h"
#include "proto/msg.h"
#include "proto/secure.h"
#include "proto/stream_tls.h"

#define BATCHES 20
#define PER_BATCH 500
#define WARMUP 500
#define BULK_BYTES ((size_t)256 << 20)
#define HANDSHAKES 50

static dvi_tls_ctx *s_tls; /* both sides' identity (the peer is forked) */

enum { S_PLAIN = 0, S_TLS = 1 };
static const char *const s_names[] = {"tcp", "tls"};

/* ---- The peer: answers every frame -------------------------------------- */

typedef struct s_peer {
    uv_loop_t loop;
    int closed; /* connections gone */
} s_peer;

static int
s_echo(dvi_conn *c, const char *buf, size_t len)
{
    /* A small frame comes back as it is; a large one gets "ack". */
    msgpack_packer *pk = dvi_outbox_msg(dvi_conn_outbox(c), DVI_MSG_DATA, 2);
    dvi_pack_str(pk, "re");
    if (len < 4096) {
        dvi_pack_strn(pk, buf, len);
    } else {
        dvi_pack_str(pk, "ack");
    }
    dvi_conn_flush(c);
    return 0;
}

static void
s_peer_closed(dvi_conn *c, const char *why)
{
    s_peer *p = dvi_conn_data(c);
    if (++p->closed == 2 + HANDSHAKES) {
        uv_stop(&p->loop);
    }
}

static void
s_peer_accept(dvi_listener *l, dvi_conn *c)
{
    dvi_conn_set_data(c, dvi_listener_data(l));
    /* No HELLO here: lift the limits on what comes before one. */
    dvi_conn_handshake_done(c);
}

/* Listens on plain tcp and on tcp with TLS, tells the parent where on
 * fd, serves. */
static int
s_peer_main(int fd)
{
    s_peer p = {0};
    char plain[160], tls[160], line[400];
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    uv_loop_init(&p.loop);
    dvi_listener *l1 =
        dvi_listen(&p.loop, "tcp://127.0.0.1:0", s_peer_accept, s_echo,
                   s_peer_closed, &p, plain, sizeof(plain));
    dvi_listener *l2 =
        dvi_listen_secure(&p.loop, "tcp://127.0.0.1:0", s_tls, 0, s_peer_accept,
                          s_echo, s_peer_closed, &p, tls, sizeof(tls));
    if (l1 == NULL || l2 == NULL) {
        fprintf(stderr, "bench_tls: listen: %s\n", dv_last_error());
        return 1;
    }
    int n = snprintf(line, sizeof(line), "%s %s\n", plain, tls);
    if (write(fd, line, (size_t)n) != n) {
        return 1;
    }
    close(fd);
    uv_run(&p.loop, UV_RUN_DEFAULT);
    dvi_listener_close(l1);
    dvi_listener_close(l2);
    uv_run(&p.loop, UV_RUN_DEFAULT);
    return 0;
}

/* ---- The client --------------------------------------------------------- */

typedef struct s_client {
    uv_loop_t loop;
    dvi_conn *c[2];
    int replies[2];
    int failed;
} s_client;

static int
s_on_reply(dvi_conn *c, const char *buf, size_t len)
{
    (*(int *)dvi_conn_data(c))++;
    return 0;
}

static void
s_on_close(dvi_conn *c, const char *why)
{
    fprintf(stderr, "bench_tls: %s: %s\n", dvi_conn_peer(c), why);
    exit(1);
}

/* Runs the loop until *counter reaches target. */
static void
s_wait(s_client *cl, const int *counter, int target)
{
    while (*counter < target) {
        uv_run(&cl->loop, UV_RUN_ONCE);
    }
}

static double
s_round_trip(s_client *cl, int k)
{
    static const char payload[64] = "a small message of sixty-four bytes";
    int64_t t0 = bu_now_ns();
    msgpack_packer *pk =
        dvi_outbox_msg(dvi_conn_outbox(cl->c[k]), DVI_MSG_DATA, 2);
    dvi_pack_str(pk, "ping");
    dvi_pack_strn(pk, payload, sizeof(payload));
    dvi_conn_flush(cl->c[k]);
    s_wait(cl, &cl->replies[k], cl->replies[k] + 1);
    return (double)(bu_now_ns() - t0) / 1e3;
}

static double
s_bulk(s_client *cl, int k, dvi_blob *blob)
{
    int64_t t0 = bu_now_ns();
    msgpack_packer *pk =
        dvi_outbox_msg(dvi_conn_outbox(cl->c[k]), DVI_MSG_DATA, 2);
    dvi_pack_str(pk, "bulk");
    msgpack_pack_bin(pk, blob->len);
    dvi_outbox_put_blob(dvi_conn_outbox(cl->c[k]), blob);
    dvi_conn_flush(cl->c[k]);
    s_wait(cl, &cl->replies[k], cl->replies[k] + 1);
    double s = (double)(bu_now_ns() - t0) / 1e9;
    return (double)(blob->len >> 20) / s;
}

static void
s_latency(s_client *cl)
{
    static double all[2][BATCHES * PER_BATCH];
    double added[BATCHES], ratio[BATCHES], batch[2][PER_BATCH];
    for (int i = 0; i < WARMUP; i++) {
        s_round_trip(cl, S_PLAIN);
        s_round_trip(cl, S_TLS);
    }
    for (int b = 0; b < BATCHES; b++) {
        double med[2];
        for (int j = 0; j < 2; j++) {
            int k = (b + j) % 2; /* alternate which goes first */
            for (int i = 0; i < PER_BATCH; i++) {
                batch[k][i] = all[k][b * PER_BATCH + i] = s_round_trip(cl, k);
            }
            med[k] = bu_percentile(batch[k], PER_BATCH, 50);
        }
        added[b] = med[S_TLS] - med[S_PLAIN];
        ratio[b] = med[S_TLS] / med[S_PLAIN];
    }
    bu_line("tls.rtt_tcp", bu_percentile(all[S_PLAIN], BATCHES * PER_BATCH, 50),
            1, "us");
    bu_line("tls.rtt_tls", bu_percentile(all[S_TLS], BATCHES * PER_BATCH, 50),
            1, "us");
    bu_line("tls.rtt_tls_p99",
            bu_percentile(all[S_TLS], BATCHES * PER_BATCH, 99), 1, "us");
    bu_line("tls.rtt_added", bu_percentile(added, BATCHES, 50), 1, "us");
    bu_line("tls.rtt_ratio", bu_percentile(ratio, BATCHES, 50), 3, "x");
}

static void
s_bandwidth(s_client *cl, int rounds)
{
    dvi_blob *blob = dvi_blob_new(BULK_BYTES, 0);
    memset(blob->data, 7, blob->len);
    double bw[2][16];
    for (int r = 0; r < rounds; r++) {
        for (int j = 0; j < 2; j++) {
            int k = (r + j) % 2;
            bw[k][r] = s_bulk(cl, k, blob);
        }
    }
    double tcp = bu_percentile(bw[S_PLAIN], (size_t)rounds, 50);
    double tls = bu_percentile(bw[S_TLS], (size_t)rounds, 50);
    bu_line("tls.bw_tcp", tcp, 0, "MiB/s");
    bu_line("tls.bw_tls", tls, 0, "MiB/s");
    bu_line("tls.bw_ratio", tls / tcp, 3, "x");
    dvi_blob_rele(blob);
}

/* Opens TLS connections one after another: from the dial to the reply to
 * a first message, which needs both sides to have accepted each other. */
static void
s_handshakes(s_client *cl, const char *addr)
{
    double t[HANDSHAKES];
    for (int i = 0; i < HANDSHAKES; i++) {
        int replies = 0;
        int64_t t0 = bu_now_ns();
        dvi_conn *c = dvi_conn_dial_secure(&cl->loop, addr, s_tls, 0,
                                           s_on_reply, s_on_close, &replies);
        if (c == NULL) {
            fprintf(stderr, "bench_tls: %s\n", dv_last_error());
            exit(1);
        }
        msgpack_packer *pk =
            dvi_outbox_msg(dvi_conn_outbox(c), DVI_MSG_DATA, 2);
        dvi_pack_str(pk, "hello");
        dvi_pack_str(pk, "there");
        s_wait(cl, &replies, 1);
        t[i] = (double)(bu_now_ns() - t0) / 1e6;
        dvi_conn_close(c);
    }
    bu_line("tls.handshake", bu_percentile(t, HANDSHAKES, 50), 2, "ms");
}

int
main(int argc, char **argv)
{
    int rounds = 3;
    if (argc == 3 && strcmp(argv[1], "--rounds") == 0) {
        rounds = atoi(argv[2]);
    }
    if (rounds < 1 || rounds > 16) {
        fprintf(stderr, "usage: bench_tls [--rounds 1..16]\n");
        return 2;
    }
    alarm(600);
    signal(SIGPIPE, SIG_IGN);
    dvi_pki_cert *ca = dvi_pki_ca_new("bench CA", 0);
    dvi_pki_req req = {.role = DVI_PKI_ROLE_WORKER};
    dvi_pki_cert *me = ca ? dvi_pki_issue(ca, &req) : NULL;
    s_tls = me ? dvi_tls_ctx_new(ca, me) : NULL;
    if (s_tls == NULL) {
        fprintf(stderr, "bench_tls: %s\n", dv_last_error());
        return 1;
    }
    int fds[2];
    if (pipe(fds) != 0) {
        return 1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        _exit(s_peer_main(fds[1]));
    }
    close(fds[1]);
    char addrs[2][160];
    FILE *f = fdopen(fds[0], "r");
    if (f == NULL || fscanf(f, "%159s %159s", addrs[0], addrs[1]) != 2) {
        fprintf(stderr, "bench_tls: the peer did not start\n");
        return 1;
    }
    fclose(f);

    s_client cl = {0};
    uv_loop_init(&cl.loop);
    for (int k = 0; k < 2; k++) {
        cl.c[k] = k == S_TLS ? dvi_conn_dial_secure(&cl.loop, addrs[k], s_tls,
                                                    0, s_on_reply, s_on_close,
                                                    &cl.replies[k])
                             : dvi_conn_dial(&cl.loop, addrs[k], s_on_reply,
                                             s_on_close, &cl.replies[k]);
        if (cl.c[k] == NULL) {
            fprintf(stderr, "bench_tls: %s: %s\n", s_names[k], dv_last_error());
            return 1;
        }
    }
    s_latency(&cl);
    s_bandwidth(&cl, rounds);
    s_handshakes(&cl, addrs[S_TLS]);
    for (int k = 0; k < 2; k++) {
        dvi_conn_close(cl.c[k]);
    }
    uv_run(&cl.loop, UV_RUN_DEFAULT);
    int status = 0;
    waitpid(pid, &status, 0);
    uv_loop_close(&cl.loop);
    dvi_tls_ctx_destroy(&s_tls);
    dvi_pki_cert_destroy(&me);
    dvi_pki_cert_destroy(&ca);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
