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

/* Halves the array when under 1/8 full (it doubles when full), so a queue
 * that held a million tasks gives their slots back as they leave. */
static void
s_shrink(dvi_taskvec *v)
{
    if (v->cap > DVI_TASKVEC_KEEP && v->n * 8 < v->cap) {
        v->cap /= 2;
        v->v = dvi_realloc(v->v, v->cap * sizeof(*v->v));
    }
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

static int
s_before(const dvi_task *a, const dvi_task *b)
{
    if (a->priority != b->priority) {
        return a->priority > b->priority;
    }
    return a->seq < b->seq;
}

static void
s_set(dvi_taskheap *h, uint32_t i, dvi_task *t)
{
    h->v[i] = t;
    t->heap_index = i;
}

static void
s_up(dvi_taskheap *h, uint32_t i)
{
    dvi_task *t = h->v[i];
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (!s_before(t, h->v[parent])) {
            break;
        }
        s_set(h, i, h->v[parent]);
        i = parent;
    }
    s_set(h, i, t);
}

static void
s_down(dvi_taskheap *h, uint32_t i)
{
    dvi_task *t = h->v[i];
    for (;;) {
        uint32_t child = 2 * i + 1;
        if (child >= h->n) {
            break;
        }
        if (child + 1 < h->n && s_before(h->v[child + 1], h->v[child])) {
            child++;
        }
        if (!s_before(h->v[child], t)) {
            break;
        }
        s_set(h, i, h->v[child]);
        i = child;
    }
    s_set(h, i, t);
}

void
dvi_taskheap_push(dvi_taskheap *h, dvi_task *t)
{
    dvi_taskvec_push(h, t);
    s_up(h, h->n - 1);
}

dvi_task *
dvi_taskheap_pop(dvi_taskheap *h)
{
    if (h->n == 0) {
        return NULL;
    }
    dvi_task *top = h->v[0];
    top->heap_index = DVI_NO_INDEX;
    dvi_task *last = h->v[--h->n];
    if (h->n > 0) {
        s_set(h, 0, last);
        s_down(h, 0);
    }
    s_shrink(h);
    return top;
}

dvi_task *
dvi_taskheap_peek(const dvi_taskheap *h)
{
    return h->n > 0 ? h->v[0] : NULL;
}

void
dvi_taskheap_remove(dvi_taskheap *h, dvi_task *t)
{
    uint32_t i = t->heap_index;
    if (i == DVI_NO_INDEX || i >= h->n || h->v[i] != t) {
        return;
    }
    t->heap_index = DVI_NO_INDEX;
    dvi_task *last = h->v[--h->n];
    if (i < h->n) {
        s_set(h, i, last);
        s_up(h, i);
        s_down(h, last->heap_index);
    }
    s_shrink(h);
}
