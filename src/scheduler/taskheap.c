/* dvi_taskheap: the ready queue, a run of tasks in order beside a heap of
 * the others (see taskvec.h). */
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "task.h"
#include "taskvec.h"

/* Children per node: half the levels of a binary heap, and a node's
 * children share one or two cache lines. */
#define S_ARITY 4
/* A member of the run has this bit in its heap_index, with its id (mod
 * 2^30) below; a heap member has its index there. */
#define S_RUN_BIT 0x40000000u
#define S_ID_MASK (S_RUN_BIT - 1)
#define S_RUN_MIN 16

void
dvi_taskheap_init(dvi_taskheap *h)
{
    memset(h, 0, sizeof(*h));
}

void
dvi_taskheap_fini(dvi_taskheap *h)
{
    free(h->v);
    free(h->run);
    dvi_taskheap_init(h);
}

uint32_t
dvi_taskheap_len(const dvi_taskheap *h)
{
    return h->n + h->nrun;
}

static int
s_before(const dvi_heapent *a, const dvi_heapent *b)
{
    if (a->priority != b->priority) {
        return a->priority > b->priority;
    }
    return a->seq < b->seq;
}

/* ---- The heap ------------------------------------------------------------ */

static void
s_set(dvi_taskheap *h, uint32_t i, dvi_heapent e)
{
    h->v[i] = e;
    e.t->heap_index = i;
}

static void
s_up(dvi_taskheap *h, uint32_t i)
{
    dvi_heapent e = h->v[i];
    while (i > 0) {
        uint32_t parent = (i - 1) / S_ARITY;
        if (!s_before(&e, &h->v[parent])) {
            break;
        }
        s_set(h, i, h->v[parent]);
        i = parent;
    }
    s_set(h, i, e);
}

static void
s_down(dvi_taskheap *h, uint32_t i)
{
    dvi_heapent e = h->v[i];
    for (;;) {
        uint32_t first = S_ARITY * i + 1;
        if (first >= h->n) {
            break;
        }
        uint32_t end = h->n - first < S_ARITY ? h->n : first + S_ARITY;
        uint32_t best = first;
        for (uint32_t c = first + 1; c < end; c++) {
            if (s_before(&h->v[c], &h->v[best])) {
                best = c;
            }
        }
        if (!s_before(&h->v[best], &e)) {
            break;
        }
        s_set(h, i, h->v[best]);
        i = best;
    }
    s_set(h, i, e);
}

/* Halves the array when under 1/8 full (it doubles when full), so a queue
 * that held a million tasks gives their slots back as they leave. */
static void
s_shrink(dvi_taskheap *h)
{
    if (h->cap > DVI_TASKVEC_KEEP && h->n * 8 < h->cap) {
        h->cap /= 2;
        h->v = dvi_realloc(h->v, h->cap * sizeof(*h->v));
    }
}

static void
s_heap_push(dvi_taskheap *h, dvi_heapent e)
{
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 4;
        h->v = dvi_realloc(h->v, h->cap * sizeof(*h->v));
    }
    h->v[h->n] = e;
    s_up(h, h->n++);
}

/* Takes the member at i out, filling its place with the last one. */
static void
s_take(dvi_taskheap *h, uint32_t i)
{
    h->v[i].t->heap_index = DVI_NO_INDEX;
    dvi_heapent last = h->v[--h->n];
    if (i < h->n) {
        s_set(h, i, last);
        s_up(h, i);
        s_down(h, last.t->heap_index);
    }
    s_shrink(h);
}

/* ---- The run ------------------------------------------------------------- */

/* Ids from first to end, in a ring of rcap (a power of two) slots: slot
 * id & (rcap - 1). Members left by a removal are holes (t NULL) that keep
 * their order key; the first id is never a hole. */

static uint32_t
s_run_span(const dvi_taskheap *h)
{
    return (h->rend - h->rfirst) & S_ID_MASK;
}

static dvi_heapent *
s_run_at(const dvi_taskheap *h, uint32_t id)
{
    return &h->run[id & (h->rcap - 1)];
}

/* Whether e may join the run: it is empty, or e goes after its last. */
static int
s_run_takes(const dvi_taskheap *h, const dvi_heapent *e)
{
    return h->nrun == 0 || !s_before(e, s_run_at(h, (h->rend - 1) & S_ID_MASK));
}

/* A new ring, twice the live members (S_RUN_MIN at least), for the
 * run's members without its holes: they keep their ids up to the first
 * hole, and those after it are numbered again (holes, from removals
 * behind an old first member, are rare: a ring never fills with them). */
