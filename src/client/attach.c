/* A client inside a worker (attach.h): its tasks' children. */
#include "attach.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_impl.h"
#include "common/err.h"
#include "proto/msg.h"

/* What the tasks queued: SUBMITs onto the scheduler's connection, and the
 * results dv_result asked for, from this worker's store or its peers. */
static void
s_wake_cb(uv_async_t *a)
{
    dv_client *c = a->data;
    dvi_conn *conn = c->host->conn(c->host_ctx);
    char **keys, **addrs;
    uv_mutex_lock(&c->lock);
    if (conn != NULL) {
        dvi_client_take_batch_locked(c, dvi_conn_outbox(conn), 1);
    } else {
        /* No scheduler: the session's children were failed already. */
        dvi_client_take_batch_locked(c, NULL, 1);
    }
    size_t nf = dvi_client_take_fetchq_locked(c, &keys, &addrs);
    uv_mutex_unlock(&c->lock);
    for (size_t i = 0; i < nf; i++) {
        dvi_blob *held = c->host->local(c->host_ctx, keys[i]);
        if (held != NULL) {
            dvi_client_on_fetched(c, keys[i], addrs[i], held);
        } else {
            dvi_client_fetch(c, keys[i], addrs[i]);
        }
        free(keys[i]);
        free(addrs[i]);
    }
    free(keys);
    free(addrs);
}

dv_client *
dvi_client_attach(uv_loop_t *loop, const char *id, dvi_tls_ctx *tls,
                  const dvi_client_host *host, void *ctx)
{
    dv_client *c = dvi_client_new(loop, s_wake_cb);
    c->host = host;
    c->host_ctx = ctx;
    c->welcomed = 1;
    snprintf(c->sched_addr, sizeof(c->sched_addr), "worker %s's scheduler", id);
    snprintf(c->scheme, sizeof(c->scheme), "cluster");
    if (tls != NULL) {
        c->tls = dvi_tls_ctx_hold(tls);
        dvi_fetcher_set_tls(c->fetcher, c->tls);
    }
    return c;
}

void
dvi_client_attach_flush(dv_client *c)
{
    dvi_conn *conn = c->host->conn(c->host_ctx);
    if (conn != NULL) {
        uv_mutex_lock(&c->lock);
        dvi_client_take_batch_locked(c, dvi_conn_outbox(conn), 1);
        uv_mutex_unlock(&c->lock);
    }
}

int
dvi_client_attach_result(dv_client *c, int type, const msgpack_object *f,
                         uint32_t n)
{
    uv_mutex_lock(&c->lock);
    int rc = dvi_client_on_result_locked(c, type, f, n);
    uv_cond_broadcast(&c->cond);
    uv_mutex_unlock(&c->lock);
    return rc;
}

void
dvi_client_attach_fail(dv_client *c, const char *why)
{
    uv_mutex_lock(&c->lock);
    dvi_map_entry *e;
    for (size_t i = 0; dvi_map_next(&c->futures, &i, &e);) {
        dvi_fstate *st = e->val;
        int unfetched = st->status == DV_FINISHED && st->blob == NULL;
        if (unfetched) {
            st->status = DV_PENDING; /* its holder may be gone too */
        }
        dvi_fstate_finish_locked(c, st, DV_LOST, why);
    }
    uv_cond_broadcast(&c->cond);
    uv_mutex_unlock(&c->lock);
}

void
dvi_client_attach_wake(dv_client *c)
{
    uv_mutex_lock(&c->lock);
    uv_cond_broadcast(&c->cond);
    uv_mutex_unlock(&c->lock);
}

static void
s_closed(uv_handle_t *h)
{
    dvi_client_free(h->data);
}

void
dvi_client_attach_stop(dv_client *c)
{
    if (c == NULL) {
        return;
    }
    uv_mutex_lock(&c->lock);
    c->stopping = 1;
    uv_mutex_unlock(&c->lock);
    dvi_client_attach_fail(c, "the worker is stopping");
}

void
dvi_client_detach(dv_client **cp)
{
    dv_client *c = *cp;
    if (c == NULL) {
        return;
    }
    *cp = NULL;
    dvi_client_attach_stop(c);
    dvi_fetcher_destroy(&c->fetcher);
    uv_close((uv_handle_t *)&c->wake, s_closed);
}

void
dvi_client_attach_abandon(dv_client *c)
{
    if (c == NULL) {
        return;
    }
    dvi_client_attach_stop(c);
    dvi_fetcher_destroy(&c->fetcher);
    uv_close((uv_handle_t *)&c->wake, NULL);
}
