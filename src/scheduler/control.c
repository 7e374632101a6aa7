/* What the cluster says of itself, and what a client may ask of it.
 *
 * A worker tells, after its HELLO, its host, process id and resources
 * (INFO: resources.c keeps them); its memory comes in MEMORY. A client asks
 * (CONTROL) for the cluster's status, as JSON (`drove cluster status --json`
 * prints it), or for workers to retire: each is sent RETIRE, and stops as on
 * SIGTERM, its results moved to the workers that stay (leave.c). Shutting the
 * scheduler down is the session layer's (sched.c): it owns the
 * connections.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "core_impl.h"
#include "dash_view.h"

void
dvi_core_info(dvi_core *c, dvi_sworker *w, const dvi_msg_info *m)
{
    (void)c;
    snprintf(w->host, sizeof(w->host), "%.*s", (int)m->host.n,
             m->host.p ? m->host.p : "");
    w->pid = (int64_t)m->pid;
    dvi_core_res_declare(w, m->resources);
}

static json_t *
s_worker_json(const dvi_sworker *w)
{
    json_t *res = json_object();
    for (uint32_t i = 0; i < w->declared.n; i++) {
        json_object_set_new(res, w->declared.v[i].name,
                            json_real(w->declared.v[i].amount));
    }
    return json_pack(
        "{s:s, s:s, s:s, s:I, s:i, s:I, s:I, s:I, s:I, s:b, s:b, s:o}", "id",
        w->id, "host", w->host, "addr", w->addr, "pid", (json_int_t)w->pid,
        "threads", w->nthreads, "running", (json_int_t)w->running.len, "done",
        (json_int_t)w->ndone, "results", (json_int_t)w->nheld, "memory_bytes",
        (json_int_t)w->memory_bytes, "paused", w->paused, "retiring",
        w->retiring, "resources", res);
}

char *
dvi_core_status_json(const dvi_core *c, const char *address)
{
    json_t *workers = json_array();
    json_int_t threads = 0, running = 0, done = 0, memory = 0;
    for (size_t i = 0; i < c->nworkers; i++) {
        const dvi_sworker *w = c->workers[i];
        json_array_append_new(workers, s_worker_json(w));
        threads += w->nthreads;
        running += (json_int_t)w->running.len;
        done += (json_int_t)w->ndone;
        memory += (json_int_t)w->memory_bytes;
    }
    json_t *o = json_pack(
        "{s:s, s:o, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}}",
        "address", address ? address : "", "workers", workers, "totals",
        "workers", (json_int_t)c->nworkers, "threads", threads, "running",
        running, "done", done, "memory_bytes", memory, "tasks",
        (json_int_t)c->tasks.len, "clients", (json_int_t)c->nclients,
        "submitted", (json_int_t)c->stats.submitted, "children",
        (json_int_t)c->stats.children);
    /* What the dashboard shows too (drove top draws them). */
    json_object_set_new(o, "tasks_by_state", dvi_dash_tasks(c));
    json_object_set_new(o, "functions", dvi_dash_functions(c));
    char *text = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    return text;
}

int
dvi_core_retire(dvi_core *c, const char *ids, const char *why)
{
    /* Every id is checked before any worker is told. */
    dvi_sworker *found[256];
    size_t n = 0;
    for (const char *p = ids; *p != '\0';) {
        size_t len = strcspn(p, "\n");
        char id[128];
        snprintf(id, sizeof(id), "%.*s", (int)len, p);
        p += len + (p[len] == '\n');
        if (id[0] == '\0') {
            continue;
        }
        dvi_sworker *w = dvi_core_worker_find(c, id);
        if (w == NULL) {
            return dvi_seterr(DV_ENOTFOUND, "no worker named '%s'", id);
        }
        if (n == sizeof(found) / sizeof(found[0])) {
            return dvi_seterr(DV_EINVAL, "too many workers at once (at "
                                         "most 256)");
        }
        found[n++] = w;
    }
    for (size_t i = 0; i < n; i++) {
        DVI_LOG(DVI_LOG_NOTICE, "SCHED", "asking worker %s to retire (%s)",
                found[i]->id, why);
        dvi_msg_retire m = {.reason = dvi_bytes_of(why)};
        dvi_msg_retire_pack(found[i]->out, &m);
    }
    return (int)n;
}
