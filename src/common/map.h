/* dvi_map: a hash table from NUL-terminated string keys to pointers.
 *
 * Open addressing with linear probing and backward-shift deletion, so no
 * tombstones accumulate under churn. The table doubles when 3/4 full and
 * shrinks fourfold when under 1/16 full, but never below DVI_MAP_KEEP_CAP
 * slots once it has grown past them: a map that held a million entries
 * does not keep their slots once they have gone, and one that holds a
 * graph of a few thousand tasks at a time keeps its table between them.
 * Keys are borrowed: each key must stay valid while its entry is in the
 * map (store it inside the value). Every operation is O(1) amortised. Not
 * thread-safe.
 */
#ifndef DVI_MAP_H
#define DVI_MAP_H

#include <stddef.h>
#include <stdint.h>

/* The smallest table. */
#define DVI_MAP_MIN_CAP 16
/* A table that has grown to this many slots (96 KiB) keeps them when
 * emptied. Regrown from 16 slots for each graph of a few thousand tiny
 * tasks, the scheduler's, workers' and client's tables cost 10% of the
 * CPU such a task took on local:threads=2: rehashing as they grew, and
 * faulting in the pages the allocator had given back as they shrank. */
#define DVI_MAP_KEEP_CAP 4096

typedef struct dvi_map_entry {
    const char *key; /* borrowed from the value, NULL when the slot is free */
    void *val;
    uint64_t hash; /* dvi_hash_str(key): probes compare it before reading a
                      key, and resizing and deletion never reread keys */
} dvi_map_entry;

typedef struct dvi_map {
    dvi_map_entry *slots; /* capacity is a power of two, or 0 */
    size_t cap;
    size_t len;
} dvi_map;

void dvi_map_init(dvi_map *m);
void dvi_map_fini(dvi_map *m);
/* The value stored under key, or NULL. */
void *dvi_map_get(const dvi_map *m, const char *key);
/* The entry of key, whose value may be changed in place, or NULL. Valid
 * until the map next changes. */
dvi_map_entry *dvi_map_find(const dvi_map *m, const char *key);
/* Stores val under key, replacing and returning any previous value. */
void *dvi_map_put(dvi_map *m, const char *key, void *val);
/* Removes key; returns its value, or NULL. May shrink the table: entries
 * from dvi_map_find are then stale. */
void *dvi_map_del(dvi_map *m, const char *key);
/* Iteration: for (size_t i = 0; dvi_map_next(m, &i, &e);) ... The map
 * must not change during iteration (deleting moves entries): collect what
 * to delete, then delete. */
int dvi_map_next(const dvi_map *m, size_t *i, dvi_map_entry **e);

uint64_t dvi_hash_str(const char *s);

#endif
