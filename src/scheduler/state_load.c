/* Reading a state file back (dvi_state_load, see state.h).
 *
 * Every column is checked for its type and bounds before it is copied
 * (SQLite types are per value, not per column: a damaged or foreign row
 * may hold anything anywhere), every task with dvi_state_task_check,
 * every name's task and every task's input must be in the file, and the
 * inputs must not make a cycle. The tasks come out in an order where
 * inputs come first (a walk from the names), which is also how the rows
 * no name needs are found and dropped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/map.h"
#include "proto/callkey.h"
#include "proto/msg.h"
#include "state_impl.h"

#define S_MAX_BLOB (1024u * 1024 * 1024) /* as a frame's ceiling */

/* ---- Columns ------------------------------------------------------------ */

/* A text column of 1..max bytes (0..max if empty_ok), no zero byte, as a
 * copy in *out. Returns 0 or -1. */
static int
s_text(sqlite3_stmt *st, int col, size_t max, int empty_ok, char **out)
{
    *out = NULL;
    if (sqlite3_column_type(st, col) != SQLITE_TEXT) {
        return -1;
    }
    const char *p = (const char *)sqlite3_column_text(st, col);
    size_t n = (size_t)sqlite3_column_bytes(st, col);
    if (p == NULL || n > max || (n == 0 && !empty_ok) ||
        memchr(p, '\0', n) != NULL) {
        return -1;
    }
    *out = dvi_malloc(n + 1);
    memcpy(*out, p, n);
    (*out)[n] = '\0';
    return 0;
}

/* A blob column of at most max bytes, or NULL if null_ok, as a blob in
 * *out (NULL for SQL NULL). Returns 0 or -1. */
static int
s_blob(sqlite3_stmt *st, int col, int null_ok, size_t max, dvi_blob **out)
{
    *out = NULL;
    int type = sqlite3_column_type(st, col);
    if (type == SQLITE_NULL) {
        return null_ok ? 0 : -1;
    }
    if (type != SQLITE_BLOB) {
        return -1;
    }
    const void *p = sqlite3_column_blob(st, col);
    size_t n = (size_t)sqlite3_column_bytes(st, col);
    if (n > max || (p == NULL && n > 0)) {
        return -1;
    }
    *out = dvi_blob_copy(p, n);
    return 0;
}

static int
s_int(sqlite3_stmt *st, int col, int64_t lo, int64_t hi, int64_t *out)
{
    if (sqlite3_column_type(st, col) != SQLITE_INTEGER) {
        return -1;
    }
    *out = sqlite3_column_int64(st, col);
    return *out >= lo && *out <= hi ? 0 : -1;
}

/* The inputs' keys from their blob (each followed by a zero byte). */
static int
s_deps(const dvi_blob *b, dvi_state_task *t)
{
    if (b == NULL || b->len == 0) {
        return 0;
    }
    if (b->data[b->len - 1] != '\0') {
        return -1;
    }
    for (size_t i = 0; i < b->len;) {
        size_t n = strlen(b->data + i);
        if (n == 0 || n > DVI_MAX_KEY || t->ndeps >= DVI_STATE_MAX_DEPS) {
            return -1;
        }
        t->deps = dvi_realloc(t->deps, (t->ndeps + 1) * sizeof(char *));
        t->deps[t->ndeps++] = dvi_strdup(b->data + i);
        i += n + 1;
    }
    return 0;
}

/* ---- Rows --------------------------------------------------------------- */

/* Reads one row of tasks into t. Returns NULL, or what is wrong. */
static const char *
s_task_row(sqlite3_stmt *st, dvi_state_task *t)
{
    int64_t flags, prio, retries, nbytes;
    dvi_blob *deps = NULL;
    if (s_text(st, 0, DVI_MAX_KEY, 0, &t->key) < 0) {
        return "bad key";
    }
    if (s_text(st, 1, DVI_MAX_KEY, 0, &t->fn) < 0 ||
        s_text(st, 2, DVI_STATE_MAX_CODE, 1, &t->code) < 0 ||
        s_blob(st, 3, 1, S_MAX_BLOB, &t->args) < 0 ||
        s_int(st, 5, 0, DVI_STATE_FLAGS, &flags) < 0 ||
        s_int(st, 6, INT32_MIN, INT32_MAX, &prio) < 0 ||
        s_int(st, 7, 0, 100, &retries) < 0 ||
        s_int(st, 8, 0, INT64_MAX, &nbytes) < 0 ||
        s_blob(st, 9, 1, DVI_INLINE_MAX, &t->value) < 0) {
        return "a column has the wrong type or is out of range";
    }
    if (sqlite3_column_type(st, 10) != SQLITE_NULL &&
        s_text(st, 10, DVI_STATE_MAX_ERROR, 1, &t->error) < 0) {
        return "bad error text";
    }
    if (s_blob(st, 4, 1, S_MAX_BLOB, &deps) < 0 || s_deps(deps, t) < 0) {
        dvi_blob_rele(deps);
        return "bad list of inputs";
    }
    dvi_blob_rele(deps);
    t->flags = (uint32_t)flags;
    t->priority = (int32_t)prio;
    t->retries = (int32_t)retries;
    t->nbytes = (uint64_t)nbytes;
    return NULL;
}

