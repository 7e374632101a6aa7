/* Broadcast values: put on every worker, present and future.
 *
 * dv_broadcast sends SCATTER with DVI_SCATTER_BROADCAST. The scheduler
 * checks the key against the value, keeps the bytes (as it keeps uploaded
 * libraries) and sends them to every worker that takes work, and to each
 * worker that joins while the value is wanted, before anything else goes
 * there. A task that takes the value as an input then finds it in its
 * worker's store, wherever it runs, with no transfer; placement ignores
 * such an input (place.c), since every worker holds it.
 *
 * The task completes when the first worker stores the value; every other
 * worker that stores it becomes a holder. The workers sent it that have
 * not stored it yet are kept: if the worker the task waits on leaves
 * first, or the last holder leaves, one of them takes over. With none left
 * it is lost, and errs, as scattered data does. Once the value is
 * released, the scheduler's copy goes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "core_impl.h"

typedef struct dvi_bcast {
    char *key;
    dvi_blob *bytes;  /* the encoded value, for workers joining later */
    dvi_pset pending; /* workers sent it that have not stored it yet */
} dvi_bcast;

static void
s_free(dvi_bcast *b)
{
    free(b->key);
    dvi_blob_rele(b->bytes);
    dvi_pset_fini(&b->pending);
    free(b);
}

/* SCATTER b to w, answered by STORED as a COMPUTE is. The bytes go by
 * reference: a large value is not copied per worker. */
static void
s_send(dvi_bcast *b, dvi_sworker *w)
{
    dvi_msg_scatter m = {.key = b->key, .flags = DVI_SCATTER_BROADCAST};
    m.value = (dvi_bytes){NULL, b->bytes->len, b->bytes};
    dvi_msg_scatter_pack(w->out, &m);
    dvi_msg_scatter_pack_tail(w->out, &m);
    dvi_pset_add(&b->pending, w);
}

static size_t
s_takers(const dvi_core *c)
{
    size_t n = 0;
    for (size_t i = 0; i < c->nworkers; i++) {
        n += !c->workers[i]->retiring;
    }
    return n;
}

void
dvi_core_broadcast(dvi_core *c, dvi_task *t, const dvi_msg_scatter *m)
{
    if (s_takers(c) == 0) {
        dvi_core_set_state(c, t, DVI_TASK_QUEUED);
        dvi_core_fail(c, t, DVI_TASK_ERRED, "no worker to broadcast to");
        return;
    }
    dvi_bcast *b = dvi_calloc(1, sizeof(*b));
    b->key = dvi_strdup(t->key);
    b->bytes = dvi_blob_copy(m->value.p, m->value.n);
    dvi_pset_init(&b->pending);
    dvi_map_put(&c->bcasts, b->key, b);
    dvi_sworker *first = NULL;
    for (size_t i = 0; i < c->nworkers; i++) {
        dvi_sworker *w = c->workers[i];
        if (w->retiring) {
            continue;
        }
        s_send(b, w);
        if (first != NULL) {
            w->nprocessing++; /* its STORED answers it */
        } else {
            first = w;
        }
    }
    DVI_LOG(DVI_LOG_INFO, "SCHED", "%s: %zu bytes to every worker (%zu now)",
            t->key, b->bytes->len, b->pending.len);
    dvi_core_assign(c, t, first); /* no COMPUTE: it waits for a STORED */
}

static dvi_bcast *
s_find(const dvi_core *c, const dvi_task *t)
{
    if (!(t->flags & DVI_TASKF_SCATTER) || c->bcasts.len == 0) {
        return NULL;
    }
    return dvi_map_get(&c->bcasts, t->key);
}

int
dvi_core_is_broadcast(const dvi_core *c, const dvi_task *t)
{
    return s_find(c, t) != NULL;
}

void
dvi_core_bcasts_joined(dvi_core *c, dvi_sworker *w)
{
    dvi_map_entry *e;
    for (size_t i = 0; dvi_map_next(&c->bcasts, &i, &e);) {
        s_send(e->val, w);
        w->nprocessing++;
    }
}

void
dvi_core_bcasts_left(dvi_core *c, dvi_sworker *w)
{
    dvi_map_entry *e;
    for (size_t i = 0; dvi_map_next(&c->bcasts, &i, &e);) {
        dvi_bcast *b = e->val;
        dvi_pset_del(&b->pending, w);
    }
}

void
dvi_core_bcast_stored(dvi_core *c, dvi_sworker *w, const char *key)
{
    dvi_bcast *b = c->bcasts.len ? dvi_map_get(&c->bcasts, key) : NULL;
    if (b != NULL) {
        dvi_pset_del(&b->pending, w);
    }
}

int
dvi_core_bcast_lost(dvi_core *c, dvi_task *t)
{
    dvi_bcast *b = s_find(c, t);
    if (b == NULL) {
        return 0;
    }
    size_t i = 0;
    dvi_sworker *w = dvi_pset_next(&b->pending, &i);
    if (w == NULL) {
        return 0; /* lost, as scattered data is */
    }
    /* w was sent it and answers with STORED: t waits on it now. */
    t->where = w;
    if (t->state == DVI_TASK_PROCESSING) {
        dvi_core_run_add(w, t);
    } else {
        dvi_core_set_state(c, t, DVI_TASK_PROCESSING);
    }
    return 1;
}

void
dvi_core_bcast_drop(dvi_core *c, dvi_task *t)
{
    dvi_bcast *b = s_find(c, t);
    if (b != NULL) {
        dvi_map_del(&c->bcasts, b->key);
        s_free(b);
    }
}

void
dvi_core_bcasts_fini(dvi_core *c)
{
    dvi_map_entry *e;
    for (size_t i = 0; dvi_map_next(&c->bcasts, &i, &e);) {
        s_free(e->val);
    }
    dvi_map_fini(&c->bcasts);
}
