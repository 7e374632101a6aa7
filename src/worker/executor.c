/* dvi_executor: threads, a job queue, and batched completions. */
#define _GNU_SOURCE /* SCHED_BATCH */
#include "executor.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/err.h"

struct dvi_executor {
    uv_mutex_t lock;
    uv_cond_t more; /* signalled when jobs are queued, room frees, or on
                       stop */
    dvi_job *queue; /* jobs to run (dvi_job_enqueue's order) */
    dvi_job **queue_tail;
    dvi_job *done; /* finished jobs for the loop, in order */
    dvi_job **done_tail;
    int stopping;
    int abandoned;   /* the loop is going: finished jobs are dropped */
    int nthreads;    /* calls that run at once, not counting waiting ones */
    int max_blocked; /* calls that may wait with a thread lent at once */
    int nbusy;       /* threads in a call (waiting ones included) */
    int nidle;       /* threads waiting for a job, or starting */
    int nblocked;    /* calls waiting for their children */
    uv_thread_t *threads; /* started on demand, never more than nthreads +
                             max_blocked; they end with the executor */
    int nstarted;
    uint64_t collects; /* asked of every thread (dvi_executor_collect) */
    int lent_said;     /* the lent count on_lent last heard */
    dvi_executor_lent_fn on_lent;
    void *lent_ctx;
    uv_async_t async; /* wakes the loop to collect done jobs */
    dvi_executor_done_fn on_done;
    void *ctx;
    char worker_id[128];
};

/* Threads lent now: one per waiting call, up to the limit. */
static int
s_lent(const dvi_executor *ex)
{
    return ex->nblocked < ex->max_blocked ? ex->nblocked : ex->max_blocked;
}

/* Whether a thread may start a call now (lock held): nthreads calls run,
 * and as many more as waiting calls lent their threads. */
static int
s_room(const dvi_executor *ex)
{
    return ex->nbusy - s_lent(ex) < ex->nthreads;
}

dvi_job dvi_fuse_closed;

/* Chaining (fuse.c): the job offered to take job's result, its input
 * filled in and marked chained, or NULL. The offer is closed either
 * way. */
static dvi_job *
s_chained(dvi_job *job)
{
    dvi_job *next = atomic_exchange(&job->fuse_next, DVI_FUSE_CLOSED);
    if (next == NULL || next == DVI_FUSE_CLOSED || job->result == NULL ||
        job->error != NULL || job->forward != NULL || atomic_load(&job->stop) ||
        atomic_load(&next->stop)) {
        return NULL; /* the loop hands the result over, or the failure */
    }
    next->inputs[next->fuse_slot].blob = dvi_blob_hold(job->result);
    next->chained = 1;
    return next;
}

/* Hands a finished job to the loop (lock held). */
static void
s_finish(dvi_executor *ex, dvi_job *job)
{
    int was_empty = ex->done == NULL;
    *ex->done_tail = job;
    ex->done_tail = &job->next;
    if (was_empty) {
        /* One wake-up per batch: the loop takes everything done. */
        uv_async_send(&ex->async);
    }
}

/* Runs job, then what was chained to it, each handed to the loop as it
 * ends, before the next starts: its result reaches whatever else waits
 * for it without waiting for the chain. Returns with the lock held. */
static void
s_run_chain(dvi_executor *ex, dvi_job *job)
{
    for (;;) {
        job->next = NULL;
        job->ex = ex;
        dvi_job_run(job, ex->worker_id);
        dvi_job *next = s_chained(job);
        uv_mutex_lock(&ex->lock);
        if (ex->abandoned) {
            return; /* nobody takes it back: the process is ending */
        }
        s_finish(ex, job);
        if (next == NULL) {
            return;
        }
        uv_mutex_unlock(&ex->lock);
        job = next;
    }
}

/* Runs this thread's calls as batch work: woken, it no longer preempts
 * what runs on its CPU, and waits for the CPU's next turn. Calls are
 * CPU-bound; the loop thread that hands them out is not. With 2 CPUs and
 * tiny tasks on local:threads=2, every executor the loop woke took the
 * CPU from it at once, and the loop, which feeds both executors, stood
 * in the run queue while the other CPU idled (15-17% of a graph's CPU
 * time idle; 8-10% as batch work, and the graph 9-12% shorter). A thread
 * under another policy than the default (real-time, idle) keeps it. */
static void
s_batch_policy(void)
{
    int policy;
    struct sched_param sp;
    if (pthread_getschedparam(pthread_self(), &policy, &sp) == 0 &&
        policy == SCHED_OTHER) {
        sp.sched_priority = 0;
        (void)pthread_setschedparam(pthread_self(), SCHED_BATCH, &sp);
    }
}

static void
s_thread(void *arg)
{
    dvi_executor *ex = arg;
    s_batch_policy();
    dvi_alloc_this_thread(); /* its worker collects it when it trims */
    uv_mutex_lock(&ex->lock);
    ex->nidle--; /* started: it looks at the queue now */
    uint64_t collected = ex->collects;
    for (;;) {
        while (!ex->stopping && (ex->queue == NULL || !s_room(ex))) {
            if (collected != ex->collects) {
                collected = ex->collects;
                uv_mutex_unlock(&ex->lock);
                dvi_alloc_collect();
                uv_mutex_lock(&ex->lock);
                continue;
            }
            ex->nidle++;
            uv_cond_wait(&ex->more, &ex->lock);
            ex->nidle--;
        }
        if (ex->stopping) {
            break;
        }
        dvi_job *job = ex->queue;
        ex->queue = job->next;
        if (ex->queue == NULL) {
            ex->queue_tail = &ex->queue;
        }
        ex->nbusy++;
        uv_mutex_unlock(&ex->lock);
        s_run_chain(ex, job);
        ex->nbusy--;
        if (ex->abandoned) {
            break;
        }
    }
    uv_mutex_unlock(&ex->lock);
}

