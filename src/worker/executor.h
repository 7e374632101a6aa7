/* dvi_executor: a worker's pool of threads that run task functions.
 *
 * The worker's loop hands it jobs whose inputs are all present; threads run
 * them (decoding arguments, calling the function, encoding the result) and
 * hand finished jobs back to the loop in batches through one uv_async, so
 * the loop never blocks on user code and a burst of tiny tasks costs one
 * wake-up. A job offered to take another's result (fuse_next, fuse.c) runs
 * right after it on its thread. dvi_executor_submit and destroy run on the loop
 * thread.
 */
#ifndef DVI_EXECUTOR_H
#define DVI_EXECUTOR_H

#include <stdatomic.h>
#include <stdint.h>
#include <uv.h>

#include "common/blob.h"
#include "deadline.h"
#include "drove.h"

typedef struct dvi_job_input {
    char *key;
    dvi_blob *blob;  /* held */
    dv_value *whole; /* decoded once while arguments take elements of it */
} dvi_job_input;

typedef struct dvi_executor dvi_executor;

/* Arguments up to this size are copied into the job's own allocation:
 * a blob of their own cost a tiny task an allocation, and an atomic
 * release on the loop of a line the executor's thread had read. */
#define DVI_JOB_ARGS_INLINE 512

typedef struct dvi_job {
    struct dvi_job *next;
    char *key; /* key, code, inputs and short arguments: in the job's own
                  allocation (dvi_job_new) */
    const dv_function *fn;
    char *code;       /* the code fn is of (COMPUTE's), for its children */
    int64_t priority; /* COMPUTE's, for its children's */
    dv_client *kids;  /* the worker's client for children (attach.h) */
    /* The encoded argument list (chunk: a list of lists): a short one in
     * the job's own allocation (argbytes, args NULL), decoded by copying;
     * a long one in args, from which values borrow their bytes. */
    dvi_blob *args;
    const char *argbytes;
    size_t argslen;
    uint32_t flags; /* DVI_TASK_* */
    uint64_t epoch; /* the worker's session it came in (worker.c) */
    size_t ninputs;
    dvi_job_input *inputs; /* results of the task's dependencies */
    uint64_t timeout_ms;   /* its time limit (COMPUTE), 0: none */
    int loop_ok;           /* short: the loop may take it back to run */
    /* A peer's task sent ahead waits for its result (a stencil's edge): it
     * runs before the jobs only this worker needs, so that the peer does
     * not idle for the length of this worker's queue (dvi_job_enqueue
     * puts it first): marked when submitted, or when the peer's GET comes
     * while it is queued (dvi_runner_hasten). */
    int urgent;
    dvi_deadline deadline; /* the loop's: its limit, cancel and grace */
    /* Shared with the thread that runs it: */
    _Atomic uint64_t started_ns; /* uv_hrtime() as it began, 0 before */
    atomic_int stop;             /* it should stop: dv_call_cancelled() */
    /* Set where it runs: */
    dvi_executor *ex; /* the executor whose thread runs it; NULL on the
                         loop thread, which must not wait */
    int spawned;      /* it submitted children (dv_call_submit) */
    int blocked;      /* waiting for them, its thread lent */
    int rerun;        /* it tried to wait on the loop thread: its outcome
                         is void, and it runs again on a thread */
    char *forward;    /* it returned the future of this child: the key */
    /* Chaining (fuse.c): a job that waits for this one's result alone
     * runs right after it on its thread. fuse_next is the loop's offer
     * (the job, or NULL), taken or closed (DVI_FUSE_CLOSED) by the thread
     * as this one ends; the job it takes is marked chained. */
    _Atomic(struct dvi_job *) fuse_next;
    struct dvi_job *fuse_attached; /* loop: the job offered as fuse_next */
    struct dvi_job *fuse_prev;     /* loop: the job it is offered to */
    size_t fuse_slot;              /* the input fuse_prev's result fills */
    int chained;                   /* it ran after fuse_prev, never queued */
    int fused_out;    /* its result went only to the job chained after it,
                         fused: not stored */
    dvi_blob *result; /* encoded result, or NULL on failure */
    char *error;      /* why it failed */
    int64_t us;       /* run time */
} dvi_job;

