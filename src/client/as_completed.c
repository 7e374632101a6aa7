/* dv_next_completed: futures in the order they complete.
 *
 * A loop over dv_next_completed(c, fs, n) visits n futures; scanning all
 * of them on every call would cost O(n^2). The client keeps instead, for
 * the array it was last given, an index from each future's state to its
 * handles, and a log of states as they complete: each call takes the new
 * log entries, queues the handles they finish, and pops one. An array
 * whose address, length or contents (a checksum of its pointers) differ
 * rebuilds the index, so reusing or refilling an array is safe. The log
 * is bounded: past S_MAX_LOG entries the index is dropped and the next
 * call rebuilds it from the futures' states. Everything here runs under
 * c->lock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_impl.h"
#include "common/err.h"

#define S_NONE SIZE_MAX
#define S_MAX_LOG ((size_t)1 << 20)

struct dvi_ascompleted {
    dv_future *const *fs; /* the array this index is for */
    dv_future **handles;  /* its contents when the index was built */
    size_t n;
    uint64_t sum;      /* checksum of the handles in it */
    uint64_t gen;      /* marks its handles (dv_future.indexed) */
    char (*names)[24]; /* each handle's state address, as a map key */
    size_t *chain;     /* next handle with the same state, or S_NONE */
    dvi_map first;     /* state address -> first handle index + 1 */
    size_t *ready;     /* completed handles not yet returned, in order */
    size_t head, nready, capready;
    size_t log_pos; /* entries of c->done_log already taken */
};

void
dvi_ascompleted_free(dv_client *c)
{
    dvi_ascompleted *ac = c->ascompleted;
    if (ac == NULL) {
        return;
    }
    dvi_map_fini(&ac->first);
    free(ac->names);
    free(ac->handles);
    free(ac->chain);
    free(ac->ready);
    free(ac);
    c->ascompleted = NULL;
    free(c->done_log);
    c->done_log = NULL;
    c->ndone_log = c->capdone_log = 0;
}

uint64_t
dvi_ascompleted_gen(const dv_client *c)
{
    return c->ascompleted ? c->ascompleted->gen : 0;
}

void
dvi_ascompleted_note_locked(dv_client *c, dvi_fstate *st)
{
    if (c->ascompleted == NULL) {
        return; /* nobody is waiting in completion order */
    }
    if (c->ndone_log >= S_MAX_LOG) {
        dvi_ascompleted_free(c); /* rebuilt from the states when needed */
        return;
    }
    if (c->ndone_log == c->capdone_log) {
        c->capdone_log = c->capdone_log ? c->capdone_log * 2 : 64;
        c->done_log =
            dvi_realloc(c->done_log, c->capdone_log * sizeof(*c->done_log));
    }
    c->done_log[c->ndone_log++] = st;
}

static void
s_push(dvi_ascompleted *ac, size_t i)
{
    if (ac->head > 0 && ac->head == ac->nready) {
        ac->head = ac->nready = 0; /* all taken: start over */
    }
    if (ac->nready == ac->capready) {
        ac->capready = ac->capready ? ac->capready * 2 : 64;
        ac->ready = dvi_realloc(ac->ready, ac->capready * sizeof(size_t));
    }
    ac->ready[ac->nready++] = i;
}

static uint64_t
s_checksum(dv_future *const *fs, size_t n)
{
    uint64_t h = n;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ (uint64_t)(uintptr_t)fs[i]) * 0x100000001b3ull;
    }
    return h;
}

typedef struct s_done {
    uint64_t seq;
    size_t index;
} s_done;

