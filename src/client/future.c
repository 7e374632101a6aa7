/* Futures: the client's handles on tasks, waiting for them, and results. */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_impl.h"
#include "common/err.h"
#include "common/value.h"
#include "proto/msg.h"

/* Freed states and handles the client keeps, at most (about half a MiB):
 * a graph of tiny tasks makes and frees one of each a task on the user's
 * thread, whose memory is the process allocator's (alloc.c), and glibc's
 * malloc and free took 14% of that thread's CPU on local:threads=2,
 * mostly for them (a state is too large for its fast bins). */
#define S_SPARES 2048

/* Whether the client keeps one more freed state or handle, holding
 * `held`. Under AddressSanitizer never: a handle used after its release
 * stays an error it reports. */
static int
s_keeps(size_t held)
{
#if defined(__SANITIZE_ADDRESS__)
    (void)held;
    return 0;
#else
    return held < S_SPARES;
#endif
}

/* Keys shorter than this fit a reused state: a function name and a
 * call's hash. A state for such a key is made with room for any of them,
 * and can be reused; one for a longer key has room for its own only. */
#define S_SPARE_KEY 64

static int
s_spare_key(size_t len)
{
    return len < S_SPARE_KEY;
}

static dvi_fstate *
s_fstate_init(dvi_fstate *st, const char *key, size_t len)
{
    st->key = memcpy(st + 1, key, len + 1);
    st->status = DV_PENDING;
    return st;
}

/* A new state, its key (len bytes) in the same allocation. */
static dvi_fstate *
s_fstate_make(const char *key, size_t len)
{
    size_t room = s_spare_key(len) ? S_SPARE_KEY : len + 1;
    return s_fstate_init(dvi_calloc(1, sizeof(dvi_fstate) + room), key, len);
}

dvi_fstate *
dvi_fstate_new(const char *key)
{
    return s_fstate_make(key, strlen(key));
}

dvi_fstate *
dvi_fstate_new_locked(dv_client *c, const char *key)
{
    size_t len = strlen(key);
    dvi_fstate *st = c->spare_states;
    if (st == NULL || !s_spare_key(len)) {
        return s_fstate_make(key, len);
    }
    c->spare_states = st->next_spare;
    c->nspare_states--;
    memset(st, 0, sizeof(*st));
    return s_fstate_init(st, key, len);
}

/* Frees what st holds, not st. */
static void
s_fstate_clear(dvi_fstate *st)
{
    free(st->addr);
    free(st->error);
    dvi_blob_rele(st->blob);
    dvi_value_destroy(&st->value);
}

void
dvi_fstate_free(dvi_fstate *st)
{
    s_fstate_clear(st);
    free(st);
}

void
dvi_fstate_free_locked(dv_client *c, dvi_fstate *st)
{
    s_fstate_clear(st);
    if (!s_spare_key(strlen(st->key)) || !s_keeps(c->nspare_states)) {
        free(st);
        return;
    }
    st->next_spare = c->spare_states;
    c->spare_states = st;
    c->nspare_states++;
}

void
dvi_fstate_finish_locked(dv_client *c, dvi_fstate *st, int status,
                         const char *error)
{
    if (st->status != DV_PENDING) {
        return;
    }
    __atomic_store_n(&st->status, status, __ATOMIC_RELEASE);
    c->waitall_hit |= st == c->waitall_target;
    st->done_seq = ++c->done_seq;
    dvi_ascompleted_note_locked(c, st);
    if (error) {
        free(st->error);
        st->error = dvi_strdup(error);
    }
}

dv_future *
dvi_future_new_locked(dv_client *c, dvi_fstate *st, int32_t index)
{
    dv_future *f = c->spare_handles;
    if (f != NULL) {
        c->spare_handles = f->next_spare;
        c->nspare_handles--;
        memset(f, 0, sizeof(*f));
    } else {
        f = dvi_calloc(1, sizeof(*f));
    }
    f->c = c;
    f->st = st;
    f->index = index;
    st->refs++;
    if (index >= 0) {
        char buf[300];
        snprintf(buf, sizeof(buf), "%s[%d]", st->key, (int)index);
        f->key = dvi_strdup(buf);
    }
    dvi_pset_add(&c->live, f);
    return f;
}

