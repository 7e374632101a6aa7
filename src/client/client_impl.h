/* The client's private state, shared by its files (connect and loop,
 * submission, futures, requests).
 *
 * Two kinds of threads touch a client: any number of user threads calling
 * the dv_* API, and the client's own loop thread, which owns every libuv
 * handle and connection. They share only what `lock` guards: the futures'
 * states, the outgoing message buffer, and requests for the loop. User
 * threads queue messages and wake the loop with one uv_async; the loop
 * wakes users with `cond`.
 */
#ifndef DVI_CLIENT_IMPL_H
#define DVI_CLIENT_IMPL_H

#include <msgpack.h>
#include <stdatomic.h>
#include <uv.h>

#include "attach.h"
#include "common/blob.h"
#include "common/elfsyms.h"
#include "common/map.h"
#include "common/pset.h"
#include "common/runtime.h"
#include "drove.h"
#include "embedded.h"
#include "proto/beat.h"
#include "proto/conn.h"
#include "proto/fetch.h"
#include "tunnel.h"

/* What the client knows of one key, shared by all handles on it. */
typedef struct dvi_fstate {
    char *key;  /* stored after the struct, in its allocation */
    int status; /* enum dv_status */
    int refs;   /* handles on it; freed (and released) at zero */
    uint64_t nbytes;
    uint64_t done_seq;      /* order of completion, for dv_next_completed */
    dvi_blob *blob;         /* the encoded result, once here */
    char *addr;             /* a worker holding the result */
    dv_value *value;        /* decoded result, on first dv_result */
    char *error;            /* erred, cancelled or lost: why */
    int elost;              /* DV_LOST with the scheduler: DV_ELOST */
    int fetching;           /* a GET is on its way to addr */
    int has_call;           /* an explicit key: call says which call it names */
    unsigned char call[16]; /* the call's hash (submit.c) */
    struct dvi_fstate *next_spare;
} dvi_fstate;

struct dv_future {
    dv_client *c;
    dvi_fstate *st;
    const void *call; /* a child's future: the call that owns it (attach.c),
                         else NULL */
    int32_t index;    /* element of a chunk's result, or -1 */
    int returned;     /* dv_next_completed gave it out already */
    uint64_t indexed; /* generation of the as-completed index holding it, 0
                         for none: releasing it drops the index */
    char *key;        /* element futures: "KEY[i]" */
    dv_value *elem;   /* element futures: the decoded element */
    dv_future *next_spare;
};

/* A request waiting for the scheduler's answer. */
typedef struct dvi_request {
    struct dvi_request *next;
    uint64_t id;
    int type;      /* the message it answers: DVI_MSG_UPLOAD, ... */
    char hash[80]; /* uploads are answered by hash */
    int done;
    int status; /* 0 or a DV_E* code */
    int64_t count;
    char *text;     /* key, or error text */
    dvi_fstate *st; /* lookups: the state made for the key */
} dvi_request;

typedef struct dvi_ascompleted dvi_ascompleted;

/* Messages for the scheduler are cut into batches of this many: the
 * scheduler reads a batch, and its workers start on it, while the client
 * still submits the rest. One frame of a whole graph kept every worker
 * idle until the scheduler had read all of it (2,000 tiny tasks: 1-9 ms
 * of the 10 ms the graph took on local:threads=2). */
#define DVI_CLIENT_BATCH 256

typedef struct dvi_batch {
    struct dvi_batch *next;
    dvi_outbox msgs;
} dvi_batch;

struct dv_client {
    dvi_runtime *rt; /* the loop thread's runtime */
    uv_loop_t *loop; /* its loop */
    uv_thread_t thread;
    uv_async_t wake; /* user threads -> loop */
    uv_mutex_t lock;
    uv_cond_t cond; /* loop -> user threads */
    /* The loop thread waits for lock: a submitting thread lets it have the
     * lock first (dvi_client_lock_user). */
    atomic_int loop_waiting;

