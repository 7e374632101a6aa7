/* Values: accessors, msgpack encoding and checked decoding. */
#include "value.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "mpcheck.h"
#include "unpack.h"

/* ---- Constructors of arguments ---------------------------------------- */

/* Compound literals: GCC builds `dv_arg a = {0}; a.type = ...` on the
 * stack and copies it out, a store-forwarding stall a field (2% of a
 * tiny task's CPU); a literal is written in place. */

dv_arg
dv_nil(void)
{
    return (dv_arg){.type = DV_NIL};
}

dv_arg
dv_bool(bool v)
{
    return (dv_arg){.type = DV_BOOL, .u.b = v};
}

dv_arg
dv_i64(int64_t v)
{
    return (dv_arg){.type = DV_I64, .u.i = v};
}

dv_arg
dv_f64(double v)
{
    return (dv_arg){.type = DV_F64, .u.f = v};
}

dv_arg
dv_str(const char *s)
{
    s = s ? s : "";
    return (dv_arg){.type = DV_STR, .u.p = s, .len = strlen(s)};
}

dv_arg
dv_bytes(const void *p, size_t n)
{
    return (dv_arg){.type = DV_BYTES, .u.p = p, .len = n};
}

dv_arg
dv_f64s(const double *v, size_t n)
{
    return (dv_arg){.type = DV_F64S, .u.p = v, .len = n};
}

dv_arg
dv_i64s(const int64_t *v, size_t n)
{
    return (dv_arg){.type = DV_I64S, .u.p = v, .len = n};
}

dv_arg
dv_list(const dv_arg *items, size_t n)
{
    return (dv_arg){.type = DV_LIST, .u.items = items, .len = n};
}

dv_arg
dv_fut(dv_future *f)
{
    return (dv_arg){.type = DV_FUTURE, .u.fut = f};
}

dv_arg
dv_futs(dv_future *const *fs, size_t n)
{
    return (dv_arg){.type = DV_FUTURES, .u.futs = fs, .len = n};
}

dv_arg
dv_value_arg(const dv_value *v)
{
    return (dv_arg){.type = DV_VALUE, .u.value = v};
}

/* ---- Accessors --------------------------------------------------------- */

int
dv_value_type(const dv_value *v)
{
    return v ? v->type : DV_NIL;
}

int64_t
dv_value_i64(const dv_value *v)
{
    if (v == NULL) {
        return 0;
    }
    if (v->type == DV_I64) {
        return v->u.i;
    }
    if (v->type == DV_F64) {
        return (int64_t)v->u.f;
    }
    return 0;
}

double
dv_value_f64(const dv_value *v)
{
    if (v == NULL) {
        return 0;
    }
    if (v->type == DV_F64) {
        return v->u.f;
    }
    if (v->type == DV_I64) {
        return (double)v->u.i;
    }
    return 0;
}

bool
dv_value_bool(const dv_value *v)
{
    return v && v->type == DV_BOOL && v->u.b;
}

const char *
dv_value_str(const dv_value *v, size_t *len)
{
    if (v == NULL || v->type != DV_STR) {
        return NULL;
    }
    if (len) {
        *len = v->len;
    }
    return v->u.s;
}

const void *
dv_value_bytes(const dv_value *v, size_t *len)
{
    if (v == NULL || (v->type != DV_BYTES && v->type != DV_STR)) {
        return NULL;
    }
    if (len) {
        *len = v->len;
    }
    return v->u.s;
}

const double *
dv_value_f64s(const dv_value *v, size_t *n)
{
    if (v == NULL || v->type != DV_F64S) {
        return NULL;
    }
    if (n) {
        *n = v->len;
    }
    return v->u.f64s;
}

const int64_t *
dv_value_i64s(const dv_value *v, size_t *n)
{
    if (v == NULL || v->type != DV_I64S) {
        return NULL;
    }
    if (n) {
        *n = v->len;
    }
    return v->u.i64s;
}

