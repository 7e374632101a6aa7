/* dvi_pstate: the tables of a pipeline's state (see state.h).
 *
 * The database runs in WAL mode with synchronous=NORMAL: a crash may lose
 * the last transaction, which only makes the next run redo its datums,
 * never skip one whose outputs are not there (rows are written after the
 * files they describe are renamed into place).
 */
#include "pipeline/state.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"

struct dvi_pstate {
    sqlite3 *db;
    char *path;           /* the database file, for messages */
    sqlite3_stmt *status; /* SELECT status FROM datums WHERE id = ? */
    int lock;             /* <path>.lock, flocked by a run, or -1 */
};

static const char s_schema[] =
    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE IF NOT EXISTS datums(id TEXT PRIMARY KEY, status INTEGER,"
    " desc TEXT, inputs TEXT, tries INTEGER, log TEXT, updated REAL);"
    "CREATE TABLE IF NOT EXISTS outputs(path TEXT PRIMARY KEY, datum TEXT);"
    "CREATE INDEX IF NOT EXISTS outputs_by_datum ON outputs(datum);";

static int
s_err(dvi_pstate *st, const char *what)
{
    return dvi_seterr(DV_EIO, "%s: %s: %s", st->path, what,
                      sqlite3_errmsg(st->db));
}

/* mkdir -p of path's directory. */
static int
s_mkdirs(const char *path)
{
    char *copy = dvi_strdup(path);
    for (char *p = copy + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(copy, 0755) != 0 && errno != EEXIST) {
                int rc = dvi_seterr(DV_EIO, "%s: %s", copy, strerror(errno));
                free(copy);
                return rc;
            }
            *p = '/';
        }
    }
    free(copy);
    return 0;
}

/* A run holds the lock while it runs: two runs of one pipeline at once
 * would run its datums twice and race on its outputs. Reading the state
 * (status, inspect) needs no lock: SQLite's WAL lets it read meanwhile. */
static int
s_lock(dvi_pstate *st)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s.lock", st->path);
    st->lock = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (st->lock < 0) {
        return dvi_seterr(DV_EIO, "%s: %s", path, strerror(errno));
    }
    if (flock(st->lock, LOCK_EX | LOCK_NB) != 0) {
        return dvi_seterr(DV_EPERM,
                          "%s: another `drove pipeline run` is running this "
                          "pipeline",
                          path);
    }
    return 0;
}

dvi_pstate *
dvi_pstate_open(const char *path, int create)
{
    if (!create && access(path, F_OK) != 0) {
        dvi_seterr(DV_ENOTFOUND, "%s: no state (the pipeline never ran)", path);
        return NULL;
    }
    if (create && s_mkdirs(path) < 0) {
        return NULL;
    }
    dvi_pstate *st = dvi_calloc(1, sizeof(*st));
    st->path = dvi_strdup(path);
    st->lock = -1;
    if (create && s_lock(st) < 0) {
        dvi_pstate_destroy(&st);
        return NULL;
    }
    int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
    if (sqlite3_open_v2(path, &st->db, flags, NULL) != SQLITE_OK ||
        sqlite3_busy_timeout(st->db, 10000) != SQLITE_OK ||
        sqlite3_exec(st->db, s_schema, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db, "SELECT status FROM datums WHERE id = ?", -1,
                           &st->status, NULL) != SQLITE_OK) {
        s_err(st, "open");
        dvi_pstate_destroy(&st);
        return NULL;
    }
    return st;
}

void
dvi_pstate_destroy(dvi_pstate **p)
{
    dvi_pstate *st = p ? *p : NULL;
    if (st == NULL) {
        return;
    }
    sqlite3_finalize(st->status);
    sqlite3_close(st->db);
    if (st->lock >= 0) {
        close(st->lock); /* releases the flock */
    }
    free(st->path);
    free(st);
    *p = NULL;
}

sqlite3 *
dvi_pstate_db(dvi_pstate *st)
{
    return st->db;
}

