/* dvi_trace: the recent past, for the dashboard. */
#include "trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/err.h"

const double dvi_trace_bounds[DVI_TRACE_NBUCKETS] = {
    1e-5, 1e-4, 1e-3, 5e-3, 0.01, 0.05, 0.1, 0.5, 1, 10, 60, 1e300};

double
dvi_trace_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

dvi_trace *
dvi_trace_new(void)
{
    return dvi_calloc(1, sizeof(dvi_trace));
}

void
dvi_trace_destroy(dvi_trace **t)
{
    free(*t);
    *t = NULL;
}

/* Copies src into dst of size n, cut and NUL-ended (cheaper than
 * snprintf on every finished task). */
static void
s_copy(char *dst, const char *src, size_t n)
{
    size_t len = strnlen(src, n - 1);
    memcpy(dst, src, len);
    dst[len] = '\0';
}

int
dvi_trace_finished(dvi_trace *t, int64_t us)
{
    if (us >= 0) {
        double secs = (double)us / 1e6;
        int b = 0;
        while (b < DVI_TRACE_NBUCKETS - 1 && secs > dvi_trace_bounds[b]) {
            b++;
        }
        t->buckets[b]++;
        t->sum_secs += secs;
        t->count++;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    double tick = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    if (tick != t->tick) {
        t->tick = tick;
        t->in_tick = 0;
    }
    return t->in_tick < DVI_TRACE_PER_TICK;
}

void
dvi_trace_stream(dvi_trace *t, const char *worker, const char *fn, int64_t us)
{
    dvi_trace_done *d = &t->done[t->ndone++ % DVI_TRACE_DONE];
    t->in_tick++;
    d->end = dvi_trace_now();
    d->secs = us >= 0 ? (double)us / 1e6 : 0;
    s_copy(d->worker, worker, sizeof(d->worker));
    s_copy(d->fn, fn, sizeof(d->fn));
}

void
dvi_trace_erred(dvi_trace *t, const char *key, const char *fn, const char *text)
{
    dvi_trace_error *e = &t->errors[t->nerrors++ % DVI_TRACE_ERRORS];
    e->when = dvi_trace_now();
    snprintf(e->key, sizeof(e->key), "%s", key);
    snprintf(e->fn, sizeof(e->fn), "%s", fn);
    snprintf(e->text, sizeof(e->text), "%s", text);
}
