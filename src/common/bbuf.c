/* dvi_bbuf: a byte buffer that starts inside itself and ends as an
 * exact-size blob. */
#include "bbuf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

void
dvi_bbuf_init(dvi_bbuf *b)
{
    b->heap = NULL;
    b->len = 0;
    b->cap = sizeof(b->small);
}

void
dvi_bbuf_fini(dvi_bbuf *b)
{
    free(b->heap);
    dvi_bbuf_init(b);
}

const char *
dvi_bbuf_data(const dvi_bbuf *b)
{
    return b->heap ? b->heap : b->small;
}

/* Makes room for n more bytes: doubling, so writes stay amortised O(1). */
static void
s_reserve(dvi_bbuf *b, size_t n)
{
    if (n > SIZE_MAX / 2 - b->len) {
        dvi_oom(n);
    }
    size_t want = b->len + n;
    size_t cap = b->cap * 2;
    while (cap < want) {
        cap *= 2;
    }
    if (b->heap == NULL) {
        b->heap = dvi_malloc(cap);
        memcpy(b->heap, b->small, b->len);
    } else {
        b->heap = dvi_realloc(b->heap, cap);
    }
    b->cap = cap;
}

int
dvi_bbuf_write(void *data, const char *p, size_t n)
{
    dvi_bbuf *b = data;
    if (n > b->cap - b->len) {
        s_reserve(b, n);
    }
    if (n > 0) {
        memcpy((b->heap ? b->heap : b->small) + b->len, p, n);
        b->len += n;
    }
    return 0;
}

dvi_blob *
dvi_bbuf_finish(dvi_bbuf *b)
{
    dvi_blob *blob;
    if (b->heap == NULL || b->len <= DVI_BBUF_COPY_MAX) {
        blob = dvi_blob_copy(dvi_bbuf_data(b), b->len);
        dvi_bbuf_fini(b);
        return blob;
    }
    /* Large: give back the unused tail in place (glibc's realloc splits a
     * heap chunk, or remaps an mmapped one, rather than copy). */
    char *data = realloc(b->heap, b->len);
    if (data == NULL) {
        data = b->heap; /* keeping the slack is no error */
    }
    blob = dvi_blob_adopt(data, data, b->len);
    dvi_bbuf_init(b);
    return blob;
}
