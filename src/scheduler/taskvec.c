/* dvi_taskvec and the ready heap. */
#include "taskvec.h"

#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "task.h"

void
dvi_taskvec_init(dvi_taskvec *v)
{
    v->v = NULL;
    v->n = v->cap = 0;
}

void
dvi_taskvec_fini(dvi_taskvec *v)
{
    free(v->v);
    dvi_taskvec_init(v);
}

void
dvi_taskvec_reset(dvi_taskvec *v)
{
    if (v->cap > DVI_TASKVEC_KEEP) {
        dvi_taskvec_fini(v);
    }
    v->n = 0;
}

void
dvi_taskvec_push(dvi_taskvec *v, dvi_task *t)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 2;
        v->v = dvi_realloc(v->v, v->cap * sizeof(*v->v));
    }
    v->v[v->n++] = t;
}

void
dvi_taskvec_remove(dvi_taskvec *v, dvi_task *t)
{
    for (uint32_t i = 0; i < v->n; i++) {
        if (v->v[i] == t) {
            v->v[i] = v->v[--v->n];
            return;
        }
    }
}

void
dvi_taskvec_take(dvi_taskvec *v, dvi_taskvec *out)
{
    *out = *v;
    dvi_taskvec_init(v);
}

void
dvi_taskvec_shift(dvi_taskvec *v, uint32_t n)
{
    if (n == 0) {
        return;
    }
    memmove(v->v, v->v + n, (v->n - n) * sizeof(*v->v));
    v->n -= n;
}

/* ---- The ready heap ------------------------------------------------------ */

/* Children per node: half the levels of a binary heap, and a node's
 * children share one or two cache lines. */
#define S_ARITY 4

void
dvi_taskheap_init(dvi_taskheap *h)
{
    h->v = NULL;
    h->n = h->cap = 0;
}

void
dvi_taskheap_fini(dvi_taskheap *h)
{
    free(h->v);
    dvi_taskheap_init(h);
}

static int
s_before(const dvi_heapent *a, const dvi_heapent *b)
{
    if (a->priority != b->priority) {
        return a->priority > b->priority;
    }
    return a->seq < b->seq;
}

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

void
dvi_taskheap_push(dvi_taskheap *h, dvi_task *t)
{
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 4;
        h->v = dvi_realloc(h->v, h->cap * sizeof(*h->v));
    }
    h->v[h->n] = (dvi_heapent){t->priority, t->seq, t};
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

dvi_task *
dvi_taskheap_pop(dvi_taskheap *h)
{
    if (h->n == 0) {
        return NULL;
    }
    dvi_task *top = h->v[0].t;
    s_take(h, 0);
    return top;
}

dvi_task *
dvi_taskheap_peek(const dvi_taskheap *h)
{
    return h->n > 0 ? h->v[0].t : NULL;
}

int
dvi_taskheap_before(const dvi_taskheap *a, const dvi_taskheap *b)
{
    return a->n > 0 && (b->n == 0 || s_before(&a->v[0], &b->v[0]));
}

void
dvi_taskheap_remove(dvi_taskheap *h, dvi_task *t)
{
    uint32_t i = t->heap_index;
    if (i == DVI_NO_INDEX || i >= h->n || h->v[i].t != t) {
        return;
    }
    s_take(h, i);
}
