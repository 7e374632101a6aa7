/* dvi_core: the scheduler's brain, with no sockets.
 *
 * The task graph (tasks by key, their inputs kept as lineage, who holds
 * each result and who wants it), every state transition, and placement.
 * It takes events — a client submits, releases or cancels; a worker
 * joins, reports DONE or FAILED, leaves — and answers by adding messages
 * to the outboxes of the peers concerned. Sessions (sched.c) read the
 * messages off connections and call these functions; unit tests call them
 * directly and read the outboxes. All functions run on one thread.
 *
 * Events take the typed messages of msg.h as they were read off the wire;
 * every field they hold has been checked by its reader. Ending a turn
 * (dvi_core_turn) places ready tasks and frees forgotten ones: call it
 * after each batch of events.
 */
#ifndef DVI_CORE_H
#define DVI_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "proto/msg.h"
#include "proto/outbox.h"
#include "task.h"

typedef struct dvi_core dvi_core;

/* Counters a dashboard or a test can read. */
typedef struct dvi_core_stats {
    uint64_t tasks;                    /* tasks in the graph now */
    uint64_t submitted;                /* tasks created since start */
    uint64_t children;                 /* child calls submitted by tasks
                                          (dv_call_submit), deduplicated
                                          or not */
    uint64_t finished;                 /* tasks that reached memory */
    uint64_t erred;                    /* tasks that erred or were cancelled */
    uint64_t workers;                  /* workers connected now */
    uint64_t clients;                  /* clients connected now */
    uint64_t states[DVI_TASK_NSTATES]; /* tasks in each state now */
    uint64_t bytes_moved;              /* inputs sent for from another
                                          worker (their sizes when known) */
} dvi_core_stats;

dvi_core *dvi_core_new(void);
/* Frees the graph and every worker and client record. Accepts NULL. */
void dvi_core_destroy(dvi_core **c);

/* ---- Peers -------------------------------------------------------------- */

/* A client that sent its HELLO; out receives its messages (the core sends
 * WELCOME, then WORKERS, at once). Owned by the core until client_leave.
 * A client in this process (in_process) is trusted with derived keys. */
dvi_sclient *dvi_core_client_join(dvi_core *c, dvi_outbox *out, int in_process);
/* The client is gone: everything it wanted is released. Frees cl. */
void dvi_core_client_leave(dvi_core *c, dvi_sclient *cl);
/* "client-N", for logs and WELCOME. Borrowed. */
const char *dvi_sclient_name(const dvi_sclient *cl);
/* Where the client's messages are queued. */
dvi_outbox *dvi_sclient_outbox(dvi_sclient *cl);
/* The client cannot reach the workers: its results come through r. */
struct dvi_relay;
void dvi_sclient_set_relay(dvi_sclient *cl, struct dvi_relay *r);

/* A worker that sent its HELLO, proposing id, with nthreads threads,
 * serving results at addr. The core makes the id unique (a suffix
 * "-2"...), welcomes it with that id, sends it every uploaded library and
 * tells the clients. A worker in this process (in_process: a thread
 * worker) submits children through drove's own dv_call_submit, so their
 * derived keys are trusted as an in-process client's are. */
dvi_sworker *dvi_core_worker_join(dvi_core *c, const char *id, const char *addr,
                                  int nthreads, dvi_outbox *out,
                                  int in_process);
/* The worker is gone (why: how it died). Its tasks are placed again and
 * what only it held is lost. Frees w. */
void dvi_core_worker_leave(dvi_core *c, dvi_sworker *w, const char *why);
/* The worker is stopping (RETIRING): nothing more is placed there, tasks
 * pinned to it that have not started err, and clients stop seeing it in
 * WORKERS. The tasks it does not start come back as FAILED blame
 * DVI_BLAME_WORKER and go elsewhere; when it leaves, what it still ran is
 * placed again without counting as a death of its worker. */
void dvi_core_retiring(dvi_core *c, dvi_sworker *w, const dvi_msg_retiring *m);
/* INFO: w's host, process id and resources. */
void dvi_core_info(dvi_core *c, dvi_sworker *w, const dvi_msg_info *m);
/* The cluster's status as JSON (control.c): address (the scheduler's, as
 * given), workers (an object each: id, host, addr, pid, threads, running,
 * done, memory_bytes, paused, retiring, resources: name -> amount) and
 * totals. Caller frees. */
