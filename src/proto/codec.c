/* The typed messages: a reader and a packer for each message, generated
 * from its field list in msg.h, so that every role reads and writes a
 * message the same way and a malformed one is named with its field. */
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "drove.h"
#include "msg.h"

dvi_bytes
dvi_bytes_of(const char *s)
{
    dvi_bytes b = {s, s ? strlen(s) : 0, NULL};
    return b;
}

char *
dvi_bytes_dup(dvi_bytes b)
{
    if (b.p == NULL) {
        return NULL;
    }
    char *s = dvi_malloc(b.n + 1);
    memcpy(s, b.p, b.n);
    s[b.n] = '\0';
    return s;
}

void
dvi_bytes_str(dvi_bytes b, char *buf, size_t size)
{
    size_t n = b.n < size - 1 ? b.n : size - 1;
    if (n > 0) {
        memcpy(buf, b.p, n);
    }
    buf[n] = '\0';
}

int
dvi_bytes_eq(dvi_bytes b, const char *s)
{
    size_t n = strlen(s);
    return b.p != NULL && b.n == n && memcmp(b.p, s, n) == 0;
}

/* ---- Reading fields ----------------------------------------------------- */

static int
s_read_key(const msgpack_object *o, char *buf)
{
    const char *p;
    size_t n;
    if (dvi_msg_bytes(o, &p, &n) < 0 || n == 0 || n > DVI_MAX_KEY ||
        memchr(p, '\0', n) != NULL) {
        return -1;
    }
    memcpy(buf, p, n);
    buf[n] = '\0';
    return 0;
}

static int
s_read_bytes(const msgpack_object *o, dvi_bytes *b, int optional)
{
    b->blob = NULL;
    if (optional) {
        return dvi_msg_opt_bytes(o, &b->p, &b->n);
    }
    return dvi_msg_bytes(o, &b->p, &b->n);
}

