/* dvi_fetcher: GET / DATA / MISSING on outgoing peer connections, for
 * workers and clients alike. */
#include "fetch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "common/map.h"
#include "conn.h"
#include "hello.h"
#include "msg.h"
#include "samehost.h"
#include "secure.h"

/* GETs of one key sent to one peer and not answered yet. */
typedef struct s_want {
    uint32_t n; /* more than one if asked again before the answer */
    char key[]; /* the map's key points here */
} s_want;

typedef struct s_peer {
    dvi_fetcher *f;
    dvi_conn *conn;
    dvi_map wants; /* key -> s_want */
    char addr[];   /* the address dialled (the key in f->peers) */
} s_peer;

struct dvi_fetcher {
    uv_loop_t *loop;
    char id[128];   /* sent in HELLO */
    dvi_map peers;  /* address -> s_peer */
    size_t pending; /* GETs not answered yet, over all peers */
    dvi_fetch_data_fn on_data;
    dvi_fetch_fail_fn on_fail;
    void *ctx;
    dvi_tls_ctx *tls; /* held; NULL: no TLS identity */
};

static void
s_peer_free(s_peer *p)
{
    dvi_map_entry *e;
    for (size_t i = 0; dvi_map_next(&p->wants, &i, &e);) {
        free(e->val);
    }
    dvi_map_fini(&p->wants);
    free(p);
}

/* One GET of want is answered: forget it (freeing want with the last). */
static void
s_settle(s_peer *p, s_want *want)
{
    p->f->pending--;
    if (--want->n == 0) {
        dvi_map_del(&p->wants, want->key);
        free(want);
    }
}

static int
s_on_msg(void *ctx, int type, const msgpack_object *f, uint32_t n)
{
    s_peer *p = ctx;
    dvi_fetcher *fe = p->f;
    dvi_msg_data m; /* MISSING is DATA without its value */
    if (type != DVI_MSG_DATA && type != DVI_MSG_MISSING) {
        return dvi_seterr(DV_EPROTO, "unexpected %s from peer %s",
                          dvi_msg_name(type), p->addr);
    }
    int rc = type == DVI_MSG_DATA
                 ? dvi_msg_data_read(f, n, &m)
                 : dvi_msg_missing_read(f, n, (dvi_msg_missing *)&m);
    if (rc < 0) {
        return DV_EPROTO; /* the connection closes: its GETs fail */
    }
    const char *key = m.key, *data = m.value.p;
    size_t len = type == DVI_MSG_DATA ? m.value.n : 0;
    s_want *want = dvi_map_get(&p->wants, key);
    if (want == NULL) {
        return 0; /* not asked for here */
    }
    s_settle(p, want);
    if (type == DVI_MSG_MISSING) {
        fe->on_fail(fe->ctx, key, p->addr, DV_ENOTFOUND,
                    "the peer does not hold it");
        return 0;
    }
    /* A large result is not copied: it keeps the frame it came in, or is
     * the very blob a worker in this process holds. */
    dvi_blob *blob = dvi_conn_keep(p->conn, data, len);
    fe->on_data(fe->ctx, key, p->addr, blob);
    dvi_blob_rele(blob);
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
    s_peer *p = dvi_conn_data(c);
    dvi_fetcher *f = p->f;
    DVI_LOG(DVI_LOG_DEBUG, "FETCH", "%s: peer %s gone: %s", f->id, p->addr,
            why);
    /* Out of the map first: a callback that asks this address again gets
     * a new connection, and cannot reach the wants iterated here. */
    dvi_map_del(&f->peers, p->addr);
    dvi_map_entry *e;
    for (size_t i = 0; dvi_map_next(&p->wants, &i, &e);) {
        s_want *want = e->val;
        for (uint32_t k = 0; k < want->n; k++) {
            f->pending--;
            f->on_fail(f->ctx, want->key, p->addr, DV_ECONN, why);
        }
    }
    s_peer_free(p);
}

