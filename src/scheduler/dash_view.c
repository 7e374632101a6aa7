/* The dashboard's view of the scheduler, as JSON and as metrics. */
#include "dash_view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "core_impl.h"

/* DESIGN.md's names of the states, by enum dvi_task_state. */
static const char *const s_states[DVI_TASK_NSTATES] = {
    [DVI_TASK_WAITING] = "waiting",       [DVI_TASK_QUEUED] = "queued",
    [DVI_TASK_PROCESSING] = "processing", [DVI_TASK_MEMORY] = "memory",
    [DVI_TASK_RELEASED] = "released",     [DVI_TASK_ERRED] = "erred",
    [DVI_TASK_CANCELLED] = "cancelled",
};

void
dvi_dash_rate_sample(dvi_dash_rate *r, const dvi_core *c, double now)
{
    if (r->n > 0 && now - r->last < 1.0) {
        return;
    }
    r->last = now;
    r->t[r->next] = now;
    r->finished[r->next] = c->stats.finished;
    r->next = (r->next + 1) % DVI_DASH_RATE_SECS;
    r->n += r->n < DVI_DASH_RATE_SECS;
}

static const char *
s_worker_state(const dvi_sworker *w)
{
    return w->leaving           ? "leaving"
           : w->retiring        ? "retiring"
           : w->paused          ? "paused"
           : w->running.len > 0 ? "running"
                                : "idle";
}

static json_t *
s_workers(const dvi_core *c)
{
    json_t *a = json_array();
    for (size_t i = 0; i < c->nworkers; i++) {
        const dvi_sworker *w = c->workers[i];
        json_array_append_new(
            a,
            json_pack("{s:s, s:s, s:I, s:i, s:I, s:I, s:I, s:I, s:s}", "id",
                      w->id, "host", w->host, "pid", (json_int_t)w->pid,
                      "threads", w->nthreads, "running",
                      (json_int_t)w->running.len, "done", (json_int_t)w->ndone,
                      "memory_bytes", (json_int_t)w->memory_bytes, "bytes_held",
                      (json_int_t)w->bytes_held, "state", s_worker_state(w)));
    }
    return a;
}

json_t *
dvi_dash_tasks(const dvi_core *c)
{
    json_t *o = json_object();
    for (int s = 1; s < DVI_TASK_NSTATES; s++) {
        if (s_states[s] != NULL) {
            json_object_set_new(o, s_states[s],
                                json_integer((json_int_t)c->stats.states[s]));
        }
    }
    json_object_set_new(o, "submitted_total",
                        json_integer((json_int_t)c->stats.submitted));
    json_object_set_new(o, "finished_total",
                        json_integer((json_int_t)c->stats.finished));
    json_object_set_new(o, "erred_total",
                        json_integer((json_int_t)c->stats.erred));
    return o;
}

/* Adds fn's counters into the object for its name in by (its codes and
 * resource specs are one function to the user). */
static void
s_add_fn(json_t *by, const dvi_fnrec *f)
{
    json_t *o = json_object_get(by, f->name);
    if (o == NULL) {
        o = json_pack("{s:I, s:I, s:I, s:I}", "total", (json_int_t)0, "done",
                      (json_int_t)0, "erred", (json_int_t)0, "processing",
                      (json_int_t)0);
        json_object_set_new(by, f->name, o);
    }
    const char *k[] = {"total", "done", "erred", "processing"};
    uint64_t v[] = {f->submitted, f->finished, f->erred,
                    f->states[DVI_TASK_PROCESSING]};
    for (int i = 0; i < 4; i++) {
        json_int_t was = json_integer_value(json_object_get(o, k[i]));
        json_object_set_new(o, k[i], json_integer(was + (json_int_t)v[i]));
    }
}

json_t *
dvi_dash_functions(const dvi_core *c)
{
    json_t *by = json_object();
    const dvi_map *maps[] = {&c->fns, &c->fnres};
    for (int m = 0; m < 2; m++) {
        dvi_map_entry *e;
        for (size_t i = 0; dvi_map_next((dvi_map *)maps[m], &i, &e);) {
            s_add_fn(by, e->val);
        }
    }
    return by;
}

/* The functions as a list (the status's form: the page iterates it). */
static json_t *
s_functions(const dvi_core *c)
{
    json_t *by = dvi_dash_functions(c);
    json_t *a = json_array();
    const char *name;
    json_t *o;
    json_object_foreach(by, name, o)
    {
        json_object_set_new(o, "name", json_string(name));
        json_array_append(a, o);
    }
    json_decref(by);
    return a;
}

static json_t *
s_throughput(const dvi_dash_rate *r)
{
    json_t *a = json_array();
    unsigned first = (r->next + DVI_DASH_RATE_SECS - r->n) % DVI_DASH_RATE_SECS;
    for (unsigned k = 1; k < r->n; k++) {
        unsigned i = (first + k) % DVI_DASH_RATE_SECS;
        unsigned p = (first + k - 1) % DVI_DASH_RATE_SECS;
        double dt = r->t[i] - r->t[p];
        double rate =
            dt > 0 ? (double)(r->finished[i] - r->finished[p]) / dt : 0;
        json_array_append_new(
            a, json_pack("{s:f, s:f}", "t", r->t[i], "per_s", rate));
    }
    return a;
}

/* The stream of the last 10 s (what the page draws), at most 1000
 * tasks spread evenly over it. */
