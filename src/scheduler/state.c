/* dvi_state: the scheduler's state file, in SQLite (see state.h).
 *
 * Three tables: names (name, key, owner), tasks (key, fn, code, args,
 * deps, flags, priority, retries, nbytes, value, error) and libs (hash,
 * name, bytes). A task's inputs are one blob of keys, each followed by a
 * zero byte, in the order of its SUBMIT. Which rows are still needed is
 * decided by the writer (durable.c); a loaded file keeps only what some
 * name needs, so a row left behind by a bug costs nothing twice.
 */
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/map.h"
#include "common/mpcheck.h"
#include "proto/callkey.h"
#include "proto/msg.h"
#include "state_impl.h"

/* One statement per kind of op (enum dvi_state_op_kind), in its order. */
static const char *const s_sql[DVI_STATE_NSTMTS] = {
    "INSERT OR REPLACE INTO names (name, key, owner) VALUES (?, ?, ?)",
    "DELETE FROM names WHERE name = ?",
    "INSERT OR REPLACE INTO tasks (key, fn, code, args, deps, flags, "
    "priority, retries, nbytes, value, error) VALUES (?, ?, ?, ?, ?, ?, ?, "
    "?, ?, ?, ?)",
    "DELETE FROM tasks WHERE key = ?",
    "UPDATE tasks SET nbytes = ?, value = ? WHERE key = ?",
    "INSERT OR REPLACE INTO libs (hash, name, bytes) VALUES (?, ?, ?)",
    "DELETE FROM libs WHERE hash = ?",
};

static const char s_schema[] =
    "CREATE TABLE names (name TEXT PRIMARY KEY, key TEXT NOT NULL, "
    "owner BLOB NOT NULL);"
    "CREATE TABLE tasks (key TEXT PRIMARY KEY, fn TEXT NOT NULL, "
    "code TEXT NOT NULL, args BLOB, deps BLOB, flags INTEGER NOT NULL, "
    "priority INTEGER NOT NULL, retries INTEGER NOT NULL, "
    "nbytes INTEGER NOT NULL, value BLOB, error TEXT);"
    "CREATE TABLE libs (hash TEXT PRIMARY KEY, name TEXT NOT NULL, "
    "bytes BLOB NOT NULL);";

/* ---- Errors ------------------------------------------------------------- */

/* Up to 64 bytes of s, with what is not printable as '?': a damaged row's
 * key may hold anything. */
const char *
dvi_state_shown(const char *s, char buf[72])
{
    size_t i = 0;
    for (; s && s[i] && i < 64; i++) {
        buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    }
    snprintf(buf + i, 72 - i, "%s", s && s[i] ? "..." : "");
    return buf;
}

/* SQLite's rc on s's file as a reason naming it. */
int
dvi_state_sqlerr(const char *path, sqlite3 *db, int rc, const char *doing)
{
    const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    switch (rc & 0xff) {
    case SQLITE_NOTADB:
        return dvi_seterr(
            DV_EINVAL, "state file %s: not a drove state file (%s)", path, msg);
    case SQLITE_CORRUPT:
        return dvi_seterr(DV_EINVAL, "state file %s: damaged (%s, %s)", path,
                          msg, doing);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return dvi_seterr(DV_EIO,
                          "state file %s: in use by another process "
                          "(another scheduler?)",
                          path);
    default:
        return dvi_seterr(DV_EIO, "state file %s: %s: %s", path, doing, msg);
    }
}

/* ---- Opening ------------------------------------------------------------ */

/* The single integer a pragma or query returns, or a negative code. */
static int
s_int_query(dvi_state *s, const char *sql, int64_t *out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
    }
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_OK ? 0 : dvi_state_sqlerr(s->path, s->db, rc, sql);
}

static int
s_exec(dvi_state *s, const char *sql)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : dvi_state_sqlerr(s->path, s->db, rc, sql);
}

/* A new, empty file: drove's schema, marked with its id and version. */
static int
s_create(dvi_state *s)
{
    char sql[sizeof(s_schema) + 128];
    snprintf(sql, sizeof(sql),
             "BEGIN;%sPRAGMA application_id = %u; PRAGMA user_version = %d;"
             "COMMIT;",
             s_schema, DVI_STATE_APP_ID, DVI_STATE_VERSION);
    if (s_exec(s, sql) < 0) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return dvi_last_code();
    }
    return 0;
}

