/* Submitting work: dv_submit, dv_map, dv_scatter, dv_broadcast, and task
 * keys.
 *
 * Arguments are encoded on the calling thread, outside the client's lock;
 * a pure call's key is a BLAKE2b hash of the function name, the code it
 * means (fninfo.c) and those bytes (futures appear in them as their
 * keys), so equal calls share a task and changed code never meets a stale
 * result. Under the lock a submission is a hash-table lookup and a memcpy
 * into the batch the loop sends on its next turn.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "client_impl.h"
#include "common/err.h"
#include "common/map.h"
#include "common/resources.h"
#include "common/value.h"
#include "proto/callkey.h"
#include "proto/msg.h"
#include "worker/funcs.h"

/* Room is left for "-" and the 32 hex digits of a pure call's key. */
#define S_MAX_NAME (DVI_MAX_KEY - 40)
#define S_MAX_DEPS 65536
/* Arguments and scattered values travel in one message, which must fit in
 * a frame (DVI_FRAME_MAX_DEFAULT) with room to spare. */
#define S_MAX_MESSAGE ((size_t)512 << 20)

/* Per-thread scratch for encoding one submission. */
typedef struct s_enc {
    msgpack_sbuffer sb; /* the arguments */
    msgpack_packer pk;
    dvi_outbox msg; /* the SUBMIT, packed before the lock is taken */
    dv_client *c;
    const void *call;  /* a child's: the call whose futures it may take */
    const char **deps; /* keys of the futures among the arguments */
    size_t ndeps, capdeps;
    dvi_map index; /* key -> its place in deps + 1, once there are many */
    int indexed;
    int error;
} s_enc;

/* Up to this many futures in a call are told apart by a scan; a wide
 * fan-in indexes them instead of scanning (quadratic in the width). */
#define S_SCAN_DEPS 16

static _Thread_local s_enc s_scratch;
static pthread_key_t s_scratch_key; /* frees a thread's scratch as it ends */
static uv_once_t s_scratch_once = UV_ONCE_INIT;

static void
s_scratch_free(void *p)
{
    s_enc *e = p;
    msgpack_sbuffer_destroy(&e->sb);
    dvi_outbox_fini(&e->msg);
    free(e->deps);
    if (e->indexed) {
        dvi_map_fini(&e->index);
    }
    memset(e, 0, sizeof(*e));
}

static void
s_scratch_init(void)
{
    pthread_key_create(&s_scratch_key, s_scratch_free);
}

static int
s_enc_check_size(const s_enc *e)
{
    if (e->sb.size > S_MAX_MESSAGE) {
        return dvi_seterr(DV_ELIMIT,
                          "%zu bytes of arguments or data: one "
                          "message carries at most %zu; make large data on "
                          "the workers, or split it",
                          e->sb.size, S_MAX_MESSAGE);
    }
    return 0;
}

static s_enc *
s_enc_begin(dv_client *c)
{
    s_enc *e = &s_scratch;
    if (e->pk.data == NULL) {
        msgpack_sbuffer_init(&e->sb);
        msgpack_packer_init(&e->pk, &e->sb, dvi_sbuffer_write);
        dvi_outbox_init(&e->msg, NULL, NULL);
        uv_once(&s_scratch_once, s_scratch_init);
        pthread_setspecific(s_scratch_key, e);
    }
    e->sb.size = 0;
    e->ndeps = 0;
    if (e->indexed) {
        dvi_map_fini(&e->index); /* empty again */
        e->indexed = 0;
    }
    e->c = c;
    e->call = NULL;
    e->error = 0;
    return e;
}

static void
s_enc_trim(s_enc *e)
{
    /* Keep the scratch small after an unusually large argument, or a
     * large buffer handed over by the client's outbox (dvi_outbox_move
     * swaps an empty one's buffers). */
    if (e->sb.alloc > (1u << 20)) {
        msgpack_sbuffer_destroy(&e->sb);
        msgpack_sbuffer_init(&e->sb);
    }
    if (e->msg.sb.alloc > (1u << 20)) { /* emptied by each submission */
        dvi_outbox_fini(&e->msg);
        dvi_outbox_init(&e->msg, NULL, NULL);
    }
}

/* Where key (a live future's, so its pointer names it) is among the
 * call's futures so far, or -1. */
