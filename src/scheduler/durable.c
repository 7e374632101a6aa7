/* dvi_durable: the scheduler's --state on its loop (see durable.h).
 *
 * The saved tasks are a small graph of their own (dvi_saved, by key), apart
 * from the core's: a core task may be forgotten while its row must stay,
 * and a row must go as soon as nothing saved needs it, whatever the core
 * still holds. Deciding that here, on the loop, keeps every write in
 * order: a row deleted in one batch and saved again in a later one is
 * never lost to a race with the job thread.
 */
#include "durable.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "common/map.h"
#include "common/mpcheck.h"
#include "common/pset.h"
#include "common/runtime.h"
#include "core_impl.h"
#include "durable_impl.h"
#include "proto/callkey.h"
#include "proto/fetch.h"

#define S_BATCH_MS 50 /* how long changes wait to be written together */
#define S_RETRY_MS 1000

/* ---- The saved graph ---------------------------------------------------- */

dvi_savedlib *
dvi_durable_lib_ref(dvi_durable *d, const char *code, int *fresh)
{
    *fresh = 0;
    if (code[0] != 'U') {
        return NULL; /* the program's own code, or any: nothing to keep */
    }
    dvi_savedlib *l = dvi_map_get(&d->libs, code);
    if (l == NULL) {
        l = dvi_calloc(1, sizeof(*l));
        l->hash = dvi_strdup(code);
        dvi_map_put(&d->libs, l->hash, l);
    }
    *fresh = l->refs++ == 0;
    return l;
}

static void
s_lib_unref(dvi_durable *d, dvi_savedlib *l)
{
    if (l == NULL || --l->refs > 0) {
        return;
    }
    dvi_state_batch_add(&d->queued, DVI_STATE_DEL_LIB)->lib.hash =
        dvi_strdup(l->hash);
    dvi_map_del(&d->libs, l->hash);
    free(l->hash);
    free(l);
}

dvi_saved *
dvi_durable_saved_new(dvi_durable *d, const char *key, uint32_t ndeps)
{
    dvi_saved *sv = dvi_calloc(1, sizeof(*sv));
    sv->key = dvi_strdup(key);
    sv->ndeps = ndeps;
    sv->deps = ndeps ? dvi_calloc(ndeps, sizeof(*sv->deps)) : NULL;
    dvi_map_put(&d->saved, sv->key, sv);
    return sv;
}

static void
s_saved_free(dvi_saved *sv)
{
    free(sv->key);
    free(sv->deps);
    dvi_blob_rele(sv->value);
    free(sv);
}

/* Drops one reference to sv; what nothing needs any more is deleted,
 * with its row, and drops its own inputs in turn. */
static void
s_unref(dvi_durable *d, dvi_saved *sv)
{
    size_t n = 1, cap = 16;
    dvi_saved **todo = dvi_malloc(cap * sizeof(*todo));
    todo[0] = sv;
    while (n > 0) {
        dvi_saved *x = todo[--n];
        if (--x->refs > 0) {
            continue;
        }
        dvi_state_batch_add(&d->queued, DVI_STATE_DEL_TASK)->task.key =
            dvi_strdup(x->key);
        for (uint32_t i = 0; i < x->ndeps; i++) {
            if (n == cap) {
                cap *= 2;
                todo = dvi_realloc(todo, cap * sizeof(*todo));
            }
            todo[n++] = x->deps[i];
        }
        s_lib_unref(d, x->lib);
        dvi_map_del(&d->saved, x->key);
        s_saved_free(x);
    }
    free(todo);
}

/* ---- Writing ------------------------------------------------------------ */

/* A batch on the job thread, with the requests waiting for it. */
typedef struct s_job {
    dvi_durable *d;
    dvi_state_batch batch;
    dvi_durable_reply *replies;
    size_t nreplies;
    int rc;        /* set on the job thread */
    char why[512]; /* why it failed, from the job thread */
} s_job;

static void s_kick(dvi_durable *d);

static void
s_answer(dvi_durable *d, dvi_durable_reply *r, size_t n, int rc,
         const char *why)
{
    char text[600];
    snprintf(text, sizeof(text),
             "done, but not saved in the scheduler's state file yet (%s); "
             "it tries again",
             why);
    for (size_t i = 0; i < n; i++) {
        dvi_core_publish_saved(d->core, r[i].client, r[i].req, rc,
                               rc < 0 ? text : NULL);
    }
}