size_t
dv_value_len(const dv_value *v)
{
    if (v == NULL) {
        return 0;
    }
    switch (v->type) {
    case DV_LIST:
    case DV_F64S:
    case DV_I64S:
    case DV_STR:
    case DV_BYTES: return v->len;
    default: return 0;
    }
}

const dv_value *
dv_value_at(const dv_value *v, size_t i)
{
    if (v == NULL || v->type != DV_LIST || i >= v->len) {
        return NULL;
    }
    return &v->u.items[i];
}

/* ---- Encoding ---------------------------------------------------------- */

void
dvi_value_pack_array_header(msgpack_packer *pk, int ext, size_t n)
{
    msgpack_pack_ext(pk, n * 8, (int8_t)ext);
}

static void
s_put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static uint32_t
s_be32(const unsigned char *u)
{
    return ((uint32_t)u[0] << 24) | ((uint32_t)u[1] << 16) |
           ((uint32_t)u[2] << 8) | u[3];
}

void
dvi_futref_pack(msgpack_packer *pk, uint32_t slot, int32_t index)
{
    unsigned char body[8];
    s_put_be32(body, (uint32_t)index);
    s_put_be32(body + 4, slot);
    msgpack_pack_ext(pk, sizeof(body), DVI_EXT_FUTREF);
    msgpack_pack_ext_body(pk, body, sizeof(body));
}

int
dvi_futref_parse(const char *p, size_t n, uint32_t *slot, int32_t *index)
{
    *slot = 0;
    *index = -1;
    if (n != 8) {
        return dvi_seterr(DV_EPROTO, "future reference of %zu bytes, not 8", n);
    }
    const unsigned char *u = (const unsigned char *)p;
    *index = (int32_t)s_be32(u);
    *slot = s_be32(u + 4);
    return 0;
}

/* An argument that points nowhere but claims elements is refused here,
 * where the caller can be told, not on a worker later. */
static int
s_check_arg(const dv_arg *arg)
{
    static const char *const names[] = {
        [DV_STR] = "dv_str",   [DV_BYTES] = "dv_bytes",
        [DV_F64S] = "dv_f64s", [DV_I64S] = "dv_i64s",
        [DV_LIST] = "dv_list", [DV_FUTURES] = "dv_futs"};
    int pointer = arg->type == DV_STR || arg->type == DV_BYTES ||
                  arg->type == DV_F64S || arg->type == DV_I64S ||
                  arg->type == DV_LIST || arg->type == DV_FUTURES;
    if (pointer && arg->len > 0 && arg->u.p == NULL) {
        return dvi_seterr(DV_EINVAL, "%s argument of length %zu at NULL",
                          names[arg->type], arg->len);
    }
    if ((arg->type == DV_F64S || arg->type == DV_I64S) &&
        arg->len > UINT32_MAX / 8) {
        return dvi_seterr(DV_ELIMIT, "%s argument of %zu elements",
                          names[arg->type], arg->len);
    }
    return 0;
}

