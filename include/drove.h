/* drove — run C functions in parallel, on threads, processes or a cluster.
 *
 * This header is the whole public API of libdrove. A program submits calls
 * of named functions and gets futures back; a future passed as an argument
 * makes a dependency, whose result moves from worker to worker without
 * passing through the client. The same program runs on an embedded cluster
 * (threads or child processes of the program) or on a cluster of `drove
 * scheduler` and `drove worker` daemons.
 *
 * Unless a comment says otherwise, every function is thread-safe: any number
 * of threads may use one client at once. Functions that return an int return
 * 0 (or a count) on success and a negative DV_E* code on failure; functions
 * that return a pointer return NULL on failure. Either way dv_last_error()
 * then says why, in words, for the calling thread.
 */
#ifndef DROVE_H
#define DROVE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DV_EXPORT __attribute__((visibility("default")))

#define DV_VERSION_MAJOR 0
#define DV_VERSION_MINOR 1
#define DV_VERSION_PATCH 0
#define DV_VERSION_HEX \
    ((DV_VERSION_MAJOR << 16) | (DV_VERSION_MINOR << 8) | DV_VERSION_PATCH)

/* The library's version as "MAJOR.MINOR.PATCH". Static storage. */
DV_EXPORT const char *dv_version(void);

/* ---- Errors ------------------------------------------------------------ */

/* Error codes: only ever appended, never renumbered.
 *
 * DV_ELOST: the client lost its scheduler after connecting: the scheduler
 * closed the connection (killed, stopped, restarted), or sent nothing for
 * its heartbeat timeout (`drove scheduler --heartbeat-timeout`, 10 s by
 * default: a stopped scheduler, a network cut). Futures still pending
 * become DV_LOST; dv_result, dv_wait and dv_next_completed return it
 * (within that timeout: never blocking forever), and so does every call
 * that needs the scheduler afterwards (dv_submit, dv_map, dv_scatter,
 * dv_nworkers, dv_publish...). dv_last_error() names the scheduler's
 * address and why it was lost. The client does not reconnect: close it
 * and connect again. */
#define DV_ERRNO_MAP(XX)                           \
    XX(EINVAL, -1, "invalid argument")             \
    XX(ENOMEM, -2, "out of memory")                \
    XX(ETIMEDOUT, -3, "timed out")                 \
    XX(ECONN, -4, "connection failed or lost")     \
    XX(EPROTO, -5, "protocol error")               \
    XX(ENOTFOUND, -6, "not found")                 \
    XX(ETASK, -7, "task failed")                   \
    XX(ECANCELLED, -8, "cancelled")                \
    XX(ECLOSED, -9, "client closed")               \
    XX(EIO, -10, "input/output error")             \
    XX(ETYPE, -11, "wrong value type")             \
    XX(EVERSION, -12, "protocol version mismatch") \
    XX(ELIMIT, -13, "size limit exceeded")         \
    XX(ESYS, -14, "system call failed")            \
    XX(EAUTH, -15, "authentication failed")        \
    XX(EPERM, -16, "not permitted")                \
    XX(ELOST, -17, "scheduler lost")

enum dv_errno {
#define DV_XX_(name, code, text) DV_##name = (code),
    DV_ERRNO_MAP(DV_XX_)
#undef DV_XX_
};

/* A fixed description of an error code ("unknown error" for others).
 * Static storage; thread-safe. */
DV_EXPORT const char *dv_strerror(int code);

/* The reason for the calling thread's last failed call, with context
 * ("tcp://10.0.0.1:7000: connection refused"). Thread-local storage, valid
 * until the thread's next failing call. Never NULL. */
DV_EXPORT const char *dv_last_error(void);
/* The DV_E* code of the calling thread's last failed call: what a
 * function that returns NULL failed with, such as DV_EAUTH from
 * dv_connect. Meaningful after a failure only. Thread-local, like
 * dv_last_error(). */
DV_EXPORT int dv_last_code(void);

/* ---- Opaque handles ---------------------------------------------------- */

typedef struct dv_client dv_client; /* a connection to a cluster */
typedef struct dv_future dv_future; /* the client's handle on a task */
typedef struct dv_value dv_value;   /* a decoded, immutable value */
typedef struct dv_call dv_call;     /* one running call, inside a task */

/* ---- Connecting -------------------------------------------------------- */

/* Connects to a cluster and returns a client. Caller owns; free with
 * dv_close().
 *
 * where:
 *   NULL                  $DROVE_SCHEDULER if set; else $DROVE_SCHEME:
 *                         "threads" ("local"), "processes"
 *                         ("local:processes=" one per core), "cluster"
 *                         ("profile": the selected profile's running
 *                         cluster, an error naming the profile if none
 *                         runs) or "auto" (that cluster if one runs, else
 *                         processes if the program's functions are
 *                         exported for process workers, else threads);
 *                         else an embedded cluster of the threads scheme
 *                         ("local"). dv_scheme() says which was chosen,
 *                         dv_scheme_reason() why.
 *   "local"               embedded cluster, threads scheme, one worker of one
 *                         thread per core.
 *   "local:threads=N"     embedded, N workers of one thread each, inside this
 *                         process.
 *   "local:processes=N"   embedded, N worker processes running this same
 *                         executable (link with pkg-config's flags, which
 *                         export DV_FUNCTIONs); a crash in a task does not
 *                         take the client down.
 *   "tcp://HOST:PORT"     a running `drove scheduler`, over mutual TLS with
 *                         the client certificate of the profile named by
 *                         $DROVE_PROFILE (default "default") in
 *                         $DROVE_HOME (default ~/.drove).
 *   "profile:NAME"        the scheduler of profile NAME, at the address its
 *                         connection file records, with that profile's
 *                         client certificate ("profile": $DROVE_PROFILE or
 *                         "default").
 *   "ssh://[USER@]HOST[:PORT]/profile:NAME"
 *                         that scheduler reached through an ssh tunnel to
 *                         HOST (`ssh -N -L`, options from
 *                         $DROVE_SSH_OPTIONS and ~/.ssh/config), with the
 *                         client's copy of profile NAME (`drove profile
 *                         export --client`); results, which a client
 *                         otherwise fetches from the workers, come
 *                         relayed by the scheduler.
 * An embedded cluster uses no TCP and no certificates: its worker
 * processes reach each other over Unix sockets in a private directory,
 * and it leaves no files or listening ports behind after dv_close().
 * NULL on failure, with dv_last_error() saying why: DV_EAUTH when
 * authentication failed (no credentials in the profile, a certificate
 * the scheduler refused, or a scheduler this client does not trust),
 * DV_ENOTFOUND for a profile without a connection file, DV_ECONN when
 * the scheduler cannot be reached, DV_EINVAL for a bad `where`. */
