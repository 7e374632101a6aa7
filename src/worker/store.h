/* dvi_store: the results a worker holds, by key.
 *
 * Each result is an encoded value in a dvi_blob, held by the store until
 * the scheduler frees it; the store counts what it holds, in results and
 * in bytes, for the worker's stats and, later, for deciding what to spill
 * to disk. An item is one allocation, its key inline, so a worker holding
 * millions of small results pays one malloc for each.
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

typedef struct dvi_store dvi_store;

/* An empty store. Caller owns; free with dvi_store_destroy. */
dvi_store *dvi_store_new(void);
/* Releases every result and frees the store. Accepts NULL; sets *s to
 * NULL. */
void dvi_store_destroy(dvi_store **s);

/* Holds blob under key (the store takes a reference of its own; the
 * caller keeps its own), releasing any result the key had. */
void dvi_store_put(dvi_store *s, const char *key, dvi_blob *blob);
/* The result under key, or NULL. Borrowed; valid until the key is put or
 * deleted again (hold it to keep it longer). */
dvi_blob *dvi_store_get(const dvi_store *s, const char *key);
/* Releases the result under key. Returns 1 if there was one, 0 if not. */
int dvi_store_delete(dvi_store *s, const char *key);
/* Results held. */
size_t dvi_store_count(const dvi_store *s);
/* Drops every result (a reader holding one keeps it). Returns how many. */
size_t dvi_store_clear(dvi_store *s);
/* Bytes of the results held. */
uint64_t dvi_store_bytes(const dvi_store *s);
/* An estimate of the memory the store takes: the results' bytes, and for
 * each its item, blob header and share of the table. */
uint64_t dvi_store_footprint(const dvi_store *s);

#endif