static ssize_t
s_dep_find(s_enc *e, const char *key)
{
    if (!e->indexed && e->ndeps < S_SCAN_DEPS) {
        for (size_t i = 0; i < e->ndeps; i++) {
            if (e->deps[i] == key) {
                return (ssize_t)i;
            }
        }
        return -1;
    }
    if (!e->indexed) {
        dvi_map_init(&e->index);
        e->indexed = 1;
        for (size_t i = 0; i < e->ndeps; i++) {
            dvi_map_put(&e->index, e->deps[i], (void *)(uintptr_t)(i + 1));
        }
    }
    return (ssize_t)(uintptr_t)dvi_map_get(&e->index, key) - 1;
}

static int
s_pack_future(void *ctx, msgpack_packer *pk, dv_future *f)
{
    s_enc *e = ctx;
    /* The handle is looked up, not read: a released one is freed memory. */
    uv_mutex_lock(&e->c->lock);
    int live = f != NULL && dvi_pset_has(&e->c->live, f) && f->call == e->call;
    const char *key = live ? f->st->key : NULL;
    int32_t index = live ? f->index : -1;
    uv_mutex_unlock(&e->c->lock);
    if (!live && e->call != NULL) {
        return dvi_seterr(DV_EINVAL, "a future argument of a child is NULL, "
                                     "or not a child of the same call");
    }
    if (!live) {
        return dvi_seterr(DV_EINVAL, "a future argument is NULL, was "
                                     "released, or belongs to another "
                                     "client");
    }
    ssize_t seen = s_dep_find(e, key);
    if (seen >= 0) {
        dvi_futref_pack(pk, (uint32_t)seen, index);
        return 0;
    }
    if (e->ndeps == S_MAX_DEPS) {
        return dvi_seterr(DV_ELIMIT, "more than %d futures in one call",
                          S_MAX_DEPS);
    }
    if (e->ndeps == e->capdeps) {
        e->capdeps = e->capdeps ? e->capdeps * 2 : 16;
        e->deps = dvi_realloc(e->deps, e->capdeps * sizeof(*e->deps));
    }
    dvi_futref_pack(pk, (uint32_t)e->ndeps, index);
    e->deps[e->ndeps++] = key;
    if (e->indexed) {
        dvi_map_put(&e->index, key, (void *)(uintptr_t)e->ndeps);
    }
    return 0;
}

/* The call's hash (callkey.h), which names a pure call. */
static void
s_call_hash(unsigned char h[DVI_CALLKEY_BYTES], const char *name,
            const char *code, unsigned flags, const s_enc *e)
{
    dvi_callkey k;
    dvi_callkey_begin(&k, name, strlen(name), code, strlen(code),
                      (flags & DVI_TASK_CHUNK) ? DVI_CALLKEY_CHUNK
                                               : DVI_CALLKEY_CALL,
                      e->sb.data, e->sb.size);
    for (size_t i = 0; i < e->ndeps; i++) {
        dvi_callkey_dep(&k, e->deps[i], strlen(e->deps[i]));
    }
    dvi_callkey_end(&k, h);
}

/* A given key of the form drove derives from a call must be this call's
 * hash: a scheduler in this process trusts such keys without hashing the
 * call again, and one elsewhere refuses them. 0, or -1 with the reason. */
static int
s_given_key_forged(const char *given, const char *fn,
                   const unsigned char call[DVI_CALLKEY_BYTES])
{
    if (!dvi_callkey_derived_form(given, strlen(given)) ||
        dvi_callkey_is(given, fn, call)) {
        return 0;
    }
    return dvi_seterr(DV_EINVAL,
                      "key '%s' has the form of a key drove derives from a "
                      "call (NAME-%d hex digits) but is not this call's: "
                      "choose a key of another form",
                      given, DVI_CALLKEY_HEX);
}

/* The key of a call that is not new: with an explicit key, the same key
 * must name the same call, or the caller would silently get another's
 * result. Returns the handle, or NULL with the reason set. */
static dv_future *
s_known_locked(dv_client *c, dvi_fstate *st, const unsigned char *call)
{
    if (call != NULL && st->has_call && memcmp(st->call, call, 16) != 0) {
        dvi_seterr(DV_EINVAL,
                   "the key '%s' was already used for a different call "
                   "(another function or other arguments)",
                   st->key);
        return NULL;
    }
    return dvi_future_new_locked(c, st, -1);
}

/* dv_opts.timeout in whole milliseconds, rounded up (a limit never
 * shrinks to none), at most what the wire's task record holds. */
static uint64_t
s_timeout_ms(const dv_opts *opts)
{
    if (opts == NULL || !(opts->timeout > 0)) {
        return 0;
    }
    double ms = opts->timeout * 1000;
    if (ms >= (double)UINT32_MAX) {
        return UINT32_MAX;
    }
    uint64_t whole = (uint64_t)ms;
    return whole < ms ? whole + 1 : whole;
}

