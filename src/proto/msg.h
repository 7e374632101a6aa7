/* The message table of drove's protocol, and the reading of frames.
 *
 * A frame is a 4-byte big-endian length and a msgpack array of messages;
 * each message is a msgpack array whose first element is its type. Many
 * messages travel in one frame per peer per loop turn. docs/protocol.md
 * documents every message; keep it in step with this table.
 */
#ifndef DVI_MSG_H
#define DVI_MSG_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

/* Bumped on any incompatible change; checked in the first message. */
#define DVI_PROTOCOL_VERSION 1

/* The longest key or function name, in bytes. */
#define DVI_MAX_KEY 255
/* Results up to this size travel inside DONE and FINISHED; larger ones are
 * fetched from a worker holding them, and travel without copies. */
#define DVI_INLINE_MAX (64 * 1024)

/* XX(name, number, minimum field count after the type) */
#define DVI_MSG_MAP(XX)                                                        \
    XX(HELLO, 1, 4)      /* version, role, id, threads, peer address */        \
    XX(WELCOME, 2, 2)    /* version, id */                                     \
    XX(SUBMIT, 3, 8)     /* key fn args deps flags priority retries worker */  \
    XX(RELEASE, 4, 1)    /* key */                                             \
    XX(CANCEL, 5, 1)     /* key */                                             \
    XX(SCATTER, 6, 2)    /* key, encoded value */                              \
    XX(FINISHED, 7, 4)   /* key, nbytes, value or nil, holder address */       \
    XX(ERRED, 8, 3)      /* key, status, text */                               \
    XX(COMPUTE, 9, 6)    /* key fn args deps [[key addr]...] flags priority */ \
    XX(DONE, 10, 4)      /* key, nbytes, value or nil, run time in us */       \
    XX(FAILED, 11, 3)    /* key, blame, text */                                \
    XX(FREE, 12, 1)      /* key */                                             \
    XX(GET, 13, 1)       /* key */                                             \
    XX(DATA, 14, 2)      /* key, encoded value */                              \
    XX(MISSING, 15, 1)   /* key */                                             \
    XX(UPLOAD, 16, 3)    /* hash, name, library bytes */                       \
    XX(UPLOADED, 17, 3)  /* hash, count loaded, error text or nil */           \
    XX(PUBLISH, 18, 3)   /* request id, name, key */                           \
    XX(UNPUBLISH, 19, 2) /* request id, name */                                \
    XX(LOOKUP, 20, 2)    /* request id, name */                                \
    XX(REPLY, 21, 3)     /* request id, status code, key or text */            \
    XX(WORKERS, 22, 1)   /* [worker id...] */                                  \
    XX(STORED, 23, 2)    /* key, nbytes */                                     \
    XX(BYE, 24, 1)       /* reason text: the sender closes next */

enum dvi_msg_type {
#define DVI_XX_(name, num, nf) DVI_MSG_##name = (num),
    DVI_MSG_MAP(DVI_XX_)
#undef DVI_XX_
        DVI_MSG_MAX
};

/* Roles announced in HELLO. */
enum dvi_role { DVI_ROLE_CLIENT = 1, DVI_ROLE_WORKER = 2, DVI_ROLE_PEER = 3 };

/* Who is at fault for a FAILED task. */
enum dvi_blame {
    DVI_BLAME_TASK = 1,  /* the function failed: not retried */
    DVI_BLAME_INPUT = 2, /* an input could not be fetched: rescheduled */
    DVI_BLAME_WORKER = 3 /* the worker could not run it */
};

/* Task flags in SUBMIT and COMPUTE. */
#define DVI_TASK_IMPURE 1u
#define DVI_TASK_CHUNK 2u /* args is a list of argument lists */

/* The name of a message type, for logs ("?" for unknown). */
const char *dvi_msg_name(int type);

/* Called for each message of a frame with its fields after the type. */
typedef int (*dvi_msg_fn)(void *ctx, int type, const msgpack_object *f,
                          uint32_t n);

/* Checks and decodes one frame payload and calls fn for every message, in
 * order. Returns 0, the first negative return of fn, or DV_EPROTO (with the
 * reason set) for a malformed frame, an unknown type or too few fields. */
int dvi_msg_each(const char *buf, size_t len, dvi_msg_fn fn, void *ctx);

/* Field readers: 0 on success, DV_EPROTO if the field has another type. */
int dvi_msg_u64(const msgpack_object *o, uint64_t *out);
int dvi_msg_i64(const msgpack_object *o, int64_t *out);
/* A str or bin field as pointer + length into the frame (borrowed). */
int dvi_msg_bytes(const msgpack_object *o, const char **p, size_t *n);
/* A str field copied into buf (NUL-terminated), at most size - 1 bytes. */
int dvi_msg_str(const msgpack_object *o, char *buf, size_t size);
/* Like dvi_msg_bytes, but nil gives p = NULL, n = 0. */
int dvi_msg_opt_bytes(const msgpack_object *o, const char **p, size_t *n);

/* Packs a string (NUL-terminated), or nil for NULL. */
void dvi_pack_str(msgpack_packer *pk, const char *s);
void dvi_pack_strn(msgpack_packer *pk, const char *s, size_t n);
void dvi_pack_bin(msgpack_packer *pk, const void *p, size_t n);

#endif