static void
s_run_resize(dvi_taskheap *h)
{
    uint32_t cap = S_RUN_MIN, span = s_run_span(h), id = h->rfirst;
    int renumber = 0; /* past a hole: members take new ids */
    while (cap < 2 * h->nrun) {
        cap *= 2;
    }
    dvi_heapent *run = dvi_malloc(cap * sizeof(*run));
    for (uint32_t k = 0; k < span; k++) {
        dvi_heapent e = *s_run_at(h, (h->rfirst + k) & S_ID_MASK);
        if (e.t == NULL) {
            renumber = 1;
            continue;
        }
        if (renumber) {
            e.t->heap_index = S_RUN_BIT | id;
        }
        run[id & (cap - 1)] = e;
        id = (id + 1) & S_ID_MASK;
    }
    free(h->run);
    h->run = run;
    h->rcap = cap;
    h->rend = id;
}

static void
s_run_push(dvi_taskheap *h, dvi_heapent e)
{
    if (s_run_span(h) == h->rcap) {
        s_run_resize(h);
    }
    e.t->heap_index = S_RUN_BIT | h->rend;
    *s_run_at(h, h->rend) = e;
    h->rend = (h->rend + 1) & S_ID_MASK;
    h->nrun++;
}

/* Makes the member of id a hole, then moves the first id past holes. */
static void
s_run_take(dvi_taskheap *h, uint32_t id)
{
    s_run_at(h, id)->t->heap_index = DVI_NO_INDEX;
    s_run_at(h, id)->t = NULL;
    h->nrun--;
    while (h->rfirst != h->rend && s_run_at(h, h->rfirst)->t == NULL) {
        h->rfirst = (h->rfirst + 1) & S_ID_MASK;
    }
    if (h->rcap > DVI_TASKVEC_KEEP && h->nrun == 0) {
        free(h->run); /* a burst gives its ring back */
        h->run = NULL;
        h->rcap = 0;
    } else if (h->rcap > DVI_TASKVEC_KEEP && h->nrun * 8 < h->rcap) {
        s_run_resize(h); /* a quarter of the size, as it leaves */
    }
}

/* ---- The queue ----------------------------------------------------------- */

void
dvi_taskheap_push(dvi_taskheap *h, dvi_task *t)
{
    dvi_heapent e = {t->priority, t->seq, t};
    if (s_run_takes(h, &e)) {
        s_run_push(h, e); /* tasks of one priority come in order */
    } else {
        s_heap_push(h, e);
    }
}

/* The first member's entry, or NULL. */
static const dvi_heapent *
s_first(const dvi_taskheap *h)
{
    const dvi_heapent *top = h->n > 0 ? &h->v[0] : NULL;
    const dvi_heapent *head = h->nrun > 0 ? s_run_at(h, h->rfirst) : NULL;
    if (top == NULL || head == NULL) {
        return top != NULL ? top : head;
    }
    return s_before(head, top) ? head : top;
}

dvi_task *
dvi_taskheap_pop(dvi_taskheap *h)
{
    const dvi_heapent *first = s_first(h);
    if (first == NULL) {
        return NULL;
    }
    dvi_task *t = first->t;
    if (h->n > 0 && first == &h->v[0]) {
        s_take(h, 0);
    } else {
        s_run_take(h, h->rfirst);
    }
    return t;
}

dvi_task *
dvi_taskheap_peek(const dvi_taskheap *h)
{
    const dvi_heapent *first = s_first(h);
    return first != NULL ? first->t : NULL;
}

int
dvi_taskheap_before(const dvi_taskheap *a, const dvi_taskheap *b)
{
    const dvi_heapent *fa = s_first(a), *fb = s_first(b);
    return fa != NULL && (fb == NULL || s_before(fa, fb));
}

void
dvi_taskheap_remove(dvi_taskheap *h, dvi_task *t)
{
    uint32_t i = t->heap_index;
    if (i == DVI_NO_INDEX) {
        return;
    }
    if (i & S_RUN_BIT) {
        uint32_t id = i & S_ID_MASK;
        if (h->rcap > 0 && ((id - h->rfirst) & S_ID_MASK) < s_run_span(h) &&
            s_run_at(h, id)->t == t) {
            s_run_take(h, id);
        }
        return;
    }
    if (i < h->n && h->v[i].t == t) {
        s_take(h, i);
    }
}
