/* What user threads hand the client's loop thread: their messages for
 * the scheduler, in batches, and the client's lock.
 *
 * A user thread submitting a graph in a tight loop must not keep the
 * loop thread from it: that loop carries the scheduler and workers of an
 * embedded cluster, which should run the first calls while the rest are
 * submitted. */
#define _GNU_SOURCE /* PTHREAD_MUTEX_ADAPTIVE_NP */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

#include "client_impl.h"
#include "common/err.h"

void
dvi_client_batch_locked(dv_client *c)
{
    /* Called with the lock held after adding to c->out, which becomes a
     * batch once it is full. */
    if (dvi_outbox_count(&c->out) >= DVI_CLIENT_BATCH) {
        dvi_batch *b = dvi_malloc(sizeof(*b));
        b->next = NULL;
        dvi_outbox_init(&b->msgs, NULL, NULL);
        dvi_outbox_move(&b->msgs, &c->out); /* the buffers change hands */
        *c->batches_tail = b;
        c->batches_tail = &b->next;
    }
}

void
dvi_client_queue_locked(dv_client *c)
{
    dvi_client_batch_locked(c);
    /* uv_async_send coalesces: a burst of messages costs one wake-up. */
    uv_async_send(&c->wake);
}

void
dvi_client_unlock_wake(dv_client *c, int wake)
{
    /* Woken after the lock is let go, the loop thread need not wait for
     * it. But a worker's client for its tasks' children (c->host) is
     * abandoned under the lock as the worker's process ends, its handle
     * closed and its loop freed right after: it is woken under the lock. */
    int after = wake && c->host == NULL;
    if (wake && !after) {
        uv_async_send(&c->wake);
    }
    uv_mutex_unlock(&c->lock);
    if (after) {
        uv_async_send(&c->wake);
    }
}

void
dvi_client_lock_init(dv_client *c)
{
    /* Both threads hold the lock briefly (a message, a submission): one
     * that finds it taken spins a little before it sleeps, as a sleep and
     * its wake-up cost a context switch each, dear in a virtual machine.
     * (An executor's queue lock made so read 3-6% slower on tiny tasks.) */
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
#ifdef PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ADAPTIVE_NP);
#endif
    if (pthread_mutex_init(&c->lock, &a) != 0) {
        dvi_oom(sizeof(c->lock));
    }
    pthread_mutexattr_destroy(&a);
}

void
dvi_client_lock_loop(dv_client *c)
{
    if (uv_mutex_trylock(&c->lock) == 0) {
        return;
    }
    atomic_fetch_add_explicit(&c->loop_waiting, 1, memory_order_relaxed);
    uv_mutex_lock(&c->lock);
    atomic_fetch_sub_explicit(&c->loop_waiting, 1, memory_order_relaxed);
}

void
dvi_client_lock_user(dv_client *c)
{
    while (atomic_load_explicit(&c->loop_waiting, memory_order_relaxed) > 0) {
        sched_yield();
    }
    uv_mutex_lock(&c->lock);
}

int
dvi_client_take_batch_locked(dv_client *c, dvi_outbox *dst, int all)
{
    do {
        dvi_batch *b = c->batches;
        if (b == NULL) {
            if (dst != NULL) {
                dvi_outbox_move(dst, &c->out);
            } else {
                dvi_outbox_fini(&c->out);
                dvi_outbox_init(&c->out, NULL, NULL);
            }
            return 0;
        }
        if (dst != NULL) {
            dvi_outbox_move(dst, &b->msgs); /* b->msgs is left empty */
        }
        c->batches = b->next;
        if (c->batches == NULL) {
            c->batches_tail = &c->batches;
        }
        dvi_outbox_fini(&b->msgs);
        free(b);
    } while (all);
    return c->batches != NULL || dvi_outbox_count(&c->out) > 0;
}