DV_EXPORT dv_client *dv_connect(const char *where);

/* The client's execution scheme: "threads", "processes" or "cluster".
 * Borrowed; valid until dv_close(). */
DV_EXPORT const char *dv_scheme(const dv_client *c);
/* Why dv_connect chose it ("DROVE_SCHEME=auto: no cluster (...)"), as the
 * client's log says too. Borrowed; valid until dv_close(). */
DV_EXPORT const char *dv_scheme_reason(const dv_client *c);

/* Releases everything the client held (its futures become invalid and are
 * freed), stops an embedded cluster, and frees the client. Accepts NULL.
 * Must not race with other calls on the same client. On "local:threads",
 * whose workers are threads of this process, it waits for calls already
 * running to return; worker processes ("local:processes") that do not stop
 * within 3 s are killed. */
DV_EXPORT void dv_close(dv_client *c);

/* ---- Arguments --------------------------------------------------------- */

/* Value types, as dv_value_type() and dv_arg.type report them. */
enum dv_type {
    DV_NIL = 0,
    DV_BOOL = 1,
    DV_I64 = 2,
    DV_F64 = 3,
    DV_STR = 4,
    DV_BYTES = 5,
    DV_F64S = 6,    /* array of double */
    DV_I64S = 7,    /* array of int64_t */
    DV_LIST = 8,    /* list of values */
    DV_FUTURE = 9,  /* dv_arg only: the result of a future */
    DV_VALUE = 10,  /* dv_arg only: a copy of an existing dv_value */
    DV_FUTURES = 11 /* dv_arg only: a list of the results of futures */
};

/* An argument or a return value, described by the caller. It borrows what
 * it points to: the pointed-to memory must stay valid only for the duration
 * of the call it is passed to (dv_submit, dv_map, dv_scatter, dv_return),
 * which copies what it needs. Build it with the constructors below. */
typedef struct dv_arg {
    int type;   /* enum dv_type */
    size_t len; /* bytes (STR, BYTES), elements (F64S, I64S, LIST, futures) */
    union {
        bool b;
        int64_t i;
        double f;
        const void *p;              /* STR, BYTES, F64S, I64S */
        const struct dv_arg *items; /* LIST */
        dv_future *fut;             /* FUTURE */
        dv_future *const *futs;     /* FUTURES */
        const dv_value *value;      /* VALUE */
    } u;
    void *reserved[2];
} dv_arg;

DV_EXPORT dv_arg dv_nil(void);
DV_EXPORT dv_arg dv_bool(bool v);
DV_EXPORT dv_arg dv_i64(int64_t v);
DV_EXPORT dv_arg dv_f64(double v);
/* A NUL-terminated string (NULL is an empty string). */
DV_EXPORT dv_arg dv_str(const char *s);
/* n bytes at p. */
DV_EXPORT dv_arg dv_bytes(const void *p, size_t n);
DV_EXPORT dv_arg dv_f64s(const double *v, size_t n);
DV_EXPORT dv_arg dv_i64s(const int64_t *v, size_t n);
/* A list of n values described by items (which may nest). */
DV_EXPORT dv_arg dv_list(const dv_arg *items, size_t n);
/* A dependency: the task receives the future's result in this place. The
 * client keeps the future valid while the task needs it. */
DV_EXPORT dv_arg dv_fut(dv_future *f);
/* A list of dependencies: the task receives a list of their results. The
 * array fs is borrowed like any other pointer in a dv_arg. */
DV_EXPORT dv_arg dv_futs(dv_future *const *fs, size_t n);
/* A copy of an existing value (for example an argument inside a task). */
DV_EXPORT dv_arg dv_value_arg(const dv_value *v);

/* ---- Options ----------------------------------------------------------- */

/* Per-call options. Start from DV_OPTS_INIT and set what you need; fields
 * are only ever appended. */
