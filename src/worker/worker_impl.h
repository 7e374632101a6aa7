/* The worker's private state, shared by its files:
 *
 *   worker.c   its tasks: COMPUTE, FREE, SCATTER, UPLOAD, the inputs it
 *              fetches, the jobs it runs, giving back what it has not
 *              started; its life cycle
 *   member.c   the worker in its cluster: the link to the scheduler (HELLO
 *              on each connection it opens, WELCOME, BYE, losing it),
 *              retiring, and ending its process to stop a call
 *   memwatch.c its memory limit: spilling, pausing, MEMORY
 *
 * Nothing here is visible outside src/worker.
 */
#ifndef DVI_WORKER_IMPL_H
#define DVI_WORKER_IMPL_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

#include "common/map.h"
#include "common/trim.h"
#include "executor.h"
#include "funcs.h"
#include "link.h"
#include "memwatch.h"
#include "proto/conn.h"
#include "proto/fetch.h"
#include "proto/msg.h"
#include "runner.h"
#include "serve.h"
#include "store.h"
#include "watch.h"
#include "worker.h"

/* A task received from the scheduler and not yet reported back. */
typedef struct dvi_wtask {
    dvi_job *job;
    uint32_t owed;     /* COMPUTEs to answer: a cancelled task sent again
                          while it still runs is answered twice */
    uint32_t nmissing; /* inputs still being fetched */
    int freed;         /* the scheduler no longer wants it */
    char *why;         /* why an input could not be had, NULL while none failed
                          (malloc'ed: a buffer in every task cost each tiny task
                          384 zeroed bytes) */
} dvi_wtask;

/* An input being fetched from a peer, and the tasks waiting for it. */
typedef struct dvi_wfetch {
    char *key;
    char *addr; /* "" for a task computing here */
    int keep;   /* MOVE: the result is kept here, and STORED said */
    int coming; /* a GET that waits while the peer computes the key */
    dvi_wtask **waiters;
    uint32_t *slots; /* the input of waiters[i] it fills */
    size_t n, cap;
    char *why; /* set when queued on failq: why it failed */
    struct dvi_wfetch *next_failed;
} dvi_wfetch;

void dvi_wtask_free(dvi_wtask *wt);
void dvi_wfetch_free(dvi_wfetch *f);

struct dvi_worker {
    uv_loop_t *loop;
    char id[128];
    char addr[128];    /* the address peers are told (HELLO); "" until the
                          first connection to the scheduler decides it */
    char bound[128];   /* where the server listens */
    char contact[128]; /* the address to advertise, if given */
    int nthreads;
    char *resources;      /* declared in INFO ("GPU=1"), or NULL */
    int welcomed;         /* on the connection in use */
    unsigned sessions;    /* times welcomed: more than 1 after a rejoin */
    uint64_t epoch;       /* the session: bumped when one is lost */
    int forgetting;       /* a lost session's state is still to drop */
    size_t orphans;       /* its jobs still running on the executor */
    uv_timer_t *forget;   /* drops it (malloc'ed: closes after w is freed) */
    dvi_link *link;       /* to the scheduler: dials, retries, says when lost */
    dvi_conn *sched;      /* the link's connection while open, else NULL */
    dvi_server *server;   /* answers peers' GETs from store */
    dvi_fetcher *fetcher; /* fetches inputs from peers */
    dvi_tls_ctx *tls;     /* held: the identity on tcp, or NULL */
    dvi_runner *run;      /* runs ready jobs: on the loop or the executor */
    dv_client *kids;      /* its tasks' children go through it (spawn.c) */
    dvi_funcs *funcs;
    dvi_store *store;  /* results held here */
    dvi_map tasks;     /* key -> s_wtask */
    dvi_map fetches;   /* key -> s_fetch */
    dvi_wfetch *failq; /* local waits whose task was dropped: fail them */
    int failing;       /* draining failq */
    dvi_worker_lost_fn lost;
    void *ctx;
    dvi_worker_stats stats;
    dvi_trimmer *trim;             /* gives back what freed results took */
    dvi_memwatch *mem;             /* spills and pauses under a limit */
    char *retiring;                /* dvi_worker_retire's reason, or NULL */
    dvi_worker_drained_fn drained; /* told when the last task is done */
    void *drained_ctx;
    dvi_watch *watch;        /* calls that must end by a time */
    dvi_worker_stop_fn stop; /* ends the process, or NULL: it cannot */
    void *stop_ctx;
    dvi_worker_retire_fn retire; /* RETIRE: as a first signal, or NULL */
    void *retire_ctx;
    int cancel_grace_ms;        /* a call asked to stop has this long */
    int stopping;               /* stop was called */
    char stop_why[384];         /* why, for stop once the results have moved */
    dvi_worker_drained_fn left; /* dvi_worker_leave's: told when left */
    void *left_ctx;
    uv_timer_t *leave;       /* bounds the wait for the results to move */
    dvi_outbox later;        /* DONEs the scheduler hears of later (later.c) */
    uv_timer_t *later_timer; /* sends them within DVI_WORKER_LATER_MS */
};