char *dvi_core_status_json(const dvi_core *c, const char *address);
/* Asks the workers named in ids (separated by newlines) to retire
 * (RETIRE, why): each stops as on SIGTERM, its results moved first.
 * Returns how many, or DV_ENOTFOUND naming an unknown worker (then none
 * is asked). */
int dvi_core_retire(dvi_core *c, const char *ids, const char *why);
/* LEAVING: w is about to exit. The results only it holds move to workers
 * that stay (MOVE); it is sent BYE once they are held there (leave.c). */
void dvi_core_leaving(dvi_core *c, dvi_sworker *w, const dvi_msg_leaving *m);
/* The worker's memory (MEMORY): paused, nothing new is placed there nor
 * stolen for it, until it says it has resumed. */
void dvi_core_worker_memory(dvi_core *c, dvi_sworker *w,
                            const dvi_msg_memory *m);
/* The id the core gave the worker. Borrowed. */
const char *dvi_sworker_id(const dvi_sworker *w);

/* ---- Events ------------------------------------------------------------- */

/* A running task's SUBMIT of a child (its parent field set), from the
 * worker w running it. Returns 0, or DV_EPROTO (reason set) for a message
 * that is not well formed. */
int dvi_core_child_submit(dvi_core *c, dvi_sworker *w, const dvi_msg_submit *m);
/* SECEDE: w's calls waiting for their children now, each with its thread
 * lent to other calls: w has room for that many more. */
void dvi_core_secede(dvi_core *c, dvi_sworker *w, const dvi_msg_secede *m);
/* A client's SUBMIT. Returns 0, or DV_EPROTO (reason set) for a message
 * the session must treat as malformed. */
int dvi_core_submit(dvi_core *c, dvi_sclient *cl, const dvi_msg_submit *m);
void dvi_core_release(dvi_core *c, dvi_sclient *cl, const char *key);
void dvi_core_cancel(dvi_core *c, dvi_sclient *cl, const char *key);
/* SCATTER: on a worker and a replica; with DVI_SCATTER_BROADCAST, on
 * every worker, present and future (broadcast.c). */
void dvi_core_scatter(dvi_core *c, dvi_sclient *cl, const dvi_msg_scatter *m);
void dvi_core_upload(dvi_core *c, dvi_sclient *cl, const dvi_msg_upload *m);
void dvi_core_publish(dvi_core *c, dvi_sclient *cl, const dvi_msg_publish *m);
void dvi_core_lookup(dvi_core *c, dvi_sclient *cl, const dvi_msg_lookup *m);
void dvi_core_unpublish(dvi_core *c, dvi_sclient *cl,
                        const dvi_msg_unpublish *m);

/* A worker or a client could not fetch a result from the holder m names:
 * that worker no longer counts as holding it, and the result is computed
 * again if nothing else holds it. A client is told FINISHED again once it
 * is held. */
void dvi_core_worker_lost(dvi_core *c, dvi_sworker *w, const dvi_msg_lost *m);
void dvi_core_client_lost(dvi_core *c, dvi_sclient *cl, const dvi_msg_lost *m);

/* A worker's answers to COMPUTE and SCATTER, and to UPLOAD. */
void dvi_core_done(dvi_core *c, dvi_sworker *w, const dvi_msg_done *m);
void dvi_core_stored(dvi_core *c, dvi_sworker *w, const dvi_msg_stored *m);
void dvi_core_failed(dvi_core *c, dvi_sworker *w, const dvi_msg_failed *m);
void dvi_core_uploaded(dvi_core *c, dvi_sworker *w, const dvi_msg_uploaded *m);

/* Ends a turn: places ready tasks on workers with room, then frees the
 * tasks forgotten during the turn. */
void dvi_core_turn(dvi_core *c);

/* ---- Reading ------------------------------------------------------------ */

/* The task under key, or NULL. Borrowed; valid until the end of the turn
 * that forgets it. */
const dvi_task *dvi_core_task(const dvi_core *c, const char *key);
void dvi_core_stats_get(const dvi_core *c, dvi_core_stats *out);
/* Records finished tasks and errors into t from now on (NULL: stop). */
struct dvi_trace;
void dvi_core_set_trace(dvi_core *c, struct dvi_trace *t);
size_t dvi_core_nworkers(const dvi_core *c);
/* Tasks of the function named fn (all its codes) in each state, into out.
 * Returns 1, or 0 if no task ever named it. */
int dvi_core_fn_states(const dvi_core *c, const char *fn,
                       uint64_t out[DVI_TASK_NSTATES]);

#endif
