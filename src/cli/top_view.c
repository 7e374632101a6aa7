/* The picture `drove top` draws from the scheduler's status: a header
 * (address, workers, threads, tasks, throughput), the optional
 * `tasks_by_state` and `functions` objects when the scheduler sends them,
 * and a line per worker. It only formats: cmd_top.c owns the connection,
 * the terminal and the timing. Keys it does not know are skipped and
 * missing ones read as 0, so that a newer or older scheduler's status
 * still draws. */
#include "top_view.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A worker's line, in 79 columns for ids and hosts of usual lengths
 * (longer ones push the rest right). */
#define S_ROW_STR "%-18s %-12s %7s %4s %4s %8s %10s  %s"
#define S_ROW_INT "%-18s %-12s %7lld %4lld %4lld %8lld %10s  %s"

#define S_FNS_MAX 8 /* functions listed on a screen */

/* Where the lines go, and how many more fit. */
typedef struct s_out {
    FILE *out;
    int rows; /* lines left; < 0: no limit */
    int cols; /* 0: no limit */
    const char *eol;
} s_out;

/* Prints one line, cut to the width; nothing once the rows are used. */
__attribute__((format(printf, 2, 3))) static void
s_line(s_out *o, const char *fmt, ...)
{
    if (o->rows == 0) {
        return;
    }
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    n = n < 0 ? 0 : n >= (int)sizeof(buf) ? (int)sizeof(buf) - 1 : n;
    if (o->cols > 0 && n > o->cols) {
        n = o->cols;
    }
    fprintf(o->out, "%.*s%s", n, buf, o->eol);
    if (o->rows > 0) {
        o->rows--;
    }
}

static long long
s_int(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? (long long)json_integer_value(v)
           : json_is_real(v)  ? (long long)json_real_value(v)
                              : 0;
}

static const char *
s_str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "?";
}

/* Bytes as B, KiB, MiB, GiB or TiB. */
static void
s_bytes(char *buf, size_t size, long long n)
{
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double x = (double)(n < 0 ? 0 : n);
    size_t u = 0;
    while (x >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
        x /= 1024;
        u++;
    }
    snprintf(buf, size, u == 0 ? "%.0f %s" : "%.1f %s", x, units[u]);
}

void
dvi_top_view_note(dvi_top_view *v, const json_t *status, double now_s)
{
    long long done = s_int(json_object_get(status, "totals"), "done");
    if (v->have_last && now_s > v->last_s) {
        /* A worker that leaves takes its count along: never negative. */
        long long d = done > v->last_done ? done - v->last_done : 0;
        v->rate = (double)d / (now_s - v->last_s);
        v->have_rate = 1;
    }
    v->last_s = now_s;
    v->last_done = done;
    v->have_last = 1;
}

/* A value of an object the scheduler may add, in words: numbers as they
 * are, an object as "k v, k v" (one level deep), others as JSON. */
static void
s_value(char *buf, size_t size, const json_t *v, int depth)
{
    if (json_is_integer(v)) {
        snprintf(buf, size, "%lld", (long long)json_integer_value(v));
    } else if (json_is_real(v)) {
        snprintf(buf, size, "%.4g", json_real_value(v));
    } else if (json_is_string(v)) {
        snprintf(buf, size, "%s", json_string_value(v));
    } else if (json_is_object(v) && depth == 0) {
        size_t len = 0;
        const char *k;
        json_t *x;
        buf[0] = '\0';
        json_object_foreach((json_t *)v, k, x)
        {
            char item[128];
            s_value(item, sizeof(item), x, 1);
            int n = snprintf(buf + len, size - len, "%s%s %s", len ? ", " : "",
                             k, item);
            if (n < 0 || (size_t)n >= size - len) {
                break;
            }
            len += (size_t)n;
        }
    } else {
        char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        snprintf(buf, size, "%s", text ? text : "?");
        free(text);
    }
}

/* tasks_by_state on one line; functions one line each (their values may
 * be objects of counts). Absent or not objects: nothing. */
