/* dvi_taskvec and dvi_taskheap: the scheduler's containers of tasks.
 *
 * A taskvec is a growable array of task pointers (a task's waiting
 * dependents, a worker's pinned queue, worklists); taskvec.c. The ready
 * queue (dvi_taskheap, taskheap.c) orders ready tasks, highest priority
 * first, then oldest, and keeps each member's place in the task itself so
 * that removing one from the middle (a cancel, a lost worker) is cheap.
 */
#ifndef DVI_TASKVEC_H
#define DVI_TASKVEC_H

#include <stdint.h>

typedef struct dvi_task dvi_task;

typedef struct dvi_taskvec {
    dvi_task **v;
    uint32_t n, cap;
} dvi_taskvec;

/* Arrays up to this many entries are kept when emptied; larger ones are
 * given back (a heap halves when under 1/8 full, a reset frees). */
#define DVI_TASKVEC_KEEP 1024

void dvi_taskvec_init(dvi_taskvec *v);
void dvi_taskvec_fini(dvi_taskvec *v);
/* Empties v, freeing its array if it is larger than DVI_TASKVEC_KEEP:
 * for worklists emptied every turn, which a burst must not leave large. */
void dvi_taskvec_reset(dvi_taskvec *v);
void dvi_taskvec_push(dvi_taskvec *v, dvi_task *t);
/* Removes t if present (order not kept). */
void dvi_taskvec_remove(dvi_taskvec *v, dvi_task *t);
/* Drops the first n entries, keeping order. */
void dvi_taskvec_shift(dvi_taskvec *v, uint32_t n);
/* Takes the array: v is left empty, *out owns what it held. */
void dvi_taskvec_take(dvi_taskvec *v, dvi_taskvec *out);

/* Ready tasks: highest priority first, then oldest (by seq). A task that
 * goes after every task of the run (tasks of one priority come in
 * submission order: the usual case) joins the run, a FIFO ring, in O(1)
 * and without touching another task; any other goes into a 4-ary heap
 * whose entries carry their task's order key, so that sifting through a
 * queue of a million tasks compares inline keys instead of following a
 * task pointer per child (the cache misses that dominated the scheduler's
 * loop). The first task is the run's first or the heap's top. Each
 * member's place is kept in the task (heap_index) for removal from the
 * middle: O(log n) from the heap, O(1) from the run (a hole, skipped). A
 * task's priority and seq must not change while it is queued; a queue
 * holds fewer than 2^30 tasks. */
typedef struct dvi_heapent {
    int32_t priority;
    uint64_t seq;
    dvi_task *t; /* NULL: a hole in the run */
} dvi_heapent;

typedef struct dvi_taskheap {
    dvi_heapent *v; /* the heap */
    uint32_t n, cap;
    dvi_heapent *run;            /* the run: a ring of rcap slots */
    uint32_t rfirst, rend, rcap; /* ids of its first and one past its last
                                    member (mod 2^30) */
    uint32_t nrun;               /* its members, holes not counted */
} dvi_taskheap;

void dvi_taskheap_init(dvi_taskheap *h);
void dvi_taskheap_fini(dvi_taskheap *h);
/* The tasks queued. */
uint32_t dvi_taskheap_len(const dvi_taskheap *h);
void dvi_taskheap_push(dvi_taskheap *h, dvi_task *t);
dvi_task *dvi_taskheap_pop(dvi_taskheap *h);
/* The first task, or NULL. */
dvi_task *dvi_taskheap_peek(const dvi_taskheap *h);
/* Whether a's first task goes before b's: 0 if a is empty, 1 if only b
 * is. */
int dvi_taskheap_before(const dvi_taskheap *a, const dvi_taskheap *b);
void dvi_taskheap_remove(dvi_taskheap *h, dvi_task *t);

#endif
