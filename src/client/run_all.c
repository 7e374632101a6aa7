/* dv_run_all: one call on every worker, as IPython parallel's DirectView
 * over all engines and dask's client.run.
 *
 * It is built on what there is: one task per worker, pinned there
 * (dv_opts.worker), and impure, so that every call gets a key of its own
 * and is never merged with another call (a pure call of the same function
 * and arguments would be one task, run on one worker). The workers are
 * those the scheduler last told the client of (WORKERS).
 */
#include <stdio.h>
#include <stdlib.h>

#include "client_impl.h"
#include "common/err.h"

/* The ids of the first max workers the client knows of, copied (the list
 * changes under the lock), into *ids (caller frees each and the array).
 * Returns how many workers there are, or a DV_E* code. */
static int
s_worker_ids(dv_client *c, size_t max, char ***ids)
{
    *ids = NULL;
    uv_mutex_lock(&c->lock);
    int rc = dvi_client_check_locked(c);
    if (rc == 0) {
        size_t k = c->nworkers < max ? c->nworkers : max;
        *ids = dvi_calloc(k ? k : 1, sizeof(char *));
        for (size_t i = 0; i < k; i++) {
            (*ids)[i] = dvi_strdup(c->workers[i]);
        }
        rc = (int)c->nworkers;
    }
    uv_mutex_unlock(&c->lock);
    return rc;
}

int
dv_run_all(dv_client *c, const char *fn, size_t nargs, const dv_arg *args,
           dv_future **out, size_t max)
{
    if (c == NULL || fn == NULL || (max > 0 && out == NULL) ||
        (nargs > 0 && args == NULL)) {
        return dvi_seterr(DV_EINVAL, "dv_run_all: no client, function, "
                                     "arguments or output array");
    }
    char **ids;
    int n = s_worker_ids(c, max, &ids);
    if (n < 0) {
        return n;
    }
    size_t k = (size_t)n < max ? (size_t)n : max;
    dv_opts o = DV_OPTS_INIT;
    o.impure = 1; /* a call per worker, never merged into one task */
    int rc = n;
    for (size_t i = 0; i < k && rc >= 0; i++) {
        o.worker = ids[i];
        out[i] = dv_submit(c, fn, nargs, args, &o);
        if (out[i] == NULL) {
            int code = dvi_last_code();
            char why[512];
            snprintf(why, sizeof(why), "%s", dv_last_error());
            for (size_t j = 0; j < i; j++) {
                dv_release(out[j]);
                out[j] = NULL;
            }
            rc = dvi_seterr(code, "dv_run_all: on worker %s: %s", ids[i], why);
        }
    }
    for (size_t i = 0; i < k; i++) {
        free(ids[i]);
    }
    free(ids);
    return rc;
}