static void
s_extras(s_out *o, const json_t *status)
{
    const json_t *states = json_object_get(status, "tasks_by_state");
    if (json_is_object(states) && json_object_size(states) > 0) {
        char line[1024], item[256];
        size_t len = 0;
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)states, k, x)
        {
            s_value(item, sizeof(item), x, 0);
            int n =
                snprintf(line + len, sizeof(line) - len, "  %s %s", k, item);
            if (n < 0 || (size_t)n >= sizeof(line) - len) {
                break;
            }
            len += (size_t)n;
        }
        s_line(o, "tasks by state:%s", len ? line : "");
    }
    const json_t *fns = json_object_get(status, "functions");
    if (json_is_object(fns) && json_object_size(fns) > 0) {
        s_line(o, "functions:");
        /* On a screen, the workers below matter as much: a few only. */
        size_t max = o->rows < 0 ? SIZE_MAX : S_FNS_MAX, i = 0;
        size_t n = json_object_size(fns);
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)fns, k, x)
        {
            if (i++ == max && n > max + 1) {
                s_line(o, "  ... and %zu more functions", n - max);
                break;
            }
            char item[768];
            s_value(item, sizeof(item), x, 0);
            s_line(o, "  %-22s %s", k, item);
        }
    }
}

static void
s_header(s_out *o, const dvi_top_view *v, const json_t *status)
{
    const json_t *t = json_object_get(status, "totals");
    char clock[16], mem[32], rate[32];
    time_t now = time(NULL);
    struct tm tm;
    strftime(clock, sizeof(clock), "%H:%M:%S", localtime_r(&now, &tm));
    s_bytes(mem, sizeof(mem), s_int(t, "memory_bytes"));
    if (v->have_rate) {
        snprintf(rate, sizeof(rate), "%.1f tasks/s", v->rate);
    } else {
        snprintf(rate, sizeof(rate), "- tasks/s");
    }
    s_line(o, "drove top - scheduler %s   %s", s_str(status, "address"), clock);
    s_line(o,
           "workers %lld  threads %lld  running %lld  clients %lld  "
           "memory %s",
           s_int(t, "workers"), s_int(t, "threads"), s_int(t, "running"),
           s_int(t, "clients"), mem);
    s_line(o,
           "tasks %lld in the graph  submitted %lld  done %lld  "
           "throughput %s",
           s_int(t, "tasks"), s_int(t, "submitted"), s_int(t, "done"), rate);
}

static void
s_worker(s_out *o, const json_t *w)
{
    char mem[32];
    s_bytes(mem, sizeof(mem), s_int(w, "memory_bytes"));
    const char *state = json_is_true(json_object_get(w, "retiring"))
                            ? "retiring"
                        : json_is_true(json_object_get(w, "paused")) ? "paused"
                                                                     : "ok";
    s_line(o, S_ROW_INT, s_str(w, "id"), s_str(w, "host"), s_int(w, "pid"),
           s_int(w, "threads"), s_int(w, "running"), s_int(w, "done"), mem,
           state);
}

void
dvi_top_view_print(const dvi_top_view *v, const json_t *status, FILE *out,
                   int rows, int cols, const char *eol)
{
    s_out o = {out, rows > 0 ? rows : -1, cols, eol};
    s_header(&o, v, status);
    s_extras(&o, status);
    s_line(&o, "%s", "");
    s_line(&o, S_ROW_STR, "WORKER", "HOST", "PID", "THR", "RUN", "DONE",
           "MEMORY", "STATE");
    const json_t *workers = json_object_get(status, "workers");
    size_t n = json_array_size(workers);
    for (size_t i = 0; i < n; i++) {
        if (o.rows == 1 && i + 1 < n) { /* the last row says what is left */
            s_line(&o, "... and %zu more workers", n - i);
            break;
        }
        s_worker(&o, json_array_get(workers, i));
    }
    if (n == 0) {
        s_line(&o, "(no workers)");
    }
}
