/* dvi_blob: reference-counted immutable bytes, inline after the header
 * unless adopted. */
#include "blob.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "hugepage.h"

dvi_blob *
dvi_blob_new(size_t len, size_t offset)
{
    /* malloc returns 16-byte aligned memory and the header is a multiple
     * of 8 bytes: pad so data + offset is 8-byte aligned too. */
    size_t pad = (8 - offset % 8) % 8;
    if (len > SIZE_MAX - sizeof(dvi_blob) - pad - 1) {
        dvi_oom(len);
    }
    /* A large result is written whole, by its task, right after this. */
    dvi_blob *b = dvi_hugepage_alloc(sizeof(*b) + pad + len + 1);
    if (b == NULL) {
        dvi_oom(len);
    }
    b->data = (char *)(b + 1) + pad;
    b->data[len] = '\0';
    b->len = len;
    b->base = NULL;
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

int
dvi_blob_is_adopted(const dvi_blob *b)
{
    return b->base != NULL;
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
    if (atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) != 1) {
        return;
    }
    if (b->base != NULL) {
        /* Malloc'ed, and at least as long as the bytes it holds: a large
         * received frame is kept for the next one, as a result is. */
        dvi_hugepage_free(b->base,
                          (size_t)(b->data - (char *)b->base) + b->len);
        free(b);
    } else {
        /* Its own: a large one is kept for the next result (hugepage.h). */
        dvi_hugepage_free(b, (size_t)(b->data - (char *)b) + b->len + 1);
    }
}