/* Whether the file is drove's, of this version, and whole. */
static int
s_check_file(dvi_state *s, int64_t app, int64_t version)
{
    if ((uint32_t)app != DVI_STATE_APP_ID) {
        return dvi_seterr(DV_EINVAL,
                          "state file %s: not a drove state file (SQLite "
                          "application id 0x%08x, drove's is 0x%08x)",
                          s->path, (unsigned)(uint32_t)app, DVI_STATE_APP_ID);
    }
    if (version != DVI_STATE_VERSION) {
        return dvi_seterr(DV_EVERSION,
                          "state file %s: version %lld, this drove reads "
                          "version %d",
                          s->path, (long long)version, DVI_STATE_VERSION);
    }
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, "PRAGMA quick_check", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
    }
    if (rc == SQLITE_ROW) {
        const char *r = (const char *)sqlite3_column_text(st, 0);
        if (r == NULL || strcmp(r, "ok") != 0) {
            char b[160];
            snprintf(b, sizeof(b), "%s", r ? r : "no answer");
            for (char *p = b; *p; p++) {
                *p = (*p == '\n' || *p == '\t') ? ' ' : *p;
            }
            dvi_seterr(DV_EINVAL, "state file %s: damaged (%s)", s->path, b);
            sqlite3_finalize(st);
            return DV_EINVAL;
        }
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_OK
               ? 0
               : dvi_state_sqlerr(s->path, s->db, rc, "checking it");
}

/* Locks the file for this process, then creates or checks it. */
static int
s_setup(dvi_state *s)
{
    int64_t app = 0, version = 0, objects = 0;
    /* Taken at once and kept: a second scheduler is refused. */
    if (s_exec(s, "PRAGMA locking_mode = EXCLUSIVE") < 0 ||
        s_exec(s, "BEGIN EXCLUSIVE; COMMIT") < 0 ||
        s_int_query(s, "PRAGMA application_id", &app) < 0 ||
        s_int_query(s, "PRAGMA user_version", &version) < 0 ||
        s_int_query(s, "SELECT count(*) FROM sqlite_master", &objects) < 0) {
        return dvi_last_code();
    }
    int fresh = app == 0 && version == 0 && objects == 0;
    if (s_exec(s, "PRAGMA journal_mode = WAL") < 0 ||
        s_exec(s, "PRAGMA synchronous = FULL") < 0) {
        return dvi_last_code();
    }
    int rc = fresh ? s_create(s) : s_check_file(s, app, version);
    for (int i = 0; rc == 0 && i < DVI_STATE_NSTMTS; i++) {
        int src = sqlite3_prepare_v3(
            s->db, s_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->stmt[i], NULL);
        if (src != SQLITE_OK) {
            rc = dvi_seterr(DV_EINVAL, "state file %s: damaged (%s)", s->path,
                            sqlite3_errmsg(s->db));
        }
    }
    return rc;
}

dvi_state *
dvi_state_open(const char *path)
{
    size_t len = strlen(path);
    dvi_state *s = dvi_calloc(1, sizeof(*s) + len + 1);
    memcpy(s->path, path, len + 1);
    /* Made 0600 here: it holds arguments and results; SQLite gives its
     * journal the file's mode. */
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
        close(fd);
    } else if (errno != EEXIST) {
        dvi_seterr(DV_EIO, "state file %s: cannot create it: %s", path,
                   strerror(errno));
        dvi_state_close(&s);
        return NULL;
    }
    int rc = sqlite3_open_v2(path, &s->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK) {
        dvi_state_sqlerr(path, s->db, rc, "cannot open it");
        dvi_state_close(&s);
        return NULL;
    }
    sqlite3_extended_result_codes(s->db, 1);
    if (s_setup(s) < 0) {
        dvi_state_close(&s);
        return NULL;
    }
    return s;
}

void
dvi_state_close(dvi_state **sp)
{
    dvi_state *s = *sp;
    if (s == NULL) {
        return;
    }
    *sp = NULL;
    for (int i = 0; i < DVI_STATE_NSTMTS; i++) {
        sqlite3_finalize(s->stmt[i]);
    }
    sqlite3_close(s->db);
    free(s);
}

const char *
dvi_state_path(const dvi_state *s)
{
    return s->path;
}

/* ---- Checking a task ---------------------------------------------------- */

static int
s_is_key(const char *k)
{
    size_t n = k ? strlen(k) : 0;
    return n >= 1 && n <= DVI_MAX_KEY;
}

static int
s_task_bad(const dvi_state_task *t, const char *why)
{
    char b[72];
    return dvi_seterr(DV_EINVAL, "task '%s': %s", dvi_state_shown(t->key, b),
                      why);
}

/* A scattered value: no function, no inputs, its key its value's. */
static int
s_check_scatter(dvi_state_task *t)
{
    if (strcmp(t->fn, "scatter") != 0 || t->code[0] != '\0' || t->ndeps > 0 ||
        t->args != NULL || (t->flags & (DVI_STATE_IMPURE | DVI_STATE_CHUNK)) ||
        strncmp(t->key, "scatter-", 8) != 0 ||
        !dvi_callkey_derived_form(t->key, strlen(t->key))) {
        return s_task_bad(t, "not a scattered value");
    }
    if (t->value != NULL) {
        char want[DVI_MAX_KEY + 1];
        dvi_callkey_scatter(want, sizeof(want), t->value->data, t->value->len);
        if (strcmp(want, t->key) != 0) {
            return s_task_bad(t, "the value is not the one its key names");
        }
    }
    t->call = 0;
    return 0;
}

