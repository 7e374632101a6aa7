/* dvi_server: answering peers' GETs from a worker's store. */
#include "serve.h"

#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "common/map.h"
#include "proto/conn.h"
#include "proto/hello.h"
#include "proto/msg.h"
#include "proto/samehost.h"
#include "proto/secure.h"

/* An incoming connection from a peer or a client. */
typedef struct s_client {
    dvi_server *s;
    dvi_conn *conn;
    int hello; /* HELLO seen */
} s_client;

/* GETs that wait for a result not here yet (see serve.h). */
#define S_WAITING_MAX ((size_t)1 << 20)
#define S_TICK_MS 20

/* A GET waiting for key, until deadline_ms if the key is not coming. */
typedef struct s_waiter {
    s_client *cl;
    uint64_t deadline_ms;
    uint64_t wait_ms;
} s_waiter;

typedef struct s_waiters {
    s_waiter *v;
    size_t n, cap;
    char key[]; /* the map's key */
} s_waiters;

struct dvi_server {
    uv_loop_t *loop;
    dvi_store *store; /* borrowed from the worker */
    dvi_listener *listener;
    dvi_listener *samehost; /* the socket file for this host's peers */
    s_client **clients;
    size_t nclients;
    uint64_t bytes_served;
    dvi_map waiting; /* key -> s_waiters */
    size_t nwaiting;
    uv_timer_t *tick; /* while any wait: their deadlines (malloc'ed) */
    dvi_server_coming_fn coming;
    dvi_server_wanted_fn wanted;
    void *hooks_ctx;
};

/* Answers one GET. */
static void
s_serve(dvi_server *s, s_client *cl, const char *key)
{
    dvi_blob *b = dvi_store_get(s->store, key);
    dvi_outbox *out = dvi_conn_outbox(cl->conn);
    if (b == NULL) {
        dvi_msg_missing m = {.key = key};
        dvi_msg_missing_pack(out, &m);
        return;
    }
    /* A large result goes out from the store's memory (spliced), in a
     * frame that ends with it, at once. */
    dvi_msg_data m = {.key = key, .value = {NULL, b->len, b}};
    dvi_msg_data_pack(out, &m);
    s->bytes_served += b->len;
    if (b->len > DVI_INLINE_MAX) {
        dvi_conn_flush(cl->conn);
    }
}

/* Answers every GET waiting for key from the store, and forgets them. */
static void
s_settle(dvi_server *s, const char *key)
{
    s_waiters *ws = dvi_map_del(&s->waiting, key);
    if (ws == NULL) {
        return;
    }
    for (size_t i = 0; i < ws->n; i++) {
        s_serve(s, ws->v[i].cl, key);
        /* A task on that peer waits for it now: out at once, not when
         * this worker's loop next sleeps (it may run more tasks first). */
        dvi_conn_flush(ws->v[i].cl->conn);
    }
    s->nwaiting -= ws->n;
    free(ws->v);
    free(ws);
}

/* Drops the waiting GETs that are over: those of the connection gone,
 * when it closes; or, on a tick (gone NULL), those past their deadline
 * for a key not coming here, answered MISSING. Emptied lists go after
 * the walk (deleting moves the map's entries). */
static void
s_sweep(dvi_server *s, const s_client *gone)
{
    uint64_t now = uv_now(s->loop);
    s_waiters **empty = NULL;
    size_t nempty = 0;
    dvi_map_entry *e;
    for (size_t i = 0; s->nwaiting > 0 && dvi_map_next(&s->waiting, &i, &e);) {
        s_waiters *ws = e->val;
        int coming =
            gone == NULL && s->coming && s->coming(s->hooks_ctx, ws->key);
        size_t kept = 0;
        for (size_t k = 0; k < ws->n; k++) {
            s_waiter *v = &ws->v[k];
            v->deadline_ms = coming ? now + v->wait_ms : v->deadline_ms;
            int over = gone ? v->cl == gone : v->deadline_ms <= now;
            if (!over) {
                ws->v[kept++] = *v;
                continue;
            }
            if (gone == NULL) {
                s_serve(s, v->cl, ws->key); /* never heard of here */
            }
            s->nwaiting--;
        }
        ws->n = kept;
        if (kept == 0) {
            empty = dvi_realloc(empty, (nempty + 1) * sizeof(*empty));
            empty[nempty++] = ws;
        }
    }
    for (size_t i = 0; i < nempty; i++) {
        dvi_map_del(&s->waiting, empty[i]->key);
        free(empty[i]->v);
        free(empty[i]);
    }
    free(empty);
}

