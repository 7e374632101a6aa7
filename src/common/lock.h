/* dvi_lock_init: a mutex that spins a little before it sleeps.
 *
 * For a lock two threads take briefly and often (the client's, between a
 * submitting thread and the loop): a thread that finds it taken usually
 * finds it free a few hundred nanoseconds later, while sleeping on it and
 * being woken costs a context switch each, dear in a virtual machine
 * (some microseconds here, where a system call alone costs one). Not an
 * executor's queue lock: made so, it halved the futex calls of tiny
 * tasks but changed which thread took a job, and two short calls on
 * local:threads=2 failed to overlap in 3 of 12 runs under TSan
 * (parallel_test), 0 of 16 with the plain mutex. */
#ifndef DVI_LOCK_H
#define DVI_LOCK_H

#include <uv.h>

/* Initialises m (a uv_mutex_t, destroyed with uv_mutex_destroy) as an
 * adaptive mutex where the C library has them, else a plain one. */
void dvi_lock_init(uv_mutex_t *m);

#endif