static int
s_pack(msgpack_packer *pk, const dv_arg *arg, dvi_futref_pack_fn fut, void *ctx,
       int depth)
{
    if (depth > DVI_VALUE_MAX_DEPTH) {
        return dvi_seterr(DV_ELIMIT, "value nests deeper than %d",
                          DVI_VALUE_MAX_DEPTH);
    }
    int rc = s_check_arg(arg);
    if (rc < 0) {
        return rc;
    }
    switch (arg->type) {
    case DV_NIL: return msgpack_pack_nil(pk);
    case DV_BOOL:
        return arg->u.b ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
    case DV_I64: return msgpack_pack_int64(pk, arg->u.i);
    case DV_F64: return msgpack_pack_double(pk, arg->u.f);
    case DV_STR:
        msgpack_pack_str(pk, arg->len);
        return msgpack_pack_str_body(pk, arg->u.p, arg->len);
    case DV_BYTES:
        msgpack_pack_bin(pk, arg->len);
        return msgpack_pack_bin_body(pk, arg->u.p, arg->len);
    case DV_F64S:
    case DV_I64S:
        dvi_value_pack_array_header(
            pk, arg->type == DV_F64S ? DVI_EXT_F64S : DVI_EXT_I64S, arg->len);
        return msgpack_pack_ext_body(pk, arg->u.p, arg->len * 8);
    case DV_LIST:
        msgpack_pack_array(pk, arg->len);
        for (size_t i = 0; i < arg->len; i++) {
            rc = s_pack(pk, &arg->u.items[i], fut, ctx, depth + 1);
            if (rc < 0) {
                return rc;
            }
        }
        return 0;
    case DV_VALUE:
        if (arg->u.value == NULL) {
            return msgpack_pack_nil(pk);
        }
        dvi_value_pack_value(pk, arg->u.value);
        return 0;
    case DV_FUTURE:
        if (fut == NULL) {
            return dvi_seterr(DV_EINVAL, "a future cannot be a result");
        }
        return fut(ctx, pk, arg->u.fut);
    case DV_FUTURES:
        if (fut == NULL) {
            return dvi_seterr(DV_EINVAL, "a future cannot be a result");
        }
        msgpack_pack_array(pk, arg->len);
        for (size_t i = 0; i < arg->len; i++) {
            rc = fut(ctx, pk, arg->u.futs[i]);
            if (rc < 0) {
                return rc;
            }
        }
        return 0;
    default:
        return dvi_seterr(DV_EINVAL, "argument of unknown type %d", arg->type);
    }
}

int
dvi_value_pack(msgpack_packer *pk, const dv_arg *arg, dvi_futref_pack_fn fut,
               void *ctx)
{
    int rc = s_pack(pk, arg, fut, ctx, 0);
    return rc > 0 ? 0 : rc;
}

void
dvi_value_pack_value(msgpack_packer *pk, const dv_value *v)
{
    switch (v->type) {
    case DV_BOOL:
        v->u.b ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
        break;
    case DV_I64: msgpack_pack_int64(pk, v->u.i); break;
    case DV_F64: msgpack_pack_double(pk, v->u.f); break;
    case DV_STR:
        msgpack_pack_str(pk, v->len);
        msgpack_pack_str_body(pk, v->u.s, v->len);
        break;
    case DV_BYTES:
        msgpack_pack_bin(pk, v->len);
        msgpack_pack_bin_body(pk, v->u.s, v->len);
        break;
    case DV_F64S:
    case DV_I64S:
        dvi_value_pack_array_header(
            pk, v->type == DV_F64S ? DVI_EXT_F64S : DVI_EXT_I64S, v->len);
        msgpack_pack_ext_body(pk, v->u.f64s, v->len * 8);
        break;
    case DV_LIST:
        msgpack_pack_array(pk, v->len);
        for (size_t i = 0; i < v->len; i++) {
            dvi_value_pack_value(pk, &v->u.items[i]);
        }
        break;
    default: msgpack_pack_nil(pk); break;
    }
}

/* ---- Decoding ---------------------------------------------------------- */

/* What a decode carries down: where references go, and the blob the
 * bytes are in (NULL: copy everything). */
typedef struct s_dec {
    dvi_futref_resolve_fn resolve;
    void *ctx;
    dvi_blob *owner;
} s_dec;

static int s_from_obj(const msgpack_object *o, dv_value *out, const s_dec *d,
                      int depth);

static int
s_bytes_from(const msgpack_object *o, dv_value *out, const s_dec *d)
{
    size_t n = o->via.str.size;
    out->type = o->type == MSGPACK_OBJECT_STR ? DV_STR : DV_BYTES;
    out->len = n;
    /* A string must end in a NUL, which the encoding has not. */
    if (d->owner != NULL && out->type == DV_BYTES && n > 0) {
        out->u.s = (char *)o->via.bin.ptr;
        out->owner = dvi_blob_hold(d->owner);
        return 0;
    }
    char *s = malloc(n + 1);
    if (s == NULL) {
        out->type = DV_NIL;
        return dvi_seterr(DV_ENOMEM, "value of %zu bytes", n);
    }
    if (n > 0) {
        memcpy(s, o->via.str.ptr, n); /* msgpack-c: NULL when empty */
    }
    s[n] = '\0';
    out->u.s = s;
    return 0;
}