static void
s_job_work(void *ctx)
{
    s_job *j = ctx;
    j->rc = dvi_state_apply(j->d->file, &j->batch);
    if (j->rc < 0) {
        snprintf(j->why, sizeof(j->why), "%s", dv_last_error());
    }
}

static void
s_job_done(void *ctx)
{
    s_job *j = ctx;
    dvi_durable *d = j->d;
    d->writing = 0;
    s_answer(d, j->replies, j->nreplies, j->rc, j->why);
    if (j->rc == 0) {
        d->failing = 0;
        dvi_state_batch_fini(&j->batch);
    } else {
        if (!d->failing) {
            DVI_LOG(DVI_LOG_ERROR, "SCHED", "%s", j->why);
        }
        d->failing = 1;
        /* Written again first, before anything queued since. */
        dvi_state_batch_append(&j->batch, &d->queued);
        dvi_state_batch_fini(&d->queued);
        d->queued = j->batch;
    }
    free(j->replies);
    free(j);
    s_kick(d);
}

/* Hands what is queued to the job thread. */
static void
s_write(dvi_durable *d)
{
    if (d->writing || (d->queued.n == 0 && d->nreplies == 0)) {
        return;
    }
    s_job *j = dvi_calloc(1, sizeof(*j));
    j->d = d;
    j->batch = d->queued;
    j->replies = d->replies;
    j->nreplies = d->nreplies;
    memset(&d->queued, 0, sizeof(d->queued));
    d->replies = NULL;
    d->nreplies = d->capreplies = 0;
    if (dvi_runtime_queue_job(d->rt, s_job_work, s_job_done, j) < 0) {
        j->rc = DV_ESYS;
        snprintf(j->why, sizeof(j->why), "%s", dv_last_error());
        d->writing = 1;
        s_job_done(j); /* kept, and tried again later */
        return;
    }
    d->writing = 1;
}

static void
s_on_timer(uv_timer_t *t)
{
    s_write(t->data);
}

/* Makes sure what is queued gets written: soon, at once if a request
 * waits for it, later after a failure. */
static void
s_kick(dvi_durable *d)
{
    if (d->writing || d->closing || (d->queued.n == 0 && d->nreplies == 0)) {
        return;
    }
    uint64_t ms = d->failing ? S_RETRY_MS : d->nreplies ? 0 : S_BATCH_MS;
    if (ms == 0 || !uv_is_active((uv_handle_t *)d->timer)) {
        uv_timer_start(d->timer, s_on_timer, ms, 0);
    }
}

/* ---- Small results ------------------------------------------------------ */

/* Whether the loader will take p as sv's result: a worker's bytes are
 * checked as the file's are, or one bad value would refuse the file. */
static int
s_loadable(const dvi_saved *sv, const char *p, size_t n)
{
    if (n > DVI_INLINE_MAX || dvi_mpcheck(p, n) < 0) {
        return 0;
    }
    if (sv->scatter) {
        char want[DVI_MAX_KEY + 1];
        dvi_callkey_scatter(want, sizeof(want), p, n);
        return strcmp(want, sv->key) == 0;
    }
    return 1;
}

/* Keeps bytes as sv's result and saves it. */
static void
s_keep_value(dvi_durable *d, dvi_saved *sv, const char *p, size_t n)
{
    if (!s_loadable(sv, p, n)) {
        DVI_LOG(DVI_LOG_WARN, "SCHED",
                "the result of %s (%zu bytes) is not saved: it is not a "
                "well-formed value",
                sv->key, n);
        return;
    }
    dvi_blob_rele(sv->value);
    sv->value = dvi_blob_copy(p, n);
    dvi_state_op *op = dvi_state_batch_add(&d->queued, DVI_STATE_PUT_VALUE);
    op->task.key = dvi_strdup(sv->key);
    op->task.nbytes = n;
    op->task.value = dvi_blob_hold(sv->value);
    s_kick(d);
}

static void
s_on_data(void *ctx, const char *key, const char *addr, dvi_blob *blob)
{
    dvi_durable *d = ctx;
    dvi_saved *sv = dvi_map_get(&d->saved, key);
    if (sv != NULL) {
        sv->fetching = 0;
        if (sv->names > 0 && sv->value == NULL) {
            s_keep_value(d, sv, blob->data, blob->len);
        }
    }
}