int
dvi_pstate_begin(dvi_pstate *st)
{
    return sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) ==
                   SQLITE_OK
               ? 0
               : s_err(st, "begin");
}

int
dvi_pstate_commit(dvi_pstate *st)
{
    return sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK
               ? 0
               : s_err(st, "commit");
}

/* Prepares sql, binding the text arguments given (NULL: SQL NULL). */
static sqlite3_stmt *
s_prep(dvi_pstate *st, const char *sql, int n, const char *const *args)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(st->db, sql, -1, &q, NULL) != SQLITE_OK) {
        s_err(st, sql);
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        sqlite3_bind_text(q, i + 1, args[i], -1, SQLITE_TRANSIENT);
    }
    return q;
}

char *
dvi_pstate_meta(dvi_pstate *st, const char *key)
{
    sqlite3_stmt *q =
        s_prep(st, "SELECT value FROM meta WHERE key = ?", 1, &key);
    char *v = NULL;
    if (q != NULL && sqlite3_step(q) == SQLITE_ROW &&
        sqlite3_column_text(q, 0) != NULL) {
        v = dvi_strdup((const char *)sqlite3_column_text(q, 0));
    }
    sqlite3_finalize(q);
    return v;
}

static int
s_exec(dvi_pstate *st, const char *sql, int n, const char *const *args)
{
    sqlite3_stmt *q = s_prep(st, sql, n, args);
    if (q == NULL) {
        return DV_EIO;
    }
    int rc = sqlite3_step(q) == SQLITE_DONE ? 0 : s_err(st, sql);
    sqlite3_finalize(q);
    return rc;
}

int
dvi_pstate_set_meta(dvi_pstate *st, const char *key, const char *value)
{
    const char *args[] = {key, value};
    return s_exec(st, "INSERT OR REPLACE INTO meta VALUES (?, ?)", 2, args);
}

dvi_datum_status
dvi_pstate_status(dvi_pstate *st, const char *id)
{
    dvi_datum_status s = DVI_DATUM_NONE;
    sqlite3_bind_text(st->status, 1, id, -1, SQLITE_STATIC);
    if (sqlite3_step(st->status) == SQLITE_ROW) {
        s = (dvi_datum_status)sqlite3_column_int(st->status, 0);
    }
    sqlite3_reset(st->status);
    sqlite3_clear_bindings(st->status);
    return s;
}

/* The first column of every row of q into a string array. */
static int
s_column(dvi_pstate *st, sqlite3_stmt *q, char ***out, size_t *n)
{
    size_t len = 0, cap = 0;
    char **v = NULL;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (len == cap) {
            cap = cap ? 2 * cap : 64;
            v = dvi_realloc(v, cap * sizeof(*v));
        }
        const unsigned char *t = sqlite3_column_text(q, 0);
        v[len++] = dvi_strdup(t ? (const char *)t : "");
    }
    *out = v;
    *n = len;
    return rc == SQLITE_DONE ? 0 : s_err(st, "select");
}

int
dvi_pstate_ids(dvi_pstate *st, char ***ids, size_t *n)
{
    sqlite3_stmt *q = s_prep(st, "SELECT id FROM datums", 0, NULL);
    if (q == NULL) {
        return DV_EIO;
    }
    int rc = s_column(st, q, ids, n);
    sqlite3_finalize(q);
    return rc;
}

int
dvi_pstate_put(dvi_pstate *st, const char *id, dvi_datum_status status,
               const char *desc, const char *inputs, int tries, const char *log)
{
    char s[16], t[16], now[32];
    snprintf(s, sizeof(s), "%d", (int)status);
    snprintf(t, sizeof(t), "%d", tries);
    snprintf(now, sizeof(now), "%.3f", (double)time(NULL));
    const char *args[] = {id, s, desc, inputs, t, log, now};
    return s_exec(st,
                  "INSERT OR REPLACE INTO datums VALUES "
                  "(?, CAST(? AS INTEGER), ?, ?, CAST(? AS INTEGER), ?, "
                  "CAST(? AS REAL))",
                  7, args);
}