static int
s_by_seq(const void *a, const void *b)
{
    const s_done *x = a, *y = b;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static dvi_ascompleted *
s_build(dv_client *c, dv_future *const *fs, size_t n)
{
    dvi_ascompleted_free(c);
    dvi_ascompleted *ac = dvi_calloc(1, sizeof(*ac));
    ac->fs = fs;
    ac->n = n;
    ac->handles = dvi_calloc(n ? n : 1, sizeof(*ac->handles));
    memcpy(ac->handles, fs, n * sizeof(*fs));
    ac->sum = s_checksum(fs, n);
    ac->gen = ++c->ascompleted_gen;
    for (size_t i = 0; i < n; i++) {
        fs[i]->indexed = ac->gen;
    }
    ac->names = dvi_calloc(n ? n : 1, sizeof(*ac->names));
    ac->chain = dvi_calloc(n ? n : 1, sizeof(*ac->chain));
    dvi_map_init(&ac->first);
    s_done *done = dvi_calloc(n ? n : 1, sizeof(*done));
    size_t ndone = 0;
    for (size_t i = 0; i < n; i++) {
        snprintf(ac->names[i], sizeof(ac->names[i]), "%p", (void *)fs[i]->st);
        dvi_map_entry *e = dvi_map_find(&ac->first, ac->names[i]);
        ac->chain[i] = e ? (size_t)e->val - 1 : S_NONE;
        if (e) {
            e->val = (void *)(i + 1);
        } else {
            dvi_map_put(&ac->first, ac->names[i], (void *)(i + 1));
        }
        if (!fs[i]->returned && fs[i]->st->status != DV_PENDING) {
            done[ndone].seq = fs[i]->st->done_seq;
            done[ndone++].index = i;
        }
    }
    /* What completed before the first call comes first, in its order. */
    qsort(done, ndone, sizeof(*done), s_by_seq);
    for (size_t k = 0; k < ndone; k++) {
        s_push(ac, done[k].index);
    }
    free(done);
    c->ascompleted = ac;
    ac->log_pos = c->ndone_log;
    return ac;
}

/* Queues the handles of states that completed since the last call. */
static void
s_take_log(dv_client *c, dvi_ascompleted *ac)
{
    for (; ac->log_pos < c->ndone_log; ac->log_pos++) {
        char name[24];
        snprintf(name, sizeof(name), "%p", (void *)c->done_log[ac->log_pos]);
        size_t i = (size_t)dvi_map_get(&ac->first, name);
        for (i = i ? i - 1 : S_NONE; i != S_NONE; i = ac->chain[i]) {
            /* The log holds addresses only: a released state's address
             * may have been reused, so check the handle itself. */
            dv_future *f = ac->handles[i];
            if (!f->returned && f->st->status != DV_PENDING) {
                s_push(ac, i);
            }
        }
    }
    ac->log_pos = c->ndone_log = 0;
}

dv_future *
dv_next_completed(dv_client *c, dv_future *const *fs, size_t n,
                  double timeout_s)
{
    if (c == NULL || (fs == NULL && n > 0)) {
        dvi_seterr(DV_EINVAL, "dv_next_completed: no client or futures");
        return NULL;
    }
    uint64_t deadline = dvi_deadline(timeout_s);
    uv_mutex_lock(&c->lock);
    int checked = 0; /* the array's contents were compared this call */
    for (;;) {
        /* Another thread may have rebuilt the index for its own array
         * while this one waited: check every time. */
        dvi_ascompleted *ac = c->ascompleted;
        if (ac == NULL || ac->fs != fs || ac->n != n) {
            ac = s_build(c, fs, n);
            checked = 1;
        }
        s_take_log(c, ac);
        int stale = 0;
        while (ac->head < ac->nready) {
            size_t i = ac->ready[ac->head++];
            dv_future *f = ac->handles[i];
            if (fs[i] != f) {
                stale = 1; /* the caller put another future there */
                break;
            }
            if (!f->returned && f->st->elost) {
                /* Those lost with the scheduler come last: say so, and
                 * again at every call. */
                ac->head--;
                dvi_seterr(DV_ELOST, "dv_next_completed: %s", f->st->error);
                uv_mutex_unlock(&c->lock);
                return NULL;
            }
            if (!f->returned) {
                f->returned = 1;
                uv_mutex_unlock(&c->lock);
                return f;
            }
        }
        /* Before waiting, make sure the index is of this array's
         * futures: one may have been replaced (a sliding window). */
        if (stale || (!checked && s_checksum(fs, n) != ac->sum)) {
            s_build(c, fs, n);
            checked = 1;
            continue;
        }
        checked = 1;
        size_t left = 0;
        for (size_t i = 0; i < n && left == 0; i++) {
            left += !fs[i]->returned;
        }
        if (left == 0) {
            dvi_ascompleted_free(c); /* done with this array */
            uv_mutex_unlock(&c->lock);
            dvi_seterr(DV_ENOTFOUND, "dv_next_completed: every future was "
                                     "returned already");
            return NULL;
        }
        if (dvi_client_wait_locked(c, deadline) == DV_ETIMEDOUT) {
            uv_mutex_unlock(&c->lock);
            dvi_seterr(DV_ETIMEDOUT,
                       "dv_next_completed: none done after "
                       "%.3g s",
                       timeout_s);
            return NULL;
        }
    }
}
