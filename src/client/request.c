/* Requests to the scheduler that wait for its answer: uploading a
 * library, and publishing, looking up and unpublishing names. A user
 * thread queues the message and sleeps on the client's condition; the
 * loop thread matches the answer (UPLOADED by hash, REPLY by request id)
 * and wakes it. A lost scheduler answers every request with DV_ELOST. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_impl.h"
#include "common/err.h"
#include "common/file.h"
#include "proto/callkey.h"
#include "proto/msg.h"

/* ---- Answers, on the loop thread ---------------------------------------- */

static dvi_request *
s_request_find(dv_client *c, uint64_t id, const char *hash)
{
    for (dvi_request *r = c->requests; r; r = r->next) {
        int upload = r->type == DVI_MSG_UPLOAD;
        if (!r->done && (hash ? upload && strcmp(r->hash, hash) == 0
                              : !upload && r->id == id)) {
            return r;
        }
    }
    return NULL;
}

static int
s_on_uploaded(dv_client *c, const msgpack_object *f, uint32_t n)
{
    dvi_msg_uploaded m;
    char hash[80];
    if (dvi_msg_uploaded_read(f, n, &m) < 0) {
        return DV_EPROTO;
    }
    snprintf(hash, sizeof(hash), "%.*s", (int)m.hash.n, m.hash.p);
    dvi_request *r = s_request_find(c, 0, hash);
    if (r == NULL) {
        return 0;
    }
    r->count = m.loaded;
    r->status = m.error.p ? DV_EINVAL : 0;
    r->text = dvi_bytes_dup(m.error);
    r->done = 1;
    return 0;
}

static int
s_on_reply(dv_client *c, const msgpack_object *f, uint32_t n)
{
    dvi_msg_reply m;
    if (dvi_msg_reply_read(f, n, &m) < 0) {
        return DV_EPROTO;
    }
    dvi_request *r = s_request_find(c, m.req, NULL);
    if (r == NULL) {
        return 0;
    }
    r->status = m.status < 0 ? (int)m.status : 0;
    r->text = dvi_bytes_dup(m.text);
    if (r->status == 0 && r->type == DVI_MSG_LOOKUP && r->text) {
        /* A lookup: make the state now, before FINISHED arrives. */
        dvi_fstate *st = dvi_map_get(&c->futures, r->text);
        if (st == NULL) {
            st = dvi_fstate_new(r->text);
            dvi_map_put(&c->futures, st->key, st);
        }
        st->refs++;
        r->st = st;
    }
    r->done = 1;
    return 0;
}

int
dvi_request_answer_locked(dv_client *c, int type, const msgpack_object *f,
                          uint32_t n)
{
    return type == DVI_MSG_UPLOADED ? s_on_uploaded(c, f, n)
                                    : s_on_reply(c, f, n);
}

void
dvi_request_fail_all_locked(dv_client *c, const char *text)
{
    for (dvi_request *r = c->requests; r; r = r->next) {
        if (!r->done) {
            r->done = 1;
            r->status = DV_ELOST;
            free(r->text);
            r->text = dvi_strdup(text);
        }
    }
}

void
dvi_request_free_all(dv_client *c)
{
    while (c->requests) {
        dvi_request *r = c->requests;
        c->requests = r->next;
        free(r->text);
        free(r);
    }
}

/* ---- Requests, on user threads ------------------------------------------ */

dvi_request *
dvi_request_send(dv_client *c, int type, const char *hash, double timeout_s,
                 void (*pack)(dv_client *, uint64_t id, void *), void *arg)
{
    uv_mutex_lock(&c->lock);
    if (dvi_client_check_locked(c) < 0) {
        uv_mutex_unlock(&c->lock);
        return NULL;
    }
    dvi_request *r = dvi_calloc(1, sizeof(*r));
    r->id = ++c->next_request;
    r->type = type;
    snprintf(r->hash, sizeof(r->hash), "%s", hash ? hash : "");
    r->next = c->requests;
    c->requests = r;
    pack(c, r->id, arg);
    dvi_client_queue_locked(c);
    uint64_t deadline = dvi_deadline(timeout_s);
    while (!r->done) {
        if (dvi_client_wait_locked(c, deadline) == DV_ETIMEDOUT) {
            r->status = dvi_seterr(DV_ETIMEDOUT,
                                   "no answer from the "
                                   "scheduler in %.0f s",
                                   timeout_s);
            break;
        }
    }
    /* Unlink it; the caller frees it. */
    for (dvi_request **p = &c->requests; *p; p = &(*p)->next) {
        if (*p == r) {
            *p = r->next;
            break;
        }
    }
    uv_mutex_unlock(&c->lock);
    return r;
}

void
dvi_request_free(dvi_request *r)
{
    free(r->text);
    free(r);
}

typedef struct s_upload {
    const char *hash, *name;
    const void *bytes;
    size_t len;
} s_upload;

static void
s_pack_upload(dv_client *c, uint64_t id, void *arg)
{
    s_upload *u = arg;
    dvi_msg_upload m = {.hash = dvi_bytes_of(u->hash)};
    m.name = dvi_bytes_of(u->name);
    m.bytes = (dvi_bytes){u->bytes, u->len, NULL};
    dvi_msg_upload_pack(&c->out, &m);
}

