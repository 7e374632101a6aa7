/* dvi_outbox: batching messages into frames, with spliced blobs. */
#include "outbox.h"

#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "msg.h"

static void
s_put_be32(char *p, uint32_t v)
{
    p[0] = (char)(v >> 24);
    p[1] = (char)(v >> 16);
    p[2] = (char)(v >> 8);
    p[3] = (char)v;
}

void
dvi_outbox_init(dvi_outbox *o, dvi_outbox_notify_fn notify, void *ctx)
{
    memset(o, 0, sizeof(*o));
    msgpack_sbuffer_init(&o->sb);
    msgpack_packer_init(&o->pk, &o->sb, dvi_sbuffer_write);
    o->notify = notify;
    o->ctx = ctx;
}

static void
s_release_segs(dvi_outbox_seg *segs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        dvi_blob_rele(segs[i].blob);
    }
}

void
dvi_outbox_fini(dvi_outbox *o)
{
    msgpack_sbuffer_destroy(&o->sb);
    s_release_segs(o->segs, o->nsegs);
    free(o->segs);
    memset(o, 0, sizeof(*o));
}

/* Makes room for n more messages, starting a frame if none is open. */
static void
s_begin(dvi_outbox *o, uint32_t n)
{
    if (o->nmsgs > 0 && o->sb.size + o->seg_bytes >= DVI_OUTBOX_FLUSH_AT &&
        o->notify) {
        o->notify(o->ctx, DVI_OUTBOX_FULL);
    }
    if (o->nmsgs == 0) {
        static const char zero[DVI_OUTBOX_HEADER];
        msgpack_sbuffer_write(&o->sb, zero, DVI_OUTBOX_HEADER);
        o->nmsgs = n;
        if (o->notify) {
            o->notify(o->ctx, DVI_OUTBOX_ARMED);
        }
        return;
    }
    o->nmsgs += n;
}

msgpack_packer *
dvi_outbox_msg(dvi_outbox *o, int type, uint32_t nfields)
{
    s_begin(o, 1);
    msgpack_pack_array(&o->pk, nfields + 1);
    msgpack_pack_int(&o->pk, type);
    return &o->pk;
}

void
dvi_outbox_put_blob(dvi_outbox *o, dvi_blob *b)
{
    /* Before any message the header would later land after the blob. */
    dvi_assert(o->nmsgs > 0);
    if (o->nsegs == o->capsegs) {
        o->capsegs = o->capsegs ? o->capsegs * 2 : 4;
        o->segs = dvi_realloc(o->segs, o->capsegs * sizeof(*o->segs));
    }
    o->segs[o->nsegs].at = o->sb.size;
    o->segs[o->nsegs].blob = dvi_blob_hold(b);
    o->nsegs++;
    o->seg_bytes += b->len;
}

void
dvi_outbox_append(dvi_outbox *o, const char *bytes, size_t len, uint32_t n)
{
    if (n == 0) {
        return;
    }
    s_begin(o, n);
    msgpack_sbuffer_write(&o->sb, bytes, len);
}

void
dvi_outbox_move(dvi_outbox *dst, dvi_outbox *src)
{
    if (src->nmsgs == 0) {
        return;
    }
    if (dst->nmsgs == 0) {
        /* The common case: hand the whole batch over, copying nothing. */
        dvi_outbox moved = *src;
        src->sb = dst->sb;
        src->segs = dst->segs;
        src->capsegs = dst->capsegs;
        src->nsegs = 0;
        src->seg_bytes = 0;
        src->nmsgs = 0;
        dst->sb = moved.sb;
        dst->segs = moved.segs;
        dst->capsegs = moved.capsegs;
        dst->nsegs = moved.nsegs;
        dst->seg_bytes = moved.seg_bytes;
        dst->nmsgs = moved.nmsgs;
        if (dst->notify) {
            dst->notify(dst->ctx, DVI_OUTBOX_ARMED);
        }
        return;
    }
    s_begin(dst, src->nmsgs);
    size_t base = dst->sb.size;
    msgpack_sbuffer_write(&dst->sb, src->sb.data + DVI_OUTBOX_HEADER,
                          src->sb.size - DVI_OUTBOX_HEADER);
    for (size_t i = 0; i < src->nsegs; i++) {
        if (dst->nsegs == dst->capsegs) {
            dst->capsegs = dst->capsegs ? dst->capsegs * 2 : 4;
            dst->segs =
                dvi_realloc(dst->segs, dst->capsegs * sizeof(*dst->segs));
        }
        dst->segs[dst->nsegs] = src->segs[i]; /* the reference moves too */
        dst->segs[dst->nsegs].at = base + src->segs[i].at - DVI_OUTBOX_HEADER;
        dst->nsegs++;
    }
    dst->seg_bytes += src->seg_bytes;
    src->sb.size = 0;
    src->nsegs = 0;
    src->seg_bytes = 0;
    src->nmsgs = 0;
}

