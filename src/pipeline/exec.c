/* dvi_pexec: the in-flight window of a pipeline run (see exec.h).
 *
 * The window is an array of futures handed to dv_next_completed, which
 * returns each once: a completed slot is refilled by the next datum (or
 * by the same datum's next try), so the number running never exceeds
 * par and never drops below it while datums remain.
 */
#include "pipeline/exec.h"

#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/bar.h"
#include "common/cmdval.h"
#include "common/err.h"
#include "common/file.h"
#include "common/tree.h"
#include "pipeline/transform.h"

/* The stderr kept in the state and printed for a failed datum. */
#define S_LOG_MAX 16384

typedef struct s_slot {
    const dvi_datum *d;
    int tries; /* submissions so far */
} s_slot;

typedef struct s_exec {
    dv_client *c;
    const dvi_pspec *s;
    dvi_pstate *st;
    FILE *log;
    dvi_pexec_stats *stats;
    dvi_bar *bar;   /* the progress line, cleared before a report */
    dv_future **fs; /* the window, par long */
    s_slot *slots;  /* slot i goes with fs[i] */
    size_t nin;     /* futures in the window */
} s_exec;

char *
dvi_pexec_inputs_json(const dvi_datum *d)
{
    json_t *a = json_array();
    for (size_t i = 0; i < d->nfiles; i++) {
        char hex[2 * DVI_HASH_BYTES + 1];
        sodium_bin2hex(hex, sizeof(hex), d->files[i].hash, DVI_HASH_BYTES);
        json_array_append_new(a, json_pack("{s:s, s:s, s:s}", "input",
                                           d->files[i].input, "path",
                                           d->files[i].rel, "hash", hex));
    }
    char *text = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    return text;
}

void
dvi_pexec_remove_output(const char *out, const char *rel)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", out, rel);
    unlink(path);
    size_t root = strlen(out);
    for (char *slash = strrchr(path, '/');
         slash != NULL && (size_t)(slash - path) > root;
         slash = strrchr(path, '/')) {
        *slash = '\0';
        if (rmdir(path) != 0) {
            break; /* not empty: another datum's files are there */
        }
    }
}

/* The description of datum id in the state, for a conflict's message. */
static char *
s_desc(dvi_pstate *st, const char *id)
{
    json_t *a = dvi_pstate_datums_json(st, id);
    const char *d =
        json_string_value(json_object_get(json_array_get(a, 0), "desc"));
    char *out = dvi_strdup(d ? d : "?");
    json_decref(a);
    return out;
}

/* Claims every output path for d; on a conflict, releases the claims and
 * puts the message naming both datums in why. 0, 1 (conflict) or
 * DV_EIO. */
static int
s_claim(s_exec *x, const dvi_datum *d, const dv_value *r, char *why,
        size_t size)
{
    size_t n = dv_cmd_noutputs(r);
    for (size_t i = 0; i < n; i++) {
        const char *rel = dv_cmd_output_path(r, i) + 4; /* after "out/" */
        char owner[33];
        int rc = dvi_pstate_add_output(x->st, rel, d->id, owner);
        if (rc == DV_EINVAL) {
            char *other = s_desc(x->st, owner);
            snprintf(why, size,
                     "datums %s (%s) and %s (%s) both write the output %s",
                     owner, other, d->id, d->desc, rel);
            free(other);
            char **paths;
            size_t np;
            if (dvi_pstate_forget(x->st, d->id, &paths, &np) == 0) {
                for (size_t k = 0; k < np; k++) {
                    free(paths[k]);
                }
                free(paths);
            }
            return 1;
        }
        if (rc < 0) {
            return rc;
        }
    }
    return 0;
}

/* Puts a finished datum's outputs into the output directory. 0, 1 (a
 * conflict or an output that cannot be written: why says) or DV_EIO. */
static int
s_store(s_exec *x, const dvi_datum *d, const dv_value *r, char *why,
        size_t size)
{
    size_t n = dv_cmd_noutputs(r);
    for (size_t i = 0; i < n; i++) {
        const char *p = dv_cmd_output_path(r, i);
        if (strncmp(p, "out/", 4) != 0 || !dvi_cmdval_path_ok(p + 4)) {
            snprintf(why, size,
                     "the command kept an output '%s' outside "
                     "out/",
                     p);
            return 1;
        }
    }
    int rc = s_claim(x, d, r, why, size);
    for (size_t i = 0; i < n && rc == 0; i++) {
        char path[4096];
        size_t len;
        const void *data = dv_cmd_output_data(r, i, &len);
        snprintf(path, sizeof(path), "%s/%s", x->s->output,
                 dv_cmd_output_path(r, i) + 4);
        /* By way of a hidden temporary file: a reader never sees half an
         * output. Not synced: a run writes many. */
        if (dvi_tree_make_parents(path) < 0 ||
            dvi_write_file_as(path, data, len,
                              DVI_FILE_SHARED | DVI_FILE_NO_SYNC) < 0) {
            snprintf(why, size, "%s", dv_last_error());
            rc = 1;
        }
    }
    return rc;
}