static void
s_future_free_locked(dv_client *c, dv_future *f)
{
    if (c->ascompleted && f->indexed && f->indexed == dvi_ascompleted_gen(c)) {
        /* The index must never meet a freed handle: rebuild it later. */
        dvi_ascompleted_free(c);
    }
    dvi_pset_del(&c->live, f);
    dvi_value_destroy(&f->elem);
    free(f->key);
    if (!s_keeps(c->nspare_handles)) {
        free(f);
        return;
    }
    f->next_spare = c->spare_handles;
    c->spare_handles = f;
    c->nspare_handles++;
}

void
dvi_future_free_all(dv_client *c)
{
    /* The client goes (its as-completed index went first): each handle is
     * freed without being taken out of the set, which goes whole. */
    dv_future *f;
    for (size_t i = 0; (f = dvi_pset_next(&c->live, &i));) {
        dvi_value_destroy(&f->elem);
        free(f->key);
        free(f);
    }
    dvi_pset_fini(&c->live);
    dvi_map_entry *e;
    for (size_t i = 0; dvi_map_next(&c->futures, &i, &e);) {
        dvi_fstate_free(e->val);
    }
    while (c->spare_states != NULL) {
        dvi_fstate *st = c->spare_states;
        c->spare_states = st->next_spare;
        free(st);
    }
    while (c->spare_handles != NULL) {
        f = c->spare_handles;
        c->spare_handles = f->next_spare;
        free(f);
    }
}

const char *
dv_future_key(const dv_future *f)
{
    if (f == NULL) {
        return NULL;
    }
    return f->key ? f->key : f->st->key;
}

int
dv_future_status(const dv_future *f)
{
    if (f == NULL) {
        return DV_EINVAL;
    }
    uv_mutex_lock(&f->c->lock);
    int status = f->st->status;
    uv_mutex_unlock(&f->c->lock);
    return status;
}

const char *
dv_future_error(const dv_future *f)
{
    if (f == NULL) {
        return NULL;
    }
    uv_mutex_lock(&f->c->lock);
    const char *e = f->st->status == DV_PENDING ? NULL : f->st->error;
    uv_mutex_unlock(&f->c->lock);
    return e;
}

static int
s_final(int status)
{
    return status != DV_PENDING;
}

/* Makes sure the result's bytes are here, asking the holder if needed;
 * without a holder (it lost the result), waits for the scheduler to name
 * one again. Called with the lock held; may wait. Returns 0 or a DV_E*
 * code. */
static int
s_bring_locked(dv_client *c, dvi_fstate *st, uint64_t deadline)
{
    while (st->status == DV_FINISHED && st->blob == NULL) {
        if (c->lost) {
            return dvi_seterr(DV_ECONN,
                              "%s: lost the cluster before the "
                              "result was fetched: %s",
                              st->key, c->lost_why);
        }
        if (!st->fetching && st->addr != NULL) {
            st->fetching = 1;
            if (c->nfetchq == c->capfetchq) {
                c->capfetchq = c->capfetchq ? c->capfetchq * 2 : 8;
                c->fetchq =
                    dvi_realloc(c->fetchq, c->capfetchq * sizeof(*c->fetchq));
            }
            c->fetchq[c->nfetchq++] = st;
            uv_async_send(&c->wake);
        }
        int rc = dvi_client_wait_locked(c, deadline);
        if (rc == DV_ETIMEDOUT) {
            return dvi_seterr(DV_ETIMEDOUT, "%s: result not fetched in time",
                              st->key);
        }
        if (rc < 0) {
            return rc; /* a task that must not wait: the reason is set */
        }
    }
    return 0;
}

/* A result that comes back within a few tens of microseconds is cheaper to
 * watch for than to sleep on: waking a sleeping thread costs about as
 * much again. Spin briefly (yielding the core), then sleep. */
static void
s_spin_for(const dvi_fstate *st)
{
    uint64_t until = uv_hrtime() + 30 * 1000;
    while (!s_final(__atomic_load_n(&st->status, __ATOMIC_ACQUIRE)) &&
           uv_hrtime() < until) {
        sched_yield();
    }
}

