/* Published names: results that outlive their client. A name holds a want
 * of its task, as a client's future does, until it is unpublished. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "core_impl.h"

static void
s_reply(dvi_sclient *cl, uint64_t req, int status, const char *text)
{
    dvi_msg_reply m = {.req = req, .status = status};
    m.text = dvi_bytes_of(text);
    dvi_msg_reply_pack(cl->out, &m);
}

static void
s_pub_free(dvi_pub *p)
{
    free(p->name);
    free(p);
}

/* The name as a C string, or NULL if it is not one. */
static char *
s_name(dvi_bytes b)
{
    if (b.n == 0 || b.n > 255 || memchr(b.p, '\0', b.n) != NULL) {
        return NULL;
    }
    return dvi_bytes_dup(b);
}

/* The hash of a client's secret: the scheduler keeps no secret itself. */
static void
s_owner_hash(dvi_bytes secret, unsigned char out[16])
{
    crypto_generichash(out, 16, (const unsigned char *)secret.p, secret.n, NULL,
                       0);
}

/* Whether secret is p's publisher's; refuses the request if not. */
static int
s_owned(dvi_sclient *cl, uint64_t req, const dvi_pub *p, dvi_bytes secret)
{
    unsigned char h[16];
    s_owner_hash(secret, h);
    if (secret.n >= 16 && sodium_memcmp(h, p->owner, sizeof(h)) == 0) {
        return 1;
    }
    DVI_LOG(DVI_LOG_WARN, "SCHED",
            "%s: refused to change '%s', published "
            "by another client",
            cl->name, p->name);
    s_reply(cl, req, DV_EPERM, "the name was published by another client");
    return 0;
}

static void
s_unhold(dvi_core *c, dvi_task *t)
{
    t->nwants--;
    dvi_core_check(c, t);
}

void
dvi_core_publish(dvi_core *c, dvi_sclient *cl, const dvi_msg_publish *m)
{
    dvi_task *t = dvi_map_get(&c->tasks, m->key);
    char *name = s_name(m->name);
    if (t == NULL || name == NULL) {
        s_reply(cl, m->req, DV_ENOTFOUND, name ? "no such task" : "bad name");
        free(name);
        return;
    }
    dvi_pub *p = dvi_map_get(&c->published, name);
    if (p != NULL && !s_owned(cl, m->req, p, m->owner)) {
        free(name);
        return;
    }
    s_reply(cl, m->req, 0, NULL);
    if (p != NULL && p->task == t) {
        free(name); /* already published under that name */
        return;
    }
    if (p == NULL) {
        p = dvi_calloc(1, sizeof(*p));
        p->name = name;
        s_owner_hash(m->owner, p->owner);
        dvi_map_put(&c->published, p->name, p);
    } else {
        free(name);
        s_unhold(c, p->task);
    }
    p->task = t;
    t->nwants++;
}

static dvi_pub *
s_find(dvi_core *c, dvi_sclient *cl, uint64_t req, dvi_bytes b)
{
    char *name = s_name(b);
    dvi_pub *p = name ? dvi_map_get(&c->published, name) : NULL;
    free(name);
    if (p == NULL) {
        s_reply(cl, req, DV_ENOTFOUND, "nothing is published under that name");
    }
    return p;
}

void
dvi_core_lookup(dvi_core *c, dvi_sclient *cl, const dvi_msg_lookup *m)
{
    dvi_pub *p = s_find(c, cl, m->req, m->name);
    if (p == NULL) {
        return;
    }
    dvi_task *t = p->task;
    s_reply(cl, m->req, 0, t->key);
    dvi_core_want(c, t, cl);
    if (t->state == DVI_TASK_MEMORY) {
        dvi_core_tell_finished(t, cl, (dvi_bytes){0});
    } else if (t->state == DVI_TASK_ERRED || t->state == DVI_TASK_CANCELLED) {
        dvi_core_tell_erred(t, cl);
    }
}

void
dvi_core_unpublish(dvi_core *c, dvi_sclient *cl, const dvi_msg_unpublish *m)
{
    dvi_pub *p = s_find(c, cl, m->req, m->name);
    if (p == NULL || !s_owned(cl, m->req, p, m->owner)) {
        return;
    }
    dvi_map_del(&c->published, p->name);
    s_reply(cl, m->req, 0, NULL);
    s_unhold(c, p->task);
    s_pub_free(p);
}

void
dvi_core_publish_fini(dvi_core *c)
{
    dvi_map_entry *e;
    for (size_t i = 0; dvi_map_next(&c->published, &i, &e);) {
        s_pub_free(e->val);
    }
}