/* Receives a list of finished jobs (linked by next), on the loop thread. */
typedef void (*dvi_executor_done_fn)(void *ctx, dvi_job *done);

/* An executor of nthreads threads; while calls wait for their children,
 * as many more run others, up to max_blocked at once. */
dvi_executor *dvi_executor_new(uv_loop_t *loop, int nthreads, int max_blocked,
                               const char *worker_id, dvi_executor_done_fn done,
                               void *ctx);
/* A call on one of ex's threads begins (1) or ends (0) waiting for its
 * children: another thread runs calls meanwhile (dask's secede and
 * rejoin). Any thread. */
void dvi_executor_block(dvi_executor *ex, int begin);
/* Told on the loop thread how many threads are lent now (calls waiting
 * for their children, up to the limit), when that changed. */
typedef void (*dvi_executor_lent_fn)(void *ctx, int lent);
void dvi_executor_on_lent(dvi_executor *ex, dvi_executor_lent_fn fn, void *ctx);
/* Puts job in the list *head..*tail (linked by next, *tail the last
 * next field): last, or first if it is urgent (the latest urgent job
 * first). The runner's queue and the executor's both keep this order. */
void dvi_job_enqueue(dvi_job **head, dvi_job ***tail, dvi_job *job);
/* If job is in the list *head..*tail, marks it urgent and moves it to the
 * head (dvi_job_enqueue's place for it); returns 1 if it was there, 0 if
 * not. */
int dvi_job_hasten(dvi_job **head, dvi_job ***tail, dvi_job *job);
/* Queues a job; the executor owns it until it comes back through done. */
void dvi_executor_submit(dvi_executor *ex, dvi_job *job);
/* Queues the jobs of a list linked by next, in order, under one lock and
 * with a wake-up per idle thread they need: a frame's jobs at once. */
void dvi_executor_submit_list(dvi_executor *ex, dvi_job *jobs);
/* Takes back the jobs no thread has started, in order (linked by next):
 * the caller owns them again. */
dvi_job *dvi_executor_take_queued(dvi_executor *ex);
/* Takes back the first job no thread has started that is marked loop_ok,
 * or returns NULL: the caller owns it again. */
dvi_job *dvi_executor_take_loop_ok(dvi_executor *ex);
/* dvi_job_hasten on the queue, if no thread has started job yet; returns
 * 1 if it did, 0 if the job is not queued here. */
int dvi_executor_hasten(dvi_executor *ex, dvi_job *job);
/* Has every thread give its heap's free pages back (dvi_alloc_collect):
 * an idle one at once, a busy one once its call ends. Nothing where
 * drove's memory is the process allocator's (dvi_alloc_is_mimalloc). */
void dvi_executor_collect(dvi_executor *ex);
/* Waits for running jobs, drops queued ones, joins the threads, frees.
 * The caller's loop must still run afterwards for the async to close. */
void dvi_executor_destroy(dvi_executor **ex);
/* For a process about to end with calls that cannot be stopped: drops
 * queued jobs, closes the wake-up, and lets the threads go without
 * waiting: one that finishes its call ends without touching the loop.
 * The executor and the running jobs are never freed (their threads may
 * still read them). Sets *ex to NULL. */
void dvi_executor_abandon(dvi_executor **ex);

/* A job for key's call of a function of code, its encoded arguments
 * copied, room for ndeps inputs; the rest is the caller's to set. */
dvi_job *dvi_job_new(const char *key, const char *code, const char *args,
                     size_t argslen, size_t ndeps);
void dvi_job_free(dvi_job *job);
/* Runs the job in the calling thread (what an executor thread does). */
void dvi_job_run(dvi_job *job, const char *worker_id);
/* fuse_next of a job whose thread has ended it. */
extern struct dvi_job dvi_fuse_closed;
#define DVI_FUSE_CLOSED (&dvi_fuse_closed)

/* Forgets the outcome of a run (a rerun's), to run the job again. */
void dvi_job_reset(dvi_job *job);
/* The host's block (attach.h) for the job running on this thread. */
int dvi_job_block(int begin);
/* The default of dvi_worker_opts.max_blocked. */
#define DVI_MAX_BLOCKED 64

#endif