static const dv_value *
s_result(dv_client *c, dv_future *f, double timeout_s)
{
    dvi_fstate *st = f->st;
    uint64_t deadline = dvi_deadline(timeout_s);
    s_spin_for(st);
    uv_mutex_lock(&c->lock);
    while (!s_final(st->status)) {
        int rc = dvi_client_wait_locked(c, deadline);
        if (rc < 0) {
            uv_mutex_unlock(&c->lock);
            if (rc == DV_ETIMEDOUT) {
                dvi_seterr(DV_ETIMEDOUT, "%s: not done after %.3g s",
                           dv_future_key(f), timeout_s);
            }
            return NULL;
        }
    }
    const dv_value *v = NULL;
    if (st->status != DV_FINISHED) {
        dvi_seterr(st->status == DV_CANCELLED ? DV_ECANCELLED
                   : st->elost                ? DV_ELOST
                   : st->status == DV_LOST    ? DV_ECONN
                                              : DV_ETASK,
                   "%s: %s", dv_future_key(f),
                   st->error ? st->error : "failed");
    } else if (s_bring_locked(c, st, deadline) == 0) {
        if (st->status != DV_FINISHED) { /* lost, and could not be had */
            dvi_seterr(st->status == DV_ERRED ? DV_ETASK : DV_ECONN, "%s: %s",
                       st->key, st->error ? st->error : "failed");
        } else if (st->value == NULL) {
            dv_value *val = dvi_malloc(sizeof(*val));
            if (dvi_value_decode_blob(st->blob, val, NULL, NULL) < 0) {
                free(val);
            } else {
                st->value = val;
            }
        }
        v = st->value;
        if (v && f->index >= 0) {
            v = dv_value_at(v, (size_t)f->index);
            if (v == NULL) {
                dvi_seterr(DV_EPROTO, "%s: the chunk has no such element",
                           f->key);
            }
        }
    }
    uv_mutex_unlock(&c->lock);
    return v;
}

const dv_value *
dv_result(dv_future *f, double timeout_s)
{
    if (f == NULL) {
        dvi_seterr(DV_EINVAL, "dv_result: no future");
        return NULL;
    }
    const dv_value *v = s_result(f->c, f, timeout_s);
    dvi_client_wait_end(f->c);
    return v;
}

static int
s_wait(dv_client *c, dv_future *const *fs, size_t n, double timeout_s)
{
    uint64_t deadline = dvi_deadline(timeout_s);
    uv_mutex_lock(&c->lock);
    size_t nlost = 0;
    const char *why = NULL; /* of the first future lost */
    for (size_t i = 0; i < n; i++) {
        while (!s_final(fs[i]->st->status)) {
            int rc = dvi_client_wait_locked(c, deadline);
            if (rc < 0) {
                uv_mutex_unlock(&c->lock);
                return rc != DV_ETIMEDOUT
                           ? rc
                           : dvi_seterr(DV_ETIMEDOUT,
                                        "dv_wait: %zu of %zu futures "
                                        "done after %.3g s",
                                        i, n, timeout_s);
            }
        }
        if (fs[i]->st->elost) {
            why = why ? why : fs[i]->st->error;
            nlost++;
        }
    }
    int rc = 0;
    if (nlost > 0) {
        rc = dvi_seterr(DV_ELOST, "dv_wait: %zu of %zu futures: %s", nlost, n,
                        why);
    }
    uv_mutex_unlock(&c->lock);
    return rc;
}

int
dv_wait(dv_future *const *fs, size_t n, double timeout_s)
{
    if (n == 0) {
        return 0;
    }
    if (fs == NULL || fs[0] == NULL) {
        return dvi_seterr(DV_EINVAL, "dv_wait: no futures");
    }
    int rc = s_wait(fs[0]->c, fs, n, timeout_s);
    dvi_client_wait_end(fs[0]->c);
    return rc;
}

/* A live future of c not yet final, or NULL. The scan goes on from where
 * the last one stopped (*from), so waiting for n futures costs O(n); the
 * set may have changed meanwhile (members move), so "none" is only
 * trusted from a scan that started at 0. */
static dv_future *
s_first_pending_locked(dv_client *c, size_t *from)
{
    for (int pass = 0; pass < 2; pass++) {
        dv_future *f;
        for (size_t i = *from; (f = dvi_pset_next(&c->live, &i));) {
            if (!s_final(f->st->status)) {
                *from = i - 1;
                return f;
            }
        }
        if (*from == 0) {
            return NULL;
        }
        *from = 0;
    }
    return NULL;
}

