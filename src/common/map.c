/* dvi_map: open addressing, linear probing, backward-shift deletion,
 * shrinking when mostly empty. */
#include "map.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"

uint64_t
dvi_hash_str(const char *s)
{
    /* Eight bytes a step (keys are some forty characters, mostly a hex
     * digest), each mixed in by a multiply and a shift, then a final
     * avalanche (MurmurHash3's): a byte-at-a-time hash spent more time
     * than the probe's cache miss. */
    size_t n = strlen(s);
    uint64_t h = 0x9e3779b97f4a7c15ull ^ n, w;
    for (; n >= 8; s += 8, n -= 8) {
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 29;
    }
    w = 0;
    memcpy(&w, s, n);
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
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

/* The slot of key (hash h), or the free slot that ends its run. A key is
 * read only when its slot's hash matches: a probe stays in the slots. */
static size_t
s_find(const dvi_map *m, const char *key, uint64_t h)
{
    size_t mask = m->cap - 1;
    size_t i = h & mask;
    while (m->slots[i].key != NULL &&
           (m->slots[i].hash != h || strcmp(m->slots[i].key, key) != 0)) {
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
    size_t i = s_find(m, key, dvi_hash_str(key));
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
    size_t oldcap = m->cap, mask = cap - 1;
    m->cap = cap;
    m->slots = dvi_calloc(m->cap, sizeof(*m->slots));
    for (size_t j = 0; j < oldcap; j++) {
        if (old[j].key == NULL) {
            continue;
        }
        /* Keys are distinct: the first free slot of the run is the place.
         * The hash is kept: no key is read again. */
        size_t i = old[j].hash & mask;
        while (m->slots[i].key != NULL) {
            i = (i + 1) & mask;
        }
        m->slots[i] = old[j];
    }
    free(old);
}

void *
dvi_map_put(dvi_map *m, const char *key, void *val)
{
    if ((m->len + 1) * 4 > m->cap * 3) {
        s_resize(m, m->cap ? m->cap * 2 : DVI_MAP_MIN_CAP);
    }
    uint64_t h = dvi_hash_str(key);
    size_t i = s_find(m, key, h);
    void *prev = NULL;
    if (m->slots[i].key != NULL) {
        prev = m->slots[i].val;
    } else {
        m->len++;
    }
    m->slots[i].key = key;
    m->slots[i].val = val;
    m->slots[i].hash = h;
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
            size_t home = m->slots[j].hash & mask;
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
    size_t i = s_find(m, key, dvi_hash_str(key));
    if (m->slots[i].key == NULL) {
        return NULL;
    }
    void *val = m->slots[i].val;
    s_remove_slot(m, i);
    /* Mostly empty: a quarter of the size. Growing happens at 3/4 full
     * and shrinking under 1/16, leaving the table 1/4 full, so churn
     * around either point never resizes back and forth. Rehashing reads
     * every key (a cache miss and a hash each): shrinking fourfold rather
     * than twofold rehashes a third of an entry per deletion, not one. */
    if (m->cap > DVI_MAP_KEEP_CAP && m->len * 16 < m->cap) {
        size_t cap = m->cap / 4;
        s_resize(m, cap > DVI_MAP_KEEP_CAP ? cap : DVI_MAP_KEEP_CAP);
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
