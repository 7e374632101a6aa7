/* dvi_spill: a worker's scratch directory for results spilled to disk.
 *
 * The directory is made with mkdtemp under a parent (--spill-dir, else
 * $TMPDIR, else /tmp) as drove-spill-PID-XXXXXX, mode 0700, at the first
 * write (a worker that never spills leaves no trace), and holds one file
 * per spilled result, named by a number the store gives it. The worker
 * removes it when it stops. A worker that died without doing so (a
 * SIGKILL, a crash) leaves it behind: the worker holds a lock (flock) on
 * its directory while it lives, so a later one can tell a dead worker's
 * directory from a live one's and remove it (dvi_spill_clean_stale).
 *
 * Writes and removals run on the runtime's job thread, in the order they
 * were asked for (so a removal never overtakes the write of its file);
 * their callbacks come back on the loop. Reads are synchronous: a local
 * file read, from the page cache when it was spilled recently.
 *
 * Not thread-safe: the worker's loop thread only.
 */
#ifndef DVI_SPILL_H
#define DVI_SPILL_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common/blob.h"

/* The prefix of every spill directory's name. */
#define DVI_SPILL_PREFIX "drove-spill-"

typedef struct dvi_spill dvi_spill;

/* Counters, for logs and benchmarks. */
typedef struct dvi_spill_stats {
    uint64_t writes, bytes_written, write_ns; /* write_ns: on the job thread */
    uint64_t reads, bytes_read, read_ns;
    uint64_t failures; /* writes and reads that failed */
} dvi_spill_stats;

/* Told on the loop when a write has ended: rc 0, or a negative DV_E* code
 * with why naming the file and the problem (borrowed for the call). */
typedef void (*dvi_spill_done_fn)(void *ctx, int rc, const char *why);

/* A spill directory to be made under parent (NULL: $TMPDIR, else /tmp),
 * after removing the directories dead workers left there. Writes go to
 * the job thread of loop's runtime (a loop without one writes
 * synchronously). Caller owns; free with dvi_spill_destroy. NULL with the
 * reason set (naming the parent) if the parent is not a directory this
 * process can write in. */
dvi_spill *dvi_spill_new(uv_loop_t *loop, const char *parent);
/* Waits for the writes under way, removes every file and the directory,
 * and frees. Accepts NULL; sets *sp to NULL. */
void dvi_spill_destroy(dvi_spill **sp);
/* The directory's path, "" until the first write. Borrowed; valid until
 * destroy. */
const char *dvi_spill_dir(const dvi_spill *sp);

/* Writes blob's bytes to the file numbered id (holding a reference to
 * blob until then), then calls done. Returns 0, or DV_EIO (nothing
 * written, done never called) if the directory cannot be made, or within
 * a second after a write failed: the disk is full or broken, and trying
 * each result again would only cost more. done may be called before this
 * returns. */
int dvi_spill_write(dvi_spill *sp, uint64_t id, dvi_blob *blob,
                    dvi_spill_done_fn done, void *ctx);
/* The file numbered id, which must hold len bytes, read into a new blob.
 * Caller owns one reference. NULL with the reason set (naming the file)
 * if it cannot be read or has another size. */
dvi_blob *dvi_spill_read(dvi_spill *sp, uint64_t id, size_t len);
/* Removes the file numbered id, after any write of it already asked for. */
void dvi_spill_remove(dvi_spill *sp, uint64_t id);
/* Waits until every write and removal asked for has ended and its
 * callback has run. */
void dvi_spill_wait(dvi_spill *sp);
/* The path of the file numbered id, into buf (size bytes). */
void dvi_spill_path(const dvi_spill *sp, uint64_t id, char *buf, size_t size);
void dvi_spill_stats_get(const dvi_spill *sp, dvi_spill_stats *out);

/* Removes the spill directories under parent (NULL: as dvi_spill_new)
 * that belong to this user and to no live process: none holds its lock
 * and the process its name gives has gone. Returns how many it removed. */
size_t dvi_spill_clean_stale(const char *parent);

#endif
