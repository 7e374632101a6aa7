/* DONEs the scheduler can hear of a little later.
 *
 * Each DONE flushed on its own wakes the scheduler for one message: a
 * wake-up, epoll, a read and a write, each a trip through the hypervisor
 * in a virtual machine, on a core a worker needs. A worker running a
 * stencil sleeps between its tasks while it waits for its peer's
 * results, so each of its DONEs went alone: on local:processes=2, a
 * stencil of 34 us tasks cost the scheduler's process 12 us of CPU a
 * task (trivial tasks 3.5-3.9 us), and its METG read 43-94 us. Held
 * here up to a millisecond, the DONEs go a few to a frame: 5.4-8.5 us a
 * task, and a METG of 34-44 us.
 *
 * A DONE waits when no client wants its result (the scheduler only
 * records it; the tasks that take it were mostly sent ahead, and fetch it
 * from here) and the worker has other tasks to finish (the scheduler
 * need not hear from it to keep it busy), unless the worker is retiring
 * or leaving. Those waiting go before anything else the worker sends the
 * scheduler (dvi_worker_sched_out), so that it hears of everything in the
 * order it happened, and within DVI_WORKER_LATER_MS in any case. A lost
 * session's are dropped with its tasks.
 */
#include "proto/msg.h"
#include "worker_impl.h"

/* Whether the DONE of job (no longer among w's tasks) may wait. */
static int
s_may_wait(const dvi_worker *w, const dvi_job *job)
{
    return !(job->flags & DVI_TASK_WANTED) && w->tasks.len > 0 &&
           w->retiring == NULL && w->left == NULL;
}

/* The DONEs waiting go now (into the connection's outbox). */
static void
s_flush(dvi_worker *w)
{
    if (dvi_outbox_count(&w->later) == 0) {
        return; /* the usual case: the timer is not running either */
    }
    uv_timer_stop(w->later_timer);
    if (w->sched != NULL) {
        dvi_outbox_move(dvi_conn_outbox(w->sched), &w->later);
    } else {
        dvi_worker_later_drop(w);
    }
}

static void
s_on_timer(uv_timer_t *t)
{
    s_flush(t->data);
}

dvi_outbox *
dvi_worker_sched_out(dvi_worker *w)
{
    s_flush(w);
    return dvi_conn_outbox(w->sched);
}

void
dvi_worker_done_send(dvi_worker *w, const dvi_job *job, const dvi_msg_done *m,
                     uint32_t owed)
{
    if (w->sched == NULL) {
        return;
    }
    dvi_outbox *to = &w->later;
    if (!s_may_wait(w, job)) {
        to = dvi_worker_sched_out(w);
    } else if (!uv_is_active((uv_handle_t *)w->later_timer)) {
        uv_timer_start(w->later_timer, s_on_timer, DVI_WORKER_LATER_MS, 0);
    }
    for (uint32_t k = 0; k < owed; k++) {
        dvi_msg_done_pack(to, m);
        dvi_msg_done_pack_tail(to, m);
    }
}

void
dvi_worker_later_drop(dvi_worker *w)
{
    uv_timer_stop(w->later_timer);
    dvi_outbox_fini(&w->later);
    dvi_outbox_init(&w->later, NULL, NULL);
}
