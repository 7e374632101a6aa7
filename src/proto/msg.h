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

#include "common/blob.h"
#include "outbox.h"

/* Bumped on any incompatible change; checked in the first message. */
#define DVI_PROTOCOL_VERSION 5

/* The longest key or function name, in bytes. */
#define DVI_MAX_KEY 255
/* Results up to this size travel inside DONE and FINISHED; larger ones are
 * fetched from a worker holding them, and travel without copies. */
#define DVI_INLINE_MAX (64 * 1024)

/* XX(NAME, number, name): every message of the protocol. Its fields, in
 * order, are DVI_MSG_FIELDS_name below; docs/protocol.md mirrors both. */
#define DVI_MSG_MAP(XX)          \
    XX(HELLO, 1, hello)          \
    XX(WELCOME, 2, welcome)      \
    XX(SUBMIT, 3, submit)        \
    XX(RELEASE, 4, release)      \
    XX(CANCEL, 5, cancel)        \
    XX(SCATTER, 6, scatter)      \
    XX(FINISHED, 7, finished)    \
    XX(ERRED, 8, erred)          \
    XX(COMPUTE, 9, compute)      \
    XX(DONE, 10, done)           \
    XX(FAILED, 11, failed)       \
    XX(FREE, 12, free)           \
    XX(GET, 13, get)             \
    XX(DATA, 14, data)           \
    XX(MISSING, 15, missing)     \
    XX(UPLOAD, 16, upload)       \
    XX(UPLOADED, 17, uploaded)   \
    XX(PUBLISH, 18, publish)     \
    XX(UNPUBLISH, 19, unpublish) \
    XX(LOOKUP, 20, lookup)       \
    XX(REPLY, 21, reply)         \
    XX(WORKERS, 22, workers)     \
    XX(STORED, 23, stored)       \
    XX(BYE, 24, bye)             \
    XX(RETIRING, 25, retiring)   \
    XX(LOST, 26, lost)           \
    XX(STEAL, 27, steal)         \
    XX(PING, 28, ping)           \
    XX(PONG, 29, pong)           \
    XX(MEMORY, 30, memory)       \
    XX(MOVE, 31, move)           \
    XX(LEAVING, 32, leaving)     \
    XX(INFO, 33, info)           \
    XX(CONTROL, 34, control)     \
    XX(RETIRE, 35, retire)       \
    XX(SECEDE, 36, secede)

/* F(KIND, field): the fields of each message after its type. Kinds:
 *   U64, I64  an unsigned / signed integer
 *   KEY       a key or function name: 1 to DVI_MAX_KEY bytes, no NUL
 *   STR, OSTR text (OSTR: or nil)        BIN, OBIN  bytes (OBIN: or nil)
 *   ARR       an array, read raw and packed by the caller: last but for
 *             appended fields
 *   AU64      an unsigned integer appended after the message's first
 *             version: it may be absent (it reads as 0), and a sender
 *             leaves it out when it is 0, so that peers of either age
 *             read each other; appended fields come last
 *   ASTR      a string appended so: absent (or nil) reads as nil, and a
 *             sender leaves it out when it is empty
 * A message needs all its fields but appended ones; extra trailing ones
 * are ignored, so fields can be appended without a version bump. */
// clang-format off
#define DVI_MSG_FIELDS_hello(F) F(U64, version) F(U64, role) F(STR, id) \
    F(U64, threads) F(OSTR, addr)
#define DVI_MSG_FIELDS_welcome(F) F(U64, version) F(STR, id)
#define DVI_MSG_FIELDS_submit(F) F(KEY, key) F(KEY, fn) F(STR, code)  \
    F(BIN, args) F(U64, flags) F(I64, priority) F(I64, retries)        \
    F(OSTR, worker) F(ARR, deps) F(AU64, timeout_ms) F(ASTR, resources) \
    F(ASTR, parent)