/* Starts one more thread (lock held). */
static void
s_spawn(dvi_executor *ex)
{
    ex->nidle++; /* it takes a queued job first thing */
    uv_thread_create(&ex->threads[ex->nstarted++], s_thread, ex);
}

/* A queued job and room to run it: an idle thread takes it, or, when
 * every thread is in a call (some waiting for children), one more starts
 * and is kept for next time (lock held). Returns 1 if an idle thread is
 * to be woken: the caller signals `more`, best once it has unlocked. */
static int
s_staff(dvi_executor *ex)
{
    if (ex->queue == NULL || !s_room(ex) || ex->stopping) {
        return 0;
    }
    if (ex->nidle > 0) {
        return 1;
    }
    if (ex->nstarted < ex->nthreads + ex->max_blocked) {
        s_spawn(ex);
    }
    return 0;
}

void
dvi_executor_block(dvi_executor *ex, int begin)
{
    uv_mutex_lock(&ex->lock);
    ex->nblocked += begin ? 1 : -1;
    /* Waiting, the call makes room for another: dask's secede. Rejoining
     * takes none: the next thread to finish a call stays idle instead. */
    int wake = s_staff(ex);
    if (ex->on_lent != NULL && s_lent(ex) != ex->lent_said) {
        uv_async_send(&ex->async); /* the loop tells the scheduler */
    }
    uv_mutex_unlock(&ex->lock);
    if (wake) { /* (the caller is one of ex's threads: ex is here) */
        uv_cond_signal(&ex->more);
    }
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

void
dvi_executor_collect(dvi_executor *ex)
{
    if (!dvi_alloc_is_mimalloc()) {
        return; /* the process's allocator: waking each thread is for nothing */
    }
    uv_mutex_lock(&ex->lock);
    ex->collects++;
    uv_cond_broadcast(&ex->more);
    uv_mutex_unlock(&ex->lock);
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
    ex->threads =
        dvi_calloc((size_t)(nthreads + ex->max_blocked), sizeof(*ex->threads));
    uv_mutex_lock(&ex->lock);
    for (int i = 0; i < nthreads; i++) {
        s_spawn(ex);
    }
    uv_mutex_unlock(&ex->lock);
    return ex;
}

void
dvi_job_enqueue(dvi_job **head, dvi_job ***tail, dvi_job *job)
{
    if (job->urgent) {
        job->next = *head;
        if (*head == NULL) {
            *tail = &job->next;
        }
        *head = job;
        return;
    }
    job->next = NULL;
    **tail = job;
    *tail = &job->next;
}

/* Unlinks the job *p points to from the list *head..*tail. */
static dvi_job *
s_unlink_at(dvi_job ***tail, dvi_job **p)
{
    dvi_job *job = *p;
    *p = job->next;
    if (*tail == &job->next) {
        *tail = p;
    }
    job->next = NULL;
    return job;
}

int
dvi_job_hasten(dvi_job **head, dvi_job ***tail, dvi_job *job)
{
    dvi_job **p = head;
    while (*p != NULL && *p != job) {
        p = &(*p)->next;
    }
    if (*p == NULL) {
        return 0;
    }
    s_unlink_at(tail, p);
    job->urgent = 1;
    dvi_job_enqueue(head, tail, job);
    return 1;
}

void
dvi_executor_submit_list(dvi_executor *ex, dvi_job *jobs)
{
    int wake = 0;
    uv_mutex_lock(&ex->lock);
    for (dvi_job *job = jobs, *next; job != NULL; job = next) {
        next = job->next;
        dvi_job_enqueue(&ex->queue, &ex->queue_tail, job);
        wake += s_staff(ex) && wake < ex->nidle;
    }
    uv_mutex_unlock(&ex->lock);
    /* Signalled under the lock, a thread would wake to block on it. (Only
     * the loop destroys ex: it is still here.) */
    while (wake-- > 0) {
        uv_cond_signal(&ex->more);
    }
}

void
dvi_executor_submit(dvi_executor *ex, dvi_job *job)
{
    job->next = NULL;
    dvi_executor_submit_list(ex, job);
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
    dvi_job *job = *p != NULL ? s_unlink_at(&ex->queue_tail, p) : NULL;
    uv_mutex_unlock(&ex->lock);
    return job;
}

int
dvi_executor_hasten(dvi_executor *ex, dvi_job *job)
{
    uv_mutex_lock(&ex->lock);
    int queued = dvi_job_hasten(&ex->queue, &ex->queue_tail, job);
    uv_mutex_unlock(&ex->lock);
    return queued;
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
    /* No thread starts now (stopping). */
    for (int i = 0; i < ex->nstarted; i++) {
        uv_thread_join(&ex->threads[i]);
    }
    s_free_list(ex->queue);
    s_free_list(ex->done);
    free(ex->threads);
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
    /* Never joined: detached, they end (or not) with the process. */
    for (int i = 0; i < ex->nstarted; i++) {
        pthread_detach(ex->threads[i]);
    }
    uv_cond_broadcast(&ex->more);
    uv_mutex_unlock(&ex->lock);
    s_free_list(queued);
    /* Threads still in a call read their job and, when it returns, this
     * struct: both are left allocated for the little time the process
     * has left. */
    uv_close((uv_handle_t *)&ex->async, NULL);
}