#define S_READ_U64(name) dvi_msg_u64(&f[i], &m->name)
#define S_READ_I64(name) dvi_msg_i64(&f[i], &m->name)
#define S_READ_KEY(name) \
    (m->name = m->name##_buf_, s_read_key(&f[i], m->name##_buf_))
#define S_READ_STR(name) s_read_bytes(&f[i], &m->name, 0)
#define S_READ_OSTR(name) s_read_bytes(&f[i], &m->name, 1)
#define S_READ_BIN(name) s_read_bytes(&f[i], &m->name, 0)
#define S_READ_OBIN(name) s_read_bytes(&f[i], &m->name, 1)
#define S_READ_ARR(name)                                                \
    (f[i].type == MSGPACK_OBJECT_ARRAY ? (m->name = &f[i].via.array, 0) \
                                       : (m->name = NULL, -1))
#define S_READ_AU64(name) \
    (i < n ? dvi_msg_u64(&f[i], &m->name) : (m->name = 0, 0))
#define S_READ_ASTR(name) \
    (i < n ? s_read_str(&f[i], &m->name) : (m->name = (dvi_bytes){0}, 0))
#define S_READ_(kind, name)              \
    if (S_READ_##kind(name) < 0) {       \
        return s_malformed(type, #name); \
    }                                    \
    i++;

static int
s_malformed(int type, const char *field)
{
    return dvi_seterr(DV_EPROTO, "malformed %s: field '%s'", dvi_msg_name(type),
                      field);
}

static int
s_short(int type, uint32_t n)
{
    return dvi_seterr(DV_EPROTO, "%s with %u fields, needs %u",
                      dvi_msg_name(type), n, dvi_msg_min_fields(type));
}

/* An appended string: str or nil, never bin. */
static int
s_read_str(const msgpack_object *o, dvi_bytes *b)
{
    if (o->type != MSGPACK_OBJECT_STR && o->type != MSGPACK_OBJECT_NIL) {
        return -1;
    }
    return s_read_bytes(o, b, 1);
}

#define S_READER_(NAME, num, lname)                                 \
    int dvi_msg_##lname##_read(const msgpack_object *f, uint32_t n, \
                               dvi_msg_##lname *m)                  \
    {                                                               \
        const int type = DVI_MSG_##NAME;                            \
        uint32_t i = 0;                                             \
        if (n < dvi_msg_min_fields(type)) {                         \
            return s_short(type, n);                                \
        }                                                           \
        DVI_MSG_FIELDS_##lname(S_READ_) return 0;                   \
    }
DVI_MSG_MAP(S_READER_)

/* ---- Packing fields ----------------------------------------------------- */

/* A string; an absent one is nil where the field may be (OSTR), and
 * empty where it may not. */
static void
s_pack_str(msgpack_packer *pk, dvi_bytes b, int optional)
{
    if (b.p == NULL && optional) {
        msgpack_pack_nil(pk);
        return;
    }
    dvi_pack_strn(pk, b.p ? b.p : "", b.p ? b.n : 0);
}

static void
s_pack_bin(dvi_outbox *o, msgpack_packer *pk, dvi_bytes b)
{
    if (b.blob != NULL && b.blob->len > DVI_INLINE_MAX) {
        msgpack_pack_bin(pk, b.blob->len);
        dvi_outbox_put_blob(o, b.blob);
    } else if (b.blob != NULL) {
        dvi_pack_bin(pk, b.blob->data, b.blob->len);
    } else if (b.p == NULL) {
        msgpack_pack_nil(pk);
    } else {
        dvi_pack_bin(pk, b.p, b.n);
    }
}

#define S_PACK_U64(name) msgpack_pack_uint64(pk, m->name);
#define S_PACK_I64(name) msgpack_pack_int64(pk, m->name);
#define S_PACK_KEY(name) dvi_pack_str(pk, m->name);
#define S_PACK_STR(name) s_pack_str(pk, m->name, 0);
#define S_PACK_OSTR(name) s_pack_str(pk, m->name, 1);
#define S_PACK_BIN(name) s_pack_bin(o, pk, m->name);
#define S_PACK_OBIN(name) s_pack_bin(o, pk, m->name);
#define S_PACK_ARR(name)
#define S_PACK_AU64(name) /* by the tail packer, after the array */
#define S_PACK_ASTR(name)
#define S_PACK_(kind, name) S_PACK_##kind(name)

/* How many appended fields go out: up to the last that is not 0 (or
 * empty), so a message whose appended fields are all 0 is what its first
 * version was. */
#define S_EXTRA_U64(name)
#define S_EXTRA_I64(name)
#define S_EXTRA_KEY(name)
#define S_EXTRA_STR(name)
#define S_EXTRA_OSTR(name)
#define S_EXTRA_BIN(name)
#define S_EXTRA_OBIN(name)
#define S_EXTRA_ARR(name)
#define S_EXTRA_AU64(name) \
    k++;                   \
    if (m->name != 0) {    \
        extra = k;         \
    }
#define S_EXTRA_ASTR(name) \
    k++;                   \
    if (m->name.n != 0) {  \
        extra = k;         \
    }
#define S_EXTRA_(kind, name) S_EXTRA_##kind(name)

#define S_TAIL_U64(name)
#define S_TAIL_I64(name)
#define S_TAIL_KEY(name)
#define S_TAIL_STR(name)
#define S_TAIL_OSTR(name)
#define S_TAIL_BIN(name)
#define S_TAIL_OBIN(name)
#define S_TAIL_ARR(name)
#define S_TAIL_AU64(name)                     \
    if (k++ < extra) {                        \
        msgpack_pack_uint64(&o->pk, m->name); \
    }
#define S_TAIL_ASTR(name)               \
    if (k++ < extra) {                  \
        s_pack_str(&o->pk, m->name, 0); \
    }
#define S_TAIL_(kind, name) S_TAIL_##kind(name)

#define S_PACKER_(NAME, num, lname)                                           \
    static uint32_t s_extra_##lname(const dvi_msg_##lname *m)                 \
    {                                                                         \
        uint32_t k = 0, extra = 0;                                            \
        DVI_MSG_FIELDS_##lname(S_EXTRA_)(void) m;                             \
        (void)k;                                                              \
        return extra;                                                         \
    }                                                                         \
    msgpack_packer *dvi_msg_##lname##_pack(dvi_outbox *o,                     \
                                           const dvi_msg_##lname *m)          \
    {                                                                         \
        msgpack_packer *pk = dvi_outbox_msg(                                  \
            o, DVI_MSG_##NAME,                                                \
            dvi_msg_min_fields(DVI_MSG_##NAME) + s_extra_##lname(m));         \
        DVI_MSG_FIELDS_##lname(S_PACK_) return pk;                            \
    }                                                                         \
    void dvi_msg_##lname##_pack_tail(dvi_outbox *o, const dvi_msg_##lname *m) \
    {                                                                         \
        uint32_t k = 0, extra = s_extra_##lname(m);                           \
        DVI_MSG_FIELDS_##lname(S_TAIL_)(void) o;                              \
        (void)k;                                                              \
        (void)extra;                                                          \
    }
DVI_MSG_MAP(S_PACKER_)
