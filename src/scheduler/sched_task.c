/* dvi_task storage, task vectors and the ready heap. */
#include "sched_task.h"

#include <stdlib.h>
#include <string.h>

#include "common/err.h"

dvi_task *
dvi_task_new(const char *key, size_t keylen, const char *args, size_t argslen,
             size_t ndeps)
{
    dvi_task *t = dvi_calloc(1, sizeof(*t) + keylen + 1 + argslen);
    memcpy(t->key, key, keylen);
    t->key[keylen] = '\0';
    if (argslen) {
        memcpy(t->key + keylen + 1, args, argslen);
    }
    t->keylen = (uint16_t)keylen;
    t->args_len = (uint32_t)argslen;
    t->state = DVI_TASK_WAITING;
    t->heap_index = DVI_NO_INDEX;
    if (ndeps > 1) {
        t->deps.many = dvi_calloc(ndeps, sizeof(dvi_task *));
        t->flags |= DVI_TASKF_DEPARRAY;
    }
    return t;
}

void
dvi_task_free(dvi_task *t)
{
    if (t->flags & DVI_TASKF_DEPARRAY) {
        free(t->deps.many);
    }
    if (t->who_cap > 1) {
        free(t->who.many);
    }
    dvi_taskvec_fini(&t->dependents);
    free(t->error);
    free(t);
}

dvi_task **
dvi_task_deps(dvi_task *t)
{
    /* A single input lives in the union itself. */
    return (t->flags & DVI_TASKF_DEPARRAY) ? t->deps.many : &t->deps.one;
}

const char *
dvi_task_args(const dvi_task *t)
{
    return t->key + t->keylen + 1;
}

void
dvi_task_add_holder(dvi_task *t, void *w)
{
    for (uint32_t i = 0; i < t->nwho; i++) {
        void *h = t->who_cap <= 1 ? t->who.one : t->who.many[i];
        if (h == w) {
            return;
        }
    }
    if (t->nwho == 0 && t->who_cap <= 1) {
        t->who.one = w;
        t->who_cap = 1;
        t->nwho = 1;
        return;
    }
    if (t->who_cap <= 1) {
        void *first = t->who.one;
        t->who.many = dvi_malloc(4 * sizeof(void *));
        t->who.many[0] = first;
        t->who_cap = 4;
    } else if (t->nwho == t->who_cap) {
        t->who_cap *= 2;
        t->who.many = dvi_realloc(t->who.many, t->who_cap * sizeof(void *));
    }
    if (t->nwho < 255) {
        t->who.many[t->nwho++] = w;
    }
}

int
dvi_task_remove_holder(dvi_task *t, void *w)
{
    if (t->who_cap <= 1) {
        if (t->nwho == 1 && t->who.one == w) {
            t->nwho = 0;
            t->who.one = NULL; /* the worker is about to be freed */
            return 1;
        }
        return 0;
    }
    for (uint32_t i = 0; i < t->nwho; i++) {
        if (t->who.many[i] == w) {
            t->who.many[i] = t->who.many[--t->nwho];
            return 1;
        }
    }
    return 0;
}

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
    return top;
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
}