typedef struct dv_opts {
    int impure;            /* 1: a fresh key for every call (random, clocks);
                              0: the function's own declaration (DV_FUNCTION
                              is pure, DV_FUNCTION_IMPURE is not) */
    const char *key;       /* an explicit key, or NULL for the computed one;
                              a key names one call in the cluster (another
                              client's call under it errs), and a key of
                              the computed form NAME-<32 hex digits> must
                              be the call's own */
    int retries;           /* how many more times to run the call if the
                              function fails (dv_fail); default 0. A call
                              whose worker dies is run again regardless,
                              unless it was running on 3 workers that died:
                              then it errs as "killed worker" */
    int priority;          /* higher runs first among ready tasks (default 0) */
    const char *worker;    /* run only on the worker with this id (the direct
                              view); NULL: any worker (load balanced) */
    size_t chunksize;      /* dv_map: calls per task (0 or 1: one per call) */
    const char *resources; /* what the call needs while it runs, as
                              "NAME=AMOUNT[,NAME=AMOUNT...]" ("GPU=1",
                              "GPU=1,MEM=8e9"; amounts positive numbers):
                              it runs only on a worker that declared at
                              least that much of each (`drove worker
                              --resources GPU=2`), and only while they
                              are free there: a call holds them from the
                              moment it is sent to its worker until it
                              finishes or fails (dask's resources). A
                              call needing more than any worker declared
                              waits (until such a worker joins); a
                              malformed spec ("GPU", "GPU=x") fails
                              dv_submit with DV_EINVAL. Not part of a
                              pure call's key, as timeout; NULL or "":
                              none */
    double timeout;        /* seconds the call may run on a worker once
                              it started (not counting time queued);
                              0: no limit. Past it the call is asked to
                              stop (dv_call_cancelled() turns true) and
                              has the worker's grace (`drove worker
                              --cancel-grace`, default 0.5 s) to return;
                              then a daemon or local:processes worker
                              stops it by restarting its process. Either
                              way the call errs "timed out after N s",
                              which counts as a failure of the function
                              (retries runs it again). On local:threads
                              it errs at the end of the grace, but the
                              thread runs on until the function returns.
                              A chunk of dv_map has one limit for all its
                              calls; the limit is not part of a pure
                              call's key (the same call submitted again
                              shares the first one's limit) */
    void *reserved[5];     /* fields are appended here, size unchanged */
} dv_opts;

#define DV_OPTS_INIT                       \
    {                                      \
        0, NULL, 0, 0, NULL, 0, NULL, 0.0, \
        {                                  \
            0                              \
        }                                  \
    }

/* ---- Submitting -------------------------------------------------------- */

/* Submits one call of function fn with nargs arguments. Returns its future;
 * caller owns, release with dv_release() (or dv_close()). A pure call's key
 * is a hash of fn and its arguments, so submitting it twice yields the same
 * task; an impure call always gets a new key. NULL on failure (an argument
 * that is a released or foreign future, a client that lost its cluster). */
DV_EXPORT dv_future *dv_submit(dv_client *c, const char *fn, size_t nargs,
                               const dv_arg *args, const dv_opts *opts);

/* dv_submit with a literal argument list: DV_SUBMIT(c, "add", dv_i64(1),
 * dv_fut(x)). Uses default options. In C++ (11 and later) the arguments
 * are evaluated in a lambda: C++ has no compound literals. */
#ifdef __cplusplus
#define DV_SUBMIT(c, fn, ...)                                          \
    ([&]() -> dv_future * {                                            \
        const dv_arg dv_args_[] = {__VA_ARGS__};                       \
        return dv_submit((c), (fn), sizeof(dv_args_) / sizeof(dv_arg), \
                         dv_args_, NULL);                              \
    }())
#else
#define DV_SUBMIT(c, fn, ...)                                              \
    dv_submit((c), (fn), sizeof((dv_arg[]){__VA_ARGS__}) / sizeof(dv_arg), \
              (dv_arg[]){__VA_ARGS__}, NULL)
#endif

/* Submits fn(args[i]) for each of the n arguments. Each call receives
 * exactly one argument, args[i]: a dv_list() arrives as one DV_LIST
 * argument, not spread. The n futures go in out[]; the caller owns them
 * (release each). With opts->chunksize > 1,
 * that many calls travel and run as one task; their futures still yield one
 * result each, and a failure in one call fails its whole chunk. Returns n,
 * or a negative DV_E* code with nothing submitted. */
DV_EXPORT int dv_map(dv_client *c, const char *fn, size_t n, const dv_arg *args,
                     dv_future **out, const dv_opts *opts);

/* Runs fn(args) once on every worker of the cluster (IPython parallel's
 * DirectView over all engines, dask's client.run): to set up state on
 * each worker, or to ask each something. Each call is its own task,
 * pinned to its worker (as dv_opts.worker) and impure (never merged with
 * another call, whatever the function), with default options otherwise.
 * The workers are those the client knows of now (dv_worker_id order);
 * one that leaves before its call ran errs that call's future.
 *
 * Returns the number of workers, or a negative DV_E* code with nothing
 * submitted (a failed submission releases those made before it). The
 * futures of the first max workers go in out[0..max); the caller owns
 * them. When there are more workers than max, only those first max run
 * fn, and the return value (larger than max) says how many there are:
 * dv_run_all(c, fn, 0, NULL, NULL, 0) runs nothing and counts them. */
DV_EXPORT int dv_run_all(dv_client *c, const char *fn, size_t nargs,
                         const dv_arg *args, dv_future **out, size_t max);

/* Puts a value on a worker and returns a future for it, to pass to tasks
 * without sending it again. Caller owns the future. NULL on failure. */
DV_EXPORT dv_future *dv_scatter(dv_client *c, dv_arg value);

/* Puts a value on every worker, present and future, and returns a future
 * for it: a task that takes the future as an argument reads the value
 * from its own worker's memory, wherever it runs, with no transfer. The
 * scheduler keeps a copy while the future (or a task waiting on it) needs
 * it, and sends it to each worker that joins meanwhile, before any task.
 * The future finishes once a worker holds it. It errs if there is no
 * worker to broadcast to, or once every worker holding or receiving it
 * has left (as lost scattered data does). Broadcasting
 * the same value again shares the first broadcast. Caller owns the
 * future; releasing it frees the value everywhere once no task needs it.
 * NULL on failure (as dv_scatter). */
DV_EXPORT dv_future *dv_broadcast(dv_client *c, dv_arg value);

/* ---- Futures ----------------------------------------------------------- */

