/* What bench_drove's translation units share: its configuration, the
 * state of one run on one cluster, and how a figure is reported.
 *
 *   bench_drove.c          main, the daemons, and most measurements
 *   bench_drove_floors.c   round trips and transfers, each in alternation
 *                          with its floor (floor.h)
 *   bench_drove_fanout.c   the fan-out / fan-in of 10,000 tasks
 *
 * Not part of libdrove. */
#ifndef BENCH_DROVE_H
#define BENCH_DROVE_H

#include <drove.h>

#include "bench_util.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define DEADLINE_S 120.0 /* the longest any single wait may take */
#define NWORKERS 2

typedef struct bench_cfg {
    size_t map_n;          /* calls in the dv_map throughput run */
    size_t submit_n;       /* calls in the dv_submit throughput run */
    size_t rt_warmup;      /* round trips of each kind not counted */
    size_t rt_batch;       /* round trips of one kind in a row */
    size_t rt_batches;     /* batches of each kind counted */
    size_t chain_n;        /* links of the chain */
    size_t startup_runs;   /* fresh processes; the median is reported */
    size_t tree_runs;      /* tree reductions after the first; their median */
    size_t tree_len;       /* doubles per array of the tree reduction */
    size_t transfer_mib;   /* size of the transferred array */
    size_t transfer_runs;  /* transfers without floors (tcp_plain and
                              tcp_state); the median is reported */
    size_t transfer_pairs; /* transfers with their floors, alternated */
    size_t fan_n;          /* tasks between the root and the final task */
    size_t fan_runs;       /* fan-outs; the median is reported */
    size_t pending_n;      /* tasks waiting in the memory measurement */
    size_t stored_n;       /* results held in the stored measurement */
} bench_cfg;

typedef struct bench {
    const char *label;  /* "threads", "processes", "tcp", ... */
    const char *where;  /* dv_connect's argument */
    const char *fns_so; /* path of libbench_fns.so */
    bench_cfg cfg;
    dv_client *c; /* the client of the measurements */
    bu_daemons d; /* tcp: the daemons (d.sched_pid 0 otherwise);
                     d.tmpdir also holds the gate file, the floor
                     socket */
    char worker_id[NWORKERS][128];
    int64_t next_arg; /* fresh arguments, so that no pure call of one
                         measurement reuses the result of another */
    int state;        /* tcp_state: the scheduler has --state */
    int dash_port;    /* tcp_dash: the dashboard's port, polled during map */
    int floors;       /* threads, processes, tcp: measure the floors too
                         (tcp_plain and tcp_state are read against tcp) */
    int failures;
} bench;

/* Prints `LABEL.metric: value unit`. */
void bd_report(const bench *b, const char *metric, double value, int decimals,
               const char *unit);

/* A measurement that could not be made: `LABEL.metric: FAILED unit` on
 * stdout, the reason on stderr, and the run will exit non-zero. */
void bd_failed(bench *b, const char *metric, const char *unit, const char *fmt,
               ...) __attribute__((format(printf, 4, 5)));

/* The first of n arguments no earlier call of the run used. */
int64_t bd_fresh(bench *b, size_t n);
/* Waits until the scheduler has read everything sent before: a fresh
 * task's round trip, which it handles after the RELEASEs of a phase or
 * run just ended (the 100,000 of a map take it some 100 ms), so that
 * these are not timed as part of the next (the chain's first link waited
 * for them). */
void bd_settle(bench *b);

/* Releases fs[0..n) and sets them to NULL. */
void bd_release_all(dv_future **fs, size_t n);

/* Why f failed, or dv_last_error() if it says nothing. Borrowed. */
const char *bd_ferr(const dv_future *f);

/* Fills b->worker_id with the two workers' ids; 0, or -1. */
int bd_worker_ids(bench *b);

/* bench_drove_floors.c: round trips (roundtrip_*) and the 256 MiB
 * transfer (transfer_*), against their floors when b->floors. */
void bd_roundtrip(bench *b);
void bd_transfer(bench *b);

/* bench_drove_fanout.c: fanout_fanin_10k. */
void bd_fanout(bench *b);

#endif /* BENCH_DROVE_H */
