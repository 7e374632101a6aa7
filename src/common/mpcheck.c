/* dvi_mpcheck: a bounds-checking walk over msgpack's type bytes. */
#include "mpcheck.h"

#include <stdint.h>

#include "drove.h"
#include "err.h"

typedef struct s_walk {
    const unsigned char *p;
    size_t left;
    size_t objects;
} s_walk;

static int
s_take(s_walk *w, size_t n, uint64_t *out)
{
    if (w->left < n) {
        return -1;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        v = (v << 8) | w->p[i];
    }
    w->p += n;
    w->left -= n;
    *out = v;
    return 0;
}

static int
s_skip(s_walk *w, uint64_t n)
{
    if (w->left < n) {
        return -1;
    }
    w->p += n;
    w->left -= n;
    return 0;
}

static int s_object(s_walk *w, int depth);

static int
s_container(s_walk *w, uint64_t count, int depth)
{
    /* Every element needs at least one byte: reject counts that cannot
     * fit before anything is allocated for them. */
    if (count > w->left || depth >= DVI_MPCHECK_MAX_DEPTH) {
        return -1;
    }
    for (uint64_t i = 0; i < count; i++) {
        if (s_object(w, depth + 1) < 0) {
            return -1;
        }
    }
    return 0;
}

static int
s_object(s_walk *w, int depth)
{
    uint64_t t, n;
    if (++w->objects > DVI_MPCHECK_MAX_OBJECTS || s_take(w, 1, &t) < 0) {
        return -1;
    }
    if (t <= 0x7f || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3) {
        return 0; /* fixint, nil, bool */
    }
    if ((t & 0xe0) == 0xa0) {
        return s_skip(w, t & 0x1f); /* fixstr */
    }
    if ((t & 0xf0) == 0x90) {
        return s_container(w, t & 0x0f, depth);
    }
    if ((t & 0xf0) == 0x80) {
        return s_container(w, (t & 0x0f) * 2, depth);
    }
    switch (t) {
    case 0xcc:
    case 0xd0: return s_skip(w, 1);
    case 0xcd:
    case 0xd1: return s_skip(w, 2);
    case 0xce:
    case 0xd2:
    case 0xca: return s_skip(w, 4);
    case 0xcf:
    case 0xd3:
    case 0xcb: return s_skip(w, 8);
    case 0xd9:
    case 0xc4: return s_take(w, 1, &n) < 0 ? -1 : s_skip(w, n);
    case 0xda:
    case 0xc5: return s_take(w, 2, &n) < 0 ? -1 : s_skip(w, n);
    case 0xdb:
    case 0xc6: return s_take(w, 4, &n) < 0 ? -1 : s_skip(w, n);
    case 0xd4: return s_skip(w, 1 + 1);
    case 0xd5: return s_skip(w, 1 + 2);
    case 0xd6: return s_skip(w, 1 + 4);
    case 0xd7: return s_skip(w, 1 + 8);
    case 0xd8: return s_skip(w, 1 + 16);
    case 0xc7: return s_take(w, 1, &n) < 0 ? -1 : s_skip(w, n + 1);
    case 0xc8: return s_take(w, 2, &n) < 0 ? -1 : s_skip(w, n + 1);
    case 0xc9: return s_take(w, 4, &n) < 0 ? -1 : s_skip(w, n + 1);
    case 0xdc: return s_take(w, 2, &n) < 0 ? -1 : s_container(w, n, depth);
    case 0xdd: return s_take(w, 4, &n) < 0 ? -1 : s_container(w, n, depth);
    case 0xde: return s_take(w, 2, &n) < 0 ? -1 : s_container(w, n * 2, depth);
    case 0xdf: return s_take(w, 4, &n) < 0 ? -1 : s_container(w, n * 2, depth);
    default: return -1; /* 0xc1 is never used */
    }
}

int
dvi_mpcheck(const char *buf, size_t len)
{
    s_walk w = {(const unsigned char *)buf, len, 0};
    if (s_object(&w, 0) < 0) {
        return dvi_seterr(DV_EPROTO,
                          "malformed or oversized msgpack (%zu bytes)", len);
    }
    if (w.left != 0) {
        return dvi_seterr(DV_EPROTO, "%zu trailing bytes after msgpack",
                          w.left);
    }
    return 0;
}