uint32_t
dvi_outbox_count(const dvi_outbox *o)
{
    return o->nmsgs;
}

int
dvi_outbox_take(dvi_outbox *o, dvi_outbox_frame *out)
{
    if (o->nmsgs == 0) {
        return -1;
    }
    out->len = o->sb.size;
    out->buf = msgpack_sbuffer_release(&o->sb);
    out->segs = o->segs;
    out->nsegs = o->nsegs;
    out->seg_bytes = o->seg_bytes;
    out->nmsgs = o->nmsgs;
    s_put_be32(out->buf, (uint32_t)(out->len + out->seg_bytes - 4));
    out->buf[4] = (char)0xdd; /* array 32 */
    s_put_be32(out->buf + 5, o->nmsgs);
    o->nmsgs = 0;
    o->segs = NULL;
    o->nsegs = o->capsegs = 0;
    o->seg_bytes = 0;
    return 0;
}

void
dvi_outbox_frame_flatten(dvi_outbox_frame *f)
{
    if (f->nsegs == 0) {
        return;
    }
    char *whole = dvi_malloc(f->len + f->seg_bytes);
    size_t from = 0, to = 0;
    for (size_t i = 0; i < f->nsegs; i++) {
        const dvi_outbox_seg *s = &f->segs[i];
        memcpy(whole + to, f->buf + from, s->at - from);
        to += s->at - from;
        from = s->at;
        memcpy(whole + to, s->blob->data, s->blob->len);
        to += s->blob->len;
    }
    memcpy(whole + to, f->buf + from, f->len - from);
    s_release_segs(f->segs, f->nsegs);
    free(f->segs);
    free(f->buf);
    f->buf = whole;
    f->len += f->seg_bytes;
    f->segs = NULL;
    f->nsegs = 0;
    f->seg_bytes = 0;
}

/* The length of the bin header of n bytes that ends at byte `at` of buf
 * (as msgpack-c packs it: the smallest that fits), or 0 if there is none.
 * A header of one size cannot pass for another: the bytes a longer one
 * would need to be 0 are the shorter one's type byte. */
static size_t
s_bin_header(const char *buf, size_t at, size_t n)
{
    const unsigned char *u = (const unsigned char *)buf + at;
    if (at >= 5 && u[-5] == 0xc6 &&
        (((uint32_t)u[-4] << 24) | ((uint32_t)u[-3] << 16) |
         ((uint32_t)u[-2] << 8) | u[-1]) == n) {
        return 5;
    }
    if (at >= 3 && u[-3] == 0xc5 && (((size_t)u[-2] << 8) | u[-1]) == n) {
        return 3;
    }
    if (at >= 2 && u[-2] == 0xc4 && u[-1] == n) {
        return 2;
    }
    return 0;
}

int
dvi_outbox_frame_hollow(dvi_outbox_frame *f)
{
    static const char marker[] = {(char)0xc4, 1, 0};
    size_t len = f->len, from = 0;
    for (size_t i = 0; i < f->nsegs; i++) {
        const dvi_outbox_seg *s = &f->segs[i];
        size_t h = s_bin_header(f->buf, s->at, s->blob->len);
        if (h == 0 || s->at - h < from) {
            return -1;
        }
        len = len - h + sizeof(marker);
        from = s->at;
    }
    char *hollow = dvi_malloc(len);
    size_t to = 0;
    from = 0;
    for (size_t i = 0; i < f->nsegs; i++) {
        dvi_outbox_seg *s = &f->segs[i];
        size_t h = s_bin_header(f->buf, s->at, s->blob->len);
        memcpy(hollow + to, f->buf + from, s->at - h - from);
        to += s->at - h - from;
        memcpy(hollow + to, marker, sizeof(marker));
        to += sizeof(marker);
        from = s->at;
        s->at = to - 1;
    }
    memcpy(hollow + to, f->buf + from, f->len - from);
    s_put_be32(hollow, (uint32_t)(len - 4));
    free(f->buf);
    f->buf = hollow;
    f->len = len;
    f->seg_bytes = 0;
    return 0;
}

void
dvi_outbox_frame_fini(dvi_outbox_frame *f)
{
    s_release_segs(f->segs, f->nsegs);
    free(f->segs);
    free(f->buf);
    memset(f, 0, sizeof(*f));
}