/* 0 if opts->resources is a spec the scheduler will take, else DV_EINVAL
 * saying what is wrong with it: a typo errs here, not as a task that waits
 * for a resource no worker has. */
static int
s_check_resources(const dv_opts *opts)
{
    dvi_resources need;
    const char *spec = opts ? opts->resources : NULL;
    if (spec == NULL || dvi_resources_parse(spec, strlen(spec), &need) == 0) {
        return 0;
    }
    char why[512];
    snprintf(why, sizeof(why), "%s", dv_last_error());
    return dvi_seterr(DV_EINVAL, "dv_opts.%s", why);
}

/* The encoded arguments in e, for a message: large ones given up by the
 * scratch, to be spliced into the frame instead of copied (the caller
 * releases bytes.blob). */
static dvi_bytes
s_enc_args(s_enc *e)
{
    dvi_bytes b = {e->sb.data, e->sb.size, NULL};
    if (e->sb.size > DVI_INLINE_MAX) {
        size_t n = e->sb.size;
        char *buf = msgpack_sbuffer_release(&e->sb);
        b.blob = dvi_blob_adopt(buf, buf, n);
    }
    return b;
}

/* Packs the SUBMIT of the call in e into e->msg, outside the lock: under
 * it, the message is only moved into the client's outbox. */
static void
s_pack_submit(s_enc *e, const char *key, const char *fn, const dvi_fninfo *fi,
              unsigned flags, const dv_opts *opts, const dvi_parent *parent)
{
    dvi_msg_submit m = {.key = key, .fn = fn};
    m.code = dvi_bytes_of(fi->code);
    m.args = s_enc_args(e);
    m.flags = flags;
    m.priority = opts ? opts->priority : 0;
    if (parent != NULL) {
        /* Depth first: work begun finishes before new work. */
        m.priority += parent->priority + 1;
        m.parent = dvi_bytes_of(parent->key);
    }
    m.retries = opts ? opts->retries : 0;
    m.worker = dvi_bytes_of(opts ? opts->worker : NULL);
    m.timeout_ms = s_timeout_ms(opts);
    m.resources = dvi_bytes_of(opts ? opts->resources : NULL);
    msgpack_packer *pk = dvi_msg_submit_pack(&e->msg, &m);
    msgpack_pack_array(pk, e->ndeps);
    for (size_t i = 0; i < e->ndeps; i++) {
        dvi_pack_str(pk, e->deps[i]);
    }
    dvi_msg_submit_pack_tail(&e->msg, &m);
    dvi_blob_rele(m.args.blob); /* the frame holds it now */
}

/* What a call of fn means: for a client, its own view (fninfo.c) on a
 * scheme that may run it; for a task's child, its worker's. */
static int
s_fninfo(dv_client *c, const char *fn, const dvi_parent *parent, dvi_fninfo *fi)
{
    if (parent != NULL) {
        return c->host->fninfo(c->host_ctx, parent->code, fn, fi);
    }
    dvi_fninfo_get(c, fn, fi);
    return dvi_scheme_allows(c, fn, fi->flags);
}

/* The key of the call hashed as call: given, numbered (impure), or
 * derived. */
static void
s_key(dv_client *c, char *key, size_t size, const char *fn, const char *given,
      int impure, const unsigned char *call)
{
    if (given) {
        snprintf(key, size, "%s", given);
    } else if (impure) {
        unsigned long long n = atomic_fetch_add(&c->counter, 1) + 1;
        snprintf(key, size, "%s-%016llx%08llx", fn,
                 (unsigned long long)c->nonce, n);
    } else {
        dvi_callkey_format(key, size, fn, strlen(fn), call);
    }
}

/* Under the lock: the handle of the call whose SUBMIT is in e->msg, a new
 * task's (a state made for key, call its hash) or a known one's. The
 * SUBMIT goes into the client's outbox when the scheduler must see it;
 * *queued says so. NULL with the reason set. */
static dv_future *
s_submit_locked(dv_client *c, s_enc *e, const char *key,
                const unsigned char *call, const unsigned char *given_call,
                const dvi_parent *parent, int *queued)
{
    dvi_fstate *st = dvi_map_get(&c->futures, key);
    dv_future *f = NULL;
    if (st != NULL) {
        /* The same call again: share the task. */
        f = s_known_locked(c, st, given_call);
        /* Another call wants it too: the scheduler must know, or the
         * first call's end would release it. */
        *queued = f != NULL && parent != NULL;
    } else {
        st = dvi_fstate_new_locked(c, key);
        memcpy(st->call, call, sizeof(st->call));
        st->has_call = given_call != NULL;
        dvi_map_put(&c->futures, st->key, st);
        f = dvi_future_new_locked(c, st, -1);
        *queued = 1;
    }
    if (*queued) {
        dvi_outbox_move(&c->out, &e->msg);
        dvi_client_batch_locked(c);
    }
    if (f != NULL && parent != NULL) {
        f->call = parent->call;
    }
    return f;
}

