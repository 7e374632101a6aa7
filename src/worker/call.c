/* dv_call: one running call of a task function, and the running of a job
 * (decode arguments, call, encode the result) on an executor thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "client/attach.h"
#include "common/bbuf.h"
#include "common/err.h"
#include "common/value.h"
#include "executor.h"
#include "proto/msg.h"

struct dv_call {
    const char *worker_id;
    const dv_value *args; /* a list */
    dvi_blob *result;     /* encoded; NULL means nil */
    char *error;          /* set by dv_fail */
    atomic_int *stop;     /* the job's: it should stop */
    dvi_job *job;         /* the job it is a call of */
    dv_future **kids;     /* its children's futures: released at its end */
    size_t nkids, capkids;
    char *forward; /* dv_return of a child's future: the child's key */
};

/* The job running on this thread, for the waits of its calls. */
static _Thread_local dvi_job *s_running;

size_t
dv_nargs(const dv_call *call)
{
    return call ? call->args->len : 0;
}

const dv_value *
dv_arg_at(const dv_call *call, size_t i)
{
    return call ? dv_value_at(call->args, i) : NULL;
}

const char *
dv_call_worker(const dv_call *call)
{
    return call ? call->worker_id : NULL;
}

bool
dv_call_cancelled(const dv_call *call)
{
    return call != NULL && call->stop != NULL &&
           atomic_load_explicit(call->stop, memory_order_relaxed) != 0;
}

/* The continuation: the call's result is its child f's. */
static int
s_return_child(dv_call *call, dv_future *f)
{
    size_t i = 0;
    while (i < call->nkids && call->kids[i] != f) {
        i++; /* compared, not read: a stranger may be freed memory */
    }
    if (i == call->nkids) {
        return dvi_seterr(DV_EINVAL, "dv_return: a future is a result only "
                                     "if it is a child of this call "
                                     "(dv_call_submit)");
    }
    if (call->job != NULL && (call->job->flags & DVI_TASK_CHUNK)) {
        return dvi_seterr(DV_EINVAL, "dv_return: a call of a chunk of "
                                     "dv_map cannot return a future");
    }
    free(call->forward);
    call->forward = dvi_strdup(dv_future_key(f));
    dvi_blob_rele(call->result);
    call->result = NULL;
    return 0;
}

int
dv_return(dv_call *call, dv_arg value)
{
    dvi_bbuf bb;
    msgpack_packer pk;
    if (call == NULL) {
        return dvi_seterr(DV_EINVAL, "dv_return outside a task");
    }
    if (value.type == DV_FUTURE) {
        return s_return_child(call, value.u.fut);
    }
    /* Encoded on the stack, kept in a blob of exactly its size: a worker
     * may hold millions of tiny results. */
    dvi_bbuf_init(&bb);
    msgpack_packer_init(&pk, &bb, dvi_bbuf_write);
    int rc = dvi_value_pack(&pk, &value, NULL, NULL);
    if (rc < 0) {
        dvi_bbuf_fini(&bb);
        return rc;
    }
    dvi_blob_rele(call->result);
    call->result = dvi_bbuf_finish(&bb);
    free(call->forward);
    call->forward = NULL;
    return 0;
}

typedef struct s_fixed {
    char buf[16];
    size_t len;
} s_fixed;

static int
s_fixed_write(void *data, const char *p, size_t n)
{
    s_fixed *f = data;
    if (f->len + n > sizeof(f->buf)) {
        return -1;
    }
    memcpy(f->buf + f->len, p, n);
    f->len += n;
    return 0;
}