    /* Guarded by lock: */
    dvi_outbox out; /* messages for the scheduler */
    /* Full batches taken from out, oldest first: the loop hands the
     * connection one a turn (dvi_client_take_batch_locked). */
    dvi_batch *batches, **batches_tail;
    dvi_map futures; /* key -> dvi_fstate */
    dvi_pset live;   /* every live handle: for dv_close, and to check a
                        handle passed in without reading it */
    /* States and handles freed, kept for the next (future.c). */
    dvi_fstate *spare_states;
    dv_future *spare_handles;
    size_t nspare_states, nspare_handles;
    dvi_fstate **fetchq; /* results to fetch from workers */
    size_t nfetchq, capfetchq;
    dvi_request *requests;
    uint64_t next_request;
    uint64_t done_seq;
    char **workers; /* worker ids, as the scheduler last said */
    size_t nworkers;
    int welcomed;
    int lost;
    char lost_why[256];
    int lost_code;        /* DV_E* code of the loss (DV_EAUTH: refused) */
    char sched_addr[256]; /* the scheduler's address, for errors */
    int stopping;
    dvi_map fninfo;                  /* function name -> dvi_fninfo */
    atomic_uint_fast64_t fninfo_gen; /* bumped when an upload changes it */
    dvi_ascompleted *ascompleted;    /* dv_next_completed's index, or NULL */
    uint64_t ascompleted_gen;        /* generations of that index */
    dvi_fstate **done_log;           /* states completed since its last call */
    size_t ndone_log, capdone_log;
    /* Who waits on cond, so that a frame of results wakes only those it
     * concerns: dv_wait_all waits for one pending future at a time (its
     * target), and is woken when that one completes, not by each frame
     * (a wake-up per frame cost a tiny task's graph 3% of its CPU). */
    int nwaiters;                     /* in dvi_client_wait_locked */
    int nwaitall;                     /* of them, in dv_wait_all */
    const dvi_fstate *waitall_target; /* compared, never read */
    int waitall_hit;                  /* the target completed */

    /* Loop thread only: */
    dvi_conn *conn;         /* to the scheduler */
    dvi_beat *beat;         /* heartbeats on conn, once the scheduler pings */
    dvi_fetcher *fetcher;   /* results, from the workers holding them */
    dvi_tls_ctx *tls;       /* the client's identity on tcp, or NULL */
    dvi_embedded *embedded; /* the embedded cluster, or NULL */
    dvi_tunnel *tunnel;     /* ssh to the scheduler, or NULL */
    char scheme[16];        /* threads, processes or cluster (scheme.c) */
    char scheme_why[400];   /* and why dv_connect chose it */

    /* Set once at connect: */
    const dvi_client_host *host; /* a worker's client for its tasks'
                                    children (attach.c), or NULL */
    void *host_ctx;
    int expect_workers;           /* embedded: wait for this many */
    uint64_t nonce;               /* random, for impure keys */
    unsigned char owner[16];      /* secret: proves it published a name */
    atomic_uint_fast64_t counter; /* numbers impure keys */
};

/* fninfo.c: a copy of fn's info (dvi_fninfo, attach.h; its name not
 * set). Takes the lock unless this
 * thread asked about fn last and no upload changed anything since. */
void dvi_fninfo_get(dv_client *c, const char *fn, dvi_fninfo *out);
/* The functions of the library uploaded as hash now mean its code. */
void dvi_fninfo_note_library(dv_client *c, const char *hash,
                             const dvi_elf_fn *fns, int n);
void dvi_fninfo_free_all(dv_client *c);

/* connect.c */
/* A client on loop, whose wake-up calls wake; no connection yet. */
dv_client *dvi_client_new(uv_loop_t *loop, uv_async_cb wake);
/* Frees what dvi_client_new made, and what the client gathered since
 * (its handles closed already). */
void dvi_client_free(dv_client *c);
void dvi_client_queue_locked(dv_client *c); /* wakes the loop for c->out */
/* As dvi_client_queue_locked, without the wake-up: the caller then lets
 * go of the lock with dvi_client_unlock_wake, as a system call under it
 * would keep the loop thread waiting. */
void dvi_client_batch_locked(dv_client *c);
/* Lets go of c->lock, and wakes the loop thread for c->out if wake is
 * set: after letting go, or before for a worker's client (attach.c). */
void dvi_client_unlock_wake(dv_client *c, int wake);
/* Makes c->lock (uv_mutex_destroy frees it). */
void dvi_client_lock_init(dv_client *c);
/* Take c->lock on the loop thread, and in a user thread's call that may
 * come in a tight loop (dv_submit, dv_release). A mutex is not fair: a
 * thread submitting a graph took it again before the loop thread it woke
 * could run, and the loop (and the scheduler and workers that share it)
 * stood still until the whole graph was submitted. The user thread now
 * yields while the loop thread waits. Neither may be called with the lock
 * held. */
void dvi_client_lock_loop(dv_client *c);
void dvi_client_lock_user(dv_client *c);
/* Moves the oldest batch of messages for the scheduler to dst (all of them
 * if all is set; dst NULL drops them). Returns whether messages remain.
 * Lock held. */
int dvi_client_take_batch_locked(dv_client *c, dvi_outbox *dst, int all);
/* The scheduler's FINISHED or ERRED (a dvi_msg_fn), lock held. */
int dvi_client_on_result_locked(dv_client *c, int type, const msgpack_object *f,
                                uint32_t n);
