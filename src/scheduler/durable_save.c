/* The lineage of published tasks, between the core and the state file:
 * saving a task and the inputs it needs (as rows the loader will take
 * back: each is checked with the loader's own check before anything is
 * queued), and putting a loaded file back into the core as released
 * records that dvi_core_recompute computes again.
 */
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "common/pset.h"
#include "core_impl.h"
#include "durable_impl.h"

/* ---- Core task <-> row --------------------------------------------------- */

static uint32_t
s_file_flags(const dvi_task *t)
{
    uint32_t f = 0;
    f |= (t->flags & DVI_TASK_IMPURE) ? DVI_STATE_IMPURE : 0;
    f |= (t->flags & DVI_TASK_CHUNK) ? DVI_STATE_CHUNK : 0;
    f |= (t->flags & DVI_TASKF_PINNED) ? DVI_STATE_PINNED : 0;
    f |= (t->flags & DVI_TASKF_SCATTER) ? DVI_STATE_SCATTER : 0;
    f |= (t->flags & DVI_TASKF_FORWARD) ? DVI_STATE_FORWARD : 0;
    f |= t->state == DVI_TASK_CANCELLED ? DVI_STATE_CANCELLED : 0;
    return f;
}

static uint16_t
s_core_flags(uint32_t f)
{
    uint16_t out = 0;
    out |= (f & DVI_STATE_IMPURE) ? DVI_TASK_IMPURE : 0;
    out |= (f & DVI_STATE_CHUNK) ? DVI_TASK_CHUNK : 0;
    /* Its worker is gone: computing it again errs, as in the core. */
    out |= (f & DVI_STATE_PINNED) ? DVI_TASKF_PINNED : 0;
    out |= (f & DVI_STATE_SCATTER) ? DVI_TASKF_SCATTER : 0;
    out |= (f & DVI_STATE_FORWARD) ? DVI_TASKF_FORWARD : 0;
    return out;
}

/* t as a row (its result is saved apart, when known). */
static void
s_row(dvi_task *t, dvi_state_task *r)
{
    r->key = dvi_strdup(t->key);
    r->fn = dvi_strdup(t->fn->name);
    r->code = dvi_strdup(t->fn->code);
    if (t->args_len > 0) {
        r->args = dvi_blob_copy(dvi_task_args(t), t->args_len);
    }
    dvi_task **deps = dvi_task_deps(t);
    r->ndeps = t->ndeps;
    r->deps = t->ndeps ? dvi_calloc(t->ndeps, sizeof(char *)) : NULL;
    for (uint32_t i = 0; i < t->ndeps; i++) {
        r->deps[i] = dvi_strdup(deps[i]->key);
    }
    r->flags = s_file_flags(t);
    r->priority = t->priority;
    r->retries = t->retries;
    if (t->state == DVI_TASK_ERRED || t->state == DVI_TASK_CANCELLED) {
        const char *e = t->error ? t->error : "failed";
        size_t n = strlen(e);
        n = n > DVI_STATE_MAX_ERROR ? DVI_STATE_MAX_ERROR : n;
        r->error = dvi_malloc(n + 1);
        memcpy(r->error, e, n);
        r->error[n] = '\0';
    }
}

/* t and its inputs not saved yet, each once, into fresh. */
static void
s_unsaved(dvi_durable *d, dvi_task *t, dvi_taskvec *fresh)
{
    dvi_pset seen;
    dvi_taskvec todo;
    dvi_pset_init(&seen);
    dvi_taskvec_init(&todo);
    dvi_pset_add(&seen, t);
    dvi_taskvec_push(&todo, t);
    while (todo.n > 0) {
        dvi_task *x = todo.v[--todo.n];
        dvi_taskvec_push(fresh, x);
        dvi_task **deps = dvi_task_deps(x);
        for (uint32_t i = 0; i < x->ndeps; i++) {
            if (dvi_map_get(&d->saved, deps[i]->key) == NULL &&
                dvi_pset_add(&seen, deps[i])) {
                dvi_taskvec_push(&todo, deps[i]);
            }
        }
    }
    dvi_taskvec_fini(&todo);
    dvi_pset_fini(&seen);
}

/* Rows for fresh, each checked as the loader will. Returns 0, or
 * DV_EINVAL with the reason set (rows freed). */
static int
s_rows(dvi_taskvec *fresh, dvi_state_task *rows)
{
    for (uint32_t i = 0; i < fresh->n; i++) {
        dvi_task *t = fresh->v[i];
        s_row(t, &rows[i]);
        int rc = dvi_state_task_check(&rows[i]);
        if (rc < 0) {
            dvi_seterr(rc, "cannot save it in the state file: %s",
                       dv_last_error());
            for (uint32_t j = 0; j <= i; j++) {
                dvi_state_task_fini(&rows[j]);
            }
            return rc;
        }
    }
    return 0;
}

