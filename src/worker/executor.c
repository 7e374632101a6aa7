/* dvi_executor: threads, a job queue, and batched completions. */
#include "executor.h"

#include <stdio.h>
#include <stdlib.h>

#include "common/err.h"

/* One thread of the pool: its slot is reused once it has ended. */
typedef struct s_thread_slot {
    uv_thread_t tid;
    int used;  /* started, and not joined yet */
    int ended; /* returned: join it before reusing the slot */
    struct dvi_executor *ex;
} s_thread_slot;

struct dvi_executor {
    uv_mutex_t lock;
    uv_cond_t more; /* signalled when jobs are queued or on stop */
    dvi_job *queue; /* FIFO of jobs to run */
    dvi_job **queue_tail;
    dvi_job *done; /* finished jobs for the loop, in order */
    dvi_job **done_tail;
    int stopping;
    int abandoned;   /* the loop is going: finished jobs are dropped */
    int nthreads;    /* threads that run calls, not counting blocked ones */
    int max_blocked; /* calls that may wait with a thread lent at once */
    int nalive;      /* threads started and not ended */
    int nblocked;    /* calls waiting for their children */
    s_thread_slot **slots;
    size_t nslots;
    int lent_said; /* the lent count on_lent last heard, or -1 */
    dvi_executor_lent_fn on_lent;
    void *lent_ctx;
    uv_async_t async; /* wakes the loop to collect done jobs */
    dvi_executor_done_fn on_done;
    void *ctx;
    char worker_id[128];
};

/* Whether this thread is one too many, now that the calls it stood in
 * for run again: it ends (lock held). */
static int
s_surplus(dvi_executor *ex)
{
    return ex->nalive - ex->nblocked > ex->nthreads;
}

static void
s_thread(void *arg)
{
    s_thread_slot *slot = arg;
    dvi_executor *ex = slot->ex;
    uv_mutex_lock(&ex->lock);
    for (;;) {
        while (ex->queue == NULL && !ex->stopping && !s_surplus(ex)) {
            uv_cond_wait(&ex->more, &ex->lock);
        }
        if (ex->stopping || s_surplus(ex)) {
            break;
        }
        dvi_job *job = ex->queue;
        ex->queue = job->next;
        if (ex->queue == NULL) {
            ex->queue_tail = &ex->queue;
        }
        uv_mutex_unlock(&ex->lock);
        job->next = NULL;
        job->ex = ex;
        dvi_job_run(job, ex->worker_id);
        uv_mutex_lock(&ex->lock);
        if (ex->abandoned) {
            break; /* nobody takes it back: the process is ending */
        }
        int was_empty = ex->done == NULL;
        *ex->done_tail = job;
        ex->done_tail = &job->next;
        if (was_empty) {
            /* One wake-up per batch: the loop takes everything done. */
            uv_async_send(&ex->async);
        }
    }
    ex->nalive--;
    slot->ended = 1;
    uv_mutex_unlock(&ex->lock);
}

/* Starts one more thread (lock held), in a slot whose thread ended if
 * there is one. */
static void
s_spawn(dvi_executor *ex)
{
    s_thread_slot *slot = NULL;
    for (size_t i = 0; i < ex->nslots && slot == NULL; i++) {
        if (ex->slots[i]->ended) {
            slot = ex->slots[i];
            uv_thread_join(&slot->tid); /* it has returned */
        }
    }
    if (slot == NULL) {
        ex->slots = dvi_realloc(ex->slots, (ex->nslots + 1) * sizeof(slot));
        slot = dvi_calloc(1, sizeof(*slot));
        slot->ex = ex;
        ex->slots[ex->nslots++] = slot;
    }
    slot->used = 1;
    slot->ended = 0;
    ex->nalive++;
    uv_thread_create(&slot->tid, s_thread, slot);
}

/* Threads lent now: one per waiting call, up to the limit. */
static int
s_lent(const dvi_executor *ex)
{
    return ex->nblocked < ex->max_blocked ? ex->nblocked : ex->max_blocked;
}

void
dvi_executor_block(dvi_executor *ex, int begin)
{
    uv_mutex_lock(&ex->lock);
    if (begin) {
        ex->nblocked++;
        /* Another thread runs calls meanwhile: dask's secede. Past the
         * limit the call waits on its thread. */
        if (!ex->stopping && ex->nalive - ex->nblocked < ex->nthreads &&
            ex->nalive < ex->nthreads + ex->max_blocked) {
            s_spawn(ex);
        }
    } else {
        ex->nblocked--; /* and rejoin: a surplus thread ends when idle */
        uv_cond_broadcast(&ex->more);
    }
    if (ex->on_lent != NULL && s_lent(ex) != ex->lent_said) {
        uv_async_send(&ex->async); /* the loop tells the scheduler */
    }
    uv_mutex_unlock(&ex->lock);
}

