/* Results fetched by the scheduler for clients that cannot reach the
 * workers (relay.h). */
#include "relay.h"

#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "common/map.h"
#include "core_impl.h"
#include "proto/fetch.h"

/* The clients waiting for one key, by id (a client may leave meanwhile). */
typedef struct s_wait {
    char *key;
    uint64_t *ids;
    size_t n;
} s_wait;

struct dvi_relay {
    dvi_core *c;
    uv_loop_t *loop;
    dvi_tls_ctx *tls;
    dvi_fetcher *fetcher; /* made at the first relay */
    dvi_map waits;        /* key -> s_wait */
    uint64_t bytes;       /* relayed so far, for the log */
};

static dvi_sclient *
s_client(dvi_core *c, uint64_t id)
{
    for (size_t i = 0; i < c->nclients; i++) {
        if (c->clients[i]->id == id) {
            return c->clients[i];
        }
    }
    return NULL;
}

static void
s_wait_free(s_wait *w)
{
    free(w->key);
    free(w->ids);
    free(w);
}

/* Tells each waiting client: the value, or (value NULL) the holder at
 * addr to fetch from itself. */
static void
s_answer(dvi_relay *r, const char *key, const char *addr, const dvi_blob *b)
{
    s_wait *w = dvi_map_del(&r->waits, key);
    dvi_task *t = dvi_map_get(&r->c->tasks, key);
    for (size_t i = 0; w != NULL && t != NULL && i < w->n; i++) {
        dvi_sclient *cl = s_client(r->c, w->ids[i]);
        if (cl == NULL) {
            continue;
        }
        dvi_msg_finished m = {.key = key, .nbytes = t->nbytes};
        m.holder = dvi_bytes_of(addr);
        if (b != NULL) {
            m.value = (dvi_bytes){b->data, b->len, (dvi_blob *)b};
            r->bytes += b->len;
            DVI_LOG(DVI_LOG_INFO, "SCHED",
                    "relayed %s (%zu bytes) to %s: %.1f MiB relayed so far",
                    key, b->len, cl->name, (double)r->bytes / (1 << 20));
        }
        dvi_msg_finished_pack(cl->out, &m);
    }
    if (w != NULL) {
        s_wait_free(w);
    }
}

static void
s_on_data(void *ctx, const char *key, const char *addr, dvi_blob *blob)
{
    s_answer(ctx, key, addr, blob);
}

static void
s_on_fail(void *ctx, const char *key, const char *addr, int code,
          const char *why)
{
    (void)code;
    DVI_LOG(DVI_LOG_INFO, "SCHED", "relaying %s from %s failed: %s", key, addr,
            why);
    s_answer(ctx, key, addr, NULL);
}

dvi_relay *
dvi_relay_new(dvi_core *c, uv_loop_t *loop, dvi_tls_ctx *tls)
{
    dvi_relay *r = dvi_calloc(1, sizeof(*r));
    r->c = c;
    r->loop = loop;
    r->tls = tls ? dvi_tls_ctx_hold(tls) : NULL;
    dvi_map_init(&r->waits);
    return r;
}

void
dvi_relay_destroy(dvi_relay **rp)
{
    dvi_relay *r = *rp;
    if (r == NULL) {
        return;
    }
    *rp = NULL;
    dvi_fetcher_destroy(&r->fetcher);
    dvi_map_entry *e;
    for (size_t i = 0; dvi_map_next(&r->waits, &i, &e);) {
        s_wait_free(e->val);
    }
    dvi_map_fini(&r->waits);
    if (r->tls != NULL) {
        dvi_tls_ctx_rele(r->tls);
    }
    free(r);
}

void
dvi_relay_get(dvi_relay *r, const dvi_task *t, dvi_sclient *cl)
{
    const char *addr = dvi_task_holder(t, 0)->addr;
    s_wait *w = dvi_map_get(&r->waits, t->key);
    if (w == NULL) {
        if (r->fetcher == NULL) {
            r->fetcher =
                dvi_fetcher_new(r->loop, "scheduler", s_on_data, s_on_fail, r);
            dvi_fetcher_set_tls(r->fetcher, r->tls);
        }
        if (dvi_fetcher_get(r->fetcher, t->key, addr) < 0) {
            dvi_msg_finished m = {.key = t->key, .nbytes = t->nbytes};
            m.holder = dvi_bytes_of(addr);
            dvi_msg_finished_pack(cl->out, &m);
            return;
        }
        w = dvi_calloc(1, sizeof(*w));
        w->key = dvi_strdup(t->key);
        dvi_map_put(&r->waits, w->key, w);
    }
    w->ids = dvi_realloc(w->ids, (w->n + 1) * sizeof(*w->ids));
    w->ids[w->n++] = cl->id;
}
