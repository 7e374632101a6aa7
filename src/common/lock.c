/* dvi_lock_init: glibc's adaptive mutex. */
#define _GNU_SOURCE /* PTHREAD_MUTEX_ADAPTIVE_NP */
#include "lock.h"

#include <pthread.h>

#include "err.h"

void
dvi_lock_init(uv_mutex_t *m)
{
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
#ifdef PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ADAPTIVE_NP);
#endif
    if (pthread_mutex_init(m, &a) != 0) {
        dvi_oom(sizeof(*m));
    }
    pthread_mutexattr_destroy(&a);
}
