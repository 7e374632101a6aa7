/* dvi_runner: where a worker's ready jobs run, the loop thread or the
 * executor's threads.
 *
 * A call of a function that has proven short (tens of microseconds; up to
 * hundreds for a worker alone on its loop with one thread) costs
 * less on the loop thread than the two thread wake-ups of handing it to
 * the executor. But a call on the loop thread is a call on one core, and
 * that must never take parallelism away: on `local:threads=N` one loop
 * carries the scheduler, the client and every worker; on a daemon with
 * `--threads N` the loop is one thread of N + 1. So ready jobs wait for
 * the end of the loop's turn (an idle handle), and then a short one runs
 * on the loop only when
 *
 *   - its worker has the loop to itself and one thread (a process of
 *     `local:processes`, a `drove worker --threads 1`): the loop is as
 *     good a core as the thread, and a batch runs with no hand-off; or
 *   - it is the only job ready in its group (the workers sharing the
 *     loop) and none is on their executors: a chain's next link, a lone
 *     round trip, where latency is all that counts.
 *
 * Everything else goes to the executor: N ready jobs run on N threads.
 * The loop then lends a hand, taking back short jobs no thread has
 * started yet (a thread's wake-up costs more than such a call): tiny tasks
 * cost the executor nothing, and every thread that wakes finds work.
 * Jobs on the loop yield to its I/O after about a millisecond.
 * All functions run on the loop thread.
 */
#ifndef DVI_RUNNER_H
#define DVI_RUNNER_H

#include <uv.h>

#include "executor.h"
#include "watch.h"

typedef struct dvi_runner dvi_runner;

/* The workers sharing one loop: what they have ready and running. Zero it
 * before use; it must outlive their runners. */
typedef struct dvi_runner_group {
    size_t ready; /* jobs waiting for the end of the turn */
    size_t busy;  /* jobs on the executors, queued or running */
} dvi_runner_group;

/* A runner on loop for a worker with nthreads executor threads (named
 * worker_id in what calls see). group: the workers it shares the loop
 * with, or NULL if it has the loop to itself. Finished jobs go to done
 * (a list linked by next), their run times noted; a job sent to the
 * executor is added to watch (borrowed) first. Caller owns; free with
 * dvi_runner_destroy. max_blocked: see dvi_executor_new. */
dvi_runner *dvi_runner_new(uv_loop_t *loop, int nthreads, int max_blocked,
                           const char *worker_id, dvi_runner_group *group,
                           dvi_watch *watch, dvi_executor_done_fn done,
                           void *ctx);
/* Tells fn on the loop thread how many threads the executor lends now
 * (dvi_executor_on_lent). */
void dvi_runner_on_lent(dvi_runner *r, dvi_executor_lent_fn fn, void *ctx);
/* Its executor's threads give their heaps' free pages back
 * (dvi_executor_collect); r is a dvi_runner *, for dvi_trimmer_on_done. */
void dvi_runner_collect(void *r);
/* A job whose inputs are all present: the runner owns it until done. */
void dvi_runner_submit(dvi_runner *r, dvi_job *job);
/* A peer now waits for job's result: if it is queued, not started, it
 * becomes urgent and goes to the head of the queue it is in. */
void dvi_runner_hasten(dvi_runner *r, dvi_job *job);
/* Takes back the jobs not started, the oldest first (linked by next):
 * the caller owns them again. */
dvi_job *dvi_runner_take_queued(dvi_runner *r);
/* Waits for running jobs, frees queued ones and the runner (the loop must
 * run afterwards for its handles to close). Accepts NULL; sets *r to NULL. */
void dvi_runner_destroy(dvi_runner **r);
/* For a process about to end with calls running: see
 * dvi_executor_abandon. Queued jobs are dropped. Sets *r to NULL. */
void dvi_runner_abandon(dvi_runner **r);

#endif