static void *
s_return_array(dv_call *call, int ext, size_t n)
{
    /* At most the largest array a frame can carry. */
    if (call == NULL || n > ((size_t)1 << 30) / 8 - 16) {
        dvi_seterr(DV_ELIMIT, "array of %zu elements", n);
        return NULL;
    }
    /* Write the ext header first, placed so the elements that follow it
     * are 8-byte aligned and can be filled in place. */
    s_fixed hdr = {.len = 0};
    msgpack_packer pk;
    msgpack_packer_init(&pk, &hdr, s_fixed_write);
    dvi_value_pack_array_header(&pk, ext, n);
    dvi_blob *b = dvi_blob_new(hdr.len + n * 8, hdr.len);
    memcpy(b->data, hdr.buf, hdr.len);
    dvi_blob_rele(call->result);
    call->result = b;
    free(call->forward);
    call->forward = NULL;
    return b->data + hdr.len;
}

double *
dv_return_f64s(dv_call *call, size_t n)
{
    return s_return_array(call, DVI_EXT_F64S, n);
}

int64_t *
dv_return_i64s(dv_call *call, size_t n)
{
    return s_return_array(call, DVI_EXT_I64S, n);
}

void *
dv_return_bytes(dv_call *call, size_t n)
{
    if (call == NULL || n > ((size_t)1 << 30) - 16) {
        dvi_seterr(DV_ELIMIT, "a result of %zu bytes", n);
        return NULL;
    }
    /* The bin header first, placed so the bytes after it are aligned. */
    s_fixed hdr = {.len = 0};
    msgpack_packer pk;
    msgpack_packer_init(&pk, &hdr, s_fixed_write);
    msgpack_pack_bin(&pk, n);
    dvi_blob *b = dvi_blob_new(hdr.len + n, hdr.len);
    memcpy(b->data, hdr.buf, hdr.len);
    dvi_blob_rele(call->result);
    call->result = b;
    free(call->forward);
    call->forward = NULL;
    return b->data + hdr.len;
}

int
dv_failv(dv_call *call, const char *fmt, va_list ap)
{
    if (call == NULL) {
        return DV_ETASK;
    }
    char buf[4096];
    vsnprintf(buf, sizeof(buf), fmt ? fmt : "failed", ap);
    free(call->error);
    call->error = dvi_strdup(buf);
    return DV_ETASK;
}

int
dv_fail(dv_call *call, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = dv_failv(call, fmt, ap);
    va_end(ap);
    return rc;
}

/* ---- Running a job ------------------------------------------------------ */

static int
s_resolve(void *ctx, uint32_t slot, int32_t index, dv_value *out)
{
    dvi_job *job = ctx;
    if (slot >= job->ninputs || job->inputs[slot].blob == NULL) {
        return dvi_seterr(DV_EPROTO, "an argument refers to input %u of %zu",
                          slot, job->ninputs);
    }
    dvi_job_input *in = &job->inputs[slot];
    if (index < 0) {
        return dvi_value_decode_blob(in->blob, out, NULL, NULL);
    }
    /* Elements of a chunk's result: decode the list once for all of them
     * (a task may take thousands), then copy each element out. */
    if (in->whole == NULL) {
        dv_value *v = dvi_malloc(sizeof(*v));
        int rc = dvi_value_decode_blob(in->blob, v, NULL, NULL);
        if (rc < 0) {
            free(v);
            return rc;
        }
        in->whole = v;
    }
    const dv_value *e = dv_value_at(in->whole, (size_t)index);
    if (e == NULL) {
        return dvi_seterr(DV_EPROTO, "element %d of input %u, which has %zu",
                          (int)index, slot, dv_value_len(in->whole));
    }
    dvi_value_copy(out, e);
    return 0;
}

static char *s_errorf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static char *
s_errorf(const char *fmt, ...)
{
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    return dvi_strdup(buf);
}

/* The call ended: its children's handles go (the scheduler releases
 * the children themselves when the task ends). */
static void
s_call_end(dv_call *call)
{
    for (size_t i = 0; i < call->nkids; i++) {
        dv_release(call->kids[i]);
    }
    free(call->kids);
}