static json_t *
s_stream(const dvi_trace *tr, double now)
{
    json_t *a = json_array();
    uint64_t n = tr->ndone < DVI_TRACE_DONE ? tr->ndone : DVI_TRACE_DONE;
    uint64_t first = tr->ndone - n;
    while (first < tr->ndone &&
           tr->done[first % DVI_TRACE_DONE].end < now - 10) {
        first++;
    }
    uint64_t step = (tr->ndone - first + 999) / 1000;
    for (uint64_t k = first; k < tr->ndone; k += step ? step : 1) {
        const dvi_trace_done *d = &tr->done[k % DVI_TRACE_DONE];
        json_array_append_new(a, json_pack("{s:s, s:s, s:f, s:f}", "worker",
                                           d->worker, "fn", d->fn, "end",
                                           d->end, "secs", d->secs));
    }
    return a;
}

static json_t *
s_errors(const dvi_trace *tr)
{
    json_t *a = json_array();
    uint64_t n =
        tr->nerrors < DVI_TRACE_ERRORS ? tr->nerrors : DVI_TRACE_ERRORS;
    for (uint64_t k = tr->nerrors - n; k < tr->nerrors; k++) {
        const dvi_trace_error *e = &tr->errors[k % DVI_TRACE_ERRORS];
        json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:f}", "key",
                                           e->key, "fn", e->fn, "text", e->text,
                                           "when", e->when));
    }
    return a;
}

json_t *
dvi_dash_status(const dvi_core *c, const dvi_trace *tr, const dvi_dash_rate *r,
                const char *address)
{
    double now = dvi_trace_now();
    return json_pack("{s:s, s:f, s:o, s:o, s:o, s:o, s:I, s:I, s:o, s:o}",
                     "address", address ? address : "", "time", now, "workers",
                     s_workers(c), "tasks", dvi_dash_tasks(c), "functions",
                     s_functions(c), "throughput", s_throughput(r),
                     "bytes_moved_total", (json_int_t)c->stats.bytes_moved,
                     "clients", (json_int_t)c->nclients, "stream",
                     s_stream(tr, now), "errors", s_errors(tr));
}

/* One metric's HELP and TYPE lines. */
static void
s_head(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
s_histogram(FILE *f, const dvi_trace *tr)
{
    s_head(f, "drove_task_duration_seconds", "histogram",
           "Run time of the tasks that finished while the dashboard was on.");
    uint64_t cum = 0;
    for (int b = 0; b < DVI_TRACE_NBUCKETS; b++) {
        cum += tr->buckets[b];
        if (b == DVI_TRACE_NBUCKETS - 1) {
            fprintf(f, "drove_task_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
                    (unsigned long long)cum);
        } else {
            fprintf(f, "drove_task_duration_seconds_bucket{le=\"%g\"} %llu\n",
                    dvi_trace_bounds[b], (unsigned long long)cum);
        }
    }
    fprintf(f, "drove_task_duration_seconds_sum %.9g\n", tr->sum_secs);
    fprintf(f, "drove_task_duration_seconds_count %llu\n",
            (unsigned long long)tr->count);
}

/* Per-worker gauges: name{worker="id"} value. */
static void
s_per_worker(FILE *f, const dvi_core *c)
{
    static const char *const names[] = {"drove_worker_memory_bytes",
                                        "drove_worker_running_tasks",
                                        "drove_worker_threads"};
    static const char *const helps[] = {"Memory the worker process uses.",
                                        "Tasks running on the worker.",
                                        "Threads the worker runs tasks on."};
    for (int m = 0; m < 3; m++) {
        s_head(f, names[m], "gauge", helps[m]);
        for (size_t i = 0; i < c->nworkers; i++) {
            const dvi_sworker *w = c->workers[i];
            uint64_t v = m == 0   ? w->memory_bytes
                         : m == 1 ? (uint64_t)w->running.len
                                  : (uint64_t)w->nthreads;
            fprintf(f, "%s{worker=\"%s\"} %llu\n", names[m], w->id,
                    (unsigned long long)v);
        }
    }
}

char *
dvi_dash_metrics(const dvi_core *c, const dvi_trace *tr)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f == NULL) {
        return dvi_strdup("");
    }
    s_head(f, "drove_tasks", "gauge", "Tasks in the graph, by state.");
    for (int s = 1; s < DVI_TASK_NSTATES; s++) {
        if (s_states[s] != NULL) {
            fprintf(f, "drove_tasks{state=\"%s\"} %llu\n", s_states[s],
                    (unsigned long long)c->stats.states[s]);
        }
    }
    const char *const totals[] = {"submitted", "finished", "erred"};
    const uint64_t values[] = {c->stats.submitted, c->stats.finished,
                               c->stats.erred};
    for (int i = 0; i < 3; i++) {
        char name[64], help[96];
        snprintf(name, sizeof(name), "drove_tasks_%s_total", totals[i]);
        snprintf(help, sizeof(help), "Tasks %s since the scheduler started.",
                 totals[i]);
        s_head(f, name, "counter", help);
        fprintf(f, "%s %llu\n", name, (unsigned long long)values[i]);
    }
    s_histogram(f, tr);
    s_head(f, "drove_transfer_bytes_total", "counter",
           "Bytes of inputs fetched from another worker.");
    fprintf(f, "drove_transfer_bytes_total %llu\n",
            (unsigned long long)c->stats.bytes_moved);
    s_head(f, "drove_queue_length", "gauge",
           "Ready tasks waiting for a worker in the scheduler.");
    fprintf(f, "drove_queue_length %llu\n",
            (unsigned long long)c->stats.states[DVI_TASK_QUEUED]);
    s_head(f, "drove_clients", "gauge", "Clients connected.");
    fprintf(f, "drove_clients %zu\n", c->nclients);
    s_head(f, "drove_workers", "gauge", "Workers connected.");
    fprintf(f, "drove_workers %zu\n", c->nworkers);
    s_per_worker(f, c);
    fclose(f);
    return text;
}