static void
s_on_fail(void *ctx, const char *key, const char *addr, int code,
          const char *why)
{
    dvi_durable *d = ctx;
    dvi_saved *sv = dvi_map_get(&d->saved, key);
    if (sv != NULL) {
        sv->fetching = 0;
    }
    DVI_LOG(DVI_LOG_INFO, "SCHED",
            "could not fetch the result of %s from %s to save it (%s): "
            "after a restart it is computed again",
            key, addr, why);
}

/* Asks the worker at addr for sv's result. */
void
dvi_durable_fetch(dvi_durable *d, dvi_saved *sv, const char *addr)
{
    if (sv->fetching || addr == NULL || addr[0] == '\0') {
        return;
    }
    if (d->fetcher == NULL) {
        d->fetcher =
            dvi_fetcher_new(d->loop, "scheduler", s_on_data, s_on_fail, d);
        dvi_fetcher_set_tls(d->fetcher, d->tls);
    }
    if (dvi_fetcher_get(d->fetcher, sv->key, addr) == 0) {
        sv->fetching = 1;
    } else {
        s_on_fail(d, sv->key, addr, dvi_last_code(), dv_last_error());
    }
}

void
dvi_durable_done(dvi_durable *d, dvi_task *t, const char *holder,
                 dvi_bytes value)
{
    /* Only a name wants a task more than its clients do: the common case
     * costs these tests, not a lookup by key. */
    if (d->nroots == 0 || (!(t->flags & DVI_TASKF_EXTRA) &&
                           t->nwants <= (uint32_t)(t->owner != NULL))) {
        return;
    }
    dvi_saved *sv = dvi_map_get(&d->saved, t->key);
    if (sv == NULL || sv->names == 0) {
        return;
    }
    /* Computed again (an impure call may differ): this run's bytes are
     * the result now, and a large one is not kept. */
    int had = sv->value != NULL;
    dvi_blob_rele(sv->value);
    sv->value = NULL;
    if (t->nbytes > DVI_INLINE_MAX) {
        if (had) {
            dvi_state_op *op =
                dvi_state_batch_add(&d->queued, DVI_STATE_PUT_VALUE);
            op->task.key = dvi_strdup(sv->key); /* value NULL: none */
            s_kick(d);
        }
    } else if (value.p != NULL) {
        s_keep_value(d, sv, value.p, value.n);
    } else {
        dvi_durable_fetch(d, sv, holder);
    }
}

dvi_bytes
dvi_durable_value(const dvi_durable *d, const dvi_task *t)
{
    dvi_saved *sv = d->nroots ? dvi_map_get(&d->saved, t->key) : NULL;
    if (sv == NULL || sv->value == NULL) {
        return (dvi_bytes){0};
    }
    return (dvi_bytes){sv->value->data, sv->value->len, sv->value};
}

/* ---- Names -------------------------------------------------------------- */

void
dvi_durable_name_ref(dvi_durable *d, dvi_saved *sv)
{
    sv->refs++;
    if (sv->names++ == 0) {
        d->nroots++;
    }
}

static void
s_name_unref(dvi_durable *d, dvi_saved *sv)
{
    if (--sv->names == 0) {
        d->nroots--;
    }
    s_unref(d, sv);
}

int
dvi_durable_publish(dvi_durable *d, const char *name,
                    const unsigned char owner[16], dvi_task *t, dvi_task *old)
{
    if (dvi_durable_save_lineage(d, t) < 0) {
        return dvi_last_code();
    }
    dvi_saved *sv = dvi_map_get(&d->saved, t->key);
    dvi_durable_name_ref(d, sv);
    dvi_state_op *op = dvi_state_batch_add(&d->queued, DVI_STATE_PUT_NAME);
    op->name.name = dvi_strdup(name);
    op->name.key = dvi_strdup(t->key);
    memcpy(op->name.owner, owner, 16);
    if (old != NULL) {
        dvi_saved *was = dvi_map_get(&d->saved, old->key);
        if (was != NULL) {
            s_name_unref(d, was);
        }
    }
    if (sv->value == NULL && t->state == DVI_TASK_MEMORY && t->nwho > 0 &&
        t->nbytes <= DVI_INLINE_MAX) {
        dvi_durable_fetch(d, sv, dvi_task_holder(t, 0)->addr);
    }
    s_kick(d);
    return 0;
}