int
dvi_pstate_forget(dvi_pstate *st, const char *id, char ***paths, size_t *n)
{
    sqlite3_stmt *q =
        s_prep(st, "SELECT path FROM outputs WHERE datum = ?", 1, &id);
    if (q == NULL) {
        return DV_EIO;
    }
    int rc = s_column(st, q, paths, n);
    sqlite3_finalize(q);
    if (rc == 0) {
        rc = s_exec(st, "DELETE FROM outputs WHERE datum = ?", 1, &id);
    }
    if (rc == 0) {
        rc = s_exec(st, "DELETE FROM datums WHERE id = ?", 1, &id);
    }
    return rc;
}

int
dvi_pstate_add_output(dvi_pstate *st, const char *path, const char *id,
                      char *owner)
{
    sqlite3_stmt *q =
        s_prep(st, "SELECT datum FROM outputs WHERE path = ?", 1, &path);
    if (q == NULL) {
        return DV_EIO;
    }
    int rc = 0;
    if (sqlite3_step(q) == SQLITE_ROW) {
        const char *other = (const char *)sqlite3_column_text(q, 0);
        if (other != NULL && strcmp(other, id) != 0) {
            snprintf(owner, 33, "%s", other);
            rc = DV_EINVAL;
        }
    }
    sqlite3_finalize(q);
    if (rc == 0) {
        const char *args[] = {path, id};
        rc =
            s_exec(st, "INSERT OR REPLACE INTO outputs VALUES (?, ?)", 2, args);
    }
    return rc;
}

static json_t *
s_text(sqlite3_stmt *q, int col)
{
    const unsigned char *t = sqlite3_column_text(q, col);
    return t ? json_string((const char *)t) : json_null();
}

/* The output paths of datum id, as a JSON array. */
static json_t *
s_outputs(dvi_pstate *st, const char *id)
{
    char **paths;
    size_t n;
    sqlite3_stmt *q = s_prep(
        st, "SELECT path FROM outputs WHERE datum = ? ORDER BY path", 1, &id);
    json_t *a = json_array();
    if (q != NULL && s_column(st, q, &paths, &n) == 0) {
        for (size_t i = 0; i < n; i++) {
            json_array_append_new(a, json_string(paths[i]));
            free(paths[i]);
        }
        free(paths);
    }
    sqlite3_finalize(q);
    return a;
}

json_t *
dvi_pstate_datums_json(dvi_pstate *st, const char *prefix)
{
    char like[80];
    snprintf(like, sizeof(like), "%.64s%%", prefix ? prefix : "");
    const char *arg = like;
    sqlite3_stmt *q = s_prep(st,
                             "SELECT id, status, desc, inputs, tries, log, "
                             "updated FROM datums WHERE id LIKE ? ORDER BY id",
                             1, &arg);
    if (q == NULL) {
        return NULL;
    }
    static const char *const names[] = {"none", "ok", "failed"};
    json_t *all = json_array();
    while (sqlite3_step(q) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(q, 0);
        int s = sqlite3_column_int(q, 1);
        const char *inputs = (const char *)sqlite3_column_text(q, 3);
        json_t *in = inputs ? json_loads(inputs, 0, NULL) : NULL;
        json_array_append_new(
            all,
            json_pack("{s:s, s:s, s:o, s:o, s:i, s:o, s:f, s:o}", "id",
                      id ? id : "", "status", names[s >= 0 && s <= 2 ? s : 0],
                      "desc", s_text(q, 2), "inputs", in ? in : json_array(),
                      "tries", sqlite3_column_int(q, 4), "log", s_text(q, 5),
                      "updated", sqlite3_column_double(q, 6), "outputs",
                      s_outputs(st, id ? id : "")));
    }
    sqlite3_finalize(q);
    return all;
}