/* Counts a saved task's library, saving the library when it is new. */
static void
s_lib(dvi_durable *d, dvi_saved *sv, const char *code)
{
    int fresh;
    sv->lib = dvi_durable_lib_ref(d, code, &fresh);
    const char *name = NULL;
    const dvi_blob *bytes =
        fresh ? dvi_core_lib_get(d->core, code, &name) : NULL;
    if (bytes == NULL) {
        return;
    }
    dvi_state_op *op = dvi_state_batch_add(&d->queued, DVI_STATE_PUT_LIB);
    op->lib.hash = dvi_strdup(code);
    op->lib.name = dvi_strdup(name[0] ? name : "library.so");
    for (char *p = op->lib.name; *p; p++) {
        *p = *p == '/' ? '_' : *p; /* a file name, as the loader wants */
    }
    op->lib.bytes = dvi_blob_hold((dvi_blob *)bytes);
}

int
dvi_durable_save_lineage(dvi_durable *d, dvi_task *t)
{
    if (dvi_map_get(&d->saved, t->key) != NULL) {
        return 0;
    }
    dvi_taskvec fresh;
    dvi_taskvec_init(&fresh);
    s_unsaved(d, t, &fresh);
    dvi_state_task *rows = dvi_calloc(fresh.n, sizeof(*rows));
    int rc = s_rows(&fresh, rows);
    if (rc < 0) {
        free(rows);
        dvi_taskvec_fini(&fresh);
        return rc;
    }
    dvi_saved **svs = dvi_malloc(fresh.n * sizeof(*svs));
    for (uint32_t i = 0; i < fresh.n; i++) {
        svs[i] = dvi_durable_saved_new(d, rows[i].key, rows[i].ndeps);
        svs[i]->scatter = (rows[i].flags & DVI_STATE_SCATTER) != 0;
    }
    for (uint32_t i = 0; i < fresh.n; i++) {
        for (uint32_t j = 0; j < rows[i].ndeps; j++) {
            dvi_saved *in = dvi_map_get(&d->saved, rows[i].deps[j]);
            in->refs++;
            svs[i]->deps[j] = in;
        }
        s_lib(d, svs[i], rows[i].code);
        dvi_state_batch_add(&d->queued, DVI_STATE_PUT_TASK)->task = rows[i];
    }
    free(svs);
    free(rows);
    dvi_taskvec_fini(&fresh);
    return 0;
}

/* ---- Row -> core task -----------------------------------------------------
 */

/* A released record of r (or a failed one), linked to its inputs, which
 * the core holds already. */
static dvi_task *
s_restore_task(dvi_core *c, const dvi_state_task *r)
{
    dvi_bytes code = dvi_bytes_of(r->code);
    dvi_bytes args = {0};
    if (r->args != NULL) {
        args = (dvi_bytes){r->args->data, r->args->len, NULL};
    }
    dvi_task *t = dvi_core_task_new(c, r->key, r->fn, code, args, r->ndeps);
    t->flags |= s_core_flags(r->flags);
    t->priority = r->priority;
    t->retries = (int16_t)r->retries;
    t->nbytes = r->value ? r->value->len : 0;
    dvi_task **deps = dvi_task_deps(t);
    for (uint32_t i = 0; i < r->ndeps; i++) {
        dvi_task *in = dvi_map_get(&c->tasks, r->deps[i]);
        deps[t->ndeps++] = in;
        in->nlineage++;
    }
    if (r->error != NULL) {
        t->error = dvi_strdup(r->error);
        dvi_core_set_state(c, t,
                           (r->flags & DVI_STATE_CANCELLED) ? DVI_TASK_CANCELLED
                                                            : DVI_TASK_ERRED);
    } else {
        dvi_core_set_state(c, t, DVI_TASK_RELEASED);
    }
    return t;
}

void
dvi_durable_restore(dvi_durable *d)
{
    dvi_state_image *img = &d->img;
    size_t nvalues = 0;
    for (size_t i = 0; i < img->nlibs; i++) {
        dvi_core_lib_restore(d->core, img->libs[i].hash, img->libs[i].name,
                             img->libs[i].bytes);
    }
    for (size_t i = 0; i < img->ntasks; i++) {
        const dvi_state_task *r = &img->tasks[i];
        s_restore_task(d->core, r);
        dvi_saved *sv = dvi_durable_saved_new(d, r->key, r->ndeps);
        sv->scatter = (r->flags & DVI_STATE_SCATTER) != 0;
        for (uint32_t j = 0; j < r->ndeps; j++) {
            sv->deps[j] = dvi_map_get(&d->saved, r->deps[j]);
            sv->deps[j]->refs++;
        }
        int fresh;
        sv->lib = dvi_durable_lib_ref(d, r->code, &fresh);
        sv->value = r->value ? dvi_blob_hold(r->value) : NULL;
        nvalues += r->value != NULL;
    }
    for (size_t i = 0; i < img->nnames; i++) {
        const dvi_state_name *n = &img->names[i];
        dvi_core_restore_name(d->core, n->name,
                              dvi_map_get(&d->core->tasks, n->key), n->owner);
        dvi_durable_name_ref(d, dvi_map_get(&d->saved, n->key));
    }
    DVI_LOG(DVI_LOG_NOTICE, "SCHED",
            "state file %s: %zu published name(s), %zu task(s) of their "
            "lineage, %zu small result(s), %zu librar%s%s",
            dvi_state_path(d->file), img->nnames, img->ntasks, nvalues,
            img->nlibs, img->nlibs == 1 ? "y" : "ies",
            img->dropped ? " (rows no name needed were dropped)" : "");
}
