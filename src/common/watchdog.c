/* dvi_watchdog: a process that has decided to exit does, within a limit. */
#include "watchdog.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>
#include <uv.h>

#include "log.h"

static _Atomic(const char *) s_step;
static atomic_int s_started;
static double s_limit_s;
static int s_rc;

static void *
s_watch(void *arg)
{
    (void)arg;
    uv_sleep((unsigned)(s_limit_s * 1000));
    DVI_LOG(DVI_LOG_WARN, "EXIT",
            "still not out %.3g s after deciding to exit (hung %s): exiting "
            "now",
            s_limit_s, atomic_load(&s_step));
    fflush(NULL);
    _exit(s_rc);
    return NULL;
}

void
dvi_watchdog_step(const char *step)
{
    atomic_store(&s_step, step);
}

void
dvi_watchdog_start(double limit_s, int rc, const char *step)
{
    dvi_watchdog_step(step);
    if (atomic_exchange(&s_started, 1)) {
        return;
    }
    s_limit_s = limit_s;
    s_rc = rc;
    pthread_t t;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&a, 64 * 1024);
    pthread_create(&t, &a, s_watch, NULL);
    pthread_attr_destroy(&a);
}