/* The call's hash, as the scheduler derives it from a SUBMIT; a derived
 * key must be it. */
static int
s_check_call(dvi_state_task *t)
{
    dvi_callkey k;
    unsigned char h[DVI_CALLKEY_BYTES];
    int kind =
        (t->flags & DVI_STATE_CHUNK) ? DVI_CALLKEY_CHUNK : DVI_CALLKEY_CALL;
    dvi_callkey_begin(&k, t->fn, strlen(t->fn), t->code, strlen(t->code), kind,
                      t->args ? t->args->data : NULL,
                      t->args ? t->args->len : 0);
    for (uint32_t i = 0; i < t->ndeps; i++) {
        dvi_callkey_dep(&k, t->deps[i], strlen(t->deps[i]));
    }
    dvi_callkey_end(&k, h);
    memcpy(&t->call, h, sizeof(t->call));
    if (dvi_callkey_derived_form(t->key, strlen(t->key)) &&
        !dvi_callkey_is(t->key, t->fn, h)) {
        return s_task_bad(t, "its key is not the hash of its call");
    }
    return 0;
}

static int
s_check_fields(dvi_state_task *t)
{
    if (!s_is_key(t->fn) || t->code == NULL ||
        strlen(t->code) > DVI_STATE_MAX_CODE) {
        return s_task_bad(t, "bad function name or code");
    }
    if ((t->flags & ~(uint32_t)DVI_STATE_FLAGS) ||
        ((t->flags & DVI_STATE_CANCELLED) && t->error == NULL)) {
        return s_task_bad(t, "unknown flags");
    }
    if (t->retries < 0 || t->retries > 100) {
        return s_task_bad(t, "retries out of range");
    }
    if (t->args && dvi_mpcheck(t->args->data, t->args->len) < 0) {
        return s_task_bad(t, "malformed arguments");
    }
    if (t->value &&
        (t->value->len > DVI_INLINE_MAX || t->nbytes != t->value->len ||
         dvi_mpcheck(t->value->data, t->value->len) < 0)) {
        return s_task_bad(t, "malformed value");
    }
    if (t->error && (strlen(t->error) > DVI_STATE_MAX_ERROR || t->ndeps > 0 ||
                     t->value != NULL)) {
        return s_task_bad(t, "malformed error");
    }
    if (t->ndeps > DVI_STATE_MAX_DEPS) {
        return s_task_bad(t, "too many inputs");
    }
    for (uint32_t i = 0; i < t->ndeps; i++) {
        if (!s_is_key(t->deps[i]) || strcmp(t->deps[i], t->key) == 0) {
            return s_task_bad(t, "bad input key");
        }
    }
    return 0;
}

int
dvi_state_task_check(dvi_state_task *t)
{
    if (!s_is_key(t->key)) {
        return s_task_bad(t, "bad key");
    }
    int rc = s_check_fields(t);
    if (rc < 0) {
        return rc;
    }
    if (t->flags & DVI_STATE_SCATTER) {
        return s_check_scatter(t);
    }
    if (t->error != NULL) {
        /* Its inputs went when it failed: the call cannot be derived, and
         * no later submission is taken for it. */
        t->call = 0;
        return 0;
    }
    return s_check_call(t);
}

/* ---- Writing ------------------------------------------------------------ */

static void
s_bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s == NULL) {
        sqlite3_bind_null(st, i);
    } else {
        sqlite3_bind_text(st, i, s, (int)strlen(s), SQLITE_STATIC);
    }
}

static void
s_bind_blob(sqlite3_stmt *st, int i, const dvi_blob *b)
{
    if (b == NULL) {
        sqlite3_bind_null(st, i);
    } else {
        sqlite3_bind_blob64(st, i, b->data, b->len, SQLITE_STATIC);
    }
}

/* The inputs as one blob of keys, each followed by a zero byte. Caller
 * frees. */
static char *
s_deps_blob(const dvi_state_task *t, size_t *len)
{
    size_t n = 0;
    for (uint32_t i = 0; i < t->ndeps; i++) {
        n += strlen(t->deps[i]) + 1;
    }
    char *b = dvi_malloc(n + 1), *p = b;
    for (uint32_t i = 0; i < t->ndeps; i++) {
        size_t k = strlen(t->deps[i]) + 1;
        memcpy(p, t->deps[i], k);
        p += k;
    }
    *len = n;
    return b;
}