/* Future states, as dv_future_status() reports them. */
enum dv_status {
    DV_PENDING = 0,   /* waiting, queued or running */
    DV_FINISHED = 1,  /* the result is held on a worker */
    DV_ERRED = 2,     /* the function or one of its inputs failed */
    DV_CANCELLED = 3, /* cancelled before it finished */
    DV_LOST = 4       /* the client lost its scheduler (DV_ELOST), or the
                         worker that held the result */
};

/* Waits up to timeout_s seconds (negative: forever) for the future's result
 * and returns it, fetching it from the worker that holds it. Borrowed: valid
 * until the future is released. NULL on error or timeout; then
 * dv_future_error() says why (or dv_last_error() for a timeout), and
 * dv_last_code() is DV_ELOST if the scheduler was lost meanwhile (within
 * its heartbeat timeout, even when timeout_s is negative). */
DV_EXPORT const dv_value *dv_result(dv_future *f, double timeout_s);

/* Waits up to timeout_s seconds (negative: forever) until every one of the n
 * futures has finished, erred or been cancelled. Returns 0, DV_ETIMEDOUT, or
 * DV_ELOST if some of them were lost with the scheduler (they are DV_LOST;
 * within its heartbeat timeout, even when timeout_s is negative). */
DV_EXPORT int dv_wait(dv_future *const *fs, size_t n, double timeout_s);

/* As dv_wait, for every future of the client that has not been released
 * (everything it submitted and still holds). Returns 0, DV_ETIMEDOUT,
 * DV_ELOST, or DV_EINVAL for no client. */
DV_EXPORT int dv_wait_all(dv_client *c, double timeout_s);

/* Returns one of the n futures that has completed (finished, erred or
 * cancelled) and was not returned by an earlier call with the same client,
 * waiting up to timeout_s seconds (negative: forever). Futures come in the
 * order they complete. Borrowed: the same pointer as in fs. NULL on timeout
 * (DV_ETIMEDOUT), when every future in fs was already returned
 * (DV_ENOTFOUND), or once only futures lost with the scheduler are left
 * (DV_ELOST, at every call; dv_last_code() says which). */
DV_EXPORT dv_future *dv_next_completed(dv_client *c, dv_future *const *fs,
                                       size_t n, double timeout_s);

/* The future's key, the task's name everywhere ("inc-3b1f...").
 * Borrowed; valid until the future is released. */
DV_EXPORT const char *dv_future_key(const dv_future *f);

/* The future's state: enum dv_status. */
DV_EXPORT int dv_future_status(const dv_future *f);

/* Why the future erred, was cancelled or lost ("division by zero", "unknown
 * function 'foo'"), or NULL while it has not. Borrowed; valid until the
 * future is released. */
DV_EXPORT const char *dv_future_error(const dv_future *f);

/* The client no longer needs the future: frees the handle, and the result
 * on the workers once nothing else refers to it. Releasing the last handle
 * on a task that has not finished, when no other client, published name
 * or waiting task needs it, cancels it as dv_cancel would (queued: it
 * never runs; running: its worker is told, dv_call_cancelled()). Accepts
 * NULL. The handle must not be used afterwards. */
DV_EXPORT void dv_release(dv_future *f);

/* Cancels this client's interest in the task if it has not finished: the
 * future, and this client's futures of tasks waiting on it, err as
 * cancelled. The task stops only when no other client, published name or
 * task still wants it; other clients sharing it get their result as if
 * nothing happened. Waiting in the scheduler, it never runs. Already on
 * a worker (running, or queued there), it is asked to stop
 * (dv_call_cancelled() is true from now, or from its start) and its
 * result is discarded; on a daemon or local:processes worker a call
 * still running after the worker's grace (`drove worker --cancel-grace`,
 * default 0.5 s) is stopped by restarting the worker's process, so the
 * worker is free again (the other calls it was running go to other
 * workers, blameless; the results it held first move to the workers that
 * stay). On local:threads a call cannot be stopped: its thread stays
 * busy until the function returns. Returns 0, or DV_EINVAL for a task
 * that already completed. */
DV_EXPORT int dv_cancel(dv_future *f);

/* ---- Values ------------------------------------------------------------ */

/* The value's type: enum dv_type. DV_NIL for NULL. */
DV_EXPORT int dv_value_type(const dv_value *v);
/* The number as int64 (a DV_F64 is truncated; others give 0). */
DV_EXPORT int64_t dv_value_i64(const dv_value *v);
/* The number as double (a DV_I64 is converted; others give 0). */
DV_EXPORT double dv_value_f64(const dv_value *v);
/* The boolean (others: false). */
DV_EXPORT bool dv_value_bool(const dv_value *v);
/* A DV_STR's bytes, NUL-terminated; *len (if not NULL) gets its length.
 * NULL for other types. Borrowed from the value. */
DV_EXPORT const char *dv_value_str(const dv_value *v, size_t *len);
/* A DV_BYTES's (or DV_STR's) bytes; NULL for other types. Borrowed. No
 * alignment is promised (they sit in the message they came in): copy them
 * before reading them as wider types. Arrays of numbers are DV_F64S and
 * DV_I64S, which are 8-byte aligned. */
DV_EXPORT const void *dv_value_bytes(const dv_value *v, size_t *len);
/* A DV_F64S's elements, 8-byte aligned, without copying; NULL for other
 * types. Borrowed from the value. */
DV_EXPORT const double *dv_value_f64s(const dv_value *v, size_t *n);
/* A DV_I64S's elements, 8-byte aligned, without copying. Borrowed. */
DV_EXPORT const int64_t *dv_value_i64s(const dv_value *v, size_t *n);
/* Elements of a DV_LIST, DV_F64S or DV_I64S, bytes of a DV_STR or
 * DV_BYTES, 0 otherwise. */
