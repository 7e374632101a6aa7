/* dvi_trace: what the dashboard shows of the past, recorded by the core
 * as it happens (only while a dashboard is on): tasks that finished
 * (worker, function, when, how long: the task stream), the latest errors
 * with their text, and a histogram of every run time.
 * Bounded and cheap at a hundred thousand tasks a second: the stream
 * keeps at most DVI_TRACE_PER_TICK tasks per tick of the coarse clock
 * (a page cannot draw more), each finished task otherwise costs a
 * coarse clock reading and a histogram bucket. Used on the scheduler's
 * loop only.
 */
#ifndef DVI_TRACE_H
#define DVI_TRACE_H

#include <stddef.h>
#include <stdint.h>

#define DVI_TRACE_DONE 8192  /* tasks kept in the stream */
#define DVI_TRACE_PER_TICK 2 /* of them, per tick of the coarse clock */
#define DVI_TRACE_ERRORS 64  /* errors kept */
#define DVI_TRACE_NBUCKETS 12

/* Upper bounds (seconds) of the run-time histogram's buckets; the last
 * is +Inf. */
extern const double dvi_trace_bounds[DVI_TRACE_NBUCKETS];

typedef struct dvi_trace_done {
    double end;  /* seconds since the epoch */
    double secs; /* run time */
    char worker[48];
    char fn[48];
} dvi_trace_done;

typedef struct dvi_trace_error {
    double when;
    char key[96];
    char fn[48];
    char text[256];
} dvi_trace_error;

typedef struct dvi_trace {
    dvi_trace_done done[DVI_TRACE_DONE];
    uint64_t ndone;   /* recorded ever: the ring's next slot is ndone % N */
    double tick;      /* the coarse clock at the last one recorded */
    unsigned in_tick; /* recorded in that tick */
    dvi_trace_error errors[DVI_TRACE_ERRORS];
    uint64_t nerrors;
    uint64_t buckets[DVI_TRACE_NBUCKETS]; /* counts, not cumulative */
    double sum_secs;
    uint64_t count;
} dvi_trace;

dvi_trace *dvi_trace_new(void);
void dvi_trace_destroy(dvi_trace **t);
/* A task finished after us microseconds (negative: unknown, not in the
 * histogram). Returns whether the stream wants it: then call
 * dvi_trace_stream with its worker and function. */
int dvi_trace_finished(dvi_trace *t, int64_t us);
/* Records the task dvi_trace_finished just counted in the stream. */
void dvi_trace_stream(dvi_trace *t, const char *worker, const char *fn,
                      int64_t us);
/* A task erred (or was cancelled) with text. */
void dvi_trace_erred(dvi_trace *t, const char *key, const char *fn,
                     const char *text);
/* The current time, seconds since the epoch. */
double dvi_trace_now(void);

#endif
