/* dvi_filecache: content hashes of files, recognised unchanged by stat.
 *
 * As git's index does, a file whose size, mtime (to the nanosecond) and
 * inode are those recorded with its hash is taken to be unchanged and is
 * not read again: a re-run over 100,000 unchanged files costs 100,000
 * stat calls and lookups, not reading them. The hashes live in the table
 * `files` of the SQLite database given (the pipeline's state), keyed by
 * absolute path. Not thread-safe.
 */
#ifndef DVI_PIPELINE_FILECACHE_H
#define DVI_PIPELINE_FILECACHE_H

#include <sqlite3.h>
#include <stddef.h>
#include <sys/stat.h>

#define DVI_HASH_BYTES 32

typedef struct dvi_filecache dvi_filecache;

/* A cache over db (borrowed; must outlive it), creating its table if
 * needed. NULL (NULL db: a cache that remembers nothing) with the reason
 * set on an SQLite error. Caller owns; free with dvi_filecache_destroy. */
dvi_filecache *dvi_filecache_new(sqlite3 *db);
void dvi_filecache_destroy(dvi_filecache **p);

/* The BLAKE2b (crypto_generichash) hash of the file at path, whose stat
 * is st, into out: from the cache when the stat matches, else read and
 * recorded. fc may be NULL (always read). Returns 0, or DV_EIO naming the
 * file (reason set). */
int dvi_filecache_hash(dvi_filecache *fc, const char *path,
                       const struct stat *st, unsigned char *out);

/* Deletes the cached hashes of every path not hashed through fc since it
 * was made (files deleted, or no longer in the input): call after a
 * complete scan. Returns how many, or DV_EIO (reason set). */
int dvi_filecache_prune(dvi_filecache *fc);

/* How many hashes came from the cache, and how many files were read. */
size_t dvi_filecache_hits(const dvi_filecache *fc);
size_t dvi_filecache_reads(const dvi_filecache *fc);

#endif
