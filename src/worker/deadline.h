/* dvi_deadline: when a call that must end by a time is asked to stop,
 * and when it is overdue.
 *
 * A running call is asked to stop when nothing wants its result any more
 * (the scheduler's FREE: a cancel, a release) or when it has run past its
 * time limit (dv_opts.timeout). From then it has a grace period to return
 * by itself (dv_call_cancelled() tells it); a call still running at the
 * end of the grace is overdue, and the worker stops it. The grace runs
 * from the moment the limit passed, not from when someone looked, so a
 * late look never lengthens it.
 *
 * Pure: no clock and no loop. Times are milliseconds on one clock, given
 * by the caller (dvi_watch), so unit tests drive it directly.
 */
#ifndef DVI_DEADLINE_H
#define DVI_DEADLINE_H

#include <stdint.h>

/* A time that never comes: nothing to look at before something changes. */
#define DVI_DEADLINE_NEVER UINT64_MAX

typedef struct dvi_deadline {
    uint64_t limit_ms;     /* run time allowed from the start, 0: none */
    uint64_t cancelled_ms; /* when it was cancelled (if cancelled) */
    uint64_t asked_ms;     /* when it was asked to stop (if asked) */
    uint8_t cancelled;     /* nothing wants its result */
    uint8_t timed_out;     /* it ran past limit_ms */
    uint8_t asked;         /* asked to stop: the grace runs */
    uint8_t overdue;       /* the end of the grace was reported */
} dvi_deadline;

/* What dvi_deadline_check says to do. */
enum dvi_deadline_verdict {
    DVI_DEADLINE_RUNS = 0, /* nothing (yet) */
    DVI_DEADLINE_ASK,      /* ask the call to stop: now, once */
    DVI_DEADLINE_OVERDUE   /* still running after its grace: stop it, once */
};

/* A call allowed limit_ms of run time (0: no limit). */
void dvi_deadline_init(dvi_deadline *d, uint64_t limit_ms);
/* Nothing wants the call's result since now_ms. */
void dvi_deadline_cancel(dvi_deadline *d, uint64_t now_ms);
/* The call is wanted again (sent again after a cancel): no longer
 * cancelled. Returns 1 if it must still stop (it timed out), else 0. */
int dvi_deadline_uncancel(dvi_deadline *d);
/* Whether the call needs looking at: it has a limit or was cancelled,
 * and was not found overdue yet. */
int dvi_deadline_pending(const dvi_deadline *d);
/* What to do at now_ms for a call that started at started_ms (0: it has
 * not started; nothing runs out before it does). *next_ms gets the time
 * of the next change, DVI_DEADLINE_NEVER if none is due before the call
 * starts or is cancelled. A call found ASK is asked to stop; one found
 * OVERDUE was asked too (both, with no grace, come as OVERDUE). */
int dvi_deadline_check(dvi_deadline *d, uint64_t started_ms, uint64_t now_ms,
                       uint64_t grace_ms, uint64_t *next_ms);

#endif
