/* dvi_server: answering peers' GETs from a worker's store. */
#include "serve.h"

#include <stdlib.h>

#include "common/err.h"
#include "proto/conn.h"
#include "proto/hello.h"
#include "proto/msg.h"
#include "proto/secure.h"

/* An incoming connection from a peer or a client. */
typedef struct s_client {
    dvi_server *s;
    dvi_conn *conn;
    int hello; /* HELLO seen */
} s_client;

struct dvi_server {
    dvi_store *store; /* borrowed from the worker */
    dvi_listener *listener;
    s_client **clients;
    size_t nclients;
    uint64_t bytes_served;
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
    s_serve(cl->s, cl, m.key);
    return 0;
}

static int
s_on_frame(dvi_conn *c, const char *buf, size_t len)
{
    return dvi_msg_each(buf, len, s_on_msg, dvi_conn_data(c));
}

static void
s_on_close(dvi_conn *c, const char *why)
{
    s_client *cl = dvi_conn_data(c);
    dvi_server *s = cl->s;
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
    s->store = store;
    /* Peers, clients, and a scheduler saving small published results
     * (--state). */
    unsigned roles = DVI_PKI_ROLE_BIT(DVI_PKI_ROLE_WORKER) |
                     DVI_PKI_ROLE_BIT(DVI_PKI_ROLE_CLIENT) |
                     DVI_PKI_ROLE_BIT(DVI_PKI_ROLE_SCHEDULER);
    s->listener = dvi_listen_secure(loop, addr, tls, roles, s_on_accept,
                                    s_on_frame, s_on_close, s, bound, size);
    if (s->listener == NULL) {
        free(s);
        return NULL;
    }
    return s;
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
