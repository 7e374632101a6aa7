/* dvi_pset: a set of pointers.
 *
 * The scheduler indexes its tasks per worker and per client with these
 * (what a worker runs and holds, what a client wants), so that losing a
 * peer costs what that peer had, not a walk over the whole graph. Open
 * addressing with linear probing and backward-shift deletion, as dvi_map,
 * but keyed by the pointer itself: no string to hash. As dvi_map, the
 * table doubles when 3/4 full and shrinks fourfold when under 1/16 full,
 * never below DVI_PSET_KEEP_CAP slots once it has grown past them. Every
 * operation is O(1) amortised. Not thread-safe.
 */
#ifndef DVI_PSET_H
#define DVI_PSET_H

#include <stddef.h>

/* A table that has grown to this many slots (32 KiB) keeps them when
 * emptied, as dvi_map's DVI_MAP_KEEP_CAP. */
#define DVI_PSET_KEEP_CAP 4096

typedef struct dvi_pset {
    void **slots; /* NULL for a free slot; capacity a power of two, or 0 */
    size_t cap;
    size_t len;
} dvi_pset;

void dvi_pset_init(dvi_pset *s);
void dvi_pset_fini(dvi_pset *s);
/* Adds p (not NULL); returns 1 if it was not there yet. */
int dvi_pset_add(dvi_pset *s, void *p);
/* Removes p; returns 1 if it was there. */
int dvi_pset_del(dvi_pset *s, void *p);
int dvi_pset_has(const dvi_pset *s, const void *p);
/* Iteration: for (size_t i = 0; (p = dvi_pset_next(s, &i));) ... The set
 * must not change meanwhile (deleting moves members): collect, then act. */
void *dvi_pset_next(const dvi_pset *s, size_t *i);

#endif
