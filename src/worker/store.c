/* dvi_store: a worker's results by key, each one allocation with its key
 * inline, counted in results and bytes; past a target, the least recently
 * used large ones are spilled to disk and read back when asked for.
 *
 * A result of DVI_STORE_SPILL_MIN bytes or more carries an s_big in front
 * of its item, in the same allocation: its place in the LRU list and its
 * file. Small results, a worker's millions of tiny ones, pay nothing for
 * spilling. A large result is in one of four states:
 *
 *   in memory           blob set, no file, in the list
 *   being written       blob set, write set, out of the list
 *   in memory and file  blob set, file set, in the list: spilled again by
 *                       dropping the blob (it was read back)
 *   on disk             no blob, file set, out of the list
 */
#include "store.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "common/map.h"

typedef struct s_item {
    dvi_blob *blob; /* held; NULL while on disk only */
    uint8_t big;    /* an s_big precedes the item in its allocation */
    char key[];     /* the map's key points here */
} s_item;

typedef struct s_write s_write;

typedef struct s_big {
    struct s_big *prev, *next; /* the list, most recently used first */
    uint64_t len;              /* the result's bytes, wherever it is */
    uint64_t file;             /* its file's number, or 0 */
    s_write *write;            /* the write under way, or NULL */
    int touched;               /* used while being written: stays */
} s_big;

_Static_assert(sizeof(s_big) % _Alignof(s_item) == 0, "s_item alignment");

/* A write on its way; b is NULL once the result is gone. */
struct s_write {
    dvi_store *s;
    s_big *b;
};

struct dvi_store {
    dvi_map items;       /* key -> s_item */
    uint64_t bytes;      /* results in memory (being written included) */
    uint64_t writing;    /* bytes of results being written */
    uint64_t disk_bytes; /* results on disk only */
    size_t ndisk;
    s_big *mru, *lru; /* large results in memory, not being written */
    dvi_spill *spill; /* borrowed, or NULL: no spilling */
    uint64_t target;  /* bytes in memory to spill down to */
    uint64_t files;   /* numbers given to files so far */
    size_t nwrites;   /* writes whose callback has not come */
    int evicting;     /* in s_evict: a write ending inside it (no job
                         thread) starts no eviction of its own */
};

static s_big *
s_big_of(s_item *it)
{
    return (s_big *)((char *)it - sizeof(s_big));
}

static s_item *
s_item_of(s_big *b)
{
    return (s_item *)((char *)b + sizeof(s_big));
}

static void
s_unlink(dvi_store *s, s_big *b)
{
    *(b->prev ? &b->prev->next : &s->mru) = b->next;
    *(b->next ? &b->next->prev : &s->lru) = b->prev;
    b->prev = b->next = NULL;
}

static void
s_push_mru(dvi_store *s, s_big *b)
{
    b->prev = NULL;
    b->next = s->mru;
    *(s->mru ? &s->mru->prev : &s->lru) = b;
    s->mru = b;
}

/* Back where eviction looks first (a write that could not be made). */
static void
s_push_lru(dvi_store *s, s_big *b)
{
    b->next = NULL;
    b->prev = s->lru;
    *(s->lru ? &s->lru->next : &s->mru) = b;
    s->lru = b;
}

static int
s_in_list(const s_item *it, const s_big *b)
{
    return it->blob != NULL && b->write == NULL;
}

dvi_store *
dvi_store_new(void)
{
    dvi_store *s = dvi_calloc(1, sizeof(*s));
    dvi_map_init(&s->items);
    s->target = UINT64_MAX;
    return s;
}

static void
s_free_item(s_item *it)
{
    free(it->big ? (void *)s_big_of(it) : (void *)it);
}

void
dvi_store_destroy(dvi_store **sp)
{
    dvi_store *s = *sp;
    if (s == NULL) {
        return;
    }
    *sp = NULL;
    if (s->nwrites > 0) {
        dvi_spill_wait(s->spill); /* their callbacks touch the store */
    }
    dvi_map_entry *e;
    for (size_t i = 0; dvi_map_next(&s->items, &i, &e);) {
        s_item *it = e->val;
        dvi_blob_rele(it->blob);
        s_free_item(it);
    }
    dvi_map_fini(&s->items);
    free(s);
}