/* Submits the encoded call in e (a child of parent, if not NULL); returns
 * a new handle, or NULL. Everything but the futures table and the move of
 * the SUBMIT into the outbox happens outside the lock, which the loop
 * thread wants for each frame it reads: waiting for it costs a thread two
 * context switches. */
static dv_future *
s_submit_encoded(dv_client *c, const char *fn, s_enc *e, unsigned flags,
                 const dv_opts *opts, const dvi_parent *parent)
{
    char key[256];
    unsigned char call[16] = {0};
    if (s_enc_check_size(e) < 0) {
        return NULL;
    }
    if (opts != NULL && !(opts->timeout >= 0)) {
        dvi_seterr(DV_EINVAL,
                   "dv_opts.timeout is %g: want 0 (no limit) or a number "
                   "of seconds",
                   opts->timeout);
        return NULL;
    }
    if (s_check_resources(opts) < 0) {
        return NULL;
    }
    dvi_fninfo fi;
    if (s_fninfo(c, fn, parent, &fi) < 0) {
        return NULL;
    }
    int impure = (opts && opts->impure) || (fi.flags & DV_FN_IMPURE);
    const char *given = opts ? opts->key : NULL;
    if (!impure || given) {
        s_call_hash(call, fn, fi.code, flags, e);
    }
    if (given && s_given_key_forged(given, fn, call) < 0) {
        return NULL;
    }
    s_key(c, key, sizeof(key), fn, given, impure, call);
    flags |= impure ? DVI_TASK_IMPURE : 0;
    s_pack_submit(e, key, fn, &fi, flags, opts, parent);
    int queued = 0;
    dv_future *f = NULL;
    dvi_client_lock_user(c);
    if (dvi_client_check_locked(c) == 0) {
        f = s_submit_locked(c, e, key, call, given ? call : NULL, parent,
                            &queued);
    }
    dvi_client_unlock_wake(c, queued);
    if (!queued) { /* not sent: the next submission starts afresh */
        dvi_outbox_fini(&e->msg);
        dvi_outbox_init(&e->msg, NULL, NULL);
    }
    return f;
}

static int
s_check_fn(dv_client *c, const char *fn)
{
    if (c == NULL || fn == NULL || fn[0] == '\0' || strlen(fn) > S_MAX_NAME) {
        return dvi_seterr(DV_EINVAL,
                          "a client and a function name of 1 to "
                          "%d bytes are needed",
                          S_MAX_NAME);
    }
    return 0;
}

dv_future *
dv_submit(dv_client *c, const char *fn, size_t nargs, const dv_arg *args,
          const dv_opts *opts)
{
    if (nargs > 0 && args == NULL) {
        dvi_seterr(DV_EINVAL, "dv_submit: %zu arguments and no array", nargs);
        return NULL;
    }
    if (s_check_fn(c, fn) < 0) {
        return NULL;
    }
    s_enc *e = s_enc_begin(c);
    dv_arg list = dv_list(args, nargs);
    if (dvi_value_pack(&e->pk, &list, s_pack_future, e) < 0) {
        return NULL;
    }
    dv_future *f = s_submit_encoded(c, fn, e, 0, opts, NULL);
    s_enc_trim(e);
    return f;
}

dv_future *
dvi_submit_child(dv_client *c, const char *fn, size_t nargs, const dv_arg *args,
                 const dv_opts *opts, const dvi_parent *parent)
{
    if (nargs > 0 && args == NULL) {
        dvi_seterr(DV_EINVAL, "dv_call_submit: %zu arguments and no array",
                   nargs);
        return NULL;
    }
    if (s_check_fn(c, fn) < 0) {
        return NULL;
    }
    s_enc *e = s_enc_begin(c);
    e->call = parent->call;
    dv_arg list = dv_list(args, nargs);
    dv_future *f = NULL;
    if (dvi_value_pack(&e->pk, &list, s_pack_future, e) == 0) {
        f = s_submit_encoded(c, fn, e, 0, opts, parent);
    }
    s_enc_trim(e);
    return f;
}

/* Submits calls [from, to) as one chunk task and makes a handle for each
 * call's element of its result. */
