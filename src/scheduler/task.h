/* dvi_task: the scheduler's record of one task.
 *
 * A task is one allocation: the struct, its key and its encoded arguments
 * (kept, with its inputs, as lineage: what it takes to compute it again).
 * A single input or holder is stored inline; only more of them take an
 * array. This keeps a waiting task near 200 bytes, so a million of them
 * fit in a few hundred megabytes. State changes go through the core's one
 * transition function (core_impl.h), never by assigning `state`.
 */
#ifndef DVI_TASK_H
#define DVI_TASK_H

#include <stddef.h>
#include <stdint.h>

#include "common/pset.h"
#include "proto/msg.h"
#include "taskvec.h"

enum dvi_task_state {
    DVI_TASK_WAITING = 1, /* inputs not all in memory */
    DVI_TASK_QUEUED,      /* ready; in the heap or its worker's pinned queue */
    DVI_TASK_PROCESSING,  /* sent to a worker (`where`) */
    DVI_TASK_MEMORY,      /* result held by one or more workers */
    DVI_TASK_RELEASED,    /* result freed; the record kept as lineage of a
                             result that may have to be computed again */
    DVI_TASK_ERRED,
    DVI_TASK_CANCELLED,
    DVI_TASK_FORGOTTEN, /* out of the graph, freed at the end of the turn */
    DVI_TASK_NSTATES
};

/* Flags: the low bits travel in SUBMIT and COMPUTE (msg.h). */
#define DVI_TASK_WIRE_FLAGS (DVI_TASK_IMPURE | DVI_TASK_CHUNK)
#define DVI_TASKF_MARK 0x04u /* scratch: seen in the current walk */
#define DVI_TASKF_AHEAD                                                     \
    0x08u                        /* processing: sent before its inputs were \
                                    done, to the worker computing them */
#define DVI_TASKF_PINNED 0x10u   /* may run only on `pin` */
#define DVI_TASKF_SCATTER 0x20u  /* data put by a client, no function */
#define DVI_TASKF_EXTRA 0x40u    /* more wanting clients in the core's map */
#define DVI_TASKF_DEPARRAY 0x80u /* inputs in deps.many, not deps.one */
#define DVI_TASKF_FORWARD                                           \
    0x100u /* a continuation: its result is its one input's (DONE's \
              forward); COMPUTE carries DVI_TASK_FORWARD */
#define DVI_TASKF_PARENT 0x200u /* it submitted children (children.c) */

#define DVI_NO_INDEX UINT32_MAX

typedef struct dvi_sworker dvi_sworker;
typedef struct dvi_sclient dvi_sclient;
typedef struct dvi_fnrec dvi_fnrec;

struct dvi_task {
    uint8_t state;      /* enum dvi_task_state */
    uint8_t suspicious; /* workers that died while running it */
    uint16_t flags;
    int16_t retries; /* attempts left after a failure of the function */
    uint16_t keylen;
    int32_t priority;
    uint32_t args_len;
    uint32_t ndeps;      /* inputs, kept as lineage until it errs or goes */
    uint32_t nwaiting;   /* distinct inputs not yet in memory */
    uint32_t nwaiters;   /* dependents that still need the result */
    uint32_t nlineage;   /* dependents that keep it as their lineage */
    uint32_t nwants;     /* clients and published names that want it */
    uint32_t heap_index; /* in the ready heap, or DVI_NO_INDEX */
    uint16_t who_cap;
    uint8_t nwho; /* workers holding the result */
    /* The call's time limit on a worker (ms, 0: none), in the padding. */
    uint32_t timeout_ms;
    uint64_t seq;    /* submission order, for fairness */
    uint64_t nbytes; /* size of the encoded result */
    dvi_fnrec *fn;   /* the function, interned with its counters */
    union {
        dvi_task *one;
        dvi_task **many;
    } deps;
    dvi_pset dependents; /* waiting tasks to tell when it completes: a
                            set, so that one leaving is O(1) however
                            many wait */
    dvi_sworker *where;  /* the worker running it (processing) */
    dvi_sworker *pin;    /* pinned tasks: the only worker it may use */
    dvi_sworker *block;  /* queued in this worker's block of roots */
    union {
        dvi_sworker *one;
        dvi_sworker **many;
    } who;              /* workers holding the result */
    dvi_sclient *owner; /* the first client that wants it */
    char *error;        /* erred or cancelled: why */
    char key[];         /* then the arguments */
};

/* A task with room for ndeps inputs. Aborts when out of memory. */
dvi_task *dvi_task_new(const char *key, size_t keylen, const char *args,
                       size_t argslen, size_t ndeps);
void dvi_task_free(dvi_task *t);
dvi_task **dvi_task_deps(dvi_task *t);
const char *dvi_task_args(const dvi_task *t);
/* Holder i of the result (i < nwho). */
dvi_sworker *dvi_task_holder(const dvi_task *t, uint32_t i);
/* Whether w holds the result. */
int dvi_task_holds(const dvi_task *t, const dvi_sworker *w);
/* Adds w to the holders; returns 1 if it was not one yet. */
int dvi_task_add_holder(dvi_task *t, dvi_sworker *w);
/* Removes w from the holders; returns 1 if it was one. */
int dvi_task_remove_holder(dvi_task *t, dvi_sworker *w);
/* Forgets every holder (the caller updates the workers' indices). */
void dvi_task_clear_holders(dvi_task *t);

#endif