#define DVI_MSG_FIELDS_release(F) F(KEY, key)
#define DVI_MSG_FIELDS_cancel(F) F(KEY, key)
#define DVI_MSG_FIELDS_scatter(F) F(KEY, key) F(BIN, value) F(AU64, flags)
#define DVI_MSG_FIELDS_finished(F) F(KEY, key) F(U64, nbytes) F(OBIN, value) \
    F(OSTR, holder)
#define DVI_MSG_FIELDS_erred(F) F(KEY, key) F(U64, status) F(STR, text)
#define DVI_MSG_FIELDS_compute(F) F(KEY, key) F(KEY, fn) F(STR, code) \
    F(BIN, args) F(U64, flags) F(I64, priority) F(ARR, inputs)       \
    F(AU64, timeout_ms)
#define DVI_MSG_FIELDS_done(F) F(KEY, key) F(U64, nbytes) F(OBIN, value) \
    F(I64, us) F(ASTR, forward) F(AU64, fused)
#define DVI_MSG_FIELDS_failed(F) F(KEY, key) F(U64, blame) F(STR, text)
#define DVI_MSG_FIELDS_free(F) F(KEY, key)
#define DVI_MSG_FIELDS_get(F) F(KEY, key) F(AU64, wait_ms)
#define DVI_MSG_FIELDS_data(F) F(KEY, key) F(BIN, value)
#define DVI_MSG_FIELDS_missing(F) F(KEY, key)
#define DVI_MSG_FIELDS_upload(F) F(STR, hash) F(STR, name) F(BIN, bytes)
#define DVI_MSG_FIELDS_uploaded(F) F(STR, hash) F(I64, loaded) \
    F(OSTR, error)
#define DVI_MSG_FIELDS_publish(F) F(U64, req) F(STR, name) F(KEY, key) \
    F(BIN, owner)
#define DVI_MSG_FIELDS_unpublish(F) F(U64, req) F(STR, name) F(BIN, owner)
#define DVI_MSG_FIELDS_lookup(F) F(U64, req) F(STR, name)
#define DVI_MSG_FIELDS_reply(F) F(U64, req) F(I64, status) F(OSTR, text)
#define DVI_MSG_FIELDS_workers(F) F(ARR, ids)
#define DVI_MSG_FIELDS_stored(F) F(KEY, key) F(U64, nbytes)
#define DVI_MSG_FIELDS_bye(F) F(STR, reason) F(AU64, final)
#define DVI_MSG_FIELDS_retiring(F) F(STR, reason)
#define DVI_MSG_FIELDS_lost(F) F(KEY, key) F(STR, holder)
#define DVI_MSG_FIELDS_steal(F) F(U64, count)
#define DVI_MSG_FIELDS_ping(F) F(U64, seq) F(U64, interval_ms) \
    F(U64, timeout_ms)
#define DVI_MSG_FIELDS_pong(F) F(U64, seq)
#define DVI_MSG_FIELDS_memory(F) F(U64, paused) F(U64, bytes) F(U64, spilled)
#define DVI_MSG_FIELDS_move(F) F(KEY, key) F(STR, holder)
#define DVI_MSG_FIELDS_leaving(F) F(STR, reason)
#define DVI_MSG_FIELDS_info(F) F(STR, host) F(U64, pid) F(STR, resources)
#define DVI_MSG_FIELDS_control(F) F(U64, req) F(STR, verb) F(STR, args)
#define DVI_MSG_FIELDS_retire(F) F(STR, reason)
#define DVI_MSG_FIELDS_secede(F) F(U64, count)
// clang-format on

enum dvi_msg_type {
#define DVI_XX_(name, num, lname) DVI_MSG_##name = (num),
    DVI_MSG_MAP(DVI_XX_)
#undef DVI_XX_
        DVI_MSG_MAX
};

/* Roles announced in HELLO. */
enum dvi_role { DVI_ROLE_CLIENT = 1, DVI_ROLE_WORKER = 2, DVI_ROLE_PEER = 3 };

/* Who is at fault for a FAILED task. */
enum dvi_blame {
    DVI_BLAME_TASK = 1,   /* the function failed: not retried */
    DVI_BLAME_INPUT = 2,  /* an input could not be fetched: rescheduled */
    DVI_BLAME_WORKER = 3, /* the worker did not run it (it is stopping):
                             placed again elsewhere */
    DVI_BLAME_STOLEN = 4  /* given back on STEAL, not started: for an idle
                             worker, and no fault of anyone's */
};

