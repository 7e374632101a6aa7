/* dvi_task: the scheduler's record of one task, and the containers that
 * hold tasks (a vector and a priority heap).
 *
 * A task is one allocation: the struct, its key and its encoded arguments.
 * Its single input, holder or dependent is stored inline; only more of
 * them take an array. This keeps a waiting task near 200 bytes, so a
 * million of them fit in a few hundred megabytes.
 */
#ifndef DVI_SCHED_TASK_H
#define DVI_SCHED_TASK_H

#include <stddef.h>
#include <stdint.h>

#include "proto/msg.h"

enum dvi_task_state {
    DVI_TASK_WAITING = 1, /* inputs not all in memory */
    DVI_TASK_QUEUED,      /* ready; in the heap or a worker's pinned queue */
    DVI_TASK_PROCESSING,  /* sent to a worker */
    DVI_TASK_MEMORY,      /* result held by one or more workers */
    DVI_TASK_ERRED,
    DVI_TASK_CANCELLED,
    DVI_TASK_FORGOTTEN /* out of the map, freed at the end of the turn */
};

/* Flags: the low bits travel in SUBMIT and COMPUTE (msg.h). */
#define DVI_TASK_WIRE_FLAGS (DVI_TASK_IMPURE | DVI_TASK_CHUNK)
#define DVI_TASKF_MARK 0x04u /* scratch: seen in the current walk */
#define DVI_TASKF_AHEAD                                                     \
    0x08u                        /* processing: sent before its inputs were \
                                    done, on the worker computing them */
#define DVI_TASKF_PINNED 0x10u   /* may run only on `where` */
#define DVI_TASKF_SCATTER 0x20u  /* data put by a client, no function */
#define DVI_TASKF_EXTRA 0x40u    /* more wanters in the scheduler's map */
#define DVI_TASKF_DEPARRAY 0x80u /* inputs in deps.many, not deps.one */

#define DVI_NO_INDEX UINT32_MAX

typedef struct dvi_task dvi_task;

typedef struct dvi_taskvec {
    dvi_task **v;
    uint32_t n, cap;
} dvi_taskvec;

struct dvi_task {
    uint8_t state; /* enum dvi_task_state */
    uint8_t flags;
    uint8_t suspicious; /* workers that died while running it */
    uint8_t nwho;       /* workers holding the result */
    int16_t retries;    /* attempts left after lost inputs or workers */
    uint16_t keylen;
    int32_t priority;
    uint32_t args_len;
    uint32_t ndeps;
    uint32_t nwaiting;   /* inputs not yet in memory */
    uint32_t nwaiters;   /* dependents not yet completed */
    uint32_t nwants;     /* clients and published names that hold it */
    uint32_t heap_index; /* in the ready heap, or DVI_NO_INDEX */
    uint32_t who_cap;
    uint64_t seq;    /* submission order, for fairness */
    uint64_t nbytes; /* size of the encoded result */
    const char *fn;  /* interned function name */
    union {
        dvi_task *one;
        dvi_task **many;
    } deps;                 /* inputs, dropped once it completes */
    dvi_taskvec dependents; /* waiting tasks to tell when it completes */
    void *where;            /* worker running it; a pinned task's always */
    union {
        void *one;
        void **many;
    } who;                  /* workers holding the result */
    struct s_client *owner; /* the first client that wants it */
    char *error;            /* erred or cancelled: why */
    char key[];             /* then the arguments */
};

/* A task with room for ndeps inputs. Aborts when out of memory. */
dvi_task *dvi_task_new(const char *key, size_t keylen, const char *args,
                       size_t argslen, size_t ndeps);
void dvi_task_free(dvi_task *t);
dvi_task **dvi_task_deps(dvi_task *t);
const char *dvi_task_args(const dvi_task *t);
/* Holder i of the result, as the scheduler's worker type. */
#define dvi_task_holder(t, i) \
    ((s_worker *)((t)->who_cap <= 1 ? (t)->who.one : (t)->who.many[i]))
void dvi_task_add_holder(dvi_task *t, void *w);
/* Removes w from the holders; returns 1 if it was one. */
int dvi_task_remove_holder(dvi_task *t, void *w);

void dvi_taskvec_init(dvi_taskvec *v);
void dvi_taskvec_fini(dvi_taskvec *v);
void dvi_taskvec_push(dvi_taskvec *v, dvi_task *t);
/* Removes t if present (order not kept). */
void dvi_taskvec_remove(dvi_taskvec *v, dvi_task *t);
/* Drops the first n entries, keeping order. */
void dvi_taskvec_shift(dvi_taskvec *v, uint32_t n);

/* Ready tasks: highest priority first, then oldest. */
typedef dvi_taskvec dvi_taskheap;
#define dvi_taskheap_init dvi_taskvec_init
#define dvi_taskheap_fini dvi_taskvec_fini
void dvi_taskheap_push(dvi_taskheap *h, dvi_task *t);
dvi_task *dvi_taskheap_pop(dvi_taskheap *h);
void dvi_taskheap_remove(dvi_taskheap *h, dvi_task *t);

#endif
