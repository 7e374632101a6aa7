/* Published names: results that outlive their client. A name holds a want
 * of its task, as a client's future does, until it is unpublished. With
 * --state (durable.h) names also outlive the scheduler: a change is
 * answered once it is on disk, and a released task a name reads back from
 * the file is answered from its saved result or computed again. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "core_impl.h"
#include "durable.h"

static void
s_reply(dvi_sclient *cl, uint64_t req, int status, const char *text)
{
    dvi_msg_reply m = {.req = req, .status = status};
    m.text = dvi_bytes_of(text);
    dvi_msg_reply_pack(cl->out, &m);
}

/* Success: at once, or with --state once the change is on disk. */
static void
s_done(dvi_core *c, dvi_sclient *cl, uint64_t req)
{
    if (c->durable != NULL) {
        dvi_durable_answer_later(c->durable, cl->id, req);
    } else {
        s_reply(cl, req, 0, NULL);
    }
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

/* With --state, saves that name (new if p is NULL) names t; refuses the
 * request if it cannot be saved. Returns 0 or -1. */
static int
s_save(dvi_core *c, dvi_sclient *cl, const dvi_msg_publish *m, const char *name,
       dvi_pub *p, dvi_task *t)
{
    unsigned char owner[16];
    if (c->durable == NULL) {
        return 0;
    }
    if (p != NULL) {
        memcpy(owner, p->owner, sizeof(owner));
    } else {
        s_owner_hash(m->owner, owner);
    }
    if (dvi_durable_publish(c->durable, name, owner, t, p ? p->task : NULL) <
        0) {
        s_reply(cl, m->req, dvi_last_code(), dv_last_error());
        return -1;
    }
    return 0;
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
    if (p != NULL && p->task == t) {
        s_reply(cl, m->req, 0, NULL);
        free(name); /* already published under that name */
        return;
    }
    if (s_save(c, cl, m, name, p, t) < 0) {
        free(name);
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
    s_done(c, cl, m->req);
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
    /* A result saved by --state goes along: no worker needs to hold it. */
    dvi_bytes saved =
        c->durable ? dvi_durable_value(c->durable, t) : (dvi_bytes){0};
    if (t->state == DVI_TASK_MEMORY) {
        dvi_core_tell_finished(t, cl, saved);
    } else if (t->state == DVI_TASK_ERRED || t->state == DVI_TASK_CANCELLED) {
        dvi_core_tell_erred(t, cl);
    } else if (t->state == DVI_TASK_RELEASED && saved.p != NULL) {
        dvi_core_tell_finished(t, cl, saved);
    } else if (t->state == DVI_TASK_RELEASED) {
        dvi_core_recompute(c, t); /* read back from a file, or lost */
    }
}

void
dvi_core_unpublish(dvi_core *c, dvi_sclient *cl, const dvi_msg_unpublish *m)
{
    dvi_pub *p = s_find(c, cl, m->req, m->name);
    if (p == NULL || !s_owned(cl, m->req, p, m->owner)) {
        return;
    }
    if (c->durable != NULL) {
        dvi_durable_unpublish(c->durable, p->name, p->task);
    }
    dvi_map_del(&c->published, p->name);
    s_done(c, cl, m->req);
    s_unhold(c, p->task);
    s_pub_free(p);
}

void
dvi_core_restore_name(dvi_core *c, const char *name, dvi_task *t,
                      const unsigned char owner[16])
{
    dvi_pub *p = dvi_calloc(1, sizeof(*p));
    p->name = dvi_strdup(name);
    memcpy(p->owner, owner, sizeof(p->owner));
    p->task = t;
    t->nwants++;
    dvi_map_put(&c->published, p->name, p);
}

void
dvi_core_publish_saved(dvi_core *c, uint64_t client, uint64_t req, int status,
                       const char *text)
{
    for (size_t i = 0; i < c->nclients; i++) {
        if (c->clients[i]->id == client) {
            s_reply(c->clients[i], req, status, text);
            return;
        }
    }
}

void
dvi_core_saved_done(dvi_core *c, dvi_task *t, dvi_sworker *w, dvi_bytes value)
{
    if (c->durable != NULL) {
        dvi_durable_done(c->durable, t, w->addr, value);
    }
}

void
dvi_core_publish_fini(dvi_core *c)
{
    dvi_map_entry *e;
    for (size_t i = 0; dvi_map_next(&c->published, &i, &e);) {
        s_pub_free(e->val);
    }
}
