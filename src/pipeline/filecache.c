/* dvi_filecache: stat-keyed cache of content hashes in SQLite.
 *
 * The lookup statement is prepared once and reused, and the caller runs
 * the whole scan inside one transaction (dvi_pstate_begin), so that a
 * no-op re-run is a stat and a B-tree probe per file, without an fsync
 * per updated row.
 */
#include "pipeline/filecache.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/map.h"

struct dvi_filecache {
    sqlite3 *db;        /* borrowed: the pipeline's state */
    sqlite3_stmt *get;  /* SELECT by path */
    sqlite3_stmt *put;  /* INSERT OR REPLACE */
    size_t hits, reads; /* counters, for the run's report and tests */
    dvi_map seen;       /* path -> its own copy (key and value): the paths
                           hashed, which prune keeps */
};

static int
s_sqlerr(sqlite3 *db, const char *what)
{
    return dvi_seterr(DV_EIO, "file cache: %s: %s", what, sqlite3_errmsg(db));
}

dvi_filecache *
dvi_filecache_new(sqlite3 *db)
{
    dvi_filecache *fc = dvi_calloc(1, sizeof(*fc));
    fc->db = db;
    dvi_map_init(&fc->seen);
    if (db == NULL) {
        return fc;
    }
    if (sqlite3_exec(db,
                     "CREATE TABLE IF NOT EXISTS files(path TEXT PRIMARY KEY, "
                     "size INTEGER, mtime_ns INTEGER, ino INTEGER, hash BLOB) "
                     "WITHOUT ROWID",
                     NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "SELECT size, mtime_ns, ino, hash FROM files "
                           "WHERE path = ?",
                           -1, &fc->get, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "INSERT OR REPLACE INTO files VALUES (?,?,?,?,?)",
                           -1, &fc->put, NULL) != SQLITE_OK) {
        s_sqlerr(db, "prepare");
        dvi_filecache_destroy(&fc);
        return NULL;
    }
    return fc;
}

void
dvi_filecache_destroy(dvi_filecache **p)
{
    dvi_filecache *fc = p ? *p : NULL;
    if (fc == NULL) {
        return;
    }
    sqlite3_finalize(fc->get);
    sqlite3_finalize(fc->put);
    for (size_t i = 0; i < fc->seen.cap; i++) {
        free(fc->seen.slots[i].val);
    }
    dvi_map_fini(&fc->seen);
    free(fc);
    *p = NULL;
}

static int64_t
s_mtime_ns(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

/* Reads the file and hashes it, in 64 KiB pieces. */
static int
s_read_hash(const char *path, unsigned char *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return dvi_seterr(DV_EIO, "%s: %s", path, strerror(errno));
    }
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, DVI_HASH_BYTES);
    unsigned char buf[65536];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            int e = errno;
            close(fd);
            return dvi_seterr(DV_EIO, "%s: %s", path, strerror(e));
        }
        if (n == 0) {
            break;
        }
        crypto_generichash_update(&h, buf, (size_t)n);
    }
    close(fd);
    crypto_generichash_final(&h, out, DVI_HASH_BYTES);
    return 0;
}

static int
s_lookup(dvi_filecache *fc, const char *path, const struct stat *st,
         unsigned char *out)
{
    int found = 0;
    sqlite3_bind_text(fc->get, 1, path, -1, SQLITE_STATIC);
    if (sqlite3_step(fc->get) == SQLITE_ROW &&
        sqlite3_column_int64(fc->get, 0) == (int64_t)st->st_size &&
        sqlite3_column_int64(fc->get, 1) == s_mtime_ns(st) &&
        sqlite3_column_int64(fc->get, 2) == (int64_t)st->st_ino &&
        sqlite3_column_bytes(fc->get, 3) == DVI_HASH_BYTES) {
        memcpy(out, sqlite3_column_blob(fc->get, 3), DVI_HASH_BYTES);
        found = 1;
    }
    sqlite3_reset(fc->get);
    sqlite3_clear_bindings(fc->get);
    return found;
}

int
dvi_filecache_hash(dvi_filecache *fc, const char *path, const struct stat *st,
                   unsigned char *out)
{
    if (fc != NULL && fc->db != NULL && dvi_map_get(&fc->seen, path) == NULL) {
        char *copy = dvi_strdup(path);
        dvi_map_put(&fc->seen, copy, copy);
    }
    if (fc != NULL && fc->db != NULL && s_lookup(fc, path, st, out)) {
        fc->hits++;
        return 0;
    }
    if (s_read_hash(path, out) < 0) {
        return DV_EIO;
    }
    if (fc == NULL) {
        return 0;
    }
    fc->reads++;
    if (fc->db == NULL) {
        return 0;
    }
    sqlite3_bind_text(fc->put, 1, path, -1, SQLITE_STATIC);
    sqlite3_bind_int64(fc->put, 2, (int64_t)st->st_size);
    sqlite3_bind_int64(fc->put, 3, s_mtime_ns(st));
    sqlite3_bind_int64(fc->put, 4, (int64_t)st->st_ino);
    sqlite3_bind_blob(fc->put, 5, out, DVI_HASH_BYTES, SQLITE_STATIC);
    int rc = sqlite3_step(fc->put);
    sqlite3_reset(fc->put);
    sqlite3_clear_bindings(fc->put);
    return rc == SQLITE_DONE ? 0 : s_sqlerr(fc->db, path);
}

int
dvi_filecache_prune(dvi_filecache *fc)
{
    if (fc == NULL || fc->db == NULL) {
        return 0;
    }
    sqlite3_stmt *all = NULL, *del = NULL;
    if (sqlite3_prepare_v2(fc->db, "SELECT path FROM files", -1, &all, NULL) !=
            SQLITE_OK ||
        sqlite3_prepare_v2(fc->db, "DELETE FROM files WHERE path = ?", -1, &del,
                           NULL) != SQLITE_OK) {
        sqlite3_finalize(all);
        return s_sqlerr(fc->db, "prune");
    }
    /* Collected first: rows are not deleted under a running SELECT. */
    dvi_map gone;
    dvi_map_init(&gone);
    while (sqlite3_step(all) == SQLITE_ROW) {
        const char *p = (const char *)sqlite3_column_text(all, 0);
        if (p != NULL && dvi_map_get(&fc->seen, p) == NULL) {
            char *copy = dvi_strdup(p);
            dvi_map_put(&gone, copy, copy);
        }
    }
    sqlite3_finalize(all);
    int n = 0, rc = 0;
    for (size_t i = 0; i < gone.cap; i++) {
        char *p = gone.slots[i].val;
        if (p != NULL && rc == 0) {
            sqlite3_bind_text(del, 1, p, -1, SQLITE_STATIC);
            rc = sqlite3_step(del) == SQLITE_DONE ? 0 : DV_EIO;
            sqlite3_reset(del);
            n++;
        }
        free(p);
    }
    dvi_map_fini(&gone);
    sqlite3_finalize(del);
    return rc < 0 ? s_sqlerr(fc->db, "prune") : n;
}

size_t
dvi_filecache_hits(const dvi_filecache *fc)
{
    return fc ? fc->hits : 0;
}

size_t
dvi_filecache_reads(const dvi_filecache *fc)
{
    return fc ? fc->reads : 0;
}
