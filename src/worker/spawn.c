/* A worker's part in child tasks: what it lends the client its tasks
 * submit children through (client/attach.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/attach.h"
#include "common/err.h"
#include "executor.h"
#include "funcs.h"
#include "proto/msg.h"
#include "runner.h"
#include "store.h"
#include "worker_impl.h"

static dvi_conn *
s_conn(void *ctx)
{
    dvi_worker *w = ctx;
    return w->welcomed ? w->sched : NULL;
}

static dvi_blob *
s_local(void *ctx, const char *key)
{
    dvi_worker *w = ctx;
    return dvi_store_get(w->store, key);
}

/* A child names its function as its parent's library has it, or else as
 * the program does: the code its calls mean on every worker. */
static int
s_fninfo(void *ctx, const char *parent_code, const char *fn, dvi_fninfo *out)
{
    dvi_worker *w = ctx;
    memset(out, 0, sizeof(*out));
    const dv_function *d = NULL;
    if (parent_code[0] == 'U' &&
        (d = dvi_funcs_find(w->funcs, parent_code, fn)) != NULL) {
        snprintf(out->code, sizeof(out->code), "%s", parent_code);
    } else if ((d = dvi_funcs_find(w->funcs, "", fn)) != NULL) {
        dvi_funcs_program_code(d, out->code);
    } else {
        return dvi_seterr(DV_ENOTFOUND,
                          "dv_call_submit: no function '%s' on worker %s, in "
                          "its parent's library or its program",
                          fn, w->id);
    }
    out->flags = d->flags;
    return 0;
}

static const dvi_client_host s_host = {s_conn, s_local, s_fninfo,
                                       dvi_job_block};

/* The call returned its child's future: the scheduler makes the task
 * wait for that child; nothing is stored here under its key. */
void
dvi_worker_forwarded(dvi_worker *w, dvi_job *job, uint32_t owed)
{
    dvi_msg_done m = {.key = job->key, .us = job->us};
    m.forward = dvi_bytes_of(job->forward);
    dvi_worker_done_send(w, job, &m, owed); /* later.c */
    w->stats.tasks_done++;
    /* Tasks sent ahead for its result get it later, where it is made. */
    free(job->error);
    job->error = dvi_strdup("it continues as one of its children");
}

/* Calls waiting for their children lent their threads: the scheduler
 * counts the worker's room with them (SECEDE). */
static void
s_on_lent(void *ctx, int lent)
{
    dvi_worker *w = ctx;
    if (w->sched != NULL && w->welcomed) {
        dvi_msg_secede m = {.count = (uint64_t)(lent > 0 ? lent : 0)};
        dvi_msg_secede_pack(dvi_worker_sched_out(w), &m);
    }
}

void
dvi_worker_kids_init(dvi_worker *w)
{
    w->kids = dvi_client_attach(w->loop, w->id, w->tls, &s_host, w);
    dvi_runner_on_lent(w->run, s_on_lent, w);
}
