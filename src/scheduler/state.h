/* dvi_state: the scheduler's state file (`drove scheduler --state FILE`).
 *
 * An SQLite database holding what a restarted scheduler needs to give
 * every published result back: the published names with the hash of
 * their publisher's secret, the tasks behind them with their lineage
 * (function, code, encoded arguments, inputs, flags: what it takes to
 * compute them again), their small results (at most DVI_INLINE_MAX
 * bytes), and the uploaded libraries their code names. This file only
 * reads and writes it; durable.h decides what goes in and when.
 *
 * The file is marked as drove's (SQLite's application_id) with a schema
 * version (user_version). Nothing read back is trusted: a file that is
 * not a drove state file, has another version, fails SQLite's integrity
 * check or holds a row that is not valid (a key over 255 bytes or with a
 * zero byte, an input that is not in the file, a cycle, a derived key
 * that is not its call's, a library whose hash is not its content's...)
 * is refused with an error that names the file and the problem. The
 * connection holds an exclusive lock, so two schedulers never share a
 * file. WAL journal, synchronous=FULL: a batch that committed survives a
 * crash of the process or of the machine.
 *
 * Not thread-safe: one thread at a time (the loop opens and loads; the
 * runtime's job thread applies batches).
 */
#ifndef DVI_STATE_H
#define DVI_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "common/blob.h"

#define DVI_STATE_VERSION 1          /* the schema; bumped on any change */
#define DVI_STATE_APP_ID 0x64726f76u /* "drov" in SQLite's header */
#define DVI_STATE_MAX_CODE 99        /* the core keeps codes below 100 */
#define DVI_STATE_MAX_ERROR 1024     /* bytes of an error text, at most */

/* A task's flags as the file keeps them (not the core's bits). */
enum {
    DVI_STATE_IMPURE = 1,
    DVI_STATE_CHUNK = 2,      /* its arguments are a list of calls */
    DVI_STATE_PINNED = 4,     /* it may run only on a worker now gone */
    DVI_STATE_SCATTER = 8,    /* data a client put: no function, no inputs */
    DVI_STATE_CANCELLED = 16, /* with error: cancelled rather than erred */
    DVI_STATE_FORWARD = 32    /* a continuation: its result is its input's */
};
#define DVI_STATE_FLAGS 63

typedef struct dvi_state dvi_state;

/* A saved task: enough to compute it again. Strings and blobs are owned
 * by the struct (dvi_state_task_fini). */
typedef struct dvi_state_task {
    char *key;
    char *fn;
    char *code;     /* which code the name means (funcs.h), "" for any */
    dvi_blob *args; /* the encoded argument list, NULL for none */
    char **deps;    /* the inputs' keys, in SUBMIT's order */
    uint32_t ndeps;
    uint32_t flags; /* DVI_STATE_* */
    int32_t priority;
    int32_t retries; /* attempts left after a failure of the function */
    uint64_t nbytes; /* the result's encoded size, with value */
    dvi_blob *value; /* the small result, or NULL */
    char *error;     /* it failed: why (and it has no inputs), else NULL */
    uint64_t call;   /* set by dvi_state_task_check: the call's hash */
} dvi_state_task;

typedef struct dvi_state_name {
    char *name;
    char *key;               /* the task published under it */
    unsigned char owner[16]; /* the hash of the publisher's secret */
} dvi_state_name;

typedef struct dvi_state_lib {
    char *hash; /* "U" and the hash of bytes (callkey.h) */
    char *name; /* the file name it was uploaded as */
    dvi_blob *bytes;
} dvi_state_lib;

/* What a file holds, checked. Every task is needed by a name, and comes
 * after its inputs. */
typedef struct dvi_state_image {
    dvi_state_task *tasks;
    size_t ntasks;
    dvi_state_name *names;
    size_t nnames;
    dvi_state_lib *libs;
    size_t nlibs;
    size_t dropped; /* rows that nothing needed, removed from the file */
} dvi_state_image;

/* One change to the file. */
enum dvi_state_op_kind {
    DVI_STATE_PUT_NAME = 1, /* name */
    DVI_STATE_DEL_NAME,     /* name.name */
    DVI_STATE_PUT_TASK,     /* task */
    DVI_STATE_DEL_TASK,     /* task.key */
    DVI_STATE_PUT_VALUE,    /* task.key, task.nbytes, task.value (or NULL) */
    DVI_STATE_PUT_LIB,      /* lib */
    DVI_STATE_DEL_LIB       /* lib.hash */
};

typedef struct dvi_state_op {
    int kind; /* enum dvi_state_op_kind */
    dvi_state_name name;
    dvi_state_task task;
    dvi_state_lib lib;
} dvi_state_op;

/* Changes applied together, in order, as one transaction. */
typedef struct dvi_state_batch {
    dvi_state_op *v;
    size_t n, cap;
} dvi_state_batch;

/* Opens the state file at path, creating it if it does not exist or is
 * empty, and checks it (marker, version, integrity). Caller owns; free
 * with dvi_state_close. NULL with the reason set, naming the file:
 * DV_EINVAL (not a drove state file, damaged), DV_EVERSION (another
 * schema version), DV_EIO (cannot be opened, locked by another process). */
dvi_state *dvi_state_open(const char *path);
/* Closes the file. Accepts NULL; sets *s to NULL. */
void dvi_state_close(dvi_state **s);
/* The path it was opened with. Borrowed. */
const char *dvi_state_path(const dvi_state *s);

/* Reads and checks every row into img (initialized here; free with
 * dvi_state_image_fini, also after a failure). Rows that no name needs
 * are removed from the file. Returns 0, or DV_EINVAL / DV_EIO with the
 * reason set, naming the file and the row. */
int dvi_state_load(dvi_state *s, dvi_state_image *img);
void dvi_state_image_fini(dvi_state_image *img);

/* Whether t may be saved and read back: the checks of every loaded row
 * that need no other row. Sets t->call. Returns 0, or DV_EINVAL with
 * why (naming the task) in the thread's error. */
int dvi_state_task_check(dvi_state_task *t);

/* Applies b as one transaction. Returns 0, or DV_EIO with the reason set
 * (nothing of b is applied). */
int dvi_state_apply(dvi_state *s, const dvi_state_batch *b);

/* A new op of kind at the end of b (zeroed but for its kind). Borrowed;
 * valid until b changes. */
dvi_state_op *dvi_state_batch_add(dvi_state_batch *b, int kind);
/* Moves every op of from to the end of to; from is left empty. */
void dvi_state_batch_append(dvi_state_batch *to, dvi_state_batch *from);
/* Frees every op and empties b. */
void dvi_state_batch_fini(dvi_state_batch *b);
void dvi_state_task_fini(dvi_state_task *t);

#endif