static int
s_list_from(const msgpack_object *o, dv_value *out, const s_dec *d, int depth)
{
    size_t n = o->via.array.size;
    dv_value *items = calloc(n ? n : 1, sizeof(*items));
    if (items == NULL) {
        return dvi_seterr(DV_ENOMEM, "list of %zu values", n);
    }
    out->type = DV_LIST;
    out->u.items = items;
    for (size_t i = 0; i < n; i++) {
        int rc = s_from_obj(&o->via.array.ptr[i], &items[i], d, depth + 1);
        if (rc < 0) {
            out->len = i;
            dvi_value_fini(out);
            return rc;
        }
    }
    out->len = n;
    return 0;
}

static int
s_ext_from(const msgpack_object *o, dv_value *out, const s_dec *d)
{
    size_t n = o->via.ext.size;
    if (o->via.ext.type == DVI_EXT_FUTREF) {
        int32_t index = -1;
        uint32_t slot = 0;
        if (d->resolve == NULL) {
            return dvi_seterr(DV_EPROTO, "future reference in a result");
        }
        int rc = dvi_futref_parse(o->via.ext.ptr, n, &slot, &index);
        return rc < 0 ? rc : d->resolve(d->ctx, slot, index, out);
    }
    if (o->via.ext.type != DVI_EXT_F64S && o->via.ext.type != DVI_EXT_I64S) {
        return dvi_seterr(DV_EPROTO, "unknown ext type %d", o->via.ext.type);
    }
    if (n % 8 != 0) {
        return dvi_seterr(DV_EPROTO, "array of %zu bytes is not whole", n);
    }
    const char *src = o->via.ext.ptr;
    void *p;
    if (d->owner != NULL && n > 0 && (uintptr_t)src % 8 == 0) {
        p = (void *)src; /* read in place */
        out->owner = dvi_blob_hold(d->owner);
    } else {
        p = aligned_alloc(16, n ? (n + 15) & ~(size_t)15 : 16);
        if (p == NULL && n > 0) {
            return dvi_seterr(DV_ENOMEM, "array of %zu bytes", n);
        }
        if (n > 0) {
            memcpy(p, src, n);
        }
    }
    out->type = o->via.ext.type == DVI_EXT_F64S ? DV_F64S : DV_I64S;
    out->u.f64s = p;
    out->len = n / 8;
    return 0;
}

static int
s_from_obj(const msgpack_object *o, dv_value *out, const s_dec *d, int depth)
{
    memset(out, 0, sizeof(*out));
    out->type = DV_NIL;
    if (depth > DVI_VALUE_MAX_DEPTH) {
        return dvi_seterr(DV_EPROTO, "value nests deeper than %d",
                          DVI_VALUE_MAX_DEPTH);
    }
    switch (o->type) {
    case MSGPACK_OBJECT_NIL: return 0;
    case MSGPACK_OBJECT_BOOLEAN:
        out->type = DV_BOOL;
        out->u.b = o->via.boolean;
        return 0;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        if (o->via.u64 > INT64_MAX) {
            return dvi_seterr(DV_EPROTO, "integer %llu exceeds int64",
                              (unsigned long long)o->via.u64);
        }
        out->type = DV_I64;
        out->u.i = (int64_t)o->via.u64;
        return 0;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        out->type = DV_I64;
        out->u.i = o->via.i64;
        return 0;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        out->type = DV_F64;
        out->u.f = o->via.f64;
        return 0;
    case MSGPACK_OBJECT_STR:
    case MSGPACK_OBJECT_BIN: return s_bytes_from(o, out, d);
    case MSGPACK_OBJECT_ARRAY: return s_list_from(o, out, d, depth);
    case MSGPACK_OBJECT_EXT: return s_ext_from(o, out, d);
    default:
        return dvi_seterr(DV_EPROTO, "msgpack type %d is not a value",
                          (int)o->type);
    }
}

