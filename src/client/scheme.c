/* Which cluster dv_connect(NULL) means: the execution schemes.
 *
 * VisTrails (003_*) lets each module pick the best enabled scheme it
 * supports; drove lets the environment pick for a program that does not
 * say: the `where` argument first, then DROVE_SCHEDULER, then
 * DROVE_SCHEME (threads, processes, cluster, auto), and with none of them
 * an embedded cluster of the threads scheme, as drove.h always said.
 * `auto` takes a running cluster of the selected profile, else processes
 * when the program's functions are exported for process workers, else
 * threads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "client_impl.h"
#include "common/err.h"
#include "common/profile.h"
#include "worker/funcs.h"

const char *
dvi_scheme_of(const char *where)
{
    if (strncmp(where, "local:processes", 15) == 0) {
        return "processes";
    }
    if (strcmp(where, "local") == 0 || strncmp(where, "local:", 6) == 0) {
        return "threads";
    }
    return "cluster";
}

/* The embedded processes scheme, a worker per core. */
static void
s_processes(char *where, size_t size)
{
    unsigned cores = uv_available_parallelism();
    snprintf(where, size, "local:processes=%u", cores > 0 ? cores : 1);
}

void
dvi_scheme_cluster(char *where, size_t size)
{
    dvi_profile p;
    if (dvi_profile_init(&p, NULL) == 0) {
        snprintf(where, size, "profile:%s", p.name);
    } else {
        snprintf(where, size, "profile:"); /* dv_connect says what is wrong */
    }
}

int
dvi_scheme_pick(char *where, size_t size, char *why, size_t wsize)
{
    const char *env = getenv("DROVE_SCHEDULER");
    if (env != NULL && env[0] != '\0') {
        snprintf(where, size, "%s", env);
        snprintf(why, wsize, "DROVE_SCHEDULER=%s", env);
        return 0;
    }
    const char *s = getenv("DROVE_SCHEME");
    if (s == NULL || s[0] == '\0') {
        snprintf(where, size, "local");
        snprintf(why, wsize,
                 "the default (no DROVE_SCHEDULER or "
                 "DROVE_SCHEME): an embedded cluster");
        return 0;
    }
    snprintf(why, wsize, "DROVE_SCHEME=%s", s);
    if (strcmp(s, "threads") == 0) {
        snprintf(where, size, "local");
    } else if (strcmp(s, "processes") == 0) {
        s_processes(where, size);
    } else if (strcmp(s, "cluster") == 0) {
        dvi_scheme_cluster(where, size);
        snprintf(why, wsize,
                 "DROVE_SCHEME=cluster: the running cluster of "
                 "profile '%s'",
                 where + 8);
    } else if (strcmp(s, "auto") == 0) {
        return 1;
    } else {
        return dvi_seterr(DV_EINVAL,
                          "DROVE_SCHEME=%s: want threads, processes, "
                          "cluster or auto",
                          s);
    }
    return 0;
}

void
dvi_scheme_fallback(char *where, size_t size, char *why, size_t wsize,
                    const char *cluster_error)
{
    int exported = dvi_funcs_exported();
    if (exported) {
        s_processes(where, size);
    } else {
        snprintf(where, size, "local");
    }
    snprintf(why, wsize,
             "DROVE_SCHEME=auto: no cluster (%s), and the program's "
             "functions are %s",
             cluster_error,
             exported ? "exported for process workers"
                      : "not exported for process workers (link with "
                        "pkg-config's flags to have them)");
}

int
dvi_scheme_allows(const dv_client *c, const char *fn, unsigned flags)
{
    if (!(flags & DV_FN_NOT_THREAD_SAFE) || strcmp(c->scheme, "threads") != 0) {
        return 0;
    }
    return dvi_seterr(DV_EINVAL,
                      "%s is not thread-safe (DV_FUNCTION_NOT_THREAD_SAFE): "
                      "it never runs on the threads scheme this client "
                      "uses; connect to local:processes=N or a cluster",
                      fn);
}

const char *
dv_scheme(const dv_client *c)
{
    return c ? c->scheme : NULL;
}

const char *
dv_scheme_reason(const dv_client *c)
{
    return c ? c->scheme_why : NULL;
}
