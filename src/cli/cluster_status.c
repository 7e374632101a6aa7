/* The status `drove cluster status` shows: the scheduler's
 * (dv_scheduler_info), each worker marked `local` when it was started
 * from here (by its name, or on this machine by its process or its
 * nanny's), printed as JSON or as a table. */
#include "cluster_status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "launch.h"

/* The parent of process pid on this machine, or 0. */
static long
s_ppid(long pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
    if (f) {
        fclose(f);
    }
    buf[n] = '\0';
    const char *close = strrchr(buf, ')'); /* after the command's name */
    long ppid = 0;
    return close && sscanf(close + 1, " %*c %ld", &ppid) == 1 ? ppid : 0;
}

/* Whether worker id, at host with process pid, was started from here:
 * by its name, or (on this machine) by its pid or its nanny's. */
static int
s_started_here(const dvi_launched *v, size_t n, const char *id,
               const char *host, long pid)
{
    long parent = strcmp(host, dvi_launch_hostname()) == 0 ? s_ppid(pid) : 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(v[i].name);
        int named = len > 0 && strncmp(id, v[i].name, len) == 0 &&
                    (id[len] == '\0' || id[len] == '-');
        if (named || (strcmp(v[i].host, host) == 0 &&
                      (v[i].pid == pid || v[i].pid == parent))) {
            return 1;
        }
    }
    return 0;
}

json_t *
dvi_cluster_status(const dvi_profile *p, dv_client *c)
{
    char *text = NULL;
    if (dv_scheduler_info(c, &text) < 0) {
        fprintf(stderr, "drove cluster: %s\n", dv_last_error());
        return NULL;
    }
    json_t *o = json_loads(text, 0, NULL);
    free(text);
    json_t *workers = json_object_get(o, "workers");
    if (!json_is_array(workers)) {
        fprintf(stderr, "drove cluster: the scheduler's status is not "
                        "what this drove reads\n");
        json_decref(o);
        return NULL;
    }
    dvi_launched *v = NULL;
    size_t n = 0;
    dvi_launch_load(p, &v, &n);
    size_t i;
    json_t *w;
    json_array_foreach(workers, i, w)
    {
        const char *host = json_string_value(json_object_get(w, "host"));
        long pid = (long)json_integer_value(json_object_get(w, "pid"));
        const char *id = json_string_value(json_object_get(w, "id"));
        int here = host && id && s_started_here(v, n, id, host, pid);
        json_object_set_new(w, "local", json_boolean(here));
    }
    dvi_launched_fini(v, n);
    free(v);
    return o;
}

static long
s_int(json_t *o, const char *key)
{
    return (long)json_integer_value(json_object_get(o, key));
}

void
dvi_cluster_print_status(const dvi_profile *p, json_t *o)
{
    json_t *workers = json_object_get(o, "workers");
    printf("profile %s: scheduler at %s\n\n", p->name,
           json_string_value(json_object_get(o, "address")));
    printf("%-24s %-16s %8s %7s %7s %9s %10s  %s\n", "WORKER", "HOST", "PID",
           "THREADS", "RUNNING", "DONE", "MEMORY", "STARTED HERE");
    size_t i;
    json_t *w;
    json_array_foreach(workers, i, w)
    {
        printf("%-24s %-16s %8ld %7ld %7ld %9ld %8.1f M  %s%s\n",
               json_string_value(json_object_get(w, "id")),
               json_string_value(json_object_get(w, "host")), s_int(w, "pid"),
               s_int(w, "threads"), s_int(w, "running"), s_int(w, "done"),
               (double)s_int(w, "memory_bytes") / (1 << 20),
               json_is_true(json_object_get(w, "local")) ? "yes" : "no",
               json_is_true(json_object_get(w, "retiring")) ? " (retiring)"
                                                            : "");
    }
    json_t *t = json_object_get(o, "totals");
    printf("\n%ld workers, %ld threads, %ld tasks running, %ld done, "
           "%.1f MiB\n",
           s_int(t, "workers"), s_int(t, "threads"), s_int(t, "running"),
           s_int(t, "done"), (double)s_int(t, "memory_bytes") / (1 << 20));
}