int
dvi_value_from_obj(const msgpack_object *obj, dv_value *out,
                   dvi_futref_resolve_fn resolve, void *ctx)
{
    s_dec d = {resolve, ctx, NULL};
    return s_from_obj(obj, out, &d, 0);
}

static int
s_decode(const char *buf, size_t len, dv_value *out, const s_dec *d)
{
    dvi_unpacked u;
    int rc = dvi_mpcheck(buf, len);
    memset(out, 0, sizeof(*out));
    if (rc < 0) {
        return rc;
    }
    if (dvi_unpack(buf, len, &u) < 0) {
        return dvi_seterr(DV_EPROTO, "value of %zu bytes does not decode", len);
    }
    rc = s_from_obj(&u.data, out, d, 0);
    dvi_unpacked_fini(&u);
    return rc;
}

int
dvi_value_decode(const char *buf, size_t len, dv_value *out,
                 dvi_futref_resolve_fn resolve, void *ctx)
{
    s_dec d = {resolve, ctx, NULL};
    return s_decode(buf, len, out, &d);
}

int
dvi_value_decode_blob(dvi_blob *b, dv_value *out, dvi_futref_resolve_fn resolve,
                      void *ctx)
{
    /* msgpack-c's objects point into b->data for bin and ext bodies. */
    s_dec d = {resolve, ctx, b};
    return s_decode(b->data, b->len, out, &d);
}

int
dvi_value_decode_at(const char *buf, size_t len, int32_t index, dv_value *out)
{
    dv_value whole;
    int rc = dvi_value_decode(buf, len, &whole, NULL, NULL);
    if (rc < 0 || index < 0) {
        *out = whole;
        return rc;
    }
    if (whole.type != DV_LIST || (size_t)index >= whole.len) {
        dvi_value_fini(&whole);
        *out = whole; /* nil */
        return dvi_seterr(DV_EPROTO, "element %d of a value that has none",
                          (int)index);
    }
    /* Move the element out, then free the rest. */
    *out = whole.u.items[index];
    whole.u.items[index].type = DV_NIL;
    dvi_value_fini(&whole);
    return 0;
}

void
dvi_value_fini(dv_value *v)
{
    if (v == NULL) {
        return;
    }
    switch (v->type) {
    case DV_STR:
    case DV_BYTES:
    case DV_F64S:
    case DV_I64S:
        if (v->owner != NULL) {
            dvi_blob_rele(v->owner);
        } else {
            free(v->u.s); /* the union's pointer, whichever the type */
        }
        break;
    case DV_LIST:
        for (size_t i = 0; i < v->len; i++) {
            dvi_value_fini(&v->u.items[i]);
        }
        free(v->u.items);
        break;
    default: break;
    }
    memset(v, 0, sizeof(*v));
    v->type = DV_NIL;
}

void
dvi_value_destroy(dv_value **v)
{
    if (v && *v) {
        dvi_value_fini(*v);
        free(*v);
        *v = NULL;
    }
}

void
dvi_value_copy(dv_value *dst, const dv_value *src)
{
    *dst = *src;
    if (src->owner != NULL) {
        dvi_blob_hold(src->owner); /* immutable: shared, not copied */
        return;
    }
    switch (src->type) {
    case DV_STR:
    case DV_BYTES:
        dst->u.s = dvi_malloc(src->len + 1);
        memcpy(dst->u.s, src->u.s, src->len + 1);
        break;
    case DV_F64S:
    case DV_I64S: {
        size_t n = src->len * 8;
        dst->u.f64s = aligned_alloc(16, n ? (n + 15) & ~(size_t)15 : 16);
        if (dst->u.f64s == NULL && n > 0) {
            dvi_oom(n);
        }
        if (n > 0) {
            memcpy(dst->u.f64s, src->u.f64s, n);
        }
        break;
    }
    case DV_LIST:
        dst->u.items = dvi_calloc(src->len ? src->len : 1, sizeof(dv_value));
        for (size_t i = 0; i < src->len; i++) {
            dvi_value_copy(&dst->u.items[i], &src->u.items[i]);
        }
        break;
    default: break;
    }
}
