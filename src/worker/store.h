/* dvi_store: the results a worker holds, by key.
 *
 * Each result is an encoded value in a dvi_blob, held by the store until
 * the scheduler frees it; the store counts what it holds, in results and
 * in bytes, for the worker's stats and for deciding what to spill to
 * disk. An item is one allocation, its key inline, so a worker holding
 * millions of small results pays one malloc for each.
 *
 * Spilling: given a dvi_spill and a target, the store keeps at most
 * target bytes of results in memory by writing the least recently used
 * ones (a put or a get is a use) to files, on the job thread, and
 * dropping them from memory once written. dvi_store_get reads a spilled
 * result back into memory, synchronously (a local file read, from the
 * page cache when recent: see bench_spill for what it costs), and keeps
 * its file, so spilling it again costs nothing. Results under
 * DVI_STORE_SPILL_MIN bytes never spill: a file each would cost more than
 * it saves. Bytes on disk count towards no limit.
 *
 * Not thread-safe: the worker's loop thread only. The blobs themselves
 * may be read by other threads that hold references (executor threads
 * reading task inputs).
 */
#ifndef DVI_STORE_H
#define DVI_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "common/blob.h"
#include "spill.h"

/* The smallest result that may be spilled, in bytes. */
#define DVI_STORE_SPILL_MIN 4096

typedef struct dvi_store dvi_store;

/* An empty store. Caller owns; free with dvi_store_destroy. */
dvi_store *dvi_store_new(void);
/* Waits for the spill writes under way, releases every result and frees
 * the store (the files stay until the spill is destroyed). Accepts NULL;
 * sets *s to NULL. */
void dvi_store_destroy(dvi_store **s);

/* Spills to sp (borrowed: it must outlive the store) whenever more than
 * target bytes of results are in memory. */
void dvi_store_set_spill(dvi_store *s, dvi_spill *sp);
/* The bytes of results to keep in memory at most (UINT64_MAX, the
 * default: no limit); spills what is over it now. */
void dvi_store_set_target(dvi_store *s, uint64_t target);

/* Holds blob under key (the store takes a reference of its own; the
 * caller keeps its own), releasing any result the key had; may spill
 * others, or this one. */
void dvi_store_put(dvi_store *s, const char *key, dvi_blob *blob);
/* The result under key, read back first if it was spilled; NULL if there
 * is none, or if it cannot be read back (the reason set, naming the
 * file; the key is then dropped: the result is lost). Borrowed; valid
 * until the store next changes (a put, a delete, another get, a spill
 * ending on the loop): hold it to keep it longer. */
dvi_blob *dvi_store_get(dvi_store *s, const char *key);
/* Releases the result under key (and its file, if spilled). Returns 1 if
 * there was one, 0 if not. */
int dvi_store_delete(dvi_store *s, const char *key);
/* Drops every result, and the files of those spilled (a reader holding
 * one keeps it). Returns how many. */
size_t dvi_store_clear(dvi_store *s);
/* Whether the result under key is on disk only. */
int dvi_store_is_spilled(const dvi_store *s, const char *key);
/* Results held, in memory or on disk. */
size_t dvi_store_count(const dvi_store *s);
/* Bytes of the results in memory (those being written included). */
uint64_t dvi_store_bytes(const dvi_store *s);
/* Results, and their bytes, on disk only. */
size_t dvi_store_spilled_count(const dvi_store *s);
uint64_t dvi_store_spilled_bytes(const dvi_store *s);
/* An estimate of the memory the store takes: the bytes of the results in
 * memory, and for each result its item, blob header and share of the
 * table. */
uint64_t dvi_store_footprint(const dvi_store *s);

#endif