DV_EXPORT size_t dv_value_len(const dv_value *v);
/* Element i of a DV_LIST, or NULL. Borrowed from the list. */
DV_EXPORT const dv_value *dv_value_at(const dv_value *v, size_t i);

/* ---- Inside a task ----------------------------------------------------- */

/* The signature of a task function: returns 0, or what dv_fail returned. */
typedef int (*dv_fn)(dv_call *call);

/* A function's entry in the registry; DV_FUNCTION fills it in. */
typedef struct dv_function {
    const char *name;
    dv_fn fn;
    unsigned flags; /* DV_FN_IMPURE, DV_FN_NOT_THREAD_SAFE */
    unsigned abi;   /* DV_VERSION_MAJOR of the header it was built with */
} dv_function;

#define DV_FN_IMPURE 1u
/* Its calls must not run on threads of one process (global state, a
 * library that is not thread-safe): on the threads scheme dv_submit and
 * dv_map refuse it (DV_EINVAL naming it and the scheme); it never runs. */
#define DV_FN_NOT_THREAD_SAFE 2u

/* Registers a function under its name in this process (DV_FUNCTION does it
 * at load time). Returns 0, or DV_EINVAL for a NULL or nameless entry. The
 * entry must outlive the process (static storage). */
DV_EXPORT int dv_register(const dv_function *f);

/* The descriptor has C linkage in C++ too, so that worker processes find
 * it by name (dlsym); extern also keeps a C++ const from being local. */
#ifdef __cplusplus
#define DV_EXTERN_C_ extern "C"
#else
#define DV_EXTERN_C_
#endif