/* Task flags in SUBMIT and COMPUTE. */
#define DVI_TASK_IMPURE 1u
#define DVI_TASK_CHUNK 2u /* args is a list of argument lists */
/* COMPUTE only: a client wants the result, so DONE carries it when it is
 * small; otherwise only its size travels and the result stays where it
 * was made until someone fetches it. */
#define DVI_TASK_WANTED 4u
/* COMPUTE only: a continuation (DONE's forward): the task's result is its
 * one input's, kept under its own key too; there is no function to run. */
#define DVI_TASK_FORWARD 8u
/* COMPUTE only: fusion. The task's one input is being computed on this
 * worker and nothing else needs it: it is handed over in memory, never
 * stored (DONE of the input says fused). */
#define DVI_TASK_FUSE 16u
/* COMPUTE only: pinned here (dv_opts.worker): STEAL never gives it back,
 * as it could only come back here. */
#define DVI_TASK_PINNED 32u

/* SCATTER's flags: the value goes to every worker, present and future
 * (dv_broadcast); its key is then a broadcast key (callkey.h). */
#define DVI_SCATTER_BROADCAST 1u

/* The name of a message type, for logs ("?" for unknown). */
const char *dvi_msg_name(int type);

/* Called for each message of a frame with its fields after the type. */
typedef int (*dvi_msg_fn)(void *ctx, int type, const msgpack_object *f,
                          uint32_t n);

/* Checks and decodes one frame payload and calls fn for every message, in
 * order. Returns 0, the first negative return of fn, or DV_EPROTO (with the
 * reason set) for a malformed frame, an unknown type or too few fields. */
int dvi_msg_each(const char *buf, size_t len, dvi_msg_fn fn, void *ctx);
/* The same for a hollow frame's payload (dvi_outbox_frame_hollow), whose
 * blobs came by reference: a field that is the one-byte bin at offset
 * refs[i].at of buf reads as the bytes of refs[i].blob. checked: the
 * payload is checked first (dvi_mpcheck), as any from outside this
 * process must be; one this process's own code packed (a frame from a
 * peer in it) is spared that walk of every frame. */
int dvi_msg_each_refs(const char *buf, size_t len, const dvi_outbox_seg *refs,
                      size_t nrefs, int checked, dvi_msg_fn fn, void *ctx);

/* Field readers: 0 on success, DV_EPROTO if the field has another type. */
int dvi_msg_u64(const msgpack_object *o, uint64_t *out);
int dvi_msg_i64(const msgpack_object *o, int64_t *out);
/* A str or bin field as pointer + length into the frame (borrowed). */
int dvi_msg_bytes(const msgpack_object *o, const char **p, size_t *n);
/* A str field copied into buf (NUL-terminated), at most size - 1 bytes. */
int dvi_msg_str(const msgpack_object *o, char *buf, size_t size);
/* Like dvi_msg_bytes, but nil gives p = NULL, n = 0. */
int dvi_msg_opt_bytes(const msgpack_object *o, const char **p, size_t *n);

/* msgpack_sbuffer_write, for packers into an sbuffer, with the small
 * writes that make most of a message (a type byte, a length, a short key)
 * copied inline: a packer writes some sixty times a task, and the libc
 * call per write made a tenth of a tiny task's instructions. */
int dvi_sbuffer_write(void *sbuf, const char *buf, size_t len);

/* Packs a string (NUL-terminated), or nil for NULL. */
void dvi_pack_str(msgpack_packer *pk, const char *s);
void dvi_pack_strn(msgpack_packer *pk, const char *s, size_t n);
void dvi_pack_bin(msgpack_packer *pk, const void *p, size_t n);