/* Calls the function once; returns its encoded result (never NULL on
 * success) or NULL with *error set; a continuation's child key goes to
 * *forward. */
static dvi_blob *
s_call(dvi_job *job, const dv_value *args, const char *worker_id, char **error,
       char **forward)
{
    dv_call call = {worker_id, args, NULL, NULL, &job->stop,
                    job,       NULL, 0,    0,    NULL};
    int rc = job->fn->fn(&call);
    s_call_end(&call);
    if (call.error != NULL || rc != 0) {
        dvi_blob_rele(call.result);
        free(call.forward);
        *error = call.error ? call.error
                            : s_errorf("function '%s' returned %d without "
                                       "a reason (call dv_fail)",
                                       job->fn->name, rc);
        return NULL;
    }
    if (call.forward != NULL) {
        *forward = call.forward;
        static const char nil = (char)0xc0;
        return dvi_blob_copy(&nil, 1); /* never stored: see DONE */
    }
    if (call.result == NULL) {
        static const char nil = (char)0xc0;
        call.result = dvi_blob_copy(&nil, 1);
    }
    return call.result;
}

static void
s_run_chunk(dvi_job *job, const dv_value *calls, const char *worker_id)
{
    dvi_bbuf bb;
    msgpack_packer pk;
    dvi_bbuf_init(&bb);
    msgpack_packer_init(&pk, &bb, dvi_bbuf_write);
    msgpack_pack_array(&pk, calls->len);
    for (size_t i = 0; i < calls->len; i++) {
        const dv_value *args = &calls->u.items[i];
        char *error = NULL;
        if (args->type != DV_LIST) {
            job->error =
                s_errorf("call %zu of a chunk has no argument list", i);
            break;
        }
        char *forward = NULL;
        dvi_blob *r = s_call(job, args, worker_id, &error, &forward);
        free(forward); /* refused by dv_return already */
        if (r == NULL) {
            job->error = error;
            break;
        }
        dvi_bbuf_write(&bb, r->data, r->len);
        dvi_blob_rele(r);
    }
    if (job->error) {
        dvi_bbuf_fini(&bb);
        return;
    }
    job->result = dvi_bbuf_finish(&bb);
}

void
dvi_job_run(dvi_job *job, const char *worker_id)
{
    if (job->flags & DVI_TASK_FORWARD) {
        /* A continuation: its child's result, under its own key too. */
        job->result = dvi_blob_hold(job->inputs[0].blob);
        return;
    }
    uint64_t t0 = uv_hrtime();
    s_running = job; /* a job runs to its end on one thread */
    /* The loop reads it to time the call's limit and grace. */
    atomic_store_explicit(&job->started_ns, t0, memory_order_release);
    dv_value args;
    /* Arguments borrow what they can from the blobs holding them: a large
     * input is read where it arrived. Short ones, in the job's own block,
     * are copied (dvi_job_new). */
    int rc = job->args ? dvi_value_decode_blob(job->args, &args, s_resolve, job)
                       : dvi_value_decode(job->argbytes, job->argslen, &args,
                                          s_resolve, job);
    for (size_t i = 0; i < job->ninputs; i++) {
        dvi_value_destroy(&job->inputs[i].whole);
    }
    if (rc < 0) {
        job->error =
            s_errorf("cannot decode the arguments: %s", dv_last_error());
    } else if (args.type != DV_LIST) {
        job->error = s_errorf("arguments are not a list");
    } else if (job->flags & DVI_TASK_CHUNK) {
        s_run_chunk(job, &args, worker_id);
    } else {
        job->result = s_call(job, &args, worker_id, &job->error, &job->forward);
    }
    dvi_value_fini(&args);
    s_running = NULL;
    job->us = (int64_t)((uv_hrtime() - t0) / 1000);
}