#define DV_FUNCTION_FLAGS_(name, flags)                                \
    int name(dv_call *call);                                           \
    DV_EXTERN_C_ DV_EXPORT __attribute__((used))                       \
    const dv_function dv__fn_##name = {#name, name, (flags),           \
                                       DV_VERSION_MAJOR};              \
    __attribute__((constructor)) static void dv__register_##name(void) \
    {                                                                  \
        dv_register(&dv__fn_##name);                                   \
    }                                                                  \
    int name(dv_call *call)

/* Defines and registers `int name(dv_call *call)`, a pure task function:
 *   DV_FUNCTION(inc) { return dv_return(call, dv_i64(
 *       dv_value_i64(dv_arg_at(call, 0)) + 1)); }
 * Workers find it by name: in this program (embedded cluster) or in a
 * library uploaded with dv_upload_library(). */
#define DV_FUNCTION(name) DV_FUNCTION_FLAGS_(name, 0u)
/* As DV_FUNCTION, for a function whose calls must never be merged (random
 * numbers, clocks, side effects): every call gets a fresh key. */
#define DV_FUNCTION_IMPURE(name) DV_FUNCTION_FLAGS_(name, DV_FN_IMPURE)
/* As DV_FUNCTION, for a function that is not thread-safe: it runs only on
 * worker processes (local:processes, a cluster), never on the threads
 * scheme. */
#define DV_FUNCTION_NOT_THREAD_SAFE(name) \
    DV_FUNCTION_FLAGS_(name, DV_FN_NOT_THREAD_SAFE)

/* The number of arguments of the running call. */
DV_EXPORT size_t dv_nargs(const dv_call *call);
/* Argument i, or NULL past the end. Borrowed; valid until the function
 * returns. Futures passed as arguments arrive as their results. */
DV_EXPORT const dv_value *dv_arg_at(const dv_call *call, size_t i);
/* Sets the call's result to a copy of value (a later call replaces it).
 * value may be dv_fut(f) of a child future of this call (dv_call_submit):
 * the continuation. The task then ends when the function returns, freeing
 * its thread without waiting, and its future finishes when f does, with
 * f's value or f's error (GeoTrellis's operations that hand their
 * subsidiaries to a dispatcher and exit). Returns 0, or a negative DV_E*
 * code: DV_EINVAL for any other future (a client's, another call's). */
DV_EXPORT int dv_return(dv_call *call, dv_arg value);
/* Makes the result an array of n doubles and returns it, 8-byte aligned,
 * to fill in place (no copy). Borrowed; valid until the function returns.
 * NULL if out of memory. */
DV_EXPORT double *dv_return_f64s(dv_call *call, size_t n);
/* As dv_return_f64s, for int64 elements. */
DV_EXPORT int64_t *dv_return_i64s(dv_call *call, size_t n);
/* Makes the result DV_BYTES of n bytes and returns them, 8-byte aligned,
 * to fill in place (no copy). Borrowed; valid until the function returns.
 * NULL (DV_ELIMIT) past the largest result a frame can carry. */
DV_EXPORT void *dv_return_bytes(dv_call *call, size_t n);
/* Makes the call err with this text, which reaches its future and every
 * dependent's. Returns DV_ETASK: `return dv_fail(call, "bad n %d", n);`. */
DV_EXPORT int dv_fail(dv_call *call, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* As dv_fail, with a va_list. */
DV_EXPORT int dv_failv(dv_call *call, const char *fmt, va_list ap);
/* The id of the worker running the call. Borrowed; valid during the call. */
DV_EXPORT const char *dv_call_worker(const dv_call *call);
/* Whether the call should stop: nothing wants its result any more
 * (dv_cancel, dv_release), or it ran past its dv_opts.timeout. A long
 * function checks it now and then and returns early (with dv_fail, say):
 * its result is discarded anyway. One that does not is stopped after the
 * worker's grace by restarting its process (not on local:threads; see
 * dv_cancel). Cheap (an atomic load); callable from any thread while
 * the call runs. false for NULL. */
DV_EXPORT bool dv_call_cancelled(const dv_call *call);

/* ---- Child tasks --------------------------------------------------------- */

/* Submits a child call of fn from inside a running task, as dv_submit does
 * from a client: divide and conquer, adaptive refinement, tile pyramids,
 * driven by the tasks themselves. The child goes from the worker straight
 * to the scheduler (batched with the others of the same moment) and its
 * result stays on the worker that computes it. A pure child shares its key
 * with every other call of the cluster, as a client's does (fib's
 * subproblems are computed once).
 *
 * Returns its future, owned by the call: valid until the task function
 * returns, then released (never dv_release it). With it:
 *   - pass it to further children (dv_fut, dv_futs): a dependency;
 *   - wait for it: dv_result, dv_wait (a child's future only with those of
 *     the same call), dv_future_status, dv_future_error, dv_future_key.
 *     While the call waits, its worker lends another thread to its other
 *     tasks (dask's secede and rejoin), so a worker of one thread does
 *     not deadlock on its own children; at most `drove worker
 *     --max-blocked` calls (default 64; DROVE_MAX_BLOCKED for embedded
 *     workers) wait so at once, and the next one waits on its thread;
 *   - return it: dv_return(call, dv_fut(f)), the continuation (dv_return).
 * A child's priority is its parent's plus one plus opts->priority: work
 * already begun finishes before new work (depth first). When the call has
 * ended (returned, failed, or its future released or cancelled), its
 * children that nothing else needs are released, and cancelled if they
 * have not finished. opts as for dv_submit (chunksize is ignored); NULL:
 * the defaults. NULL on failure, dv_last_error() saying why: DV_EINVAL
 * outside a running task, for a bad argument or a future of another
 * call; DV_ENOTFOUND for a function this worker does not have; DV_ECONN
 * once the worker has lost its scheduler. Like dv_return, it is called
 * from one thread at a time for one call (a task's threads take turns);
 * different calls submit at once freely. */
DV_EXPORT dv_future *dv_call_submit(dv_call *call, const char *fn, size_t nargs,
                                    const dv_arg *args, const dv_opts *opts);

/* dv_call_submit with a literal argument list, as DV_SUBMIT:
 *   return dv_return(call, dv_fut(DV_CALL_SUBMIT(call, "add", dv_fut(a),
 *                                                dv_fut(b)))); */
#ifdef __cplusplus
#define DV_CALL_SUBMIT(call, fn, ...)                                          \
    ([&]() -> dv_future * {                                                    \
        const dv_arg dv_args_[] = {__VA_ARGS__};                               \
        return dv_call_submit((call), (fn), sizeof(dv_args_) / sizeof(dv_arg), \
                              dv_args_, NULL);                                 \
    }())
#else
#define DV_CALL_SUBMIT(call, fn, ...)                                \
    dv_call_submit((call), (fn),                                     \
                   sizeof((dv_arg[]){__VA_ARGS__}) / sizeof(dv_arg), \
                   (dv_arg[]){__VA_ARGS__}, NULL)
#endif

/* ---- Commands ------------------------------------------------------------ */

/* A command task runs a program on a worker, as GNU parallel or a batch
 * system would, with its inputs and outputs as files: every scheme runs
 * it (a worker spawns it from a task thread with posix_spawn, never from
 * its event loop). It runs in a fresh scratch directory on the worker,
 * its working directory, removed when it ends; its environment is the
 * worker's, plus DROVE_SCRATCH (that directory), DROVE_IN ("in" there),
 * DROVE_OUT ("out" there, created empty) and what dv_cmd_env adds. Its
 * result is a value (below) that other tasks and commands take as input.
 *
 *   const char *argv[] = {"sort", "-u", "words", NULL};
 *   dv_cmd *cmd = dv_cmd_new(argv);
 *   dv_cmd_input(cmd, "words", dv_fut(earlier));    (its stdout, as a file)
 *   dv_future *f = dv_cmd_submit(c, cmd, NULL);
 *   dv_cmd_free(cmd);
 *   size_t n; const char *out = dv_cmd_stdout(dv_result(f, -1), &n);
 *
 * A command is impure (every submission runs it) unless DV_CMD_PURE says
 * that the same command with the same inputs gives the same result. */
typedef struct dv_cmd dv_cmd;

/* A command running argv[0] (a path, or a name looked up in the worker's
 * PATH) with the NULL-terminated argv, copied; no shell. Caller owns; free
 * with dv_cmd_free(). NULL (DV_EINVAL) for an empty argv. */
DV_EXPORT dv_cmd *dv_cmd_new(const char *const *argv);
/* A command running script with `/bin/sh -c` (pipes, redirections,
 * variables: the shell's syntax, and its cost). NULL (DV_EINVAL) for
 * NULL. */
DV_EXPORT dv_cmd *dv_cmd_new_shell(const char *script);
/* Frees the description (the futures submitted from it stay valid).
 * Accepts NULL. */
DV_EXPORT void dv_cmd_free(dv_cmd *cmd);

/* Sets NAME=VALUE in the command's environment (a later call with the
 * same name replaces it). Returns 0, or DV_EINVAL for an empty name or
 * one holding '='. */
DV_EXPORT int dv_cmd_env(dv_cmd *cmd, const char *name, const char *value);
/* Makes value the file at path (relative to the scratch directory, without
 * ".." or a leading '/'; its directories are created) before the command
 * starts: a DV_STR or DV_BYTES as its bytes; a future of a command task
 * (dv_fut) as that command's stdout; a future of a C task whose result
 * is a DV_STR or DV_BYTES as those bytes (any other type errs the task,
 * naming the input); a future given must stay unreleased until the
 * command is submitted. Returns 0, or DV_EINVAL for a bad path or a path
 * already given. */
DV_EXPORT int dv_cmd_input(dv_cmd *cmd, const char *path, dv_arg value);
/* As dv_cmd_input, with output file `output` of the command task whose
 * future f is (dv_cmd_output). */
DV_EXPORT int dv_cmd_input_output(dv_cmd *cmd, const char *path, dv_future *f,
                                  const char *output);
/* As dv_cmd_input with the contents of the local file local_path, read
 * now (the worker may be another machine). Returns 0, DV_EINVAL, or
 * DV_EIO naming the file that could not be read. */
DV_EXPORT int dv_cmd_input_file(dv_cmd *cmd, const char *path,
                                const char *local_path);
/* What the command reads on its standard input, as dv_cmd_input takes it
 * (default: nothing, /dev/null). Returns 0, or DV_EINVAL. */
DV_EXPORT int dv_cmd_stdin(dv_cmd *cmd, dv_arg value);
/* Keeps the file at path (relative to the scratch directory) in the
 * result when the command exits; a path ending in '/' keeps every regular
 * file under that directory (as "out/a/b.txt"), "out/" what the command
 * wrote to $DROVE_OUT. A named file that the command did not write errs
 * the task (a directory may be missing: it keeps nothing). Returns 0, or
 * DV_EINVAL for a bad path. */
DV_EXPORT int dv_cmd_output(dv_cmd *cmd, const char *path);
/* Runs the command in dir, an absolute path on the worker (a shared file
 * system, or one that every worker has), instead of its scratch
 * directory; NULL: the scratch directory again. Inputs and outputs stay
 * relative to the scratch directory ($DROVE_SCRATCH). A command given a
 * directory and neither inputs nor outputs gets no scratch directory at
 * all (nor DROVE_SCRATCH, DROVE_IN, DROVE_OUT): the cheapest job, as
 * `drove map` runs them. A dir that is not a directory on the worker
 * errs the task, naming it and the worker. Returns 0, or DV_EINVAL for a
 * relative path. */
DV_EXPORT int dv_cmd_workdir(dv_cmd *cmd, const char *dir);
/* Seconds the command may run (0, the default: no limit). Past it, its
 * process group gets SIGTERM, then SIGKILL 1 s later, and the task errs
 * "timed out after N s" (with DV_CMD_ANY_STATUS, its result says signal
 * 15 or 9). Returns 0, or DV_EINVAL for a negative limit. */
DV_EXPORT int dv_cmd_timeout(dv_cmd *cmd, double seconds);

/* dv_cmd_flags: */
/* A non-zero exit, a signal or a timeout is a result, not an error: the
 * task finishes with the status, stdout and stderr (GNU parallel's jobs;
 * without it, the task errs "exited with status N" with its stderr's
 * end, and dv_opts.retries runs it again). */
#define DV_CMD_ANY_STATUS 1u
/* The command is pure: the same command, environment and inputs always
 * give the same result, so submissions of it share one task (dask's
 * pure=True). */
#define DV_CMD_PURE 2u
/* Sets the flags above (or'ed). Returns 0, or DV_EINVAL for others. */
DV_EXPORT int dv_cmd_flags(dv_cmd *cmd, unsigned flags);

/* Submits the command as a task, with opts as dv_submit takes them (NULL:
 * the defaults; opts->timeout also bounds it, as dv_cmd_timeout).
 * Returns its future; caller owns, as dv_submit's. NULL on failure, as
 * dv_submit. The description may be freed or changed afterwards. */
DV_EXPORT dv_future *dv_cmd_submit(dv_client *c, const dv_cmd *cmd,
                                   const dv_opts *opts);
/* Submits the command as a child task of a running call, as
 * dv_call_submit does (the future is the call's). */
DV_EXPORT dv_future *dv_cmd_call_submit(dv_call *call, const dv_cmd *cmd,
                                        const dv_opts *opts);

/* Reading a command task's result (the value dv_result returns). Each
 * accessor returns what the command gave; a value that is not a command
 * task's result gives DV_ETYPE (numbers), or NULL and 0. */
/* Its exit status: 0-255, or 128+N when signal N ended it (as a shell
 * says), or DV_ETYPE. */
DV_EXPORT int dv_cmd_exit_status(const dv_value *r);
/* The signal that ended it, or 0 (it exited), or DV_ETYPE. */
DV_EXPORT int dv_cmd_signal(const dv_value *r);
/* Whether it ran past its time limit (1), or not (0), or DV_ETYPE. */
DV_EXPORT int dv_cmd_timed_out(const dv_value *r);
/* What it wrote to stdout (stderr), not NUL-terminated; *len (if not
 * NULL) gets the length. Borrowed from r. */
DV_EXPORT const char *dv_cmd_stdout(const dv_value *r, size_t *len);
DV_EXPORT const char *dv_cmd_stderr(const dv_value *r, size_t *len);
/* The files kept (dv_cmd_output): how many, the path of file i, and its
 * bytes (*len gets the length). Borrowed from r; NULL past the end. */
DV_EXPORT size_t dv_cmd_noutputs(const dv_value *r);
DV_EXPORT const char *dv_cmd_output_path(const dv_value *r, size_t i);
DV_EXPORT const void *dv_cmd_output_data(const dv_value *r, size_t i,
                                         size_t *len);
/* The bytes of the kept file at path, or NULL (not kept). */
DV_EXPORT const void *dv_cmd_output_find(const dv_value *r, const char *path,
                                         size_t *len);
/* When it started (seconds since the epoch), how long it ran (seconds),
 * and the host name of the worker that ran it (borrowed from r), for job
 * logs. */
DV_EXPORT double dv_cmd_started(const dv_value *r);
DV_EXPORT double dv_cmd_runtime(const dv_value *r);
DV_EXPORT const char *dv_cmd_host(const dv_value *r);

/* ---- Software ------------------------------------------------------------ */

/* Ships the shared library at so_path, by content hash, to every worker of
 * the cluster, present and future, which load it: its DV_FUNCTIONs become
 * callable by name, and the calls of its DV_FUNCTION_IMPUREs get fresh
 * keys. Waits until the present workers have loaded it. Returns
 * the number of workers that loaded it, or a negative DV_E* code (a file
 * that cannot be read, a worker that could not load it: dv_last_error()
 * names it and says why). Uploading the same content again is a no-op.
 * The scheduler checks the content hash itself (DV_EINVAL if it is not the
 * bytes'). */
DV_EXPORT int dv_upload_library(dv_client *c, const char *so_path);

/* ---- Results that outlive their client --------------------------------- */

/* Publishes the future's result under name on the scheduler: it stays in
 * memory after this client closes, until unpublished. Publishing again
 * under the same name replaces the result. On a scheduler started with
 * --state FILE, the name also outlives the scheduler: this returns once
 * it is saved (DV_EIO if it could not be saved yet; it stays published
 * and the scheduler tries again). Returns 0, or a negative DV_E* code:
 * DV_EPERM if another client published that name, DV_EINVAL if --state
 * cannot save this result's lineage. */
DV_EXPORT int dv_publish(dv_client *c, const char *name, dv_future *f);

/* A future for a result published under name (by any client). Caller owns.
 * NULL (DV_ENOTFOUND) if nothing is published under that name. */
DV_EXPORT dv_future *dv_get_published(dv_client *c, const char *name);

/* Removes a published name; its result is freed when nothing needs it.
 * Only the client that published a name may remove it or publish another
 * result under it (dv_publish then also fails with DV_EPERM); a name whose
 * publisher has closed stays until the scheduler stops (with --state, for
 * good: its secret is gone with it). Returns 0,
 * DV_ENOTFOUND, or DV_EPERM for a name another client published. */
DV_EXPORT int dv_unpublish(dv_client *c, const char *name);

/* ---- Progress ------------------------------------------------------------ */

/* Waits as dv_wait does, and meanwhile shows how far the n futures are on
 * a progress bar on stderr, redrawn five times a second:
 *
 *   squares: [##########..........] 120/200  60%  2 erred  41.3/s
 *            0:03 elapsed  ETA 0:02                         (one line)
 *
 * (done means finished, erred, cancelled or lost; erred counts those that
 * did not finish; the rate counts what completed since the call, the ETA
 * assumes it stays). label, if not NULL or "", comes first (its first 30
 * characters). The bar is drawn only when stderr is a terminal
 * (isatty(2)), over itself with '\r' and no other escape codes, and ends
 * with a newline however the wait ends; otherwise nothing is written and
 * this is exactly dv_wait. c is the futures' client, or NULL (the client
 * of fs[0], as dv_wait takes it). Returns 0, DV_ETIMEDOUT (dv_last_error()
 * says how many were done), DV_ELOST if some were lost with the scheduler
 * (as dv_wait), or DV_EINVAL for no futures (fs NULL with n > 0) or
 * futures of another client than c. n 0 returns 0 at once, drawing
 * nothing. As dv_wait, it may be called by several threads at once, but
 * their bars would mix on one terminal. */
DV_EXPORT int dv_progress(dv_client *c, dv_future *const *fs, size_t n,
                          double timeout_s, const char *label);

/* ---- Cluster information ------------------------------------------------- */

/* The number of workers connected to the client's scheduler, or a negative
 * DV_E* code. */
DV_EXPORT int dv_nworkers(dv_client *c);

/* The id of worker i (0 <= i < dv_nworkers()), to use as dv_opts.worker.
 * Copies at most size bytes, NUL-terminated, into buf. Returns 0, or
 * DV_ENOTFOUND. */
DV_EXPORT int dv_worker_id(dv_client *c, int i, char *buf, size_t size);

/* The cluster's status, as dask's scheduler_info: *json receives a JSON
 * object (caller frees with free()) whose `address` is the scheduler's
 * address, `workers` a list with an object per worker (`id`, `host`,
 * `addr`, `pid`, `threads`, `running`, `done`, `results` (the results it
 * holds), `memory_bytes`, `paused`, `retiring`, and `resources`: an
 * object of the amounts it declared, as {"GPU": 1.0}) and `totals` the
 * sums (and `tasks` in the graph now, `clients`, `submitted`: tasks made
 * since the scheduler started, `children`: calls submitted by tasks,
 * dv_call_submit, shared with an existing task or not),
 * `tasks_by_state` (the tasks now in each state: waiting, queued,
 * processing, memory, released, erred, cancelled, and the cumulative
 * submitted_total, finished_total, erred_total) and `functions` (per
 * function name: total submitted, done, erred, processing). Returns
 * 0, or a negative DV_E* code (*json NULL). */
DV_EXPORT int dv_scheduler_info(dv_client *c, char **json);

/* Retires the n workers named (dv_worker_id), as dask's retire_workers:
 * each takes no new tasks, finishes those it runs, moves the results only
 * it holds to the workers that stay, and exits. Returns once the
 * scheduler has told them, with how many it told; they leave the
 * dv_nworkers() count as they go. DV_ENOTFOUND (no worker is told) if an
 * id names no worker, DV_EINVAL for a bad id. */
DV_EXPORT int dv_retire_workers(dv_client *c, const char *const *ids, size_t n);

/* Asks the scheduler to shut down: it tells every worker to exit (they
 * do, without waiting for it to come back) and every client goodbye
 * (later calls fail with DV_ELOST), then exits. Returns 0 once it has
 * accepted; DV_EPERM for an embedded cluster, which ends with
 * dv_close(). */
DV_EXPORT int dv_shutdown(dv_client *c);

#ifdef __cplusplus
}
#endif
#endif /* DROVE_H */
