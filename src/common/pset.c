/* dvi_pset: open addressing over pointers, backward-shift deletion,
 * shrinking when mostly empty. */
#include "pset.h"

#include <stdint.h>
#include <stdlib.h>

#include "err.h"

static size_t
s_home(const dvi_pset *s, const void *p)
{
    /* Allocations are 16-byte aligned: drop the zero bits, then mix. */
    uint64_t h = (uint64_t)(uintptr_t)p >> 4;
    h *= 0x9e3779b97f4a7c15ull;
    return (size_t)(h >> 32) & (s->cap - 1);
}

static size_t
s_find(const dvi_pset *s, const void *p)
{
    size_t mask = s->cap - 1;
    size_t i = s_home(s, p);
    while (s->slots[i] != NULL && s->slots[i] != p) {
        i = (i + 1) & mask;
    }
    return i;
}

void
dvi_pset_init(dvi_pset *s)
{
    s->slots = NULL;
    s->cap = 0;
    s->len = 0;
}

void
dvi_pset_fini(dvi_pset *s)
{
    free(s->slots);
    dvi_pset_init(s);
}

static void
s_resize(dvi_pset *s, size_t cap)
{
    void **old = s->slots;
    size_t oldcap = s->cap;
    s->cap = cap;
    s->slots = dvi_calloc(s->cap, sizeof(*s->slots));
    for (size_t j = 0; j < oldcap; j++) {
        if (old[j] != NULL) {
            s->slots[s_find(s, old[j])] = old[j];
        }
    }
    free(old);
}

int
dvi_pset_add(dvi_pset *s, void *p)
{
    if ((s->len + 1) * 4 > s->cap * 3) {
        s_resize(s, s->cap ? s->cap * 2 : 4);
    }
    size_t i = s_find(s, p);
    if (s->slots[i] != NULL) {
        return 0;
    }
    s->slots[i] = p;
    s->len++;
    return 1;
}

int
dvi_pset_has(const dvi_pset *s, const void *p)
{
    return s->len > 0 && s->slots[s_find(s, p)] != NULL;
}

/* Empties slot i, shifting back later members of its run. */
static void
s_remove_slot(dvi_pset *s, size_t i)
{
    size_t mask = s->cap - 1, j = i;
    s->len--;
    /* Shift back later members of the run whose home lies at or before
     * the hole, so lookups never meet a gap before their pointer. */
    for (;;) {
        s->slots[i] = NULL;
        for (;;) {
            j = (j + 1) & mask;
            if (s->slots[j] == NULL) {
                return;
            }
            size_t home = s_home(s, s->slots[j]);
            if (i <= j ? (i < home && home <= j) : (i < home || home <= j)) {
                continue;
            }
            break;
        }
        s->slots[i] = s->slots[j];
        i = j;
    }
}

int
dvi_pset_del(dvi_pset *s, void *p)
{
    if (s->len == 0) {
        return 0;
    }
    size_t i = s_find(s, p);
    if (s->slots[i] == NULL) {
        return 0;
    }
    s_remove_slot(s, i);
    /* Mostly empty: a quarter of the size (as dvi_map: grow at 3/4 full,
     * shrink under 1/16, leaving it 1/4 full). */
    if (s->cap > DVI_PSET_KEEP_CAP && s->len * 16 < s->cap) {
        size_t cap = s->cap / 4;
        s_resize(s, cap > DVI_PSET_KEEP_CAP ? cap : DVI_PSET_KEEP_CAP);
    }
    return 1;
}

void *
dvi_pset_next(const dvi_pset *s, size_t *i)
{
    while (*i < s->cap) {
        void *p = s->slots[(*i)++];
        if (p != NULL) {
            return p;
        }
    }
    return NULL;
}