/* Releases an item taken out of the map: its memory, its file, its
 * write (which then ends to no one). */
static void
s_forget(dvi_store *s, s_item *it)
{
    uint64_t len = it->blob ? it->blob->len : 0;
    if (it->big) {
        s_big *b = s_big_of(it);
        len = b->len;
        if (s_in_list(it, b)) {
            s_unlink(s, b);
        }
        if (b->write != NULL) {
            b->write->b = NULL;
            s->writing -= len;
        }
        if (it->blob == NULL) {
            s->disk_bytes -= len;
            s->ndisk--;
        }
        if (b->file != 0 && s->spill != NULL) {
            dvi_spill_remove(s->spill, b->file); /* after its write */
        }
    }
    if (it->blob != NULL) {
        s->bytes -= len;
        dvi_blob_rele(it->blob);
    }
    s_free_item(it);
}

size_t
dvi_store_clear(dvi_store *s)
{
    size_t n = s->items.len;
    dvi_map_entry *e;
    for (size_t i = 0; dvi_map_next(&s->items, &i, &e);) {
        s_forget(s, e->val); /* the map is dropped whole next */
    }
    dvi_map_fini(&s->items);
    dvi_map_init(&s->items);
    return n;
}

/* Drops the memory of a result whose file is complete. */
static void
s_to_disk(dvi_store *s, s_big *b)
{
    s_item *it = s_item_of(b);
    s->bytes -= b->len;
    s->disk_bytes += b->len;
    s->ndisk++;
    dvi_blob_rele(it->blob);
    it->blob = NULL;
}

static void s_evict(dvi_store *s, const s_big *keep);

static void
s_written(void *ctx, int rc, const char *why)
{
    s_write *w = ctx;
    dvi_store *s = w->s;
    s_big *b = w->b;
    free(w);
    s->nwrites--;
    if (b == NULL) {
        return; /* deleted meanwhile; its file's removal was queued */
    }
    b->write = NULL;
    s->writing -= b->len;
    if (rc < 0) {
        DVI_LOG(DVI_LOG_WARN, "WORKER",
                "cannot spill a result of %llu bytes, keeping it in memory: "
                "%s",
                (unsigned long long)b->len, why);
        b->file = 0;
        s_push_lru(s, b);
        return;
    }
    if (b->touched) {
        s_push_mru(s, b); /* used meanwhile: stays, its file a clean copy */
    } else {
        s_to_disk(s, b);
    }
    s_evict(s, NULL);
}

/* Starts writing b; returns 0, or -1 if the spill refused (b is then back
 * at the end of the list). */
static int
s_start_write(dvi_store *s, s_big *b)
{
    s_write *w = dvi_malloc(sizeof(*w));
    w->s = s;
    w->b = b;
    b->write = w;
    b->touched = 0;
    b->file = ++s->files;
    s->writing += b->len;
    s->nwrites++;
    /* The callback may run before this returns (no job thread). */
    if (dvi_spill_write(s->spill, b->file, s_item_of(b)->blob, s_written, w) ==
        0) {
        return 0;
    }
    free(w);
    b->write = NULL;
    b->file = 0;
    s->writing -= b->len;
    s->nwrites--;
    s_push_lru(s, b);
    return -1;
}

/* Spills the least recently used results, never keep, until what stays
 * in memory is within the target. */
static void
s_evict(dvi_store *s, const s_big *keep)
{
    if (s->evicting) {
        return; /* a write ended inside the loop below (no job thread) */
    }
    s->evicting = 1;
    while (s->spill != NULL && s->bytes - s->writing > s->target &&
           s->lru != NULL && s->lru != keep) {
        s_big *b = s->lru;
        s_unlink(s, b);
        if (b->file != 0) {
            s_to_disk(s, b); /* read back earlier: its file is whole */
        } else if (s_start_write(s, b) < 0) {
            break; /* the disk failed a moment ago: later */
        }
    }
    s->evicting = 0;
}