/* Fetches key's result from the worker at addr, and what the fetcher
 * says of it (fetch.h's callbacks, ctx the client). Loop thread. */
void dvi_client_fetch(dv_client *c, const char *key, const char *addr);
void dvi_client_on_fetched(void *ctx, const char *key, const char *addr,
                           dvi_blob *blob);
void dvi_client_on_fetch_failed(void *ctx, const char *key, const char *addr,
                                int code, const char *why);
/* The fetches dv_result asked for (keys and addresses, caller frees
 * each and both arrays), taken under the lock. Returns how many. */
size_t dvi_client_take_fetchq_locked(dv_client *c, char ***keys, char ***addrs);
/* DV_ECLOSED, DV_ELOST (the scheduler, once welcomed), DV_ECONN or 0 */
int dvi_client_check_locked(dv_client *c);
int dvi_client_wait_locked(dv_client *c, uint64_t deadline_ns);
/* Whether what the loop did under the lock may concern a waiter: any
 * waiter but dv_wait_all's, or its target completed. Resets the hit. */
int dvi_client_wake_needed_locked(dv_client *c);
/* The waits of dv_result or dv_wait are over (a task's thread lent for
 * them is back). */
void dvi_client_wait_end(dv_client *c);
uint64_t dvi_deadline(double timeout_s);

/* future.c */
dv_future *dvi_future_new_locked(dv_client *c, dvi_fstate *st, int32_t index);
dvi_fstate *dvi_fstate_new(const char *key);
/* A state for key, reused if the client kept one (lock held). */
dvi_fstate *dvi_fstate_new_locked(dv_client *c, const char *key);
/* Frees a state no handle or table holds any more. */
void dvi_fstate_free(dvi_fstate *st);
/* As dvi_fstate_free, but the client may keep it for the next (lock
 * held). */
void dvi_fstate_free_locked(dv_client *c, dvi_fstate *st);
/* Completes st; the caller broadcasts c->cond once it has done all it
 * will under the lock (a frame of results wakes the waiters once: a
 * wake per result made them block on the lock the loop still held), or,
 * on the loop, calls dvi_client_wake_needed_locked to know whether it
 * must. */
void dvi_fstate_finish_locked(dv_client *c, dvi_fstate *st, int status,
                              const char *error);
void dvi_future_free_all(dv_client *c);

/* request.c: answers (UPLOADED, REPLY) from the loop thread */
int dvi_request_answer_locked(dv_client *c, int type, const msgpack_object *f,
                              uint32_t n);
void dvi_request_fail_all_locked(dv_client *c, const char *text);
void dvi_request_free_all(dv_client *c);
/* Sends one request message of type (UPLOAD: its hash) and waits up to
 * timeout_s for its answer; pack() packs the message, with the lock held,
 * under the request's id. NULL (reason set) if the client is unusable;
 * else the request, answered or with a DV_ETIMEDOUT status. Caller frees
 * with dvi_request_free. */
dvi_request *dvi_request_send(dv_client *c, int type, const char *hash,
                              double timeout_s,
                              void (*pack)(dv_client *, uint64_t id, void *),
                              void *arg);
void dvi_request_free(dvi_request *r);

/* ---- scheme.c ----------------------------------------------------------- */

/* The scheme of a where ("local:processes=2": processes). Static. */
const char *dvi_scheme_of(const char *where);
/* What dv_connect(NULL) means, into where, and why: 0; 1 for
 * DROVE_SCHEME=auto (the caller tries the profile's cluster first, then
 * dvi_scheme_fallback); DV_EINVAL for a bad DROVE_SCHEME. */
int dvi_scheme_pick(char *where, size_t size, char *why, size_t wsize);
/* The cluster of the selected profile: "profile:NAME". */
void dvi_scheme_cluster(char *where, size_t size);
/* auto, with no cluster running (cluster_error says why): processes or
 * threads. */
void dvi_scheme_fallback(char *where, size_t size, char *why, size_t wsize,
                         const char *cluster_error);
/* 0 if fn (of these DV_FN_* flags, as fninfo has them) may run on c's
 * scheme, else DV_EINVAL with the reason (not thread-safe, on threads). */
int dvi_scheme_allows(const dv_client *c, const char *fn, unsigned flags);

/* as_completed.c */
void dvi_ascompleted_note_locked(dv_client *c, dvi_fstate *st);
void dvi_ascompleted_free(dv_client *c);
uint64_t dvi_ascompleted_gen(const dv_client *c);

#endif