int
dv_wait_all(dv_client *c, double timeout_s)
{
    if (c == NULL) {
        return dvi_seterr(DV_EINVAL, "dv_wait_all: no client");
    }
    uint64_t deadline = dvi_deadline(timeout_s);
    size_t from = 0;
    dv_future *pending;
    uv_mutex_lock(&c->lock);
    while ((pending = s_first_pending_locked(c, &from)) != NULL) {
        c->waitall_target = pending->st;
        c->nwaitall++;
        int rc = dvi_client_wait_locked(c, deadline);
        c->nwaitall--;
        if (rc < 0) { /* else a task that must not wait: the reason is set */
            uv_mutex_unlock(&c->lock);
            dvi_client_wait_end(c);
            return rc != DV_ETIMEDOUT
                       ? rc
                       : dvi_seterr(DV_ETIMEDOUT,
                                    "dv_wait_all: futures still pending "
                                    "after %.3g s",
                                    timeout_s);
        }
    }
    int rc = 0;
    dv_future *f;
    for (size_t i = 0; rc == 0 && (f = dvi_pset_next(&c->live, &i));) {
        if (f->st->elost) {
            rc = dvi_seterr(DV_ELOST, "dv_wait_all: %s", f->st->error);
        }
    }
    uv_mutex_unlock(&c->lock);
    dvi_client_wait_end(c);
    return rc;
}

void
dv_release(dv_future *f)
{
    if (f == NULL) {
        return;
    }
    dv_client *c = f->c;
    dvi_fstate *st = f->st;
    int queued = 0;
    /* The result, which may be large, is freed once the lock is let go:
     * the loop thread may be waiting for it. */
    dvi_blob *result = NULL;
    dv_value *value = NULL;
    dvi_client_lock_user(c);
    s_future_free_locked(c, f);
    if (--st->refs == 0) {
        dvi_map_del(&c->futures, st->key);
        if (!c->stopping && !c->lost && c->host == NULL) {
            /* (A task's children are released when its call ends.) */
            dvi_msg_release m = {.key = st->key};
            dvi_msg_release_pack(&c->out, &m);
            dvi_client_batch_locked(c);
            queued = 1;
        }
        if (st == c->waitall_target) {
            uv_cond_broadcast(&c->cond); /* dv_wait_all looks again */
            c->waitall_target = NULL;
        }
        /* A fetch in flight finds no state and is dropped. */
        for (size_t i = 0; i < c->nfetchq; i++) {
            if (c->fetchq[i] == st) {
                c->fetchq[i] = c->fetchq[--c->nfetchq];
                break;
            }
        }
        result = st->blob;
        value = st->value;
        st->blob = NULL;
        st->value = NULL;
        dvi_fstate_free_locked(c, st); /* nothing reaches it any more */
    }
    dvi_client_unlock_wake(c, queued);
    dvi_blob_rele(result);
    dvi_value_destroy(&value);
}

int
dv_cancel(dv_future *f)
{
    if (f == NULL) {
        return dvi_seterr(DV_EINVAL, "dv_cancel: no future");
    }
    dv_client *c = f->c;
    dvi_fstate *st = f->st;
    if (c->host != NULL) {
        return dvi_seterr(DV_EINVAL,
                          "dv_cancel: %s is a child's future: children "
                          "are released, or cancelled, when their call ends",
                          st->key);
    }
    uv_mutex_lock(&c->lock);
    int rc = 0;
    if (st->status != DV_PENDING) {
        rc = dvi_seterr(DV_EINVAL, "%s: already completed", st->key);
    } else {
        rc = dvi_client_check_locked(c);
        if (rc == 0) {
            dvi_msg_cancel m = {.key = st->key};
            dvi_msg_cancel_pack(&c->out, &m);
            dvi_client_queue_locked(c);
            dvi_fstate_finish_locked(c, st, DV_CANCELLED, "cancelled");
            uv_cond_broadcast(&c->cond);
        }
    }
    uv_mutex_unlock(&c->lock);
    return rc;
}
