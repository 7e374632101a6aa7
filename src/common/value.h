/* Values: the typed, self-describing data that flows between tasks, and
 * their msgpack encoding.
 *
 * Encoding: nil, bool, int, float 64, str, bin and array are msgpack's own;
 * an f64 array is ext type 1 and an i64 array ext type 2 (little-endian
 * elements); a reference to another task's result inside a task's
 * arguments is ext type 10: a 4-byte big-endian element index (-1 for the
 * whole result), then the 4-byte big-endian position of that task among
 * the call's dependencies, whose keys travel beside the arguments.
 *
 * Decoded values own their memory, or borrow it: decoded from a blob
 * (dvi_value_decode_blob), an array whose elements are 8-byte aligned in
 * it, or a byte string, points into the blob and holds a reference to
 * it. A 256 MiB array is then read where it arrived, not copied into
 * fresh memory first (whose page faults cost more than the copy). Other
 * arrays are copied once into 8-byte aligned memory.
 */
#ifndef DVI_VALUE_H
#define DVI_VALUE_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

#include "blob.h"
#include "drove.h"

#define DVI_EXT_F64S 1
#define DVI_EXT_I64S 2
#define DVI_EXT_FUTREF 10
#define DVI_VALUE_MAX_DEPTH 64

struct dv_value {
    int type; /* enum dv_type */
    size_t len;
    union {
        bool b;
        int64_t i;
        double f;
        char *s; /* STR (NUL-terminated), BYTES */
        double *f64s;
        int64_t *i64s;
        dv_value *items; /* LIST: len values */
    } u;
    dvi_blob *owner; /* F64S, I64S, BYTES: held, the blob u points into;
                        NULL when the value owns that memory */
};

/* Packs a future reference found in arguments. Returns 0 or a DV_E* code
 * (with the reason set). */
typedef int (*dvi_futref_pack_fn)(void *ctx, msgpack_packer *pk, dv_future *f);

/* Encodes arg. Futures are passed to fut (which may be NULL: then a future
 * is DV_EINVAL). Returns 0 or a negative DV_E* code with the reason set. */
int dvi_value_pack(msgpack_packer *pk, const dv_arg *arg,
                   dvi_futref_pack_fn fut, void *ctx);
/* Encodes a decoded value. */
void dvi_value_pack_value(msgpack_packer *pk, const dv_value *v);
/* Packs the header of an ext array of n 8-byte elements of ext type. */
void dvi_value_pack_array_header(msgpack_packer *pk, int ext, size_t n);

/* Resolves a reference to dependency number slot (element index, or -1
 * for all) into out. */
typedef int (*dvi_futref_resolve_fn)(void *ctx, uint32_t slot, int32_t index,
                                     dv_value *out);

/* Decodes obj into out (which the caller provides and later passes to
 * dvi_value_fini). References go to resolve (NULL: DV_EPROTO). Returns 0
 * or a negative DV_E* code with the reason set; out is then nil. */
int dvi_value_from_obj(const msgpack_object *obj, dv_value *out,
                       dvi_futref_resolve_fn resolve, void *ctx);
/* Decodes a whole encoded value (as a worker stores it), copying. */
int dvi_value_decode(const char *buf, size_t len, dv_value *out,
                     dvi_futref_resolve_fn resolve, void *ctx);
/* The same for the value encoded in blob b, borrowing from b what can be
 * read in place (aligned arrays, byte strings): out then holds b until
 * dvi_value_fini. */
int dvi_value_decode_blob(dvi_blob *b, dv_value *out,
                          dvi_futref_resolve_fn resolve, void *ctx);
/* Decodes element `index` of an encoded list, or the whole value for -1. */
int dvi_value_decode_at(const char *buf, size_t len, int32_t index,
                        dv_value *out);
/* Frees what v owns and makes it nil. */
void dvi_value_fini(dv_value *v);
/* A heap copy holder: a value allocated with malloc, freed with
 * dvi_value_destroy. */
void dvi_value_destroy(dv_value **v);
/* Deep copy of src into dst; what src borrows, dst borrows too (the
 * blob's bytes never change). */
void dvi_value_copy(dv_value *dst, const dv_value *src);

/* Parses a futref ext payload (8 bytes). Returns 0, or DV_EPROTO. */
int dvi_futref_parse(const char *p, size_t n, uint32_t *slot, int32_t *index);
void dvi_futref_pack(msgpack_packer *pk, uint32_t slot, int32_t index);

#endif