/* ---- worker.c ----------------------------------------------------------- */

/* Reads one message from the scheduler (a dvi_msg_fn; ctx is the worker). */
int dvi_worker_on_msg(void *ctx, int type, const msgpack_object *f, uint32_t n);
/* Answers every task not started (queued for the executor, or waiting for
 * inputs) with FAILED blamed on the worker, and forgets it. Returns how
 * many. */
size_t dvi_worker_give_back(dvi_worker *w);
/* STEAL: gives back up to count tasks not started (giveback.c). */
int dvi_worker_on_steal(dvi_worker *w, const msgpack_object *f, uint32_t n);
/* Forgets every task of a session that is over (its epoch was bumped):
 * those not started are freed, those running orphaned (dropped when they
 * end), the fetches for them abandoned. Nothing is sent. Not from inside
 * the worker's own message or job handling: from a callback of its own.
 * Returns how many tasks it forgot. */
size_t dvi_worker_forget_tasks(dvi_worker *w);

/* ---- spawn.c ------------------------------------------------------------ */

/* Makes w->kids, the client its tasks submit children through. */
void dvi_worker_kids_init(dvi_worker *w);
/* job, owed that many answers, returned its child's future: DONE says
 * which (forward), and nothing is stored under its key. */
void dvi_worker_forwarded(dvi_worker *w, dvi_job *job, uint32_t owed);

/* ---- fuse.c ------------------------------------------------------------- */

/* wt, waiting for one input only, a task here, is offered to that task's
 * job to run right after it on its thread (chaining). */
void dvi_worker_fuse_offer(dvi_worker *w, dvi_wtask *wt);
/* Takes job b's offer back; returns 1, or 0 if b may be running on its
 * input's thread now (it is then not to be freed or given back). */
int dvi_worker_fuse_withdraw(dvi_job *b);
/* Before the runner goes: every offer is taken back, and the task of a
 * job that a thread took (freed with the runner) left with job NULL. */
void dvi_worker_fuse_withdraw_all(dvi_worker *w);
/* Job a is back on the loop: the job its thread runs right after it, if
 * any, waits for a's result no longer (it comes back on its own). */
void dvi_worker_fuse_taken(dvi_worker *w, dvi_job *a);
/* Whether job's result goes to the one task here that takes it, sent to
 * be fused (nothing else needs it): it is then never stored. */
int dvi_worker_fused(dvi_worker *w, const dvi_job *job);

/* ---- member.c ----------------------------------------------------------- */

extern const dvi_link_fns dvi_worker_link_fns;
/* Starts serving peers at listen ("tcp://IP:PORT", "inproc://NAME").
 * Returns 0, or a DV_E* code with a reason that names the address. */
int dvi_worker_listen(dvi_worker *w, const char *listen);
/* The address to advertise instead of the server's ("tcp://HOST:PORT";
 * port 0: the server's port). Returns 0, or DV_EINVAL with the reason. */
int dvi_worker_set_contact(dvi_worker *w, const char *contact);
int dvi_worker_on_welcome(dvi_worker *w, const msgpack_object *f, uint32_t n);
int dvi_worker_on_bye(dvi_worker *w, const msgpack_object *f, uint32_t n);
int dvi_worker_on_retire(dvi_worker *w, const msgpack_object *f, uint32_t n);
/* Makes, and closes, the worker's timers: the one that drops a lost
 * session's state, the one that bounds leaving, and later.c's (with the
 * DONEs it holds). */
void dvi_worker_timers_init(dvi_worker *w);
void dvi_worker_timers_fini(dvi_worker *w);
/* A COMPUTE that came after the worker began to retire: not started. */
int dvi_worker_refuse_compute(dvi_worker *w, const msgpack_object *f,
                              uint32_t n);
/* Answers key, sent times, as not started (the worker is retiring). */
void dvi_worker_not_started(dvi_worker *w, const char *key, uint32_t times);
/* A retiring worker with no task left is drained: tells whoever waits. */
void dvi_worker_check_drained(dvi_worker *w);
/* job still runs at the end of its grace (the scheduler was told if it
 * timed out): ends the process through w->stop, after retiring, or, when
 * the worker cannot stop calls, says that it runs on. */
void dvi_worker_stop_call(dvi_worker *w, const dvi_job *job);

/* ---- later.c ------------------------------------------------------------ */

/* The longest a DONE waits to go with others (ms). */
#define DVI_WORKER_LATER_MS 1

/* Sends m, owed times, for job (no longer among w's tasks): now, after
 * those waiting, or later with others when nothing waits for it but the
 * scheduler's records. Nothing without a scheduler. */
void dvi_worker_done_send(dvi_worker *w, const dvi_job *job,
                          const dvi_msg_done *m, uint32_t owed);
/* The outbox of w's connection to the scheduler (w->sched, not NULL), the
 * DONEs waiting in it first: every message for the scheduler is packed
 * there, so that none overtakes them. */
dvi_outbox *dvi_worker_sched_out(dvi_worker *w);
/* The DONEs waiting are dropped: their session is over. */
void dvi_worker_later_drop(dvi_worker *w);

#endif