/* Records datum d's end: done (1: succeeded) or failed with why. */
static int
s_record(s_exec *x, const s_slot *sl, int ok, const char *why, const char *err,
         size_t errlen)
{
    size_t keep = errlen > S_LOG_MAX ? S_LOG_MAX : errlen;
    const char *tail = err ? err + (errlen - keep) : "";
    size_t size = strlen(why) + keep + 4;
    char *log = dvi_malloc(size);
    snprintf(log, size, "%s%s%.*s", why, *why && keep ? "\n" : "", (int)keep,
             tail);
    char *inputs = dvi_pexec_inputs_json(sl->d);
    int rc =
        dvi_pstate_put(x->st, sl->d->id, ok ? DVI_DATUM_OK : DVI_DATUM_FAILED,
                       sl->d->desc, inputs, sl->tries, log);
    if (ok) {
        x->stats->processed++;
    } else {
        x->stats->failed++;
        size_t n = strlen(log);
        dvi_bar_clear(x->bar); /* the report on a line of its own */
        fprintf(x->log,
                "drove pipeline: %s: datum %s (%s) failed after %d "
                "tr%s: %s%s",
                x->s->name, sl->d->id, sl->d->desc, sl->tries,
                sl->tries == 1 ? "y" : "ies", log,
                n > 0 && log[n - 1] == '\n' ? "" : "\n");
    }
    free(inputs);
    free(log);
    return rc;
}

/* Submits slot sl's datum into window position i. 0, or 1 when it could
 * not be submitted (recorded as failed). */
static int
s_submit(s_exec *x, const s_slot *sl, size_t i)
{
    dv_cmd *cmd = dvi_ptransform_cmd(x->s, sl->d);
    dv_future *f = cmd ? dv_cmd_submit(x->c, cmd, NULL) : NULL;
    dv_cmd_free(cmd);
    if (f == NULL) {
        s_slot failed = *sl;
        failed.tries++;
        s_record(x, &failed, 0, dv_last_error(), NULL, 0);
        return 1;
    }
    x->slots[i] = *sl;
    x->slots[i].tries++;
    x->fs[i] = f;
    return 0;
}

/* Handles the completed future at window position i: success, another
 * try, or failure. Leaves position i empty unless it was resubmitted. */
static int
s_complete(s_exec *x, size_t i, int *again)
{
    dv_future *f = x->fs[i];
    s_slot sl = x->slots[i];
    char why[1024] = "";
    const dv_value *r =
        dv_future_status(f) == DV_FINISHED ? dv_result(f, -1) : NULL;
    int status = r ? dv_cmd_exit_status(r) : -1;
    size_t errlen = 0;
    const char *err = r ? dv_cmd_stderr(r, &errlen) : NULL;
    int rc = 0, ok = 0;
    if (r == NULL) {
        const char *e = dv_future_error(f);
        snprintf(why, sizeof(why), "%s", e ? e : dv_last_error());
    } else if (status != 0) {
        snprintf(why, sizeof(why), "exited with status %d", status);
    } else {
        rc = s_store(x, sl.d, r, why, sizeof(why));
        ok = rc == 0;
    }
    /* A conflict (rc 1) is no command's failure: no retry helps. */
    *again = !ok && rc == 0 && sl.tries < x->s->datum_tries;
    if (rc >= 0 && !*again) {
        rc = s_record(x, &sl, ok, why, err, errlen);
    }
    dv_release(f);
    x->fs[i] = NULL;
    if (*again && s_submit(x, &sl, i) != 0) {
        *again = 0;
    }
    return rc < 0 ? rc : 0;
}

int
dvi_pexec_run(dv_client *c, const dvi_pspec *s, const dvi_datum *const *todo,
              size_t n, int par, dvi_pstate *st, FILE *log,
              dvi_pexec_stats *stats)
{
    dvi_bar bar; /* on a terminal: datums done of n */
    dvi_bar_init(&bar, s->name, n);
    s_exec x = {c, s, st, log, stats, &bar, NULL, NULL, 0};
    size_t done0 = stats->processed + stats->failed;
    x.fs = dvi_calloc((size_t)par, sizeof(*x.fs));
    x.slots = dvi_calloc((size_t)par, sizeof(*x.slots));
    size_t next = 0;
    int rc = 0;
    for (;;) {
        while (rc == 0 && x.nin < (size_t)par && next < n) {
            s_slot sl = {todo[next++], 0};
            if (s_submit(&x, &sl, x.nin) == 0) {
                x.nin++;
            }
        }
        if (x.nin == 0) {
            break;
        }
        dvi_bar_set(&bar, stats->processed + stats->failed - done0,
                    stats->failed);
        dv_future *f =
            dv_next_completed(c, x.fs, x.nin, dvi_bar_active(&bar) ? 0.2 : -1);
        if (f == NULL && dv_last_code() == DV_ETIMEDOUT) {
            continue; /* only to redraw the bar */
        }
        if (f == NULL) {
            rc = dvi_seterr(dv_last_code(), "%s", dv_last_error());
            break;
        }
        size_t i = 0;
        while (x.fs[i] != f) {
            i++;
        }
        int again = 0;
        rc = s_complete(&x, i, &again);
        if (!again) {
            /* Keeps the window dense: the last future takes i's place. */
            x.nin--;
            x.fs[i] = x.fs[x.nin];
            x.slots[i] = x.slots[x.nin];
            x.fs[x.nin] = NULL;
        }
        if (rc < 0) {
            break;
        }
    }
    dvi_bar_set(&bar, stats->processed + stats->failed - done0, stats->failed);
    dvi_bar_end(&bar);
    for (size_t i = 0; i < x.nin; i++) {
        dv_release(x.fs[i]);
    }
    free(x.fs);
    free(x.slots);
    return rc;
}
