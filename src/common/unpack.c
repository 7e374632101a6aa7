/* dvi_unpack: decoding into zones kept per thread (see unpack.h). */
#include "unpack.h"

#include <pthread.h>
#include <stdlib.h>

/* Zones a thread keeps: decodings under way at once (a frame's, and a
 * value's inside it, and a spare). */
#define S_KEEP 3
/* The largest zone a thread keeps. */
#define S_ZONE_MAX (256u << 10)

typedef struct s_pool {
    msgpack_zone *zones[S_KEEP];
    int n;
} s_pool;

static pthread_key_t s_key;
static pthread_once_t s_once = PTHREAD_ONCE_INIT;

static void
s_pool_free(void *p)
{
    s_pool *pool = p;
    for (int i = 0; i < pool->n; i++) {
        msgpack_zone_free(pool->zones[i]);
    }
    free(pool);
}

static void
s_key_init(void)
{
    /* A thread's zones go with it: executor threads come and go. */
    (void)pthread_key_create(&s_key, s_pool_free);
}

static s_pool *
s_pool_get(void)
{
    pthread_once(&s_once, s_key_init);
    s_pool *pool = pthread_getspecific(s_key);
    if (pool == NULL && (pool = calloc(1, sizeof(*pool))) != NULL &&
        pthread_setspecific(s_key, pool) != 0) {
        free(pool);
        pool = NULL;
    }
    return pool;
}

int
dvi_unpack(const char *buf, size_t len, dvi_unpacked *u)
{
    s_pool *pool = s_pool_get();
    size_t off = 0;
    u->zone = pool && pool->n > 0 ? pool->zones[--pool->n]
                                  : msgpack_zone_new(MSGPACK_ZONE_CHUNK_SIZE);
    u->first = u->zone ? u->zone->chunk_list.head : NULL;
    if (u->zone == NULL || msgpack_unpack(buf, len, &off, u->zone, &u->data) !=
                               MSGPACK_UNPACK_SUCCESS) {
        dvi_unpacked_fini(u);
        return -1;
    }
    return 0;
}

void
dvi_unpacked_fini(dvi_unpacked *u)
{
    msgpack_zone *z = u->zone;
    u->zone = NULL;
    if (z == NULL) {
        return;
    }
    /* Clearing frees every chunk but the zone's first, whatever the
     * object took; one that grew is replaced by a larger one. */
    size_t grown = 0;
    if (z->chunk_list.head != u->first && z->chunk_size < S_ZONE_MAX) {
        grown = z->chunk_size * 4 < S_ZONE_MAX ? z->chunk_size * 4 : S_ZONE_MAX;
    }
    s_pool *pool = pthread_getspecific(s_key);
    if (grown) {
        msgpack_zone_free(z);
        z = msgpack_zone_new(grown);
    } else {
        msgpack_zone_clear(z);
    }
    if (z != NULL && pool != NULL && pool->n < S_KEEP) {
        pool->zones[pool->n++] = z;
        return;
    }
    if (z != NULL) {
        msgpack_zone_free(z);
    }
}
