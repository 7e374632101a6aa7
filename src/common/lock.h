/* dvi_lock_init: a mutex that spins a little before it sleeps.
 *
 * For locks two threads take briefly and often (the client's, between a
 * submitting thread and the loop; an executor's queue, between the loop
 * and its threads): a thread that finds such a lock taken usually finds
 * it free a few hundred nanoseconds later, while sleeping on it and being
 * woken costs a context switch each, dear in a virtual machine (some
 * microseconds here, where a system call alone costs one). */
#ifndef DVI_LOCK_H
#define DVI_LOCK_H

#include <uv.h>

/* Initialises m (a uv_mutex_t, destroyed with uv_mutex_destroy) as an
 * adaptive mutex where the C library has them, else a plain one. */
void dvi_lock_init(uv_mutex_t *m);

#endif
