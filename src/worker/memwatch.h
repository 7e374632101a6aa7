/* dvi_memwatch: a worker's memory under its limit (--memory-limit).
 *
 * Two measures. The results the store holds in memory, in bytes, exact at
 * every put; and the process's resident set (RSS, /proc/self/statm),
 * sampled every DVI_MEMWATCH_INTERVAL_MS and at each check (at most every
 * 10 ms). Bytes spilled to disk count in neither.
 *
 *   - Results past the target fraction of the limit are spilled to disk,
 *     least recently used first (the store's target).
 *   - Past the spill fraction of RSS, halfway between target and pause
 *     (0.7, dask's default; none when the target is not under the
 *     pause), it spills what it must of its results to
 *     bring RSS back to the target, counting the memory that is not
 *     results (code, buffers, inputs in use, memory freed but not yet
 *     given back, which it has the trimmer give back at once).
 *   - Past the pause fraction of RSS the worker pauses: it tells the
 *     scheduler (MEMORY), which places nothing new there. Once RSS is
 *     below the pause fraction again it resumes and says so.
 *
 * Not thread-safe: the worker's loop thread only.
 */
#ifndef DVI_MEMWATCH_H
#define DVI_MEMWATCH_H

#include <stdint.h>

#include "worker.h"

#define DVI_MEMWATCH_INTERVAL_MS 100
#define DVI_MEMWATCH_TARGET 0.6 /* default fractions of the limit */
#define DVI_MEMWATCH_PAUSE 0.8
/* The smallest limit that leaves a worker room to run at all. */
#define DVI_MEMWATCH_MIN_LIMIT ((uint64_t)16 << 20)

typedef struct dvi_memwatch dvi_memwatch;

/* Watches w's memory under cfg (cfg->limit > 0): gives the store a spill
 * directory under cfg->spill_dir (made at the first spill) and its
 * target, and starts sampling. Caller owns; free with
 * dvi_memwatch_destroy. NULL with the reason set (naming the directory)
 * if the spill directory's parent is unusable. */
dvi_memwatch *dvi_memwatch_new(dvi_worker *w, const dvi_worker_memory *cfg);
/* Stops watching and removes the spill directory. Call once the store is
 * destroyed or will never be used again (the process is about to exit).
 * Accepts NULL; sets *m to NULL. */
void dvi_memwatch_destroy(dvi_memwatch **m);
/* Measures again after results came or went (at most one RSS sample per
 * 10 ms), spilling or pausing as needed. Accepts NULL. */
void dvi_memwatch_check(dvi_memwatch *m);
/* A connection to the scheduler has been welcomed: the worker tells its
 * memory (MEMORY), and so whether it is paused (the scheduler sees a
 * fresh worker). Afterwards it tells again when its memory moved by an
 * eighth. Accepts NULL. */
void dvi_memwatch_welcomed(dvi_memwatch *m);
int dvi_memwatch_is_paused(const dvi_memwatch *m);

/* ---- Sizes -------------------------------------------------------------- */

/* The memory this process may have: the machine's, or its cgroup's limit
 * (v2 memory.max of its cgroup and the ones above, or v1) if lower. */
uint64_t dvi_memory_total(void);
/* The process's resident set in bytes, or 0 if it cannot be read. */
uint64_t dvi_memory_rss(void);
/* Reads a memory limit: "0" or "none" (no limit: 0), bytes ("1073741824",
 * "512M", "1.5G", "2GiB": K, M, G, T are powers of 1024; "2GB": of 1000)
 * or, with a decimal point, a fraction of total ("0.5", "1.0"). Returns
 * 0 and the bytes in *out, or DV_EINVAL with the reason set (the text
 * quoted). */
int dvi_memory_parse(const char *text, uint64_t total, uint64_t *out);

#endif