/* Runs sql and calls row for each row; a row's failure ends it. */
static int
s_each_row(dvi_state *s, const char *sql,
           int (*row)(dvi_state *, sqlite3_stmt *, void *), void *ctx)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK) {
        int code = dvi_seterr(DV_EINVAL, "state file %s: damaged (%s)", s->path,
                              sqlite3_errmsg(s->db));
        sqlite3_finalize(st);
        return code;
    }
    int out = 0;
    while (out == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        out = row(s, st, ctx);
    }
    if (out == 0 && rc != SQLITE_DONE) {
        out = dvi_state_sqlerr(s->path, s->db, rc, "reading it");
    }
    sqlite3_finalize(st);
    return out;
}

typedef struct s_load {
    dvi_state_image *img;
    dvi_map keys; /* task key -> index + 1 in img->tasks */
} s_load;

static int
s_on_task(dvi_state *s, sqlite3_stmt *st, void *ctx)
{
    s_load *l = ctx;
    dvi_state_image *img = l->img;
    img->tasks =
        dvi_realloc(img->tasks, (img->ntasks + 1) * sizeof(*img->tasks));
    dvi_state_task *t = &img->tasks[img->ntasks++];
    memset(t, 0, sizeof(*t));
    char b[72];
    const char *why = s_task_row(st, t);
    if (why != NULL) {
        return dvi_seterr(DV_EINVAL, "state file %s: damaged: task '%s': %s",
                          s->path, dvi_state_shown(t->key, b), why);
    }
    if (dvi_state_task_check(t) < 0) {
        return dvi_seterr(DV_EINVAL, "state file %s: damaged: %s", s->path,
                          dv_last_error());
    }
    if (dvi_map_get(&l->keys, t->key) != NULL) {
        return dvi_seterr(DV_EINVAL, "state file %s: damaged: task '%s' twice",
                          s->path, dvi_state_shown(t->key, b));
    }
    dvi_map_put(&l->keys, t->key, (void *)(uintptr_t)img->ntasks);
    return 0;
}

static int
s_on_name(dvi_state *s, sqlite3_stmt *st, void *ctx)
{
    s_load *l = ctx;
    dvi_state_image *img = l->img;
    img->names =
        dvi_realloc(img->names, (img->nnames + 1) * sizeof(*img->names));
    dvi_state_name *n = &img->names[img->nnames++];
    memset(n, 0, sizeof(*n));
    dvi_blob *owner = NULL;
    const char *why = NULL;
    if (s_text(st, 0, DVI_MAX_KEY, 0, &n->name) < 0) {
        why = "bad name";
    } else if (s_text(st, 1, DVI_MAX_KEY, 0, &n->key) < 0 ||
               s_blob(st, 2, 0, 16, &owner) < 0 || owner->len != 16) {
        why = "a column has the wrong type or is out of range";
    } else if (dvi_map_get(&l->keys, n->key) == NULL) {
        why = "its task is not in the file";
    } else {
        memcpy(n->owner, owner->data, 16);
    }
    dvi_blob_rele(owner);
    if (why != NULL) {
        char b[72];
        return dvi_seterr(DV_EINVAL, "state file %s: damaged: name '%s': %s",
                          s->path, dvi_state_shown(n->name, b), why);
    }
    return 0;
}

static int
s_on_lib(dvi_state *s, sqlite3_stmt *st, void *ctx)
{
    dvi_state_image *img = ((s_load *)ctx)->img;
    img->libs = dvi_realloc(img->libs, (img->nlibs + 1) * sizeof(*img->libs));
    dvi_state_lib *lib = &img->libs[img->nlibs++];
    memset(lib, 0, sizeof(*lib));
    const char *why = NULL;
    char want[80];
    if (s_text(st, 0, 79, 0, &lib->hash) < 0) {
        why = "bad hash";
    } else if (s_text(st, 1, 255, 0, &lib->name) < 0 ||
               strchr(lib->name, '/') != NULL ||
               s_blob(st, 2, 0, S_MAX_BLOB, &lib->bytes) < 0) {
        why = "a column has the wrong type or is out of range";
    } else {
        dvi_callkey_library(want, sizeof(want), lib->bytes->data,
                            lib->bytes->len);
        why = strcmp(want, lib->hash) != 0 ? "its hash is not its content's"
                                           : NULL;
    }
    if (why != NULL) {
        char b[72];
        return dvi_seterr(DV_EINVAL, "state file %s: damaged: library '%s': %s",
                          s->path, dvi_state_shown(lib->hash, b), why);
    }
    return 0;
}

/* ---- What the names need, inputs first ---------------------------------- */

