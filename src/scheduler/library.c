/* Uploaded libraries: the scheduler keeps each one (by content hash) to
 * give to every worker, present and future, and answers the uploader once
 * the present workers have loaded it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "core_impl.h"
#include "proto/callkey.h"

struct dvi_lib {
    char hash[80];
    char name[256];
    dvi_blob *bytes;
    dvi_sclient *waiting; /* the uploader, until the present workers answer */
    dvi_pset awaited;     /* workers present at the upload, not answered */
    int loaded;
    char error[512];
};

static void
s_send_upload(dvi_sworker *w, const dvi_lib *lib)
{
    dvi_msg_upload m = {.hash = dvi_bytes_of(lib->hash)};
    m.name = dvi_bytes_of(lib->name);
    m.bytes = (dvi_bytes){NULL, lib->bytes->len, lib->bytes};
    dvi_msg_upload_pack(w->out, &m);
}

static void
s_tell_uploaded(const dvi_lib *lib, dvi_sclient *cl, int loaded)
{
    dvi_msg_uploaded m = {.hash = dvi_bytes_of(lib->hash), .loaded = loaded};
    m.error = dvi_bytes_of(lib->error[0] ? lib->error : NULL);
    dvi_msg_uploaded_pack(cl->out, &m);
}

static void
s_reply_upload(dvi_lib *lib)
{
    DVI_LOG(DVI_LOG_INFO, "SCHED",
            "library %s (%s): loaded by %d worker(s)%s%s", lib->name, lib->hash,
            lib->loaded, lib->error[0] ? "; " : "", lib->error);
    if (lib->waiting == NULL) {
        return;
    }
    s_tell_uploaded(lib, lib->waiting, lib->loaded);
    lib->waiting = NULL;
}

static dvi_lib *
s_find(dvi_core *c, dvi_bytes hash)
{
    for (size_t i = 0; i < c->nlibs; i++) {
        if (strlen(c->libs[i]->hash) == hash.n &&
            memcmp(c->libs[i]->hash, hash.p, hash.n) == 0) {
            return c->libs[i];
        }
    }
    return NULL;
}

/* Whether m's hash is its bytes' (computed here: a library is known by
 * it, and calls name their code by it). */
static int
s_hash_true(dvi_sclient *cl, const dvi_msg_upload *m)
{
    char want[80];
    dvi_callkey_library(want, sizeof(want), m->bytes.p, m->bytes.n);
    if (strlen(want) == m->hash.n && memcmp(want, m->hash.p, m->hash.n) == 0) {
        return 1;
    }
    DVI_LOG(DVI_LOG_WARN, "SCHED",
            "%s: refused an upload whose hash is not "
            "its content's",
            cl->name);
    dvi_msg_uploaded r = {.hash = m->hash, .loaded = 0};
    r.error = dvi_bytes_of("refused: the hash is not the library's content's");
    dvi_msg_uploaded_pack(cl->out, &r);
    return 0;
}

void
dvi_core_upload(dvi_core *c, dvi_sclient *cl, const dvi_msg_upload *m)
{
    if (!s_hash_true(cl, m)) {
        return;
    }
    dvi_lib *lib = s_find(c, m->hash);
    if (lib != NULL) {
        s_tell_uploaded(lib, cl, (int)c->nworkers);
        return;
    }
    lib = dvi_calloc(1, sizeof(*lib));
    snprintf(lib->hash, sizeof(lib->hash), "%.*s", (int)m->hash.n, m->hash.p);
    snprintf(lib->name, sizeof(lib->name), "%.*s", (int)m->name.n, m->name.p);
    lib->bytes = dvi_blob_copy(m->bytes.p, m->bytes.n);
    lib->waiting = cl;
    dvi_pset_init(&lib->awaited);
    c->libs = dvi_realloc(c->libs, (c->nlibs + 1) * sizeof(*c->libs));
    c->libs[c->nlibs++] = lib;
    for (size_t i = 0; i < c->nworkers; i++) {
        dvi_pset_add(&lib->awaited, c->workers[i]);
        s_send_upload(c->workers[i], lib);
    }
    DVI_LOG(DVI_LOG_INFO, "SCHED",
            "%s uploaded library %s (%s, %zu bytes) for %zu worker(s)",
            cl->name, lib->name, lib->hash, lib->bytes->len, c->nworkers);
    if (lib->awaited.len == 0) {
        s_reply_upload(lib);
    }
}

void
dvi_core_uploaded(dvi_core *c, dvi_sworker *w, const dvi_msg_uploaded *m)
{
    dvi_lib *lib = s_find(c, m->hash);
    if (lib == NULL) {
        return;
    }
    if (!dvi_pset_del(&lib->awaited, w)) {
        return; /* a worker that joined later: the uploader is not told */
    }
    lib->loaded += m->loaded > 0;
    if (m->error.p && lib->error[0] == '\0') {
        snprintf(lib->error, sizeof(lib->error), "worker %s: %.*s", w->id,
                 (int)m->error.n, m->error.p);
    }
    if (lib->awaited.len == 0) {
        s_reply_upload(lib);
    }
}

void
dvi_core_libs_joined(dvi_core *c, dvi_sworker *w)
{
    for (size_t i = 0; i < c->nlibs; i++) {
        s_send_upload(w, c->libs[i]);
    }
}

void
dvi_core_libs_left(dvi_core *c, dvi_sworker *w)
{
    for (size_t i = 0; i < c->nlibs; i++) {
        dvi_lib *lib = c->libs[i];
        if (dvi_pset_del(&lib->awaited, w) && lib->awaited.len == 0) {
            s_reply_upload(lib);
        }
    }
}

void
dvi_core_libs_client_left(dvi_core *c, dvi_sclient *cl)
{
    for (size_t i = 0; i < c->nlibs; i++) {
        if (c->libs[i]->waiting == cl) {
            c->libs[i]->waiting = NULL;
        }
    }
}

void
dvi_core_libs_fini(dvi_core *c)
{
    for (size_t i = 0; i < c->nlibs; i++) {
        dvi_lib *lib = c->libs[i];
        dvi_blob_rele(lib->bytes);
        dvi_pset_fini(&lib->awaited);
        free(lib);
    }
    free(c->libs);
}

void
dvi_core_lib_restore(dvi_core *c, const char *hash, const char *name,
                     dvi_blob *bytes)
{
    if (s_find(c, dvi_bytes_of(hash)) != NULL) {
        return;
    }
    dvi_lib *lib = dvi_calloc(1, sizeof(*lib));
    snprintf(lib->hash, sizeof(lib->hash), "%s", hash);
    snprintf(lib->name, sizeof(lib->name), "%s", name);
    lib->bytes = dvi_blob_hold(bytes);
    dvi_pset_init(&lib->awaited);
    c->libs = dvi_realloc(c->libs, (c->nlibs + 1) * sizeof(*c->libs));
    c->libs[c->nlibs++] = lib;
}

const dvi_blob *
dvi_core_lib_get(const dvi_core *c, const char *hash, const char **name)
{
    dvi_lib *lib = s_find((dvi_core *)c, dvi_bytes_of(hash));
    if (lib == NULL) {
        return NULL;
    }
    *name = lib->name;
    return lib->bytes;
}
