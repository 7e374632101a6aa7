/* dvi_deadline: a running call's time limit, its cancellation and its
 * grace, as a function of the times it is given. */
#include "deadline.h"

void
dvi_deadline_init(dvi_deadline *d, uint64_t limit_ms)
{
    *d = (dvi_deadline){.limit_ms = limit_ms};
}

void
dvi_deadline_cancel(dvi_deadline *d, uint64_t now_ms)
{
    if (!d->cancelled) {
        d->cancelled = 1;
        d->cancelled_ms = now_ms;
    }
}

int
dvi_deadline_uncancel(dvi_deadline *d)
{
    d->cancelled = 0;
    if (d->asked && !d->timed_out) {
        d->asked = 0; /* its grace no longer runs */
    }
    return d->timed_out;
}

int
dvi_deadline_pending(const dvi_deadline *d)
{
    return !d->overdue && (d->limit_ms > 0 || d->cancelled || d->asked);
}

/* Asks the call to stop if it is cancelled or past its limit: since the
 * later of the cancel and its start, or since the moment the limit
 * passed. Returns 1 if it was asked now. */
static int
s_ask(dvi_deadline *d, uint64_t started_ms, uint64_t now_ms)
{
    if (d->cancelled) {
        d->asked_ms =
            d->cancelled_ms > started_ms ? d->cancelled_ms : started_ms;
    } else if (d->limit_ms > 0 && now_ms - started_ms >= d->limit_ms) {
        d->timed_out = 1;
        d->asked_ms = started_ms + d->limit_ms;
    } else {
        return 0;
    }
    d->asked = 1;
    return 1;
}

int
dvi_deadline_check(dvi_deadline *d, uint64_t started_ms, uint64_t now_ms,
                   uint64_t grace_ms, uint64_t *next_ms)
{
    *next_ms = DVI_DEADLINE_NEVER;
    if (d->overdue || started_ms == 0) {
        return DVI_DEADLINE_RUNS;
    }
    if (now_ms < started_ms) {
        now_ms = started_ms; /* it started after the caller read its clock */
    }
    int asked_now = !d->asked && s_ask(d, started_ms, now_ms);
    if (!d->asked) {
        if (d->limit_ms > 0) {
            *next_ms = started_ms + d->limit_ms;
        }
        return DVI_DEADLINE_RUNS;
    }
    uint64_t end = d->asked_ms + grace_ms;
    if (end < d->asked_ms) {
        end = DVI_DEADLINE_NEVER; /* a grace too long to end */
    }
    if (now_ms >= end) {
        d->overdue = 1;
        return DVI_DEADLINE_OVERDUE;
    }
    *next_ms = end;
    return asked_now ? DVI_DEADLINE_ASK : DVI_DEADLINE_RUNS;
}
