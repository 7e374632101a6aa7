/* Reading frames: the checked decode and dispatch of a batch of messages. */
#include "msg.h"

#include <string.h>

#include "common/err.h"
#include "common/mpcheck.h"
#include "common/unpack.h"
#include "drove.h"

#define S_COUNT_(kind, name) +DVI_MSG_REQUIRED_##kind
static const struct {
    const char *name;
    uint32_t min_fields;
} s_table[DVI_MSG_MAX] = {
#define DVI_XX_(NAME, num, lname) \
    [num] = {#NAME, 0 DVI_MSG_FIELDS_##lname(S_COUNT_)},
    DVI_MSG_MAP(DVI_XX_)
#undef DVI_XX_
};
#undef S_COUNT_

uint32_t
dvi_msg_min_fields(int type)
{
    if (type <= 0 || type >= DVI_MSG_MAX) {
        return 0;
    }
    return s_table[type].min_fields;
}

const char *
dvi_msg_name(int type)
{
    if (type <= 0 || type >= DVI_MSG_MAX || s_table[type].name == NULL) {
        return "?";
    }
    return s_table[type].name;
}

/* Points the fields of message m that stand for blobs (one-byte bins at
 * the offsets of refs) at the blobs' bytes. */
static void
s_resolve_refs(const char *buf, msgpack_object *m, const dvi_outbox_seg *refs,
               size_t nrefs)
{
    for (uint32_t j = 1; j < m->via.array.size; j++) {
        msgpack_object *o = &m->via.array.ptr[j];
        if (o->type != MSGPACK_OBJECT_BIN || o->via.bin.size != 1) {
            continue;
        }
        for (size_t k = 0; k < nrefs; k++) {
            if (o->via.bin.ptr == buf + refs[k].at) {
                o->via.bin.ptr = refs[k].blob->data;
                o->via.bin.size = (uint32_t)refs[k].blob->len;
                break;
            }
        }
    }
}

int
dvi_msg_each_refs(const char *buf, size_t len, const dvi_outbox_seg *refs,
                  size_t nrefs, int checked, dvi_msg_fn fn, void *ctx)
{
    dvi_unpacked u;
    int rc = checked ? dvi_mpcheck(buf, len) : 0;
    if (rc < 0) {
        return rc;
    }
    if (dvi_unpack(buf, len, &u) < 0 || u.data.type != MSGPACK_OBJECT_ARRAY) {
        dvi_unpacked_fini(&u);
        return dvi_seterr(DV_EPROTO, "frame of %zu bytes is not a batch", len);
    }
    const msgpack_object_array *batch = &u.data.via.array;
    for (uint32_t i = 0; i < batch->size && rc >= 0; i++) {
        msgpack_object *m = &batch->ptr[i];
        uint64_t type;
        if (m->type != MSGPACK_OBJECT_ARRAY || m->via.array.size == 0 ||
            dvi_msg_u64(&m->via.array.ptr[0], &type) < 0 ||
            type >= DVI_MSG_MAX || s_table[type].name == NULL) {
            rc = dvi_seterr(DV_EPROTO, "message %u of a batch is malformed", i);
            break;
        }
        uint32_t n = m->via.array.size - 1;
        if (n < s_table[type].min_fields) {
            rc = dvi_seterr(DV_EPROTO, "%s with %u fields, needs %u",
                            s_table[type].name, n, s_table[type].min_fields);
            break;
        }
        if (nrefs > 0) {
            s_resolve_refs(buf, m, refs, nrefs);
        }
        rc = fn(ctx, (int)type, m->via.array.ptr + 1, n);
    }
    dvi_unpacked_fini(&u);
    return rc;
}

int
dvi_msg_each(const char *buf, size_t len, dvi_msg_fn fn, void *ctx)
{
    return dvi_msg_each_refs(buf, len, NULL, 0, 1, fn, ctx);
}

int
dvi_msg_u64(const msgpack_object *o, uint64_t *out)
{
    *out = 0;
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
        return dvi_seterr(DV_EPROTO, "expected an unsigned integer");
    }
    *out = o->via.u64;
    return 0;
}

int
dvi_msg_i64(const msgpack_object *o, int64_t *out)
{
    *out = 0;
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *out = o->via.i64;
        return 0;
    }
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT64_MAX) {
        *out = (int64_t)o->via.u64;
        return 0;
    }
    return dvi_seterr(DV_EPROTO, "expected an integer");
}

int
dvi_msg_bytes(const msgpack_object *o, const char **p, size_t *n)
{
    *p = NULL;
    *n = 0;
    if (o->type != MSGPACK_OBJECT_STR && o->type != MSGPACK_OBJECT_BIN) {
        return dvi_seterr(DV_EPROTO, "expected a string");
    }
    *p = o->via.str.ptr;
    *n = o->via.str.size;
    return 0;
}

int
dvi_msg_opt_bytes(const msgpack_object *o, const char **p, size_t *n)
{
    if (o->type == MSGPACK_OBJECT_NIL) {
        *p = NULL;
        *n = 0;
        return 0;
    }
    return dvi_msg_bytes(o, p, n);
}

int
dvi_msg_str(const msgpack_object *o, char *buf, size_t size)
{
    const char *p;
    size_t n;
    if (dvi_msg_bytes(o, &p, &n) < 0) {
        return DV_EPROTO;
    }
    if (n >= size || (n > 0 && memchr(p, '\0', n) != NULL)) {
        return dvi_seterr(DV_EPROTO, "string of %zu bytes (max %zu)", n,
                          size - 1);
    }
    if (n > 0) { /* msgpack-c gives NULL for an empty string */
        memcpy(buf, p, n);
    }
    buf[n] = '\0';
    return 0;
}

/* Out of line: the common path then saves no registers. */
__attribute__((noinline)) static int
s_sbuffer_write_long(void *sbuf, const char *buf, size_t len)
{
    return msgpack_sbuffer_write(sbuf, buf, len);
}

int
dvi_sbuffer_write(void *sbuf, const char *buf, size_t len)
{
    msgpack_sbuffer *sb = sbuf;
    if (len == 0) {
        return 0; /* an empty string's body: data may still be NULL */
    }
    if (len > 16 || sb->alloc - sb->size < len) {
        return s_sbuffer_write_long(sbuf, buf, len);
    }
    /* Two fixed-size copies that overlap cover any length up to twice
     * theirs, without a call. */
    char *to = sb->data + sb->size;
    if (len >= 8) {
        memcpy(to, buf, 8);
        memcpy(to + len - 8, buf + len - 8, 8);
    } else if (len >= 4) {
        memcpy(to, buf, 4);
        memcpy(to + len - 4, buf + len - 4, 4);
    } else if (len >= 2) {
        memcpy(to, buf, 2);
        memcpy(to + len - 2, buf + len - 2, 2);
    } else {
        to[0] = buf[0];
    }
    sb->size += len;
    return 0;
}

void
dvi_pack_str(msgpack_packer *pk, const char *s)
{
    if (s == NULL) {
        msgpack_pack_nil(pk);
        return;
    }
    dvi_pack_strn(pk, s, strlen(s));
}

void
dvi_pack_strn(msgpack_packer *pk, const char *s, size_t n)
{
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

void
dvi_pack_bin(msgpack_packer *pk, const void *p, size_t n)
{
    msgpack_pack_bin(pk, n);
    msgpack_pack_bin_body(pk, p, n);
}