void
dvi_executor_on_lent(dvi_executor *ex, dvi_executor_lent_fn fn, void *ctx)
{
    ex->on_lent = fn;
    ex->lent_ctx = ctx;
}

static void
s_async_cb(uv_async_t *a)
{
    dvi_executor *ex = a->data;
    uv_mutex_lock(&ex->lock);
    dvi_job *done = ex->done;
    ex->done = NULL;
    ex->done_tail = &ex->done;
    int lent = s_lent(ex), said = ex->lent_said;
    ex->lent_said = lent;
    uv_mutex_unlock(&ex->lock);
    if (done) {
        ex->on_done(ex->ctx, done);
    }
    if (lent != said && ex->on_lent != NULL) {
        ex->on_lent(ex->lent_ctx, lent);
    }
}

dvi_executor *
dvi_executor_new(uv_loop_t *loop, int nthreads, int max_blocked,
                 const char *worker_id, dvi_executor_done_fn done, void *ctx)
{
    dvi_executor *ex = dvi_calloc(1, sizeof(*ex));
    uv_mutex_init(&ex->lock);
    uv_cond_init(&ex->more);
    ex->queue_tail = &ex->queue;
    ex->done_tail = &ex->done;
    ex->on_done = done;
    ex->ctx = ctx;
    snprintf(ex->worker_id, sizeof(ex->worker_id), "%s", worker_id);
    uv_async_init(loop, &ex->async, s_async_cb);
    ex->async.data = ex;
    ex->nthreads = nthreads;
    ex->max_blocked = max_blocked > 0 ? max_blocked : 0;
    uv_mutex_lock(&ex->lock);
    for (int i = 0; i < nthreads; i++) {
        s_spawn(ex);
    }
    uv_mutex_unlock(&ex->lock);
    return ex;
}

void
dvi_executor_submit(dvi_executor *ex, dvi_job *job)
{
    job->next = NULL;
    uv_mutex_lock(&ex->lock);
    *ex->queue_tail = job;
    ex->queue_tail = &job->next;
    uv_cond_signal(&ex->more);
    uv_mutex_unlock(&ex->lock);
}

dvi_job *
dvi_executor_take_queued(dvi_executor *ex)
{
    uv_mutex_lock(&ex->lock);
    dvi_job *queued = ex->queue;
    ex->queue = NULL;
    ex->queue_tail = &ex->queue;
    uv_mutex_unlock(&ex->lock);
    return queued;
}

dvi_job *
dvi_executor_take_loop_ok(dvi_executor *ex)
{
    uv_mutex_lock(&ex->lock);
    dvi_job **p = &ex->queue;
    while (*p != NULL && !(*p)->loop_ok) {
        p = &(*p)->next;
    }
    dvi_job *job = *p;
    if (job != NULL) {
        *p = job->next;
        if (ex->queue_tail == &job->next) {
            ex->queue_tail = p;
        }
        job->next = NULL;
    }
    uv_mutex_unlock(&ex->lock);
    return job;
}

static void
s_free_list(dvi_job *j)
{
    while (j) {
        dvi_job *next = j->next;
        dvi_job_free(j);
        j = next;
    }
}

static void
s_async_closed(uv_handle_t *h)
{
    free(h->data);
}

void
dvi_executor_destroy(dvi_executor **exp)
{
    dvi_executor *ex = *exp;
    if (ex == NULL) {
        return;
    }
    *exp = NULL;
    uv_mutex_lock(&ex->lock);
    ex->stopping = 1;
    uv_cond_broadcast(&ex->more);
    uv_mutex_unlock(&ex->lock);
    /* No thread starts now (stopping): the slots stay as they are. */
    for (size_t i = 0; i < ex->nslots; i++) {
        uv_thread_join(&ex->slots[i]->tid);
        free(ex->slots[i]);
    }
    s_free_list(ex->queue);
    s_free_list(ex->done);
    free(ex->slots);
    uv_mutex_destroy(&ex->lock);
    uv_cond_destroy(&ex->more);
    uv_close((uv_handle_t *)&ex->async, s_async_closed);
}

void
dvi_executor_abandon(dvi_executor **exp)
{
    dvi_executor *ex = *exp;
    if (ex == NULL) {
        return;
    }
    *exp = NULL;
    uv_mutex_lock(&ex->lock);
    ex->stopping = 1;
    ex->abandoned = 1;
    dvi_job *queued = ex->queue;
    ex->queue = NULL;
    ex->queue_tail = &ex->queue;
    uv_cond_broadcast(&ex->more);
    uv_mutex_unlock(&ex->lock);
    s_free_list(queued);
    /* Threads still in a call read their job and, when it returns, this
     * struct: both are left allocated for the little time the process
     * has left. */
    uv_close((uv_handle_t *)&ex->async, NULL);
}
