/* dvi_store: a worker's results by key, each one allocation with its key
 * inline, counted in results and bytes. */
#include "store.h"

#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/map.h"

typedef struct s_item {
    dvi_blob *blob; /* held */
    char key[];     /* the map's key points here */
} s_item;

struct dvi_store {
    dvi_map items;  /* key -> s_item */
    uint64_t bytes; /* sum of the items' blob lengths */
};

dvi_store *
dvi_store_new(void)
{
    dvi_store *s = dvi_calloc(1, sizeof(*s));
    dvi_map_init(&s->items);
    return s;
}

size_t
dvi_store_clear(dvi_store *s)
{
    size_t n = s->items.len;
    dvi_map_entry *e;
    for (size_t i = 0; dvi_map_next(&s->items, &i, &e);) {
        s_item *it = e->val;
        dvi_blob_rele(it->blob);
        free(it);
    }
    dvi_map_fini(&s->items);
    dvi_map_init(&s->items);
    s->bytes = 0;
    return n;
}

void
dvi_store_destroy(dvi_store **sp)
{
    dvi_store *s = *sp;
    if (s == NULL) {
        return;
    }
    *sp = NULL;
    dvi_store_clear(s);
    dvi_map_fini(&s->items);
    free(s);
}

void
dvi_store_put(dvi_store *s, const char *key, dvi_blob *blob)
{
    dvi_blob_hold(blob);
    s_item *it = dvi_map_get(&s->items, key);
    if (it != NULL) {
        s->bytes -= it->blob->len;
        dvi_blob_rele(it->blob);
    } else {
        size_t len = strlen(key);
        it = dvi_malloc(sizeof(*it) + len + 1);
        memcpy(it->key, key, len + 1);
        dvi_map_put(&s->items, it->key, it);
    }
    it->blob = blob;
    s->bytes += blob->len;
}

dvi_blob *
dvi_store_get(const dvi_store *s, const char *key)
{
    s_item *it = dvi_map_get(&s->items, key);
    return it ? it->blob : NULL;
}

int
dvi_store_delete(dvi_store *s, const char *key)
{
    s_item *it = dvi_map_del(&s->items, key);
    if (it == NULL) {
        return 0;
    }
    s->bytes -= it->blob->len;
    dvi_blob_rele(it->blob);
    free(it);
    return 1;
}

size_t
dvi_store_count(const dvi_store *s)
{
    return s->items.len;
}

uint64_t
dvi_store_bytes(const dvi_store *s)
{
    return s->bytes;
}

uint64_t
dvi_store_footprint(const dvi_store *s)
{
    /* Per result: malloc's chunk of the item and key (~64 bytes) and of
     * the blob header (32 bytes, plus its bytes); the slot array is
     * counted whole. */
    return s->bytes + s->items.len * 96 + s->items.cap * sizeof(dvi_map_entry);
}