static void
s_tick(uv_timer_t *t)
{
    dvi_server *s = t->data;
    s_sweep(s, NULL);
    if (s->nwaiting == 0) {
        uv_timer_stop(t);
    }
}

/* A GET for key that may wait: kept until the key's task here ends, or
 * until wait_ms pass without one (its COMPUTE may still be on its way). */
static void
s_wait(dvi_server *s, s_client *cl, const char *key, uint64_t wait_ms)
{
    if (s->nwaiting >= S_WAITING_MAX) {
        s_serve(s, cl, key); /* MISSING: the asker looks elsewhere */
        return;
    }
    s_waiters *ws = dvi_map_get(&s->waiting, key);
    if (ws == NULL) {
        size_t len = strlen(key);
        ws = dvi_calloc(1, sizeof(*ws) + len + 1);
        memcpy(ws->key, key, len + 1);
        dvi_map_put(&s->waiting, ws->key, ws);
        if (s->wanted != NULL) {
            s->wanted(s->hooks_ctx, ws->key);
        }
    }
    if (ws->n == ws->cap) {
        ws->cap = ws->cap ? ws->cap * 2 : 2;
        ws->v = dvi_realloc(ws->v, ws->cap * sizeof(*ws->v));
    }
    ws->v[ws->n++] = (s_waiter){cl, uv_now(s->loop) + wait_ms, wait_ms};
    if (s->nwaiting++ == 0) {
        uv_timer_start(s->tick, s_tick, S_TICK_MS, S_TICK_MS);
    }
}

static int
s_on_msg(void *ctx, int type, const msgpack_object *f, uint32_t n)
{
    s_client *cl = ctx;
    if (!cl->hello) {
        dvi_hello h;
        if (type != DVI_MSG_HELLO) {
            return dvi_seterr(DV_EPROTO, "%s before HELLO", dvi_msg_name(type));
        }
        int rc = dvi_hello_parse(f, n, &h);
        cl->hello = rc == 0;
        if (cl->hello) {
            dvi_conn_handshake_done(cl->conn);
        }
        return rc;
    }
    if (type != DVI_MSG_GET) {
        return dvi_seterr(DV_EPROTO, "unexpected %s from a peer",
                          dvi_msg_name(type));
    }
    dvi_msg_get m;
    if (dvi_msg_get_read(f, n, &m) < 0) {
        return DV_EPROTO;
    }
    if (m.wait_ms > 0 && dvi_store_get(cl->s->store, m.key) == NULL) {
        s_wait(cl->s, cl, m.key, m.wait_ms);
        return 0;
    }
    s_serve(cl->s, cl, m.key);
    return 0;
}

static int
s_on_frame(dvi_conn *c, const char *buf, size_t len)
{
    return dvi_conn_each_msg(c, buf, len, s_on_msg, dvi_conn_data(c));
}

static void
s_on_close(dvi_conn *c, const char *why)
{
    s_client *cl = dvi_conn_data(c);
    dvi_server *s = cl->s;
    s_sweep(s, cl); /* its waiting GETs go with it */
    for (size_t i = 0; i < s->nclients; i++) {
        if (s->clients[i] == cl) {
            s->clients[i] = s->clients[--s->nclients];
            break;
        }
    }
    free(cl);
}

