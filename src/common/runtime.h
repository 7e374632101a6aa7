/* dvi_runtime: the skeleton every role runs on.
 *
 * A libuv loop, hooks that run just before it sleeps, SIGINT and SIGTERM,
 * one background job thread, stop, and teardown. The scheduler daemon, the
 * worker daemon and worker processes, and each client's loop thread own
 * one runtime each, so that none of them writes its own loop teardown.
 *
 * The loop never blocks: anything slow (an SQLite commit, spilling results
 * to disk, an HTTP snapshot) is a job for the background thread, as in
 * redis:src/bio.c. Jobs run one at a time in the order queued; each one's
 * done callback comes back on the loop, through one uv_async, in the same
 * order.
 *
 * The runtime's own handles never keep the loop alive, except the job
 * wake-up while jobs are outstanding (as libuv's uv_queue_work does): a
 * loop whose roles have closed everything ends by itself.
 *
 * Not thread-safe: every function runs on the loop's thread (or, once the
 * loop thread has been joined, on the thread that joined it).
 */
#ifndef DVI_RUNTIME_H
#define DVI_RUNTIME_H

#include <uv.h>

typedef struct dvi_runtime dvi_runtime;

/* A hook that runs on each loop turn, just before the loop polls (and
 * may sleep): the place to flush what the turn batched. */
typedef void (*dvi_runtime_hook_fn)(void *ctx);
/* Told a stop signal (SIGINT or SIGTERM) and how many stop signals have
 * arrived so far, this one included: a role can stop gracefully on the
 * first and at once on the second. */
typedef void (*dvi_runtime_signal_fn)(void *ctx, int signum, int count);
/* A job's work (on the job thread) or its completion (on the loop). */
typedef void (*dvi_runtime_job_fn)(void *ctx);

/* A runtime on a fresh loop. Caller owns; free with dvi_runtime_destroy.
 * NULL with the reason set if the loop cannot be made. */
dvi_runtime *dvi_runtime_new(void);
/* Tears the runtime down (dvi_runtime_teardown) if not done yet, and
 * frees it. Accepts NULL; sets *rt to NULL. */
void dvi_runtime_destroy(dvi_runtime **rt);

/* The loop. Borrowed; valid until dvi_runtime_destroy. */
uv_loop_t *dvi_runtime_loop(dvi_runtime *rt);
/* The runtime whose loop this is, or NULL for a loop whose data is NULL:
 * a role given only a loop finds the job thread through it. The runtime
 * keeps itself in its loop's data field: nothing else may set it. A loop
 * made elsewhere must have data NULL to be passed here. */
dvi_runtime *dvi_runtime_of(uv_loop_t *loop);

/* Runs the loop until dvi_runtime_stop, or until nothing is left that
 * keeps it alive. May be called again afterwards. */
void dvi_runtime_run(dvi_runtime *rt);
/* Makes dvi_runtime_run return after the current loop turn. */
void dvi_runtime_stop(dvi_runtime *rt);

/* Adds a hook run before the loop sleeps, after those added earlier. */
void dvi_runtime_add_hook(dvi_runtime *rt, dvi_runtime_hook_fn fn, void *ctx);
/* Removes the hook added with fn and ctx (none: nothing happens). Safe
 * from inside a hook. */
void dvi_runtime_remove_hook(dvi_runtime *rt, dvi_runtime_hook_fn fn,
                             void *ctx);

/* Catches SIGINT and SIGTERM from now until teardown, telling fn about
 * each on the loop thread. Once per runtime. Returns 0, or DV_ESYS with
 * the reason set. */
int dvi_runtime_catch_signals(dvi_runtime *rt, dvi_runtime_signal_fn fn,
                              void *ctx);
/* Stop signals caught so far. */
int dvi_runtime_signal_count(const dvi_runtime *rt);

/* Queues a job: work(ctx) runs on the job thread after every job queued
 * before it, then done(ctx) (if not NULL) runs on the loop thread. The
 * thread starts with the first job. Returns 0, or DV_ESYS (reason set, no
 * callback ever called) if the thread cannot start. */
int dvi_runtime_queue_job(dvi_runtime *rt, dvi_runtime_job_fn work,
                          dvi_runtime_job_fn done, void *ctx);
/* Waits until every queued job has run, and runs their done callbacks
 * here (jobs those queue included). A role calls it before freeing what
 * its jobs' contexts point to. */
void dvi_runtime_wait_jobs(dvi_runtime *rt);
/* Jobs queued whose done callback has not run yet. */
size_t dvi_runtime_jobs_outstanding(const dvi_runtime *rt);

/* Tears the loop down. Stops the hooks and the signal watchers; runs the
 * loop until nothing keeps it alive, so that the roles' connections write
 * their last frames and close, child processes exit and outstanding jobs
 * finish (a role stops its timers when it is destroyed); ends the job
 * thread; closes every handle still open, runs the loop until their close
 * callbacks have run, and closes the loop. Call with the roles' objects
 * destroyed. Returns 0, or the libuv error of uv_loop_close (a handle was
 * opened during the teardown). Once; dvi_runtime_destroy calls it if the
 * owner did not. */
int dvi_runtime_teardown(dvi_runtime *rt);

#endif