void
dvi_store_set_spill(dvi_store *s, dvi_spill *sp)
{
    s->spill = sp;
    s_evict(s, NULL);
}

void
dvi_store_set_target(dvi_store *s, uint64_t target)
{
    s->target = target;
    s_evict(s, NULL);
}

void
dvi_store_put(dvi_store *s, const char *key, dvi_blob *blob)
{
    dvi_blob_hold(blob); /* first: it may be the result it replaces */
    size_t len = strlen(key);
    int big = blob->len >= DVI_STORE_SPILL_MIN;
    size_t pre = big ? sizeof(s_big) : 0;
    char *mem = dvi_malloc(pre + offsetof(s_item, key) + len + 1);
    s_item *it = (s_item *)(mem + pre);
    it->blob = blob;
    it->big = (uint8_t)big;
    memcpy(it->key, key, len + 1);
    /* One probe: the map takes the new item's key, and hands back the
     * result it replaces (the same key again, from a rerun). */
    s_item *old = dvi_map_put(&s->items, it->key, it);
    if (old != NULL) {
        s_forget(s, old);
    }
    s->bytes += blob->len;
    if (big) {
        s_big *b = s_big_of(it);
        memset(b, 0, sizeof(*b));
        b->len = blob->len;
        s_push_mru(s, b);
        s_evict(s, NULL);
    }
}

/* Reads the result of it back from its file; NULL (the key dropped) if
 * it cannot be. */
static dvi_blob *
s_read_back(dvi_store *s, s_item *it)
{
    s_big *b = s_big_of(it);
    dvi_blob *blob =
        s->spill ? dvi_spill_read(s->spill, b->file, b->len) : NULL;
    if (s->spill == NULL) {
        dvi_seterr(DV_EIO, "the spill directory is gone");
    }
    if (blob == NULL) {
        char why[512];
        snprintf(why, sizeof(why), "%s", dv_last_error());
        DVI_LOG(DVI_LOG_WARN, "WORKER", "a spilled result is lost: %s", why);
        dvi_map_del(&s->items, it->key);
        s_forget(s, it);
        dvi_seterr(DV_EIO, "%s", why);
        return NULL;
    }
    it->blob = blob; /* the store's reference */
    s->disk_bytes -= b->len;
    s->ndisk--;
    s->bytes += b->len;
    s_push_mru(s, b);
    s_evict(s, b);
    return blob;
}

dvi_blob *
dvi_store_get(dvi_store *s, const char *key)
{
    s_item *it = dvi_map_get(&s->items, key);
    if (it == NULL || !it->big) {
        return it ? it->blob : NULL;
    }
    s_big *b = s_big_of(it);
    if (it->blob == NULL) {
        return s_read_back(s, it);
    }
    if (b->write != NULL) {
        b->touched = 1;
    } else if (s->mru != b) {
        s_unlink(s, b);
        s_push_mru(s, b);
    }
    return it->blob;
}

int
dvi_store_delete(dvi_store *s, const char *key)
{
    s_item *it = dvi_map_del(&s->items, key);
    if (it == NULL) {
        return 0;
    }
    s_forget(s, it);
    return 1;
}

int
dvi_store_is_spilled(const dvi_store *s, const char *key)
{
    const s_item *it = dvi_map_get(&s->items, key);
    return it != NULL && it->blob == NULL;
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

size_t
dvi_store_spilled_count(const dvi_store *s)
{
    return s->ndisk;
}

uint64_t
dvi_store_spilled_bytes(const dvi_store *s)
{
    return s->disk_bytes;
}

uint64_t
dvi_store_footprint(const dvi_store *s)
{
    /* Per result: malloc's chunk of the item and key (~64 bytes) and of
     * the blob header (32 bytes, plus its bytes); the slot array is
     * counted whole. */
    return s->bytes + s->items.len * 96 + s->items.cap * sizeof(dvi_map_entry);
}
