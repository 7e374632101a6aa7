/* A client inside a worker: the one its running tasks submit children
 * through (dv_call_submit), and wait for them with (dv_result).
 *
 * It is a dv_client without a thread or a connection of its own: it runs
 * on the worker's loop and sends on the worker's connection to the
 * scheduler, whose FINISHED and ERRED for the children the worker hands
 * it. Its futures, keys and waiting are a client's; what differs is what
 * the worker lends it (dvi_client_host): the connection, the results it
 * holds, which code a function name means there, and a thread while a
 * task waits. Its functions run on the worker's loop thread but
 * dvi_submit_child, which runs on the task's.
 */
#ifndef DVI_CLIENT_ATTACH_H
#define DVI_CLIENT_ATTACH_H

#include <msgpack.h>
#include <stdint.h>
#include <uv.h>

#include "common/blob.h"
#include "drove.h"
#include "proto/conn.h"
#include "proto/tls_ctx.h"

/* What a call of a function name means (fninfo.c, and a worker's). */
typedef struct dvi_fninfo {
    char *name;
    unsigned flags; /* DV_FN_IMPURE, DV_FN_NOT_THREAD_SAFE */
    char code[80];  /* funcs.h: "U<hash>", "B<build-id>" or "" */
} dvi_fninfo;

/* What the worker lends its client. Each runs on the worker's loop thread
 * but fninfo and block, which run on the calling task's thread. */
typedef struct dvi_client_host {
    /* The connection to the scheduler now, or NULL. */
    dvi_conn *(*conn)(void *ctx);
    /* A result held by this worker, or NULL (borrowed). */
    dvi_blob *(*local)(void *ctx, const char *key);
    /* What a call of fn, submitted by a task of code parent_code, means:
     * 0, or DV_ENOTFOUND with the reason set. */
    int (*fninfo)(void *ctx, const char *parent_code, const char *fn,
                  dvi_fninfo *out);
    /* The calling task is about to wait (begin 1: before each wait, and
     * again after a wake-up) or is done waiting (0): its worker lends
     * another thread meanwhile. Returns 0, or a DV_E* code with the
     * reason set if it must not wait (asked to stop, or on the worker's
     * loop thread). */
    int (*block)(int begin);
} dvi_client_host;

/* The running task that submits a child. */
typedef struct dvi_parent {
    const char *key;  /* the task's */
    const char *code; /* the code its function is of (funcs.h) */
    int64_t priority; /* its priority */
    const void *call; /* its running call: the owner of its children */
} dvi_parent;

/* A client for the worker with this id, on its loop; tls: its identity,
 * to fetch from peers over tcp (held), or NULL. */
dv_client *dvi_client_attach(uv_loop_t *loop, const char *id, dvi_tls_ctx *tls,
                             const dvi_client_host *host, void *ctx);
/* Fails what is still pending (waiting tasks return) and refuses new
 * children: the worker is stopping. Accepts NULL, as abandon does. */
void dvi_client_attach_stop(dv_client *c);
/* For a process about to end with calls still running (which may use
 * the client): stops it and closes its handles, freeing nothing. */
void dvi_client_attach_abandon(dv_client *c);
/* Stops the client, and closes and frees it once the loop has run its
 * closes (no task may use it any more). Accepts NULL. */
void dvi_client_detach(dv_client **c);
/* Queues what the tasks submitted on the scheduler's connection now: a
 * DONE that names a child must follow its SUBMIT. */
void dvi_client_attach_flush(dv_client *c);
/* The scheduler's FINISHED or ERRED of a child (a dvi_msg_fn's fields). */
int dvi_client_attach_result(dv_client *c, int type, const msgpack_object *f,
                             uint32_t n);
/* Every pending child errs as lost (why): the worker's session with the
 * scheduler is over, and the tasks that wait must return. */
void dvi_client_attach_fail(dv_client *c, const char *why);
/* Waiting tasks look again (one of them was asked to stop). */
void dvi_client_attach_wake(dv_client *c);

/* Submits a child of parent (dv_call_submit); futures among args must be
 * parent->call's children. Any thread. */
dv_future *dvi_submit_child(dv_client *c, const char *fn, size_t nargs,
                            const dv_arg *args, const dv_opts *opts,
                            const dvi_parent *parent);
#endif