typedef struct s_frame {
    size_t t;     /* index in img->tasks */
    uint32_t dep; /* the next input to visit */
} s_frame;

/* Visits the inputs of root depth first, appending each task after its
 * inputs to order. color: 0 unseen, 1 on the path, 2 done. */
static int
s_walk(dvi_state *s, s_load *l, size_t root, uint8_t *color, size_t *order,
       size_t *norder)
{
    dvi_state_task *tasks = l->img->tasks;
    size_t n = 1, cap = 64;
    s_frame *stack = dvi_malloc(cap * sizeof(*stack));
    stack[0] = (s_frame){root, 0};
    color[root] = 1;
    int rc = 0;
    while (n > 0 && rc == 0) {
        s_frame *f = &stack[n - 1];
        dvi_state_task *t = &tasks[f->t];
        if (f->dep == t->ndeps) {
            color[f->t] = 2;
            order[(*norder)++] = f->t;
            n--;
            continue;
        }
        const char *dk = t->deps[f->dep++];
        size_t d = (size_t)(uintptr_t)dvi_map_get(&l->keys, dk);
        char b[72];
        if (d == 0 || color[d - 1] == 1) {
            rc = dvi_seterr(DV_EINVAL, "state file %s: damaged: task '%s': %s",
                            s->path, dvi_state_shown(t->key, b),
                            d == 0 ? "an input is not in the file"
                                   : "its inputs make a cycle");
        } else if (color[d - 1] == 0) {
            if (n == cap) {
                cap *= 2;
                stack = dvi_realloc(stack, cap * sizeof(*stack));
            }
            color[d - 1] = 1;
            stack[n++] = (s_frame){d - 1, 0};
        }
    }
    free(stack);
    return rc;
}

/* Removes the rows no name needs from the file and from img. */
static int
s_drop(dvi_state *s, dvi_state_image *img, const uint8_t *color)
{
    dvi_state_batch b = {0};
    dvi_map codes;
    dvi_map_init(&codes);
    for (size_t i = 0; i < img->ntasks; i++) {
        if (color[i] == 2) {
            dvi_map_put(&codes, img->tasks[i].code, img);
        } else {
            dvi_state_batch_add(&b, DVI_STATE_DEL_TASK)->task.key =
                dvi_strdup(img->tasks[i].key);
            img->dropped++;
        }
    }
    size_t kept = 0;
    for (size_t i = 0; i < img->nlibs; i++) {
        if (dvi_map_get(&codes, img->libs[i].hash) != NULL) {
            img->libs[kept++] = img->libs[i];
            continue;
        }
        dvi_state_batch_add(&b, DVI_STATE_DEL_LIB)->lib = img->libs[i];
        img->dropped++;
    }
    img->nlibs = kept;
    dvi_map_fini(&codes);
    int rc = b.n > 0 ? dvi_state_apply(s, &b) : 0;
    dvi_state_batch_fini(&b);
    return rc;
}

/* Orders the tasks the names need, inputs first, and drops the others. */
static int
s_order(dvi_state *s, s_load *l)
{
    dvi_state_image *img = l->img;
    uint8_t *color = dvi_calloc(img->ntasks + 1, 1);
    size_t *order = dvi_malloc((img->ntasks + 1) * sizeof(*order));
    size_t norder = 0;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < img->nnames; i++) {
        size_t t =
            (size_t)(uintptr_t)dvi_map_get(&l->keys, img->names[i].key) - 1;
        if (color[t] == 0) {
            rc = s_walk(s, l, t, color, order, &norder);
        }
    }
    if (rc == 0) {
        rc = s_drop(s, img, color);
    }
    if (rc == 0) {
        dvi_state_task *sorted = dvi_malloc((norder + 1) * sizeof(*sorted));
        for (size_t i = 0; i < norder; i++) {
            sorted[i] = img->tasks[order[i]];
            memset(&img->tasks[order[i]], 0, sizeof(*sorted));
        }
        for (size_t i = 0; i < img->ntasks; i++) {
            dvi_state_task_fini(&img->tasks[i]);
        }
        free(img->tasks);
        img->tasks = sorted;
        img->ntasks = norder;
    }
    free(color);
    free(order);
    return rc;
}

int
dvi_state_load(dvi_state *s, dvi_state_image *img)
{
    memset(img, 0, sizeof(*img));
    s_load l = {.img = img};
    dvi_map_init(&l.keys);
    int rc = s_each_row(s,
                        "SELECT key, fn, code, args, deps, flags, priority, "
                        "retries, nbytes, value, error FROM tasks",
                        s_on_task, &l);
    if (rc == 0) {
        rc = s_each_row(s, "SELECT name, key, owner FROM names", s_on_name, &l);
    }
    if (rc == 0) {
        rc = s_each_row(s, "SELECT hash, name, bytes FROM libs", s_on_lib, &l);
    }
    if (rc == 0) {
        rc = s_order(s, &l);
    }
    dvi_map_fini(&l.keys);
    return rc;
}
