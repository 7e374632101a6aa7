/* dvi_taskvec: a growable array of tasks. */
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