int
dv_upload_library(dv_client *c, const char *so_path)
{
    if (c == NULL || so_path == NULL) {
        return dvi_seterr(DV_EINVAL, "dv_upload_library: no client or path");
    }
    char *bytes;
    size_t len;
    int rc = dvi_read_file(so_path, &bytes, &len);
    if (rc < 0) {
        return rc;
    }
    char hash[80];
    dvi_callkey_library(hash, sizeof(hash), bytes, len);
    /* Which functions it defines, read from the file: the calls of those
     * names mean this library's code from now on. */
    dvi_elf_fn *fns;
    int nfns = dvi_elf_functions(bytes, len, &fns);
    if (nfns < 0) {
        char why[256];
        snprintf(why, sizeof(why), "%s", dv_last_error());
        free(bytes);
        return dvi_seterr(nfns, "uploading %s: %s", so_path, why);
    }
    const char *slash = strrchr(so_path, '/');
    s_upload u = {hash, slash ? slash + 1 : so_path, bytes, len};
    dvi_request *r =
        dvi_request_send(c, DVI_MSG_UPLOAD, hash, 120, s_pack_upload, &u);
    free(bytes);
    if (r != NULL && r->status == 0) {
        dvi_fninfo_note_library(c, hash, fns, nfns);
    }
    dvi_elf_fns_free(fns, nfns);
    if (r == NULL) {
        return dvi_last_code();
    }
    rc = r->status < 0 ? r->status : (int)r->count;
    if (r->status < 0 && r->text) {
        dvi_seterr(r->status, "uploading %s: %s", so_path, r->text);
    }
    dvi_request_free(r);
    return rc;
}

typedef struct s_named {
    int type;
    const char *name;
    const char *key;
} s_named;

static void
s_pack_named(dv_client *c, uint64_t id, void *arg)
{
    s_named *n = arg;
    dvi_bytes name = dvi_bytes_of(n->name);
    dvi_bytes owner = {(const char *)c->owner, sizeof(c->owner), NULL};
    if (n->type == DVI_MSG_PUBLISH) {
        dvi_msg_publish m = {.req = id, .name = name, .key = n->key};
        m.owner = owner;
        dvi_msg_publish_pack(&c->out, &m);
    } else if (n->type == DVI_MSG_LOOKUP) {
        dvi_msg_lookup m = {.req = id, .name = name};
        dvi_msg_lookup_pack(&c->out, &m);
    } else {
        dvi_msg_unpublish m = {.req = id, .name = name, .owner = owner};
        dvi_msg_unpublish_pack(&c->out, &m);
    }
}

int
dv_publish(dv_client *c, const char *name, dv_future *f)
{
    if (c == NULL || name == NULL || f == NULL || f->c != c ||
        strlen(name) > 250) {
        return dvi_seterr(DV_EINVAL, "dv_publish: bad client, name or "
                                     "future");
    }
    if (f->index >= 0) {
        return dvi_seterr(DV_EINVAL,
                          "dv_publish: %s is one call of a chunk; "
                          "publish a future of its own (no chunksize)",
                          f->key);
    }
    s_named n = {DVI_MSG_PUBLISH, name, f->st->key};
    dvi_request *r =
        dvi_request_send(c, DVI_MSG_PUBLISH, NULL, 30, s_pack_named, &n);
    if (r == NULL) {
        return dvi_last_code();
    }
    int rc = r->status;
    if (rc < 0) {
        dvi_seterr(rc, "publishing %s: %s", name, r->text ? r->text : "");
    }
    dvi_request_free(r);
    return rc;
}

dv_future *
dv_get_published(dv_client *c, const char *name)
{
    if (c == NULL || name == NULL || strlen(name) > 250) {
        dvi_seterr(DV_EINVAL, "dv_get_published: bad client or name");
        return NULL;
    }
    s_named n = {DVI_MSG_LOOKUP, name, NULL};
    dvi_request *r =
        dvi_request_send(c, DVI_MSG_LOOKUP, NULL, 30, s_pack_named, &n);
    if (r == NULL) {
        return NULL;
    }
    dv_future *f = NULL;
    if (r->status == 0 && r->st) {
        uv_mutex_lock(&c->lock);
        f = dvi_future_new_locked(c, r->st, -1);
        r->st->refs--; /* the handle holds it now */
        uv_mutex_unlock(&c->lock);
    } else {
        dvi_seterr(r->status < 0 ? r->status : DV_ENOTFOUND, "'%s': %s", name,
                   r->text ? r->text : "not published");
    }
    dvi_request_free(r);
    return f;
}

int
dv_unpublish(dv_client *c, const char *name)
{
    if (c == NULL || name == NULL || strlen(name) > 250) {
        return dvi_seterr(DV_EINVAL, "dv_unpublish: bad client or name");
    }
    s_named n = {DVI_MSG_UNPUBLISH, name, NULL};
    dvi_request *r =
        dvi_request_send(c, DVI_MSG_UNPUBLISH, NULL, 30, s_pack_named, &n);
    if (r == NULL) {
        return dvi_last_code();
    }
    int rc = r->status;
    if (rc < 0) {
        dvi_seterr(rc, "'%s': %s", name, r->text ? r->text : "");
    }
    dvi_request_free(r);
    return rc;
}