/* ---- Typed messages ------------------------------------------------------
 *
 * For each message, from its field list: a struct dvi_msg_NAME, a reader
 * dvi_msg_NAME_read() that checks every field and fills the struct (0, or
 * DV_EPROTO with the reason naming the message and the field), and a
 * packer dvi_msg_NAME_pack() that adds the message to an outbox. Read
 * strings borrow the frame; a KEY is copied NUL-terminated into the struct.
 * An ARR field is not packed: the packer returns the packer positioned
 * for it, and the caller packs the array. Appended fields (AU64, ASTR)
 * come after it: the packer counts those that are not 0 or empty (and any
 * before them), and dvi_msg_NAME_pack_tail() packs them; call it after
 * the array, or after the packer of a message with appended fields and no
 * array (it does nothing when there is nothing to pack).
 */

/* Bytes borrowed from a frame, or given to a packer. A BIN packed with
 * blob set goes out from the blob's memory when it is large
 * (dvi_outbox_put_blob), and from p otherwise (p may then be NULL). */
typedef struct dvi_bytes {
    const char *p; /* NULL for a nil OSTR / OBIN */
    size_t n;
    dvi_blob *blob;
} dvi_bytes;

/* A NUL-terminated string as dvi_bytes (NULL: nil). */
dvi_bytes dvi_bytes_of(const char *s);
/* A malloc'ed NUL-terminated copy (NULL for nil). Caller frees. */
char *dvi_bytes_dup(dvi_bytes b);
/* b as a NUL-terminated string in buf, cut to size - 1 bytes ("" for
 * nil); not snprintf, whose parsing costs more on every task's path. */
void dvi_bytes_str(dvi_bytes b, char *buf, size_t size);
/* Whether b holds exactly the string s. */
int dvi_bytes_eq(dvi_bytes b, const char *s);

#define DVI_MSG_DECL_U64(name) uint64_t name;
#define DVI_MSG_DECL_I64(name) int64_t name;
#define DVI_MSG_DECL_KEY(name) \
    const char *name;          \
    char name##_buf_[DVI_MAX_KEY + 1];
#define DVI_MSG_DECL_STR(name) dvi_bytes name;
#define DVI_MSG_DECL_OSTR(name) dvi_bytes name;
#define DVI_MSG_DECL_BIN(name) dvi_bytes name;
#define DVI_MSG_DECL_OBIN(name) dvi_bytes name;
#define DVI_MSG_DECL_ARR(name) const msgpack_object_array *name;
#define DVI_MSG_DECL_AU64(name) uint64_t name;
#define DVI_MSG_DECL_ASTR(name) dvi_bytes name;
#define DVI_MSG_DECL_(kind, name) DVI_MSG_DECL_##kind(name)

#define DVI_MSG_STRUCT_(NAME, num, lname)                             \
    typedef struct dvi_msg_##lname {                                  \
        DVI_MSG_FIELDS_##lname(DVI_MSG_DECL_)                         \
    } dvi_msg_##lname;                                                \
    int dvi_msg_##lname##_read(const msgpack_object *f, uint32_t n,   \
                               dvi_msg_##lname *m);                   \
    msgpack_packer *dvi_msg_##lname##_pack(dvi_outbox *o,             \
                                           const dvi_msg_##lname *m); \
    void dvi_msg_##lname##_pack_tail(dvi_outbox *o, const dvi_msg_##lname *m);
DVI_MSG_MAP(DVI_MSG_STRUCT_)
#undef DVI_MSG_STRUCT_

/* Whether a field of each kind must be present (appended ones may not). */
#define DVI_MSG_REQUIRED_U64 1
#define DVI_MSG_REQUIRED_I64 1
#define DVI_MSG_REQUIRED_KEY 1
#define DVI_MSG_REQUIRED_STR 1
#define DVI_MSG_REQUIRED_OSTR 1
#define DVI_MSG_REQUIRED_BIN 1
#define DVI_MSG_REQUIRED_OBIN 1
#define DVI_MSG_REQUIRED_ARR 1
#define DVI_MSG_REQUIRED_AU64 0
#define DVI_MSG_REQUIRED_ASTR 0

/* The number of fields a message of this type needs (0 if unknown). */
uint32_t dvi_msg_min_fields(int type);

#endif