static int
s_map_chunk(dv_client *c, const char *fn, const dv_arg *args, size_t from,
            size_t to, dv_future **out, const dv_opts *opts)
{
    s_enc *e = s_enc_begin(c);
    msgpack_pack_array(&e->pk, to - from);
    for (size_t i = from; i < to; i++) {
        dv_arg one = dv_list(&args[i], 1);
        int rc = dvi_value_pack(&e->pk, &one, s_pack_future, e);
        if (rc < 0) {
            return rc;
        }
    }
    dv_future *chunk = s_submit_encoded(c, fn, e, DVI_TASK_CHUNK, opts, NULL);
    s_enc_trim(e);
    if (chunk == NULL) {
        return dvi_last_code();
    }
    uv_mutex_lock(&c->lock);
    for (size_t i = from; i < to; i++) {
        out[i] = dvi_future_new_locked(c, chunk->st, (int32_t)(i - from));
    }
    uv_mutex_unlock(&c->lock);
    dv_release(chunk);
    return 0;
}

int
dv_map(dv_client *c, const char *fn, size_t n, const dv_arg *args,
       dv_future **out, const dv_opts *opts)
{
    if (s_check_fn(c, fn) < 0) {
        return DV_EINVAL;
    }
    if (n > 0 && (args == NULL || out == NULL)) {
        return dvi_seterr(DV_EINVAL, "dv_map: no arguments or output array");
    }
    if (n > INT32_MAX) {
        return dvi_seterr(DV_ELIMIT, "dv_map: %zu calls (max %d)", n,
                          INT32_MAX);
    }
    size_t chunk = opts && opts->chunksize > 1 ? opts->chunksize : 1;
    dv_opts o = opts ? *opts : (dv_opts)DV_OPTS_INIT;
    o.key = NULL; /* one key cannot name many tasks */
    for (size_t i = 0; i < n; i += chunk) {
        size_t to = i + chunk < n ? i + chunk : n;
        int rc = 0;
        if (chunk == 1) {
            out[i] = dv_submit(c, fn, 1, &args[i], &o);
            rc = out[i] ? 0 : dvi_last_code();
        } else {
            rc = s_map_chunk(c, fn, args, i, to, out, &o);
        }
        if (rc < 0) {
            char why[512];
            snprintf(why, sizeof(why), "%s", dv_last_error());
            for (size_t j = 0; j < i; j++) {
                dv_release(out[j]);
                out[j] = NULL;
            }
            return dvi_seterr(rc, "dv_map: call %zu: %s", i, why);
        }
    }
    return (int)n;
}

/* Puts value on workers: one and a replica (flags 0, dv_scatter), or
 * every worker, present and future (DVI_SCATTER_BROADCAST). */
static dv_future *
s_put(dv_client *c, dv_arg value, unsigned flags, const char *what)
{
    if (c == NULL) {
        dvi_seterr(DV_EINVAL, "%s: no client", what);
        return NULL;
    }
    s_enc *e = s_enc_begin(c);
    if (dvi_value_pack(&e->pk, &value, NULL, NULL) < 0 ||
        s_enc_check_size(e) < 0) {
        s_enc_trim(e);
        return NULL;
    }
    char key[256];
    if (flags & DVI_SCATTER_BROADCAST) {
        dvi_callkey_broadcast(key, sizeof(key), e->sb.data, e->sb.size);
    } else {
        dvi_callkey_scatter(key, sizeof(key), e->sb.data, e->sb.size);
    }
    uv_mutex_lock(&c->lock);
    if (dvi_client_check_locked(c) < 0) {
        uv_mutex_unlock(&c->lock);
        return NULL;
    }
    dvi_fstate *st = dvi_map_get(&c->futures, key);
    if (st == NULL) {
        st = dvi_fstate_new_locked(c, key);
        /* The client has the bytes already: no need to fetch them back. */
        st->blob = dvi_blob_copy(e->sb.data, e->sb.size);
        dvi_map_put(&c->futures, st->key, st);
        dvi_msg_scatter m = {.key = key, .flags = flags};
        m.value = (dvi_bytes){e->sb.data, e->sb.size, NULL};
        dvi_msg_scatter_pack(&c->out, &m);
        dvi_msg_scatter_pack_tail(&c->out, &m);
        dvi_client_queue_locked(c);
    }
    dv_future *f = dvi_future_new_locked(c, st, -1);
    uv_mutex_unlock(&c->lock);
    s_enc_trim(e);
    return f;
}

dv_future *
dv_scatter(dv_client *c, dv_arg value)
{
    return s_put(c, value, 0, "dv_scatter");
}

dv_future *
dv_broadcast(dv_client *c, dv_arg value)
{
    return s_put(c, value, DVI_SCATTER_BROADCAST, "dv_broadcast");
}