void
dvi_durable_unpublish(dvi_durable *d, const char *name, dvi_task *t)
{
    dvi_state_batch_add(&d->queued, DVI_STATE_DEL_NAME)->name.name =
        dvi_strdup(name);
    dvi_saved *sv = dvi_map_get(&d->saved, t->key);
    if (sv != NULL) {
        s_name_unref(d, sv);
    }
    s_kick(d);
}

void
dvi_durable_answer_later(dvi_durable *d, uint64_t client, uint64_t req)
{
    if (d->nreplies == d->capreplies) {
        d->capreplies = d->capreplies ? d->capreplies * 2 : 8;
        d->replies =
            dvi_realloc(d->replies, d->capreplies * sizeof(*d->replies));
    }
    d->replies[d->nreplies++] = (dvi_durable_reply){client, req};
    s_kick(d);
}

/* ---- Life cycle --------------------------------------------------------- */

dvi_durable *
dvi_durable_open(const char *path)
{
    dvi_state *file = dvi_state_open(path);
    if (file == NULL) {
        return NULL;
    }
    dvi_durable *d = dvi_calloc(1, sizeof(*d));
    d->file = file;
    dvi_map_init(&d->saved);
    dvi_map_init(&d->libs);
    if (dvi_state_load(file, &d->img) < 0) {
        dvi_durable_destroy(&d);
        return NULL;
    }
    return d;
}

void
dvi_durable_start(dvi_durable *d, dvi_core *c, uv_loop_t *loop,
                  dvi_tls_ctx *tls)
{
    d->core = c;
    d->loop = loop;
    d->rt = dvi_runtime_of(loop);
    dvi_assert(d->rt != NULL && c->durable == NULL);
    d->tls = tls ? dvi_tls_ctx_hold(tls) : NULL;
    d->timer = dvi_calloc(1, sizeof(*d->timer));
    uv_timer_init(loop, d->timer);
    d->timer->data = d; /* active only while something waits to be written */
    c->durable = d;
    dvi_durable_restore(d);
    dvi_state_image_fini(&d->img);
}

const char *
dvi_durable_path(const dvi_durable *d)
{
    return dvi_state_path(d->file);
}

static void
s_free_handle(uv_handle_t *h)
{
    free(h);
}

/* At the end: what is still queued is written here, on the loop (nothing
 * else runs any more). */
static void
s_flush(dvi_durable *d)
{
    if (d->rt != NULL) {
        dvi_runtime_wait_jobs(d->rt); /* the write in flight, answered */
    }
    if (d->core == NULL || (d->queued.n == 0 && d->nreplies == 0)) {
        return;
    }
    int rc = dvi_state_apply(d->file, &d->queued);
    if (rc < 0) {
        DVI_LOG(DVI_LOG_ERROR, "SCHED", "%s", dv_last_error());
    }
    s_answer(d, d->replies, d->nreplies, rc, dv_last_error());
}

void
dvi_durable_destroy(dvi_durable **dp)
{
    dvi_durable *d = *dp;
    if (d == NULL) {
        return;
    }
    *dp = NULL;
    d->closing = 1;
    if (d->timer != NULL) {
        uv_timer_stop(d->timer);
        uv_close((uv_handle_t *)d->timer, s_free_handle);
    }
    s_flush(d);
    if (d->core != NULL) {
        d->core->durable = NULL;
    }
    dvi_fetcher_destroy(&d->fetcher);
    dvi_tls_ctx_rele(d->tls);
    dvi_map_entry *e;
    for (size_t i = 0; dvi_map_next(&d->saved, &i, &e);) {
        s_saved_free(e->val);
    }
    for (size_t i = 0; dvi_map_next(&d->libs, &i, &e);) {
        dvi_savedlib *l = e->val;
        free(l->hash);
        free(l);
    }
    dvi_map_fini(&d->saved);
    dvi_map_fini(&d->libs);
    dvi_state_batch_fini(&d->queued);
    free(d->replies);
    dvi_state_image_fini(&d->img);
    dvi_state_close(&d->file);
    free(d);
}