static s_peer *
s_peer_get(dvi_fetcher *f, const char *addr)
{
    s_peer *p = dvi_map_get(&f->peers, addr);
    if (p != NULL) {
        return p;
    }
    size_t len = strlen(addr);
    p = dvi_calloc(1, sizeof(*p) + len + 1);
    p->f = f;
    memcpy(p->addr, addr, len + 1);
    dvi_map_init(&p->wants);
    /* Results come only from workers of this cluster: over TLS, or over
     * the socket file of a worker of this host (samehost.h). */
    int fd = dvi_samehost_connect(f->tls, addr);
    p->conn = fd >= 0 ? dvi_conn_from_fd(f->loop, fd, s_on_frame, s_on_close, p)
                      : NULL;
    int samehost = p->conn != NULL;
    if (!samehost) {
        if (fd >= 0) {
            close(fd); /* not adopted */
        }
        p->conn = dvi_conn_dial_secure(f->loop, addr, f->tls,
                                       DVI_PKI_ROLE_BIT(DVI_PKI_ROLE_WORKER),
                                       s_on_frame, s_on_close, p);
    }
    if (p->conn == NULL) {
        s_peer_free(p);
        return NULL;
    }
    dvi_conn_accept_refs(p->conn);
    DVI_LOG(DVI_LOG_DEBUG, "FETCH", "%s: connecting to peer %s%s", f->id, addr,
            samehost ? " by its socket file" : "");
    dvi_hello_send(p->conn, DVI_ROLE_PEER, f->id, 0, NULL);
    dvi_map_put(&f->peers, p->addr, p);
    return p;
}

int
dvi_fetcher_get(dvi_fetcher *f, const char *key, const char *addr)
{
    return dvi_fetcher_get_wait(f, key, addr, 0);
}

int
dvi_fetcher_get_wait(dvi_fetcher *f, const char *key, const char *addr,
                     uint64_t wait_ms)
{
    s_peer *p = s_peer_get(f, addr);
    if (p == NULL) {
        return dvi_last_code();
    }
    s_want *want = dvi_map_get(&p->wants, key);
    if (want == NULL) {
        size_t len = strlen(key);
        want = dvi_calloc(1, sizeof(*want) + len + 1);
        memcpy(want->key, key, len + 1);
        dvi_map_put(&p->wants, want->key, want);
    }
    want->n++;
    f->pending++;
    DVI_LOG(DVI_LOG_DEBUG, "FETCH", "%s: GET %s from %s", f->id, key, addr);
    dvi_msg_get m = {.key = key, .wait_ms = wait_ms};
    dvi_msg_get_pack(dvi_conn_outbox(p->conn), &m);
    dvi_msg_get_pack_tail(dvi_conn_outbox(p->conn), &m);
    return 0;
}

size_t
dvi_fetcher_pending(const dvi_fetcher *f)
{
    return f->pending;
}

dvi_fetcher *
dvi_fetcher_new(uv_loop_t *loop, const char *id, dvi_fetch_data_fn on_data,
                dvi_fetch_fail_fn on_fail, void *ctx)
{
    dvi_fetcher *f = dvi_calloc(1, sizeof(*f));
    f->loop = loop;
    f->on_data = on_data;
    f->on_fail = on_fail;
    f->ctx = ctx;
    dvi_fetcher_set_id(f, id);
    dvi_map_init(&f->peers);
    return f;
}

void
dvi_fetcher_set_tls(dvi_fetcher *f, dvi_tls_ctx *tls)
{
    dvi_tls_ctx_rele(f->tls);
    f->tls = tls ? dvi_tls_ctx_hold(tls) : NULL;
}

void
dvi_fetcher_set_id(dvi_fetcher *f, const char *id)
{
    snprintf(f->id, sizeof(f->id), "%s", id);
}

void
dvi_fetcher_destroy(dvi_fetcher **fp)
{
    dvi_fetcher *f = *fp;
    if (f == NULL) {
        return;
    }
    *fp = NULL;
    dvi_map_entry *e;
    for (size_t i = 0; dvi_map_next(&f->peers, &i, &e);) {
        s_peer *p = e->val;
        dvi_conn_close(p->conn); /* calls no callback */
        s_peer_free(p);
    }
    dvi_map_fini(&f->peers);
    dvi_tls_ctx_rele(f->tls);
    free(f);
}