static void
s_bind_task(sqlite3_stmt *st, const dvi_state_task *t, char **deps)
{
    size_t dlen;
    *deps = s_deps_blob(t, &dlen);
    s_bind_text(st, 1, t->key);
    s_bind_text(st, 2, t->fn);
    s_bind_text(st, 3, t->code);
    s_bind_blob(st, 4, t->args);
    sqlite3_bind_blob64(st, 5, *deps, dlen, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, t->flags);
    sqlite3_bind_int64(st, 7, t->priority);
    sqlite3_bind_int64(st, 8, t->retries);
    sqlite3_bind_int64(st, 9, (int64_t)t->nbytes);
    s_bind_blob(st, 10, t->value);
    s_bind_text(st, 11, t->error);
}

/* Binds op to its statement and runs it. Returns SQLite's rc. */
static int
s_apply_op(dvi_state *s, const dvi_state_op *op)
{
    /* The statements are in the order of the kinds. */
    sqlite3_stmt *st = s->stmt[op->kind - 1];
    char *deps = NULL;
    switch (op->kind) {
    case DVI_STATE_PUT_NAME:
        s_bind_text(st, 1, op->name.name);
        s_bind_text(st, 2, op->name.key);
        sqlite3_bind_blob(st, 3, op->name.owner, 16, SQLITE_STATIC);
        break;
    case DVI_STATE_DEL_NAME: s_bind_text(st, 1, op->name.name); break;
    case DVI_STATE_PUT_TASK: s_bind_task(st, &op->task, &deps); break;
    case DVI_STATE_DEL_TASK: s_bind_text(st, 1, op->task.key); break;
    case DVI_STATE_PUT_VALUE:
        sqlite3_bind_int64(st, 1, (int64_t)op->task.nbytes);
        s_bind_blob(st, 2, op->task.value);
        s_bind_text(st, 3, op->task.key);
        break;
    case DVI_STATE_PUT_LIB:
        s_bind_text(st, 1, op->lib.hash);
        s_bind_text(st, 2, op->lib.name);
        s_bind_blob(st, 3, op->lib.bytes);
        break;
    default: s_bind_text(st, 1, op->lib.hash); break;
    }
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    free(deps);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int
dvi_state_apply(dvi_state *s, const dvi_state_batch *b)
{
    int rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    for (size_t i = 0; rc == SQLITE_OK && i < b->n; i++) {
        rc = s_apply_op(s, &b->v[i]);
    }
    if (rc == SQLITE_OK) {
        rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
    }
    if (rc != SQLITE_OK) {
        dvi_state_sqlerr(s->path, s->db, rc, "saving");
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return DV_EIO;
    }
    return 0;
}

/* ---- Batches ------------------------------------------------------------ */

dvi_state_op *
dvi_state_batch_add(dvi_state_batch *b, int kind)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 16;
        b->v = dvi_realloc(b->v, b->cap * sizeof(*b->v));
    }
    dvi_state_op *op = &b->v[b->n++];
    memset(op, 0, sizeof(*op));
    op->kind = kind;
    return op;
}

void
dvi_state_batch_append(dvi_state_batch *to, dvi_state_batch *from)
{
    for (size_t i = 0; i < from->n; i++) {
        *dvi_state_batch_add(to, 0) = from->v[i];
    }
    from->n = 0;
}

void
dvi_state_task_fini(dvi_state_task *t)
{
    free(t->key);
    free(t->fn);
    free(t->code);
    dvi_blob_rele(t->args);
    for (uint32_t i = 0; i < t->ndeps; i++) {
        free(t->deps[i]);
    }
    free(t->deps);
    dvi_blob_rele(t->value);
    free(t->error);
    memset(t, 0, sizeof(*t));
}

static void
s_name_fini(dvi_state_name *n)
{
    free(n->name);
    free(n->key);
}

static void
s_lib_fini(dvi_state_lib *l)
{
    free(l->hash);
    free(l->name);
    dvi_blob_rele(l->bytes);
}

void
dvi_state_batch_fini(dvi_state_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        s_name_fini(&b->v[i].name);
        dvi_state_task_fini(&b->v[i].task);
        s_lib_fini(&b->v[i].lib);
    }
    free(b->v);
    memset(b, 0, sizeof(*b));
}

void
dvi_state_image_fini(dvi_state_image *img)
{
    for (size_t i = 0; i < img->ntasks; i++) {
        dvi_state_task_fini(&img->tasks[i]);
    }
    for (size_t i = 0; i < img->nnames; i++) {
        s_name_fini(&img->names[i]);
    }
    for (size_t i = 0; i < img->nlibs; i++) {
        s_lib_fini(&img->libs[i]);
    }
    free(img->tasks);
    free(img->names);
    free(img->libs);
    memset(img, 0, sizeof(*img));
}
