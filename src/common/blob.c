/* dvi_blob: reference-counted immutable bytes. */
#include "blob.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

dvi_blob *
dvi_blob_new(size_t len, size_t offset)
{
    dvi_blob *b = dvi_malloc(sizeof(*b));
    /* malloc returns 16-byte aligned memory: pad so data + offset is too. */
    size_t pad = (8 - offset % 8) % 8;
    b->base = malloc(len + pad + 1);
    if (b->base == NULL) {
        dvi_oom(len);
    }
    b->data = (char *)b->base + pad;
    b->len = len;
    atomic_init(&b->refs, 1);
    return b;
}

dvi_blob *
dvi_blob_copy(const void *p, size_t n)
{
    dvi_blob *b = dvi_blob_new(n, 0);
    if (n > 0) {
        memcpy(b->data, p, n);
    }
    return b;
}

dvi_blob *
dvi_blob_adopt(void *base, char *data, size_t len)
{
    dvi_blob *b = dvi_malloc(sizeof(*b));
    b->base = base;
    b->data = data;
    b->len = len;
    atomic_init(&b->refs, 1);
    return b;
}

dvi_blob *
dvi_blob_hold(dvi_blob *b)
{
    atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
    return b;
}

void
dvi_blob_rele(dvi_blob *b)
{
    if (b == NULL) {
        return;
    }
    if (atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1) {
        free(b->base);
        free(b);
    }
}
