/* The dashboard's view of the scheduler: its state as JSON (what
 * /api/status serves) and as Prometheus metrics (/metrics), built on the
 * scheduler's loop from the core's counters and the trace. Aggregates
 * only: a per-function and per-worker line, never a line per task.
 */
#ifndef DVI_DASH_VIEW_H
#define DVI_DASH_VIEW_H

#include <jansson.h>

#include "core.h"
#include "trace.h"

#define DVI_DASH_RATE_SECS 60

/* Finished-task totals sampled once a second, for the throughput of the
 * last minute. */
typedef struct dvi_dash_rate {
    double t[DVI_DASH_RATE_SECS];
    uint64_t finished[DVI_DASH_RATE_SECS];
    unsigned n, next;
    double last; /* when the last sample was taken */
} dvi_dash_rate;

/* Samples the finished total if a second has passed. */
void dvi_dash_rate_sample(dvi_dash_rate *r, const dvi_core *c, double now);

/* Tasks by state (DESIGN.md's names) and the cumulative
 * submitted_total, finished_total, erred_total. Caller owns. */
json_t *dvi_dash_tasks(const dvi_core *c);
/* Per function name, an object of total (submitted), done, erred and
 * processing. Caller owns. */
json_t *dvi_dash_functions(const dvi_core *c);

/* The status object (README, "The dashboard"): address, time, workers,
 * tasks, functions, throughput, bytes_moved_total, clients, stream,
 * errors. Caller owns (json_decref). */
json_t *dvi_dash_status(const dvi_core *c, const dvi_trace *tr,
                        const dvi_dash_rate *r, const char *address);

/* The metrics in Prometheus's text format. Caller frees. */
char *dvi_dash_metrics(const dvi_core *c, const dvi_trace *tr);

#endif
