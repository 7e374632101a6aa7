/* dvi_map: open addressing, linear probing, backward-shift deletion,
 * halving when mostly empty. */
#include "map.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"

uint64_t
dvi_hash_str(const char *s)
{
    /* FNV-1a with a final avalanche: keys are mostly hex digests already. */
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

void
dvi_map_init(dvi_map *m)
{
    m->slots = NULL;
    m->cap = 0;
    m->len = 0;
}

void
dvi_map_fini(dvi_map *m)
{
    free(m->slots);
    dvi_map_init(m);
}

static size_t
s_find(const dvi_map *m, const char *key)
{
    size_t mask = m->cap - 1;
    size_t i = dvi_hash_str(key) & mask;
    while (m->slots[i].key != NULL && strcmp(m->slots[i].key, key) != 0) {
        i = (i + 1) & mask;
    }
    return i;
}

dvi_map_entry *
dvi_map_find(const dvi_map *m, const char *key)
{
    if (m->len == 0) {
        return NULL;
    }
    size_t i = s_find(m, key);
    return m->slots[i].key ? &m->slots[i] : NULL;
}

void *
dvi_map_get(const dvi_map *m, const char *key)
{
    dvi_map_entry *e = dvi_map_find(m, key);
    return e ? e->val : NULL;
}

static void
s_resize(dvi_map *m, size_t cap)
{
    dvi_map_entry *old = m->slots;
    size_t oldcap = m->cap;
    m->cap = cap;
    m->slots = dvi_calloc(m->cap, sizeof(*m->slots));
    for (size_t j = 0; j < oldcap; j++) {
        if (old[j].key != NULL) {
            m->slots[s_find(m, old[j].key)] = old[j];
        }
    }
    free(old);
}

void *
dvi_map_put(dvi_map *m, const char *key, void *val)
{
    if ((m->len + 1) * 4 > m->cap * 3) {
        s_resize(m, m->cap ? m->cap * 2 : DVI_MAP_MIN_CAP);
    }
    size_t i = s_find(m, key);
    void *prev = NULL;
    if (m->slots[i].key != NULL) {
        prev = m->slots[i].val;
    } else {
        m->len++;
    }
    m->slots[i].key = key;
    m->slots[i].val = val;
    return prev;
}

static void
s_remove_slot(dvi_map *m, size_t i)
{
    size_t mask = m->cap - 1;
    size_t j = i;
    m->len--;
    /* Shift back later entries of the run whose home lies at or before the
     * hole, so lookups never meet a gap before their key. */
    for (;;) {
        m->slots[i].key = NULL;
        for (;;) {
            j = (j + 1) & mask;
            if (m->slots[j].key == NULL) {
                return;
            }
            size_t home = dvi_hash_str(m->slots[j].key) & mask;
            if (i <= j ? (i < home && home <= j) : (i < home || home <= j)) {
                continue;
            }
            break;
        }
        m->slots[i] = m->slots[j];
        i = j;
    }
}

void *
dvi_map_del(dvi_map *m, const char *key)
{
    if (m->len == 0) {
        return NULL;
    }
    size_t i = s_find(m, key);
    if (m->slots[i].key == NULL) {
        return NULL;
    }
    void *val = m->slots[i].val;
    s_remove_slot(m, i);
    /* Mostly empty: halve. Growing happens at 3/4 full and shrinking at
     * 1/8, leaving the table 1/4 full, so churn around either point never
     * resizes back and forth, and each resize is paid for by the len/8
     * operations since the last. */
    if (m->cap > DVI_MAP_MIN_CAP && m->len * 8 < m->cap) {
        s_resize(m, m->cap / 2);
    }
    return val;
}

int
dvi_map_next(const dvi_map *m, size_t *i, dvi_map_entry **e)
{
    while (*i < m->cap) {
        dvi_map_entry *slot = &m->slots[(*i)++];
        if (slot->key != NULL) {
            *e = slot;
            return 1;
        }
    }
    return 0;
}
