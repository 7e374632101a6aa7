/* dvi_inbuf: a connection's unconsumed input, and a buffer of its own
 * for each large frame (see inbuf.h). */
#include "inbuf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/hugepage.h"

static uint32_t
s_be32(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    return ((uint32_t)u[0] << 24) | ((uint32_t)u[1] << 16) |
           ((uint32_t)u[2] << 8) | u[3];
}

/* Bytes of base before p. */
static size_t
s_lead(const dvi_inbuf *ib)
{
    return ib->base ? (size_t)(ib->p - ib->base) : 0;
}

void
dvi_inbuf_fini(dvi_inbuf *ib)
{
    free(ib->base);
    memset(ib, 0, sizeof(*ib));
}

/* Moves the bytes held, which begin a frame of `whole` bytes, to a buffer
 * of that size ending on an 8-byte boundary. 0, or -1 when out of
 * memory. */
static int
s_frame_buffer(dvi_inbuf *ib, size_t whole)
{
    size_t lead = (8 - whole % 8) % 8; /* malloc's memory is 16-aligned */
    char *base = dvi_hugepage_alloc(lead + whole);
    if (base == NULL) {
        return -1;
    }
    memcpy(base + lead, ib->p, ib->len);
    free(ib->base);
    ib->base = base;
    ib->p = base + lead;
    ib->cap = whole;
    return 0;
}

void
dvi_inbuf_alloc(dvi_inbuf *ib, size_t max, uv_buf_t *buf)
{
    size_t want = ib->len + DVI_INBUF_CHUNK;
    if (ib->len >= 4) {
        size_t whole = 4 + (size_t)s_be32(ib->p);
        if (whole > DVI_INBUF_CHUNK && whole - 4 <= max) {
            if (ib->cap < whole && s_frame_buffer(ib, whole) < 0) {
                *buf = uv_buf_init(NULL, 0);
                return;
            }
            want = whole;
        }
    }
    if (want > ib->cap) {
        size_t lead = s_lead(ib);
        char *p = realloc(ib->base, lead + want);
        if (p == NULL) {
            *buf = uv_buf_init(NULL, 0);
            return;
        }
        ib->base = p;
        ib->p = p + lead;
        ib->cap = want;
    }
    buf->base = ib->p + ib->len;
    buf->len = ib->cap - ib->len;
}

void
dvi_inbuf_consume(dvi_inbuf *ib, size_t n)
{
    if (n > 0) {
        memmove(ib->p, ib->p + n, ib->len - n);
        ib->len -= n;
    }
    if (ib->cap <= 4 * DVI_INBUF_CHUNK || ib->len >= DVI_INBUF_CHUNK) {
        return;
    }
    /* Give back the memory of a large frame once it is consumed. */
    char *small = NULL;
    if (ib->len > 0) {
        small = malloc(DVI_INBUF_CHUNK);
        if (small == NULL) {
            return; /* the large one serves */
        }
        memcpy(small, ib->p, ib->len);
    }
    free(ib->base);
    ib->base = ib->p = small;
    ib->cap = small ? DVI_INBUF_CHUNK : 0;
}

int
dvi_inbuf_adopt(dvi_inbuf *ib, char *base, size_t len)
{
    if (ib->len == 0) {
        free(ib->base); /* the buffer becomes ours: no copy */
        ib->base = ib->p = base;
        ib->cap = ib->len = len;
        return 0;
    }
    size_t lead = s_lead(ib);
    char *p = realloc(ib->base, lead + ib->len + len);
    if (p == NULL) {
        free(base);
        return -1;
    }
    memcpy(p + lead + ib->len, base, len);
    free(base);
    ib->base = p;
    ib->p = p + lead;
    ib->len += len;
    ib->cap = ib->len;
    return 0;
}

void *
dvi_inbuf_take(dvi_inbuf *ib, size_t n)
{
    size_t rest = ib->len - n, cap = 0;
    char *next = NULL;
    if (rest > 0) {
        cap = rest > DVI_INBUF_CHUNK ? rest : DVI_INBUF_CHUNK;
        next = malloc(cap);
        if (next == NULL) {
            return NULL;
        }
        memcpy(next, ib->p + n, rest);
    }
    void *base = ib->base;
    ib->base = ib->p = next;
    ib->cap = cap;
    ib->len = rest;
    return base;
}
