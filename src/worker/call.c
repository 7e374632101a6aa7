/* dv_call: one running call of a task function, and the running of a job
 * (decode arguments, call, encode the result) on an executor thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

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
};

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

int
dv_return(dv_call *call, dv_arg value)
{
    dvi_bbuf bb;
    msgpack_packer pk;
    if (call == NULL) {
        return dvi_seterr(DV_EINVAL, "dv_return outside a task");
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

/* Calls the function once; returns its encoded result (never NULL on
 * success) or NULL with *error set. */
static dvi_blob *
s_call(dvi_job *job, const dv_value *args, const char *worker_id, char **error)
{
    dv_call call = {worker_id, args, NULL, NULL, &job->stop};
    int rc = job->fn->fn(&call);
    if (call.error != NULL || rc != 0) {
        dvi_blob_rele(call.result);
        *error = call.error ? call.error
                            : s_errorf("function '%s' returned %d without "
                                       "a reason (call dv_fail)",
                                       job->fn->name, rc);
        return NULL;
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
        dvi_blob *r = s_call(job, args, worker_id, &error);
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
    uint64_t t0 = uv_hrtime();
    /* The loop reads it to time the call's limit and grace. */
    atomic_store_explicit(&job->started_ns, t0, memory_order_release);
    dv_value args;
    /* Arguments borrow what they can from the blobs holding them: a large
     * input is read where it arrived. */
    int rc = dvi_value_decode_blob(job->args, &args, s_resolve, job);
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
        job->result = s_call(job, &args, worker_id, &job->error);
    }
    dvi_value_fini(&args);
    job->us = (int64_t)((uv_hrtime() - t0) / 1000);
}

void
dvi_job_free(dvi_job *job)
{
    if (job == NULL) {
        return;
    }
    for (size_t i = 0; i < job->ninputs; i++) {
        free(job->inputs[i].key);
        dvi_blob_rele(job->inputs[i].blob);
        dvi_value_destroy(&job->inputs[i].whole);
    }
    free(job->inputs);
    free(job->key);
    dvi_blob_rele(job->args);
    dvi_blob_rele(job->result);
    free(job->error);
    free(job);
}

/* ---- Child tasks (being built: see issue 16) ----------------------------- */

dv_future *
dv_call_submit(dv_call *call, const char *fn, size_t nargs, const dv_arg *args,
               const dv_opts *opts)
{
    (void)call, (void)fn, (void)nargs, (void)args, (void)opts;
    dvi_seterr(DV_EINVAL, "child tasks are not available in this build yet");
    return NULL;
}