dvi_job *
dvi_job_new(const char *key, const char *code, const char *args, size_t argslen,
            size_t ndeps)
{
    /* One allocation for the job, its inputs, key, code and short
     * arguments: a tiny task costs a few allocations, and these were four
     * of them. */
    size_t nkey = strlen(key) + 1, ncode = strlen(code) + 1;
    size_t nin = (ndeps ? ndeps : 1) * sizeof(dvi_job_input);
    size_t nargs = argslen <= DVI_JOB_ARGS_INLINE ? argslen : 0;
    dvi_job *job = dvi_calloc(1, sizeof(*job) + nin + nkey + ncode + nargs);
    job->inputs = (dvi_job_input *)(job + 1);
    job->key = memcpy((char *)job->inputs + nin, key, nkey);
    job->code = memcpy(job->key + nkey, code, ncode);
    job->argbytes = job->code + ncode;
    memcpy(job->code + ncode, args ? args : "", nargs);
    job->argslen = argslen;
    job->args = nargs < argslen ? dvi_blob_copy(args, argslen) : NULL;
    return job;
}

void
dvi_job_free(dvi_job *job)
{
    if (job == NULL) {
        return;
    }
    /* An offer between two jobs (fusion) goes with either. */
    if (job->fuse_attached != NULL) {
        job->fuse_attached->fuse_prev = NULL;
    }
    if (job->fuse_prev != NULL) {
        job->fuse_prev->fuse_attached = NULL;
        atomic_store(&job->fuse_prev->fuse_next, NULL);
    }
    for (size_t i = 0; i < job->ninputs; i++) {
        free(job->inputs[i].key);
        dvi_blob_rele(job->inputs[i].blob);
        dvi_value_destroy(&job->inputs[i].whole);
    }
    /* inputs, key, code and short arguments live in the job's own block */
    free(job->forward);
    dvi_blob_rele(job->args);
    dvi_blob_rele(job->result);
    free(job->error);
    free(job);
}

/* ---- Child tasks ----------------------------------------------------------
 */

dv_future *
dv_call_submit(dv_call *call, const char *fn, size_t nargs, const dv_arg *args,
               const dv_opts *opts)
{
    dvi_job *job = call ? call->job : NULL;
    if (job == NULL || job->kids == NULL) {
        dvi_seterr(DV_EINVAL, "dv_call_submit outside a running task");
        return NULL;
    }
    dvi_parent parent = {job->key, job->code ? job->code : "", job->priority,
                         call};
    dv_future *f = dvi_submit_child(job->kids, fn, nargs, args, opts, &parent);
    if (f == NULL) {
        return NULL;
    }
    if (call->nkids == call->capkids) {
        call->capkids = call->capkids ? call->capkids * 2 : 8;
        call->kids = dvi_realloc(call->kids, call->capkids * sizeof(f));
    }
    call->kids[call->nkids++] = f;
    job->spawned = 1;
    return f;
}

int
dvi_job_block(int begin)
{
    dvi_job *job = s_running;
    if (job == NULL) {
        return 0;
    }
    if (!begin) {
        if (job->blocked) {
            job->blocked = 0;
            dvi_executor_block(job->ex, 0);
        }
        return 0;
    }
    if (atomic_load(&job->stop)) {
        return dvi_seterr(DV_ECANCELLED,
                          "%s was asked to stop while it "
                          "waited for its children",
                          job->key);
    }
    if (job->ex == NULL) {
        job->rerun = 1;
        return dvi_seterr(DV_EPERM,
                          "%s: a call on the worker's loop thread "
                          "cannot wait for its children (it runs "
                          "again on a thread)",
                          job->key);
    }
    if (!job->blocked) {
        job->blocked = 1;
        dvi_executor_block(job->ex, 1);
    }
    return 0;
}

void
dvi_job_reset(dvi_job *job)
{
    dvi_blob_rele(job->result);
    job->result = NULL;
    free(job->error);
    job->error = NULL;
    free(job->forward);
    job->forward = NULL;
    job->rerun = 0;
}
