/* dvi_task: one allocation per task, inputs and holders inline when one. */
#include "task.h"

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
    dvi_pset_fini(&t->dependents);
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

dvi_sworker *
dvi_task_holder(const dvi_task *t, uint32_t i)
{
    return t->who_cap <= 1 ? t->who.one : t->who.many[i];
}

int
dvi_task_holds(const dvi_task *t, const dvi_sworker *w)
{
    for (uint32_t i = 0; i < t->nwho; i++) {
        if (dvi_task_holder(t, i) == w) {
            return 1;
        }
    }
    return 0;
}

int
dvi_task_add_holder(dvi_task *t, dvi_sworker *w)
{
    if (dvi_task_holds(t, w) || t->nwho == UINT8_MAX) {
        return 0;
    }
    if (t->nwho == 0 && t->who_cap <= 1) {
        t->who.one = w;
        t->who_cap = 1;
        t->nwho = 1;
        return 1;
    }
    if (t->who_cap <= 1) {
        dvi_sworker *first = t->who.one;
        t->who.many = dvi_malloc(4 * sizeof(*t->who.many));
        t->who.many[0] = first;
        t->who_cap = 4;
    } else if (t->nwho == t->who_cap) {
        t->who_cap *= 2;
        t->who.many =
            dvi_realloc(t->who.many, t->who_cap * sizeof(*t->who.many));
    }
    t->who.many[t->nwho++] = w;
    return 1;
}

int
dvi_task_remove_holder(dvi_task *t, dvi_sworker *w)
{
    if (t->who_cap <= 1) {
        if (t->nwho == 1 && t->who.one == w) {
            t->nwho = 0;
            t->who.one = NULL;
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
dvi_task_clear_holders(dvi_task *t)
{
    t->nwho = 0;
    if (t->who_cap <= 1) {
        t->who.one = NULL;
    }
}
