/* dvi_watch: the calls of a worker that must end by a time.
 *
 * Those with a time limit (dv_opts.timeout), from the moment they are
 * handed to the executor, and those cancelled while queued or running.
 * While it watches any, a timer wakes the loop when the next of them is
 * due (and every S_POLL_MS while one waits in the executor's queue: only
 * its thread knows when it starts). A call past its limit, or cancelled,
 * is asked to stop (its dv_call_cancelled() turns true); one still
 * running at the end of its grace is overdue, and the worker is told, once
 * per call. The policy is dvi_deadline's; this is its clock and its timer.
 *
 * Not thread-safe: the worker's loop thread only.
 */
#ifndef DVI_WATCH_H
#define DVI_WATCH_H

#include <stdint.h>
#include <uv.h>

#include "executor.h"

/* The default grace of a call asked to stop, in ms. */
#define DVI_CANCEL_GRACE_MS 500

typedef struct dvi_watch dvi_watch;

/* A watched call is still running at the end of its grace (its
 * deadline says whether it timed out or was cancelled). The watch no
 * longer looks at it; the callback may remove it or leave it. */
typedef void (*dvi_watch_overdue_fn)(void *ctx, dvi_job *job);

/* A watch on loop, giving calls grace_ms to return once asked to stop.
 * Caller owns; free with dvi_watch_destroy. */
dvi_watch *dvi_watch_new(uv_loop_t *loop, uint64_t grace_ms,
                         dvi_watch_overdue_fn overdue, void *ctx);
/* Stops the timer and frees the watch (the jobs are the caller's).
 * Accepts NULL; sets *w to NULL. */
void dvi_watch_destroy(dvi_watch **w);
/* job was handed to the executor: watched if it has a time limit. */
void dvi_watch_add(dvi_watch *w, dvi_job *job);
/* Nothing wants job's result any more: it is asked to stop at once, and
 * watched until it returns. */
void dvi_watch_cancel(dvi_watch *w, dvi_job *job);
/* job is wanted again: it need not stop, unless it timed out. */
void dvi_watch_uncancel(dvi_watch *w, dvi_job *job);
/* job returned, or was taken back: no longer watched (none: nothing
 * happens). Must be called before job is freed. */
void dvi_watch_remove(dvi_watch *w, dvi_job *job);
/* Calls watched now. */
size_t dvi_watch_count(const dvi_watch *w);

#endif
