/* Giving tasks back to the scheduler before they start: all of them when
 * the worker stops (RETIRING), some when another worker idles (STEAL);
 * and forgetting every task of a session that is over. */
#include <stdlib.h>

#include "client/attach.h"
#include "common/err.h"
#include "common/pset.h"
#include "executor.h"
#include "proto/conn.h"
#include "proto/msg.h"
#include "worker_impl.h"

/* The tasks not started: those the executor has not begun, and those
 * still waiting for inputs. Fills v (room for every task); returns how
 * many. */
static size_t
s_collect_unstarted(dvi_worker *w, dvi_wtask **v)
{
    size_t n = 0;
    dvi_job *j = dvi_runner_take_queued(w->run);
    while (j != NULL) {
        dvi_job *next = j->next;
        j->next = NULL;
        dvi_wtask *wt = dvi_map_get(&w->tasks, j->key);
        dvi_assert(wt != NULL && wt->job == j);
        v[n++] = wt;
        j = next;
    }
    dvi_map_entry *e;
    for (size_t i = 0; dvi_map_next(&w->tasks, &i, &e);) {
        dvi_wtask *wt = e->val;
        /* One offered to the thread of its input (fusion) may have
         * started there: it stays. */
        if (wt->nmissing > 0 && dvi_worker_fuse_withdraw(wt->job)) {
            v[n++] = wt;
        }
    }
    return n;
}

/* Gives back to the scheduler every task not started, and forgets the
 * waits they were in: the fetches of their inputs may still come, to no
 * one, and a wait for one of them computed here ends with it. */
size_t
dvi_worker_give_back(dvi_worker *w)
{
    dvi_wtask **v = dvi_calloc(w->tasks.len + 1, sizeof(*v));
    size_t n = s_collect_unstarted(w, v);
    dvi_pset gone;
    dvi_pset_init(&gone);
    for (size_t i = 0; i < n; i++) {
        dvi_pset_add(&gone, v[i]);
    }
    dvi_map_entry *e;
    for (size_t i = 0; dvi_map_next(&w->fetches, &i, &e);) {
        dvi_wfetch *f = e->val;
        size_t k = 0;
        for (size_t j = 0; j < f->n; j++) {
            if (!dvi_pset_has(&gone, f->waiters[j])) {
                f->slots[k] = f->slots[j];
                f->waiters[k++] = f->waiters[j];
            }
        }
        f->n = k;
    }
    for (size_t i = 0; i < n; i++) {
        dvi_wfetch *f = dvi_map_get(&w->fetches, v[i]->job->key);
        if (f != NULL && f->addr[0] == '\0') {
            dvi_map_del(&w->fetches, f->key);
            dvi_wfetch_free(f);
        }
    }
    for (size_t i = 0; i < n; i++) {
        dvi_worker_not_started(w, v[i]->job->key, v[i]->owed);
        dvi_map_del(&w->tasks, v[i]->job->key);
        dvi_server_settle(w->server, v[i]->job->key);
        dvi_watch_remove(w->watch, v[i]->job);
        dvi_wtask_free(v[i]);
    }
    dvi_pset_fini(&gone);
    free(v);
    return n;
}

/* Gives back a job the executor had not begun (STEAL). */
static void
s_give_stolen(dvi_worker *w, dvi_job *j)
{
    dvi_wtask *wt = dvi_map_del(&w->tasks, j->key);
    dvi_assert(wt != NULL && wt->job == j);
    dvi_watch_remove(w->watch, j);
    dvi_server_settle(w->server, j->key);
    dvi_msg_failed m = {.key = j->key, .blame = DVI_BLAME_STOLEN};
    m.text = dvi_bytes_of("given back, not started: another worker is idle");
    for (uint32_t k = 0; k < wt->owed && w->sched; k++) {
        dvi_msg_failed_pack(dvi_worker_sched_out(w), &m);
    }
    dvi_wtask_free(wt);
}

/* STEAL: another worker is idle. Gives back up to count jobs the executor
 * has not begun, the last queued first (they would wait longest here);
 * never one that tasks here or on peers wait for (sent ahead of it), nor
 * one pinned here (it would come straight back, and be asked for again). */
int
dvi_worker_on_steal(dvi_worker *w, const msgpack_object *f, uint32_t n)
{
    dvi_msg_steal m;
    if (dvi_msg_steal_read(f, n, &m) < 0) {
        return DV_EPROTO;
    }
    dvi_job *queued = dvi_runner_take_queued(w->run);
    size_t len = 0;
    for (dvi_job *j = queued; j != NULL; j = j->next) {
        len++;
    }
    size_t keep = m.count < len ? len - (size_t)m.count : 0;
    size_t i = 0;
    for (dvi_job *j = queued, *next; j != NULL; j = next, i++) {
        next = j->next;
        j->next = NULL;
        if (i < keep || (j->flags & DVI_TASK_PINNED) ||
            dvi_map_get(&w->fetches, j->key) != NULL ||
            dvi_server_awaited(w->server, j->key)) {
            dvi_runner_submit(w->run, j);
        } else {
            s_give_stolen(w, j);
        }
    }
    return 0;
}

size_t
dvi_worker_forget_tasks(dvi_worker *w)
{
    dvi_conn *sched = w->sched;
    w->sched = NULL; /* what give_back would answer goes nowhere */
    size_t n = dvi_worker_give_back(w);
    w->sched = sched;
    /* What is left runs on an executor thread: orphaned, its job is
     * dropped when it comes back (s_stale in worker.c); a call waiting
     * for its children returns now, as nothing will answer it. */
    dvi_client_attach_fail(w->kids, "the worker lost its scheduler");
    dvi_map_entry *e;
    for (size_t i = 0; dvi_map_next(&w->tasks, &i, &e);) {
        free(e->val);
        w->orphans++;
        n++;
    }
    dvi_map_fini(&w->tasks); /* and empty again */
    /* No waiter is left in a fetch; one still coming finds none. */
    for (size_t i = 0; dvi_map_next(&w->fetches, &i, &e);) {
        dvi_wfetch_free(e->val);
    }
    dvi_map_fini(&w->fetches);
    return n;
}