static void
s_on_accept(dvi_listener *l, dvi_conn *c)
{
    dvi_server *s = dvi_listener_data(l);
    s_client *cl = dvi_calloc(1, sizeof(*cl));
    cl->s = s;
    cl->conn = c;
    dvi_conn_set_data(c, cl);
    s->clients =
        dvi_realloc(s->clients, (s->nclients + 1) * sizeof(*s->clients));
    s->clients[s->nclients++] = cl;
}

dvi_server *
dvi_server_new(uv_loop_t *loop, const char *addr, dvi_tls_ctx *tls,
               dvi_store *store, char *bound, size_t size)
{
    dvi_server *s = dvi_calloc(1, sizeof(*s));
    s->loop = loop;
    s->store = store;
    dvi_map_init(&s->waiting);
    /* Peers, clients, and a scheduler saving small published results
     * (--state). */
    unsigned roles = DVI_PKI_ROLE_BIT(DVI_PKI_ROLE_WORKER) |
                     DVI_PKI_ROLE_BIT(DVI_PKI_ROLE_CLIENT) |
                     DVI_PKI_ROLE_BIT(DVI_PKI_ROLE_SCHEDULER);
    s->listener = dvi_listen_secure(loop, addr, tls, roles, s_on_accept,
                                    s_on_frame, s_on_close, s, bound, size);
    if (s->listener == NULL) {
        dvi_map_fini(&s->waiting);
        free(s);
        return NULL;
    }
    s->tick = dvi_malloc(sizeof(*s->tick));
    uv_timer_init(loop, s->tick);
    s->tick->data = s;
    return s;
}

void
dvi_server_listen_samehost(dvi_server *s, dvi_tls_ctx *tls, const char *addr)
{
    char path[256], bound[256];
    if (s->samehost != NULL ||
        dvi_samehost_addr(tls, addr, 1, path, sizeof(path)) < 0) {
        return;
    }
    s->samehost = dvi_listen(s->loop, path, s_on_accept, s_on_frame, s_on_close,
                             s, bound, sizeof(bound));
    if (s->samehost == NULL) {
        DVI_LOG(DVI_LOG_WARN, "WORKER", "peers on this host fetch over TLS: %s",
                dv_last_error());
    }
}

static void
s_tick_closed(uv_handle_t *h)
{
    free(h);
}

void
dvi_server_destroy(dvi_server **sp)
{
    dvi_server *s = *sp;
    if (s == NULL) {
        return;
    }
    *sp = NULL;
    dvi_listener_close(s->listener);
    if (s->samehost != NULL) {
        dvi_listener_close(s->samehost);
    }
    dvi_map_entry *e;
    for (size_t i = 0; dvi_map_next(&s->waiting, &i, &e);) {
        s_waiters *ws = e->val;
        free(ws->v);
        free(ws);
    }
    dvi_map_fini(&s->waiting);
    uv_close((uv_handle_t *)s->tick, s_tick_closed);
    for (size_t i = 0; i < s->nclients; i++) {
        dvi_conn_close(s->clients[i]->conn);
        free(s->clients[i]);
    }
    free(s->clients);
    free(s);
}

uint64_t
dvi_server_bytes_served(const dvi_server *s)
{
    return s->bytes_served;
}

void
dvi_server_set_hooks(dvi_server *s, dvi_server_coming_fn coming,
                     dvi_server_wanted_fn wanted, void *ctx)
{
    s->coming = coming;
    s->wanted = wanted;
    s->hooks_ctx = ctx;
}

void
dvi_server_settle(dvi_server *s, const char *key)
{
    if (s != NULL && s->nwaiting > 0) {
        s_settle(s, key);
    }
}

int
dvi_server_awaited(const dvi_server *s, const char *key)
{
    return s != NULL && s->nwaiting > 0 && dvi_map_get(&s->waiting, key);
}
