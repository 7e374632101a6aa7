/* drove — unit: the scheduler core (dvi_core), driven without a socket.
 *
 * Each test joins workers and clients whose outboxes the test reads, feeds
 * the core the events a real cluster would (SUBMIT, DONE, FAILED, a worker
 * leaving, a client leaving...) as typed messages, and checks what a user
 * would see: which worker is told to compute what, what each client is
 * told, which results are freed where, and that nothing is kept that no
 * one needs. After every turn an invariant check walks the whole graph:
 * the counts that decide when a task and its result go (wants, waiters,
 * lineage), the workers' indices, and the per-state counters must agree
 * with the graph itself — a drift there is a leak or a use-after-free
 * later.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dvt_unit.h"
#include "dvtest.h"
#include "proto/callkey.h"
#include "scheduler/core_impl.h"

#define MAXMSGS 1024

/* A message read back from an outbox. */
/* Two clients' secrets, which prove who published a name. */
#define S_SECRET_A "secret-of-A-0123"
#define S_SECRET_B "secret-of-B-4567"

typedef struct s_msg {
    int type;
    char key[DVI_MAX_KEY + 1];
    char text[256]; /* FINISHED holder, ERRED/FAILED text, REPLY text */
    uint64_t num;   /* FINISHED nbytes, ERRED status, COMPUTE flags */
    int has_value;  /* FINISHED carried the value */
    char inputs[4][DVI_MAX_KEY + 1]; /* COMPUTE: input keys */
    int ninputs;
} s_msg;

typedef struct s_box {
    dvi_outbox out;
    int worker; /* a worker's box: its index; a client's: -1 */
    s_msg msgs[MAXMSGS];
    int n;
} s_box;

typedef struct s_env {
    dvi_core *core;
    s_box wbox[3], cbox[2];
    dvi_sworker *w[3];
    dvi_sclient *cl[2];
} s_env;

/* What each worker was sent and has not answered, as a real worker would
 * remember it (the model test answers all of it). */
typedef struct s_out {
    char key[64];
    int scatter;
} s_out;

static s_out s_outst[3][4096];
static int s_noutst[3];

static void
s_outst_add(int wi, const char *key, int scatter)
{
    if (s_noutst[wi] < 4096) {
        snprintf(s_outst[wi][s_noutst[wi]].key, sizeof(s_outst[wi][0].key),
                 "%s", key);
        s_outst[wi][s_noutst[wi]++].scatter = scatter;
    }
}

static void
s_outst_del(int wi, const char *key)
{
    for (int i = 0; i < s_noutst[wi]; i++) {
        if (strcmp(s_outst[wi][i].key, key) == 0) {
            s_outst[wi][i] = s_outst[wi][--s_noutst[wi]];
            return;
        }
    }
}

/* ---- Reading outboxes --------------------------------------------------- */

static void
s_copy(char *dst, size_t size, dvi_bytes b)
{
    snprintf(dst, size, "%.*s", b.p ? (int)b.n : 0, b.p ? b.p : "");
}

static int
s_record(void *ctx, int type, const msgpack_object *f, uint32_t n)
{
    s_box *b = ctx;
    DVT_TRUE(b->n < MAXMSGS);
    s_msg *m = &b->msgs[b->n++];
    memset(m, 0, sizeof(*m));
    m->type = type;
    if (n > 0 && f[0].type == MSGPACK_OBJECT_STR) {
        dvi_msg_str(&f[0], m->key, sizeof(m->key));
    }
    if (b->worker >= 0 &&
        (type == DVI_MSG_COMPUTE || type == DVI_MSG_SCATTER)) {
        s_outst_add(b->worker, m->key, type == DVI_MSG_SCATTER);
    }
    if (type == DVI_MSG_FINISHED) {
        dvi_msg_finished x;
        DVT_PASS(dvi_msg_finished_read(f, n, &x));
        m->num = x.nbytes;
        m->has_value = x.value.p != NULL;
        s_copy(m->text, sizeof(m->text), x.holder);
    } else if (type == DVI_MSG_ERRED) {
        dvi_msg_erred x;
        DVT_PASS(dvi_msg_erred_read(f, n, &x));
        m->num = x.status;
        s_copy(m->text, sizeof(m->text), x.text);
    } else if (type == DVI_MSG_COMPUTE) {
        dvi_msg_compute x;
        DVT_PASS(dvi_msg_compute_read(f, n, &x));
        m->num = x.flags;
        for (uint32_t i = 0; i < x.inputs->size && i < 4; i++) {
            const msgpack_object *in = &x.inputs->ptr[i];
            DVT_TRUE(in->type == MSGPACK_OBJECT_ARRAY);
            dvi_msg_str(&in->via.array.ptr[0], m->inputs[i],
                        sizeof(m->inputs[i]));
            m->ninputs++;
        }
    } else if (type == DVI_MSG_REPLY) {
        dvi_msg_reply x;
        DVT_PASS(dvi_msg_reply_read(f, n, &x));
        m->num = (uint64_t)x.status;
        s_copy(m->text, sizeof(m->text), x.text);
    }
    return 0;
}

/* Moves what the core put in the box's outbox into its message list. */
static void
s_read(s_box *b)
{
    dvi_outbox_frame fr;
    b->n = 0;
    if (dvi_outbox_take(&b->out, &fr) < 0) {
        return;
    }
    dvi_outbox_frame_flatten(&fr);
    DVT_PASS(dvi_msg_each(fr.buf + 4, fr.len - 4, s_record, b));
    dvi_outbox_frame_fini(&fr);
}

/* The number of messages of type (for key, unless NULL) in the box. */
static int
s_count(const s_box *b, int type, const char *key)
{
    int k = 0;
    for (int i = 0; i < b->n; i++) {
        if (b->msgs[i].type == type &&
            (key == NULL || strcmp(b->msgs[i].key, key) == 0)) {
            k++;
        }
    }
    return k;
}

static const s_msg *
s_find(const s_box *b, int type, const char *key)
{
    for (int i = 0; i < b->n; i++) {
        if (b->msgs[i].type == type && strcmp(b->msgs[i].key, key) == 0) {
            return &b->msgs[i];
        }
    }
    DVT_FAIL("no %s for %s among %d messages", dvi_msg_name(type), key, b->n);
    return NULL;
}

/* ---- Invariants --------------------------------------------------------- */

/* The task's own state agrees with the indices that hold it. */
static void
s_state_ok(dvi_task *t)
{
    if (t->state == DVI_TASK_PROCESSING) {
        DVT_TRUE(t->where != NULL);
        DVT_TRUE(dvi_pset_has(&t->where->running, t));
    }
    if (t->state == DVI_TASK_MEMORY) {
        DVT_TRUE(t->nwho > 0);
    } else {
        DVT_EQ_I64(t->nwho, 0);
    }
    DVT_EQ_I64(t->state == DVI_TASK_QUEUED, t->heap_index != DVI_NO_INDEX);
    if (t->state == DVI_TASK_RELEASED) {
        DVT_TRUE(t->nlineage > 0 || t->nwants > 0);
    }
    dvi_task *d;
    for (size_t i = 0; (d = dvi_pset_next(&t->dependents, &i));) {
        DVT_TRUE(dvi_task_is_waiting(d)); /* only waiting tasks are listed */
    }
}

/* t's inputs are still in the graph (never freed under it), and a waiting
 * t waits on exactly its distinct inputs not in memory. */
static void
s_inputs_ok(dvi_core *c, dvi_task *t)
{
    dvi_task **deps = dvi_task_deps(t);
    uint32_t listed = 0;
    for (uint32_t k = 0; k < t->ndeps; k++) {
        if (dvi_map_get(&c->tasks, deps[k]->key) != deps[k]) {
            DVT_FAIL("%s keeps as lineage an input that was forgotten", t->key);
        }
        int first = 1;
        for (uint32_t j = 0; j < k; j++) {
            first &= deps[j] != deps[k];
        }
        if (first && dvi_pset_has(&deps[k]->dependents, t)) {
            listed++;
            DVT_NE_I64(deps[k]->state, DVI_TASK_MEMORY);
        }
    }
    if (dvi_task_is_waiting(t)) {
        DVT_EQ_I64(t->nwaiting, listed);
    }
}

/* Who keeps t: its dependents (live ones wait for it), clients, names. */
static void
s_counts_ok(dvi_core *c, dvi_task *t)
{
    uint32_t waiters = 0, lineage = 0, wants = 0;
    dvi_map_entry *e;
    for (size_t j = 0; dvi_map_next(&c->tasks, &j, &e);) {
        dvi_task *d = e->val;
        dvi_task **deps = dvi_task_deps(d);
        for (uint32_t k = 0; k < d->ndeps; k++) {
            if (deps[k] == t) {
                lineage++;
                waiters += dvi_task_is_live(d);
            }
        }
    }
    for (size_t k = 0; k < c->nclients; k++) {
        wants += dvi_core_wants(c, t, c->clients[k]);
    }
    for (size_t j = 0; dvi_map_next(&c->published, &j, &e);) {
        wants += ((dvi_pub *)e->val)->task == t;
    }
    DVT_EQ_I64(t->nlineage, lineage);
    DVT_EQ_I64(t->nwaiters, waiters);
    DVT_EQ_I64(t->nwants, wants);
}

/* The counts and indices agree with the graph. */
static void
s_check(dvi_core *c)
{
    dvi_map_entry *e;
    uint64_t states[DVI_TASK_NSTATES] = {0};
    uint64_t running = 0, held = 0, holders = 0;
    for (size_t i = 0; dvi_map_next(&c->tasks, &i, &e);) {
        dvi_task *t = e->val;
        DVT_TRUE(t->state > 0 && t->state < DVI_TASK_FORGOTTEN);
        states[t->state]++;
        holders += t->nwho;
        s_state_ok(t);
        s_inputs_ok(c, t);
        s_counts_ok(c, t);
    }
    for (int s = 1; s < DVI_TASK_FORGOTTEN; s++) {
        DVT_EQ_I64(c->stats.states[s], states[s]);
    }
    for (size_t i = 0; i < c->nworkers; i++) {
        const dvi_sworker *w = c->workers[i];
        running += w->running.len;
        held += w->nheld;
        /* Its counts are those of the results it holds. */
        uint64_t n = 0, bytes = 0;
        for (size_t j = 0; dvi_map_next(&c->tasks, &j, &e);) {
            const dvi_task *t = e->val;
            if (dvi_task_holds(t, w)) {
                n++;
                bytes += t->nbytes;
            }
        }
        DVT_EQ_I64(w->nheld, n);
        DVT_EQ_I64(w->bytes_held, bytes);
    }
    DVT_EQ_I64(running, states[DVI_TASK_PROCESSING]);
    DVT_EQ_I64(held, holders);
}

static void
s_turn(s_env *env)
{
    dvi_core_turn(env->core);
    s_check(env->core);
    for (int i = 0; i < 3; i++) {
        s_read(&env->wbox[i]);
    }
    for (int i = 0; i < 2; i++) {
        s_read(&env->cbox[i]);
    }
}

/* ---- Driving the core --------------------------------------------------- */

static s_env *
s_env_new(int nworkers)
{
    s_env *env = calloc(1, sizeof(*env));
    env->core = dvi_core_new();
    memset(s_noutst, 0, sizeof(s_noutst));
    for (int i = 0; i < 3; i++) {
        env->wbox[i].worker = i;
    }
    for (int i = 0; i < 2; i++) {
        env->cbox[i].worker = -1;
        dvi_outbox_init(&env->cbox[i].out, NULL, NULL);
        env->cl[i] = dvi_core_client_join(env->core, &env->cbox[i].out, 0);
    }
    for (int i = 0; i < nworkers; i++) {
        char id[16], addr[32];
        snprintf(id, sizeof(id), "w%d", i);
        snprintf(addr, sizeof(addr), "inproc://w%d", i);
        dvi_outbox_init(&env->wbox[i].out, NULL, NULL);
        env->w[i] =
            dvi_core_worker_join(env->core, id, addr, 1, &env->wbox[i].out, 0);
    }
    s_turn(env);
    return env;
}

static void
s_env_free(s_env *env)
{
    dvi_core_destroy(&env->core);
    for (int i = 0; i < 3; i++) {
        dvi_outbox_fini(&env->wbox[i].out);
    }
    for (int i = 0; i < 2; i++) {
        dvi_outbox_fini(&env->cbox[i].out);
    }
    free(env);
}

typedef struct s_sub {
    s_env *env;
    dvi_sclient *cl;
} s_sub;

static int
s_feed(void *ctx, int type, const msgpack_object *f, uint32_t n)
{
    s_sub *s = ctx;
    dvi_msg_submit m;
    DVT_EQ_I64(type, DVI_MSG_SUBMIT);
    DVT_PASS(dvi_msg_submit_read(f, n, &m));
    return dvi_core_submit(s->env->core, s->cl, &m);
}

/* Client `ci` submits fn as key with the given input keys (NULL-ended),
 * pinned to worker `pin` unless NULL; through the wire encoding. */
/* Client ci sends m, with the dependency keys deps (NULL-terminated),
 * through the reader a session uses. */
static void
s_submit_msg(s_env *env, int ci, const dvi_msg_submit *m,
             const char *const *deps)
{
    dvi_outbox o;
    dvi_outbox_init(&o, NULL, NULL);
    msgpack_packer *pk = dvi_msg_submit_pack(&o, m);
    size_t n = 0;
    while (deps && deps[n]) {
        n++;
    }
    msgpack_pack_array(pk, n);
    for (size_t i = 0; i < n; i++) {
        dvi_pack_str(pk, deps[i]);
    }
    dvi_msg_submit_pack_tail(&o, m);
    dvi_outbox_frame fr;
    DVT_PASS(dvi_outbox_take(&o, &fr));
    s_sub s = {env, env->cl[ci]};
    DVT_PASS(dvi_msg_each(fr.buf + 4, fr.len - 4, s_feed, &s));
    dvi_outbox_frame_fini(&fr);
    dvi_outbox_fini(&o);
}

static void
s_submit_pinned(s_env *env, int ci, const char *key, const char *pin,
                const char *const *deps)
{
    static const char args[] = {(char)0x90}; /* an empty list */
    dvi_msg_submit m = {.key = key, .fn = "f", .priority = 0};
    m.args = (dvi_bytes){args, 1, NULL};
    m.worker = dvi_bytes_of(pin);
    s_submit_msg(env, ci, &m, deps);
}

#define DEPS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* The tasks a one-thread worker is given before it is full: the one it
 * runs and eight queued (place.c). */
#define S_QUEUE1 9

static void
s_submit(s_env *env, int ci, const char *key, const char *const *deps)
{
    s_submit_pinned(env, ci, key, NULL, deps);
}

static void
s_done(s_env *env, int wi, const char *key, uint64_t nbytes)
{
    static const char nil = (char)0xc0;
    dvi_msg_done m = {.key = key, .nbytes = nbytes, .us = 10};
    m.value = (dvi_bytes){&nil, 1, NULL};
    s_outst_del(wi, key);
    dvi_core_done(env->core, env->w[wi], &m);
}

static void
s_failed(s_env *env, int wi, const char *key, int blame, const char *text)
{
    dvi_msg_failed m = {.key = key, .blame = (uint64_t)blame};
    m.text = dvi_bytes_of(text);
    s_outst_del(wi, key);
    dvi_core_failed(env->core, env->w[wi], &m);
}

static int
s_state(s_env *env, const char *key)
{
    const dvi_task *t = dvi_core_task(env->core, key);
    return t ? t->state : DVI_TASK_FORGOTTEN;
}

/* Which worker got a COMPUTE for key in the last turn (-1: none). */
static int
s_computed_on(s_env *env, const char *key)
{
    int found = -1;
    for (int i = 0; i < 3; i++) {
        if (s_count(&env->wbox[i], DVI_MSG_COMPUTE, key) > 0) {
            DVT_EQ_I64(found, -1);
            found = i;
        }
    }
    return found;
}

/* ---- Tests -------------------------------------------------------------- */

static void
test_one_task_through_its_states(void **state)
{
    s_env *env = s_env_new(2);
    /* The client was welcomed first, then heard of each worker as it
     * joined; each worker was welcomed. */
    DVT_EQ_I64(env->cbox[0].msgs[0].type, DVI_MSG_WELCOME);
    DVT_EQ_I64(s_count(&env->cbox[0], DVI_MSG_WORKERS, NULL), 3);
    DVT_EQ_I64(env->wbox[1].msgs[0].type, DVI_MSG_WELCOME);
    s_submit(env, 0, "a", NULL);
    DVT_EQ_I64(s_state(env, "a"), DVI_TASK_QUEUED);
    s_turn(env);
    DVT_EQ_I64(s_state(env, "a"), DVI_TASK_PROCESSING);
    int wi = s_computed_on(env, "a");
    DVT_TRUE(wi >= 0);
    /* A client wants it: the worker is asked to send the result back. */
    DVT_TRUE(s_find(&env->wbox[wi], DVI_MSG_COMPUTE, "a")->num &
             DVI_TASK_WANTED);
    s_done(env, wi, "a", 1);
    s_turn(env);
    DVT_EQ_I64(s_state(env, "a"), DVI_TASK_MEMORY);
    const s_msg *fin = s_find(&env->cbox[0], DVI_MSG_FINISHED, "a");
    DVT_TRUE(fin->has_value);
    DVT_EQ_I64(fin->num, 1);
    DVT_EQ_STR(fin->text, wi ? "inproc://w1" : "inproc://w0");
    DVT_EQ_I64(s_count(&env->cbox[1], DVI_MSG_FINISHED, NULL), 0);
    dvi_core_release(env->core, env->cl[0], "a");
    s_turn(env);
    DVT_EQ_I64(s_state(env, "a"), DVI_TASK_FORGOTTEN);
    DVT_EQ_I64(s_count(&env->wbox[wi], DVI_MSG_FREE, "a"), 1);
    dvi_core_stats st;
    dvi_core_stats_get(env->core, &st);
    DVT_EQ_I64(st.tasks, 0);
    DVT_EQ_I64(st.submitted, 1);
    DVT_EQ_I64(st.finished, 1);
    s_env_free(env);
}

static void
test_roots_spread_over_workers(void **state)
{
    s_env *env = s_env_new(2);
    char key[16];
    for (int i = 0; i < 4; i++) {
        snprintf(key, sizeof(key), "r%d", i);
        s_submit(env, 0, key, NULL);
    }
    s_turn(env);
    DVT_EQ_I64(s_count(&env->wbox[0], DVI_MSG_COMPUTE, NULL), 2);
    DVT_EQ_I64(s_count(&env->wbox[1], DVI_MSG_COMPUTE, NULL), 2);
    s_env_free(env);
}

/* Records on[] which worker got a COMPUTE for each of the n keys in the
 * last turn. */
static void
s_note_computes(s_env *env, char (*keys)[16], int n, int *on)
{
    for (int i = 0; i < n; i++) {
        int wi = s_computed_on(env, keys[i]);
        if (wi >= 0) {
            on[i] = wi;
        }
    }
}

/* A stencil (each point of a row takes its neighbours' and its own point
 * of the row before) keeps its columns each on one worker, every step:
 * the roots go in runs (r0 r1 | r2 r3), not in turn, and each point goes
 * where most of its inputs are (sent ahead, or placed once its inputs
 * are done when that worker is full), so that no step waits on the other
 * worker but for its edge. */
static void
test_stencil_keeps_columns(void **state)
{
    enum { W = 4, STEPS = 5 };
    s_env *env = s_env_new(2);
    char key[STEPS][W][16];
    int on[STEPS][W];
    memset(on, -1, sizeof(on));
    for (int s = 0; s < STEPS; s++) {
        for (int i = 0; i < W; i++) {
            const char *deps[4] = {NULL};
            int n = 0;
            for (int j = i - 1; s > 0 && j <= i + 1; j++) {
                if (j >= 0 && j < W) {
                    deps[n++] = key[s - 1][j];
                }
            }
            snprintf(key[s][i], sizeof(key[s][i]), "s%dp%d", s, i);
            s_submit(env, 0, key[s][i], deps);
        }
        s_turn(env);
        for (int k = 0; k <= s; k++) {
            s_note_computes(env, key[k], W, on[k]);
        }
        /* The row before ends: what waited for room is placed now. */
        for (int i = 0; s > 0 && i < W; i++) {
            DVT_TRUE(on[s - 1][i] >= 0);
            s_done(env, on[s - 1][i], key[s - 1][i], 16);
        }
        s_turn(env);
        for (int k = 0; k <= s; k++) {
            s_note_computes(env, key[k], W, on[k]);
        }
    }
    DVT_TRUE(on[0][0] != on[0][W - 1]);
    for (int s = 0; s < STEPS; s++) {
        for (int i = 0; i < W; i++) {
            DVT_EQ_I64(on[s][i], on[0][i < W / 2 ? 0 : W - 1]);
        }
    }
    s_env_free(env);
}

/* Ends the first leaf of keys[] (n) still running on worker wi, if any. */
static void
s_end_first_on(s_env *env, int wi, char (*keys)[16], int n, const int *on,
               int *done)
{
    for (int i = 0; i < n; i++) {
        if (on[i] == wi && !done[i]) {
            s_done(env, wi, keys[i], 8 << 20);
            done[i] = 1;
            return;
        }
    }
}

/* Sixteen roots against six free slots (a tree's leaves, three tasks
 * filling each of two workers), submitted and placed: on[i] is where
 * leaf i went, or -1. */
enum { S_LEAVES = 16 };

static s_env *
s_leaves(char (*key)[16], int *on)
{
    s_env *env = s_env_new(2);
    env->core->queue_min = 2;
    for (int i = 0; i < S_LEAVES; i++) {
        snprintf(key[i], sizeof(key[i]), "l%d", i);
        s_submit(env, 0, key[i], NULL);
        on[i] = -1;
    }
    s_turn(env);
    s_note_computes(env, key, S_LEAVES, on);
    return env;
}

/* Sixteen roots against six free slots (a tree's leaves, three tasks
 * filling a worker): each worker takes one contiguous block, l0-l7 on one
 * and l8-l15 on the other, as slots free, so that the tree's adds find
 * both inputs where they are; in turn, every add of the first level moved
 * a leaf. */
static void
test_roots_in_blocks(void **state)
{
    char key[S_LEAVES][16];
    int on[S_LEAVES], done[S_LEAVES] = {0};
    s_env *env = s_leaves(key, on);
    enum { N = S_LEAVES };
    for (int round = 0; round < N; round++) {
        s_end_first_on(env, 0, key, N, on, done);
        s_end_first_on(env, 1, key, N, on, done);
        s_turn(env);
        s_note_computes(env, key, N, on);
    }
    DVT_TRUE(on[0] >= 0 && on[0] != on[N / 2]);
    for (int i = 0; i < N; i++) {
        DVT_TRUE(done[i]);
        DVT_EQ_I64(on[i], on[i < N / 2 ? 0 : N / 2]);
    }
    s_env_free(env);
}

/* A worker whose block is done takes from the other's while that one is
 * busy: blocks cost no parallelism. */
static void
test_idle_worker_takes_from_other_block(void **state)
{
    char key[S_LEAVES][16];
    int on[S_LEAVES], done[S_LEAVES] = {0};
    s_env *env = s_leaves(key, on);
    enum { N = S_LEAVES };
    int fast = on[0], ran = 0;
    for (int round = 0; round < N; round++) {
        s_end_first_on(env, fast, key, N, on, done);
        s_turn(env);
        s_note_computes(env, key, N, on);
    }
    for (int i = 0; i < N; i++) {
        DVT_TRUE(on[i] >= 0); /* no leaf is left in a block */
        ran += on[i] == fast;
    }
    /* The slow worker never ended one: the fast one ran its own block and
     * what the slow one had not started of its. */
    DVT_TRUE(ran > N / 2);
    DVT_EQ_I64(dvi_taskheap_peek(&env->w[1 - fast]->block) == NULL, 1);
    s_env_free(env);
}

/* A worker that leaves gives its block back: the one that stays runs every
 * leaf, those the lost one had started included. */
static void
test_lost_worker_block_goes_back(void **state)
{
    char key[S_LEAVES][16];
    int on[S_LEAVES], done[S_LEAVES] = {0};
    s_env *env = s_leaves(key, on);
    int lost = 1 - on[0], stays = on[0];
    DVT_TRUE(dvi_taskheap_len(&env->w[lost]->block) > 0);
    dvi_core_worker_leave(env->core, env->w[lost], "killed");
    env->w[lost] = NULL;
    s_turn(env);
    for (int i = 0; i < S_LEAVES; i++) {
        on[i] = on[i] == lost ? -1 : on[i]; /* to run again */
    }
    s_note_computes(env, key, S_LEAVES, on);
    for (int round = 0; round < S_LEAVES; round++) {
        s_end_first_on(env, stays, key, S_LEAVES, on, done);
        s_turn(env);
        s_note_computes(env, key, S_LEAVES, on);
    }
    for (int i = 0; i < S_LEAVES; i++) {
        DVT_TRUE(done[i]);
        DVT_EQ_I64(s_state(env, key[i]), DVI_TASK_MEMORY);
    }
    s_env_free(env);
}

/* A root submitted with a higher priority after the blocks were made goes
 * before what is left of them. */
static void
test_priority_passes_blocks(void **state)
{
    static const char args[] = {(char)0x90};
    char key[S_LEAVES][16];
    int on[S_LEAVES];
    s_env *env = s_leaves(key, on);
    dvi_msg_submit m = {.key = "urgent", .fn = "f", .priority = 5};
    m.args = (dvi_bytes){args, 1, NULL};
    s_submit_msg(env, 0, &m, NULL);
    s_turn(env);
    DVT_EQ_I64(s_computed_on(env, "urgent"), -1); /* both are full */
    s_done(env, on[0], key[0], 8 << 20);
    s_turn(env);
    DVT_EQ_I64(s_computed_on(env, "urgent"), on[0]);
    DVT_EQ_I64(s_count(&env->wbox[on[0]], DVI_MSG_COMPUTE, NULL), 1);
    s_env_free(env);
}

/* Submits n tasks without inputs, "fill0" on, named in key, and places
 * them. */
static void
s_fill(s_env *env, int n, char (*key)[16])
{
    for (int i = 0; i < n; i++) {
        snprintf(key[i], sizeof(key[i]), "fill%d", i);
        s_submit(env, 0, key[i], NULL);
    }
    s_turn(env);
}

/* A task whose input is large waits on the full worker holding it rather
 * than moving it to a free one; so does one whose input is small while
 * the free worker has no thread idle either (moving it would gain no
 * parallelism); once that one idles, a task of a small input moves. */
static void
test_large_input_keeps_its_task(void **state)
{
    s_env *env = s_env_new(2);
    env->core->queue_min = 2; /* three tasks fill a worker */
    s_submit(env, 0, "big", NULL);
    s_turn(env);
    int wb = s_computed_on(env, "big");
    s_submit_pinned(env, 0, "small", wb == 0 ? "w0" : "w1", NULL);
    s_turn(env);
    DVT_EQ_I64(s_computed_on(env, "small"), wb);
    s_done(env, wb, "big", 16 << 20);
    s_done(env, wb, "small", 16);
    s_turn(env);
    /* Fill both workers, then free a slot on the one without "big". */
    char key[6][16];
    int on[6];
    s_fill(env, 6, key);
    memset(on, -1, sizeof(on));
    s_note_computes(env, key, 6, on);
    int other[6], nother = 0;
    for (int i = 0; i < 6; i++) {
        if (on[i] == 1 - wb) {
            other[nother++] = i;
        }
    }
    DVT_TRUE(nother >= 2);
    s_done(env, 1 - wb, key[other[0]], 16);
    s_turn(env);
    s_submit(env, 0, "uses_big", DEPS("big"));
    s_turn(env);
    DVT_EQ_I64(s_computed_on(env, "uses_big"), wb);
    s_submit(env, 0, "uses_small", DEPS("small"));
    s_turn(env);
    DVT_EQ_I64(s_computed_on(env, "uses_small"), wb);
    /* The other worker's last tasks end: it idles, and takes the next. */
    for (int k = 1; k < nother; k++) {
        s_done(env, 1 - wb, key[other[k]], 16);
    }
    s_turn(env);
    s_submit(env, 0, "uses_small2", DEPS("small"));
    s_turn(env);
    DVT_EQ_I64(s_computed_on(env, "uses_small2"), 1 - wb);
    s_env_free(env);
}

/* With no free worker, a task waits even for the full worker holding its
 * large input: a worker near its memory limit is not handed more. */
static void
test_full_holder_alone_gets_no_more(void **state)
{
    s_env *env = s_env_new(1);
    env->core->queue_min = 2; /* three tasks fill a worker */
    s_submit(env, 0, "big", NULL);
    s_turn(env);
    s_done(env, 0, "big", 16 << 20);
    s_turn(env);
    char key[3][16];
    s_fill(env, 3, key);
    DVT_EQ_I64(s_count(&env->wbox[0], DVI_MSG_COMPUTE, NULL), 3);
    s_submit(env, 0, "uses_big", DEPS("big"));
    s_turn(env);
    DVT_EQ_I64(s_computed_on(env, "uses_big"), -1);
    DVT_EQ_I64(s_state(env, "uses_big"), DVI_TASK_QUEUED);
    s_env_free(env);
}

static void
test_dependent_follows_its_input(void **state)
{
    s_env *env = s_env_new(2);
    s_submit(env, 0, "a", NULL);
    s_turn(env);
    int wi = s_computed_on(env, "a");
    s_done(env, wi, "a", 1000);
    s_turn(env);
    /* b goes where its input is, and is told it is there (no fetch). */
    s_submit(env, 0, "b", DEPS("a"));
    s_turn(env);
    DVT_EQ_I64(s_computed_on(env, "b"), wi);
    const s_msg *cm = s_find(&env->wbox[wi], DVI_MSG_COMPUTE, "b");
    DVT_EQ_I64(cm->ninputs, 1);
    DVT_EQ_STR(cm->inputs[0], "a");
    s_env_free(env);
}

static void
test_chain_sent_ahead(void **state)
{
    s_env *env = s_env_new(2);
    s_submit(env, 0, "a", NULL);
    s_turn(env);
    int wi = s_computed_on(env, "a");
    /* While a runs, b and c go to the same worker at once: no round trip
     * through the scheduler between the links. */
    s_submit(env, 0, "b", DEPS("a"));
    s_submit(env, 0, "c", DEPS("b"));
    s_turn(env);
    DVT_EQ_I64(s_computed_on(env, "b"), wi);
    DVT_EQ_I64(s_computed_on(env, "c"), wi);
    DVT_EQ_I64(s_state(env, "c"), DVI_TASK_PROCESSING);
    s_done(env, wi, "a", 1);
    s_done(env, wi, "b", 1);
    s_done(env, wi, "c", 1);
    s_turn(env);
    DVT_EQ_I64(s_state(env, "c"), DVI_TASK_MEMORY);
    DVT_EQ_I64(s_count(&env->cbox[0], DVI_MSG_FINISHED, NULL), 3);
    s_env_free(env);
}

/* A chain longer than a worker's queue: once the queue is full, each
 * link that ends frees room for the next one not sent yet, which goes
 * ahead at once, its input still computing; it used to wait for that
 * input to be done, a round trip through the scheduler with the worker
 * idle (a stencil's rows beyond the queue waited so at every step). */
static void
test_chain_goes_ahead_as_room_frees(void **state)
{
    enum { N = S_QUEUE1 + 6 };
    s_env *env = s_env_new(1);
    char key[N][16];
    for (int i = 0; i < N; i++) {
        snprintf(key[i], sizeof(key[i]), "c%d", i);
        s_submit(env, 0, key[i], i > 0 ? DEPS(key[i - 1]) : NULL);
    }
    s_turn(env);
    DVT_EQ_I64(s_count(&env->wbox[0], DVI_MSG_COMPUTE, NULL), S_QUEUE1);
    for (int i = 0; i + S_QUEUE1 < N; i++) {
        s_done(env, 0, key[i], 1);
        s_turn(env);
        DVT_EQ_I64(s_computed_on(env, key[i + S_QUEUE1]), 0);
        DVT_EQ_I64(s_state(env, key[i + S_QUEUE1 - 1]), DVI_TASK_PROCESSING);
    }
    for (int i = N - S_QUEUE1; i < N; i++) {
        s_done(env, 0, key[i], 1);
    }
    s_turn(env);
    DVT_EQ_I64(s_state(env, key[N - 1]), DVI_TASK_MEMORY);
    s_env_free(env);
}

/* Places "a" on w0, "b" and third on w1. */
static void
s_pin_three(s_env *env, const char *third)
{
    s_submit_pinned(env, 0, "a", "w0", NULL);
    s_submit_pinned(env, 0, "b", "w1", NULL);
    s_submit_pinned(env, 0, third, "w1", NULL);
    s_turn(env);
}

/* An input still computing weighs as much as results do on average: a
 * task with one small input done on w0 and two computing on w1 goes to
 * w1 (counted as nothing, they were outweighed, and a stencil's columns
 * wandered between the workers). */
static void
test_computing_inputs_weigh_as_results(void **state)
{
    s_env *env = s_env_new(2);
    s_pin_three(env, "c");
    s_done(env, 0, "a", 16);
    s_turn(env);
    env->core->avg_result_bytes = 16; /* what the results so far made */
    s_submit(env, 0, "d", DEPS("a", "b", "c"));
    s_turn(env);
    DVT_EQ_I64(s_computed_on(env, "d"), 1);
    s_env_free(env);
}

/* COMPUTE says a task is pinned: the worker never gives it back on
 * STEAL, where it came straight back to be asked for again, hundreds of
 * times a second while another worker idled. */
static void
test_pinned_compute_says_so(void **state)
{
    s_env *env = s_env_new(2);
    s_pin_three(env, "c");
    DVT_TRUE(s_find(&env->wbox[0], DVI_MSG_COMPUTE, "a")->num &
             DVI_TASK_PINNED);
    DVT_TRUE(s_find(&env->wbox[1], DVI_MSG_COMPUTE, "c")->num &
             DVI_TASK_PINNED);
    s_submit(env, 0, "d", NULL);
    s_turn(env);
    int wd = s_computed_on(env, "d");
    DVT_TRUE(wd >= 0);
    DVT_EQ_I64(
        s_find(&env->wbox[wd], DVI_MSG_COMPUTE, "d")->num & DVI_TASK_PINNED, 0);
    s_env_free(env);
}

/* A task whose inputs are being computed on two workers goes at once to
 * one of them; the other input is fetched from where it is computing
 * (its GET waits there). A neighbourhood stays together: a task whose
 * inputs mostly run on w1 goes to w1. */
static void
test_inputs_on_two_workers_sent_ahead(void **state)
{
    s_env *env = s_env_new(2);
    s_pin_three(env, "b2");
    s_submit(env, 0, "c", DEPS("a", "b"));
    s_submit(env, 0, "d", DEPS("a", "b", "b2"));
    s_turn(env);
    DVT_EQ_I64(s_state(env, "c"), DVI_TASK_PROCESSING);
    DVT_TRUE(s_computed_on(env, "c") >= 0);
    DVT_EQ_I64(s_computed_on(env, "d"), 1);
    s_done(env, 0, "a", 1);
    s_done(env, 1, "b", 1);
    s_done(env, 1, "b2", 1);
    s_turn(env);
    /* No second COMPUTE: the workers start them when the inputs arrive. */
    DVT_EQ_I64(s_computed_on(env, "c"), -1);
    DVT_EQ_I64(s_computed_on(env, "d"), -1);
    s_done(env, 1, "d", 1);
    s_turn(env);
    DVT_EQ_I64(s_state(env, "d"), DVI_TASK_MEMORY);
    s_env_free(env);
}

static void
test_lineage_kept_and_recomputed(void **state)
{
    s_env *env = s_env_new(1);
    s_submit(env, 0, "a", NULL);
    s_turn(env);
    s_done(env, 0, "a", 8);
    s_submit(env, 0, "b", DEPS("a"));
    s_turn(env);
    s_done(env, 0, "b", 8);
    s_turn(env);
    /* Nobody wants a any more and b is done: its result is freed on the
     * worker, but the record stays as b's lineage. */
    dvi_core_release(env->core, env->cl[0], "a");
    s_turn(env);
    DVT_EQ_I64(s_state(env, "a"), DVI_TASK_RELEASED);
    DVT_EQ_I64(s_count(&env->wbox[0], DVI_MSG_FREE, "a"), 1);
    /* Wanted again: computed again, from its record. */
    s_submit(env, 1, "a", NULL);
    s_turn(env);
    DVT_EQ_I64(s_computed_on(env, "a"), 0);
    s_done(env, 0, "a", 8);
    s_turn(env);
    DVT_EQ_I64(s_count(&env->cbox[1], DVI_MSG_FINISHED, "a"), 1);
    /* When b goes, so does its lineage. */
    dvi_core_release(env->core, env->cl[1], "a");
    dvi_core_release(env->core, env->cl[0], "b");
    s_turn(env);
    DVT_EQ_I64(s_state(env, "a"), DVI_TASK_FORGOTTEN);
    DVT_EQ_I64(s_state(env, "b"), DVI_TASK_FORGOTTEN);
    s_env_free(env);
}

static void
test_released_input_recomputed_for_new_dependent(void **state)
{
    s_env *env = s_env_new(1);
    s_submit(env, 0, "a", NULL);
    s_turn(env);
    s_done(env, 0, "a", 8);
    s_submit(env, 0, "b", DEPS("a"));
    s_turn(env);
    s_done(env, 0, "b", 8);
    dvi_core_release(env->core, env->cl[0], "a");
    s_turn(env);
    DVT_EQ_I64(s_state(env, "a"), DVI_TASK_RELEASED);
    /* c needs a's result, which was freed: a runs again first. */
    s_submit(env, 0, "c", DEPS("a", "b"));
    s_turn(env);
    DVT_EQ_I64(s_state(env, "c"), DVI_TASK_PROCESSING); /* sent ahead */
    DVT_EQ_I64(s_computed_on(env, "a"), 0);
    s_done(env, 0, "a", 8);
    s_done(env, 0, "c", 8);
    s_turn(env);
    DVT_EQ_I64(s_state(env, "c"), DVI_TASK_MEMORY);
    /* a is not wanted: its result goes again, its record stays. */
    DVT_EQ_I64(s_state(env, "a"), DVI_TASK_RELEASED);
    s_env_free(env);
}

static void
test_failure_reaches_dependents(void **state)
{
    s_env *env = s_env_new(1);
    s_submit(env, 0, "a", NULL);
    s_submit(env, 0, "b", DEPS("a"));
    s_submit(env, 1, "c", DEPS("b"));
    s_turn(env);
    s_failed(env, 0, "a", DVI_BLAME_TASK, "division by zero");
    s_turn(env);
    DVT_EQ_I64(s_state(env, "a"), DVI_TASK_ERRED);
    DVT_EQ_I64(s_state(env, "c"), DVI_TASK_ERRED);
    const s_msg *e = s_find(&env->cbox[1], DVI_MSG_ERRED, "c");
    DVT_EQ_STR(e->text, "division by zero");
    DVT_EQ_I64(e->num, DV_ERRED);
    DVT_EQ_I64(s_count(&env->cbox[0], DVI_MSG_ERRED, NULL), 2);
    /* b and c were sent ahead to the worker: it is told to drop them. */
    DVT_EQ_I64(s_count(&env->wbox[0], DVI_MSG_FREE, "b"), 1);
    DVT_EQ_I64(s_count(&env->wbox[0], DVI_MSG_FREE, "c"), 1);
    /* Submitting a failed key nobody holds runs it again. */
    dvi_core_release(env->core, env->cl[0], "a");
    dvi_core_release(env->core, env->cl[0], "b");
    dvi_core_release(env->core, env->cl[1], "c");
    s_turn(env);
    DVT_EQ_I64(s_state(env, "a"), DVI_TASK_FORGOTTEN);
    s_submit(env, 0, "a", NULL);
    s_turn(env);
    DVT_EQ_I64(s_computed_on(env, "a"), 0);
    s_env_free(env);
}

/* A failure without a reason still reaches the client with a text. */
static void
test_every_error_has_a_text(void **state)
{
    s_env *env = s_env_new(1);
    s_submit(env, 0, "a", NULL);
    s_submit(env, 0, "b", DEPS("a"));
    s_turn(env);
    s_failed(env, 0, "a", DVI_BLAME_TASK, "");
    s_turn(env);
    DVT_TRUE(s_find(&env->cbox[0], DVI_MSG_ERRED, "a")->text[0] != '\0');
    DVT_TRUE(s_find(&env->cbox[0], DVI_MSG_ERRED, "b")->text[0] != '\0');
    s_env_free(env);
}

static void
test_retries_and_unknown_input(void **state)
{
    s_env *env = s_env_new(1);
    s_submit(env, 0, "b", DEPS("nope"));
    s_turn(env);
    DVT_CONTAINS(s_find(&env->cbox[0], DVI_MSG_ERRED, "b")->text,
                 "dependency 'nope' is not known");
    s_env_free(env);
}

static void
test_cancel_is_quiet_to_the_canceller(void **state)
{
    s_env *env = s_env_new(1);
    s_submit(env, 0, "a", NULL);
    s_submit(env, 0, "b", DEPS("a"));
    s_turn(env);
    dvi_core_cancel(env->core, env->cl[0], "a");
    s_turn(env);
    DVT_EQ_I64(s_state(env, "a"), DVI_TASK_FORGOTTEN);
    DVT_EQ_I64(s_count(&env->cbox[0], DVI_MSG_ERRED, "a"), 0);
    const s_msg *e = s_find(&env->cbox[0], DVI_MSG_ERRED, "b");
    DVT_EQ_I64(e->num, DV_CANCELLED);
    /* It was running: the worker drops its result when it ends. */
    DVT_EQ_I64(s_count(&env->wbox[0], DVI_MSG_FREE, "a"), 1);
    s_done(env, 0, "a", 1); /* late */
    s_turn(env);
    DVT_EQ_I64(s_count(&env->cbox[0], DVI_MSG_FINISHED, NULL), 0);
    s_env_free(env);
}

/* A client cancels only its own interest: a task another client wants,
 * itself or through a dependent, runs on and answers that client. */
static void
test_cancel_spares_other_clients(void **state)
{
    s_env *env = s_env_new(1);
    s_submit(env, 0, "a", NULL);
    s_submit(env, 1, "a", NULL);
    s_submit(env, 0, "b", NULL);
    s_submit(env, 1, "c", DEPS("b"));
    s_submit(env, 0, "d", DEPS("b"));
    s_turn(env);
    dvi_core_cancel(env->core, env->cl[0], "a");
    dvi_core_cancel(env->core, env->cl[0], "b");
    s_turn(env);
    DVT_EQ_I64(s_count(&env->cbox[1], DVI_MSG_ERRED, NULL), 0);
    DVT_EQ_I64(s_count(&env->wbox[0], DVI_MSG_FREE, "a"), 0);
    DVT_EQ_I64(s_count(&env->wbox[0], DVI_MSG_FREE, "b"), 0);
    /* d waited on b for client 0 only: it is cancelled, and said so. */
    DVT_EQ_I64(s_find(&env->cbox[0], DVI_MSG_ERRED, "d")->num, DV_CANCELLED);
    DVT_EQ_I64(s_state(env, "d"), DVI_TASK_FORGOTTEN);
    s_done(env, 0, "a", 1);
    s_done(env, 0, "b", 1);
    s_turn(env);
    DVT_EQ_I64(s_count(&env->cbox[1], DVI_MSG_FINISHED, "a"), 1);
    DVT_EQ_I64(s_count(&env->cbox[0], DVI_MSG_FINISHED, "a"), 0);
    DVT_EQ_I64(s_state(env, "c"), DVI_TASK_PROCESSING);
    /* A client that does not want a task cannot cancel it. */
    dvi_core_cancel(env->core, env->cl[0], "c");
    s_turn(env);
    DVT_EQ_I64(s_state(env, "c"), DVI_TASK_PROCESSING);
    s_env_free(env);
}

static void
test_lost_worker_reruns_then_kills(void **state)
{
    s_env *env = s_env_new(3);
    s_submit(env, 0, "a", NULL);
    s_turn(env);
    for (int death = 1; death <= 3; death++) {
        int wi = -1;
        for (int i = 0; i < 3; i++) {
            if (env->w[i] && s_count(&env->wbox[i], DVI_MSG_COMPUTE, "a")) {
                wi = i;
            }
        }
        DVT_TRUE(wi >= 0);
        dvi_core_worker_leave(env->core, env->w[wi], "killed by signal 9");
        env->w[wi] = NULL;
        s_turn(env);
        /* The clients hear of the departure. */
        DVT_EQ_I64(s_count(&env->cbox[0], DVI_MSG_WORKERS, NULL), 1);
    }
    DVT_EQ_I64(s_state(env, "a"), DVI_TASK_ERRED);
    DVT_CONTAINS(s_find(&env->cbox[0], DVI_MSG_ERRED, "a")->text,
                 "killed worker");
    s_env_free(env);
}

static void
test_lost_result_is_computed_again(void **state)
{
    s_env *env = s_env_new(2);
    s_submit(env, 0, "a", NULL);
    s_submit(env, 0, "b", NULL);
    s_turn(env);
    int wa = s_computed_on(env, "a"), wb = s_computed_on(env, "b");
    DVT_NE_I64(wa, wb);
    s_done(env, wa, "a", 1);
    s_done(env, wb, "b", 1);
    s_turn(env);
    dvi_core_worker_leave(env->core, env->w[wa], "gone");
    env->w[wa] = NULL;
    s_turn(env);
    /* a, still wanted, is computed again where b is; b stays. */
    DVT_EQ_I64(s_state(env, "b"), DVI_TASK_MEMORY);
    DVT_EQ_I64(s_computed_on(env, "a"), wb);
    DVT_EQ_I64(s_count(&env->cbox[0], DVI_MSG_ERRED, NULL), 0);
    s_done(env, wb, "a", 1);
    s_turn(env);
    DVT_EQ_STR(s_find(&env->cbox[0], DVI_MSG_FINISHED, "a")->text,
               wb ? "inproc://w1" : "inproc://w0");
    s_env_free(env);
}

static void
test_pinned_tasks(void **state)
{
    s_env *env = s_env_new(2);
    for (int i = 0; i < 3; i++) {
        char key[8];
        snprintf(key, sizeof(key), "p%d", i);
        s_submit_pinned(env, 0, key, "w1", NULL);
    }
    s_submit_pinned(env, 0, "x", "w9", NULL);
    s_turn(env);
    DVT_EQ_I64(s_count(&env->wbox[0], DVI_MSG_COMPUTE, NULL), 0);
    DVT_EQ_I64(s_count(&env->wbox[1], DVI_MSG_COMPUTE, NULL), 3);
    DVT_CONTAINS(s_find(&env->cbox[0], DVI_MSG_ERRED, "x")->text,
                 "no worker 'w9'");
    dvi_core_worker_leave(env->core, env->w[1], "gone");
    env->w[1] = NULL;
    s_turn(env);
    DVT_CONTAINS(s_find(&env->cbox[0], DVI_MSG_ERRED, "p0")->text,
                 "where the task was pinned");
    DVT_EQ_I64(s_count(&env->wbox[0], DVI_MSG_COMPUTE, NULL), 0);
    s_env_free(env);
}

static void
test_client_leaving_releases_its_work(void **state)
{
    s_env *env = s_env_new(1);
    s_submit(env, 0, "a", NULL);
    s_submit(env, 0, "b", DEPS("a"));
    s_submit(env, 1, "shared", NULL);
    s_submit(env, 0, "shared", NULL);
    s_turn(env);
    s_done(env, 0, "a", 1);
    s_done(env, 0, "b", 1);
    s_done(env, 0, "shared", 1);
    s_turn(env);
    DVT_EQ_I64(s_count(&env->cbox[1], DVI_MSG_FINISHED, "shared"), 1);
    dvi_core_client_leave(env->core, env->cl[0]);
    env->cl[0] = NULL;
    s_turn(env);
    DVT_EQ_I64(s_state(env, "a"), DVI_TASK_FORGOTTEN);
    DVT_EQ_I64(s_state(env, "b"), DVI_TASK_FORGOTTEN);
    DVT_EQ_I64(s_state(env, "shared"), DVI_TASK_MEMORY);
    DVT_EQ_I64(s_count(&env->wbox[0], DVI_MSG_FREE, NULL), 2);
    s_env_free(env);
}

static void
test_result_stays_where_made(void **state)
{
    s_env *env = s_env_new(1);
    s_submit(env, 0, "a", NULL);
    s_turn(env);
    s_done(env, 0, "a", 1);
    /* b's result is only an input of c: its COMPUTE asks for no value. */
    s_submit(env, 0, "b", DEPS("a"));
    s_submit(env, 0, "c", DEPS("b"));
    dvi_core_release(env->core, env->cl[0], "b");
    s_turn(env);
    DVT_EQ_I64(
        s_find(&env->wbox[0], DVI_MSG_COMPUTE, "b")->num & DVI_TASK_WANTED, 0);
    DVT_TRUE(s_find(&env->wbox[0], DVI_MSG_COMPUTE, "c")->num &
             DVI_TASK_WANTED);
    s_env_free(env);
}

static void
test_function_counters(void **state)
{
    s_env *env = s_env_new(1);
    s_submit(env, 0, "a", NULL);
    s_submit(env, 0, "b", NULL);
    s_turn(env);
    s_done(env, 0, "a", 1);
    s_turn(env);
    uint64_t st[DVI_TASK_NSTATES];
    DVT_EQ_I64(dvi_core_fn_states(env->core, "f", st), 1);
    DVT_EQ_I64(st[DVI_TASK_MEMORY], 1);
    DVT_EQ_I64(st[DVI_TASK_PROCESSING], 1);
    DVT_EQ_I64(dvi_core_fn_states(env->core, "g", st), 0);
    s_env_free(env);
}

static void
test_publish_outlives_client(void **state)
{
    s_env *env = s_env_new(1);
    s_submit(env, 0, "a", NULL);
    s_turn(env);
    s_done(env, 0, "a", 1);
    dvi_msg_publish pub = {.req = 7, .key = "a"};
    pub.name = dvi_bytes_of("answer");
    pub.owner = (dvi_bytes){S_SECRET_A, 16, NULL};
    dvi_core_publish(env->core, env->cl[0], &pub);
    dvi_core_client_leave(env->core, env->cl[0]);
    env->cl[0] = NULL;
    s_turn(env);
    DVT_EQ_I64(s_state(env, "a"), DVI_TASK_MEMORY);
    dvi_msg_lookup look = {.req = 8};
    look.name = dvi_bytes_of("answer");
    dvi_core_lookup(env->core, env->cl[1], &look);
    s_turn(env);
    DVT_EQ_I64(s_find(&env->cbox[1], DVI_MSG_REPLY, "")->num, 0);
    DVT_EQ_I64(s_count(&env->cbox[1], DVI_MSG_FINISHED, "a"), 1);
    /* Only the publisher's secret removes the name. */
    dvi_msg_unpublish un = {.req = 9};
    un.name = dvi_bytes_of("answer");
    un.owner = (dvi_bytes){S_SECRET_B, 16, NULL};
    dvi_core_unpublish(env->core, env->cl[1], &un);
    dvi_core_release(env->core, env->cl[1], "a");
    s_turn(env);
    DVT_EQ_I64(s_state(env, "a"), DVI_TASK_MEMORY);
    un.owner = (dvi_bytes){S_SECRET_A, 16, NULL};
    dvi_core_unpublish(env->core, env->cl[1], &un);
    s_turn(env);
    DVT_EQ_I64(s_state(env, "a"), DVI_TASK_FORGOTTEN);
    s_env_free(env);
}

/* Another client can neither remove a published name nor publish another
 * result over it. */
static void
test_publish_only_by_its_publisher(void **state)
{
    s_env *env = s_env_new(1);
    s_submit(env, 0, "a", NULL);
    s_submit(env, 1, "b", NULL);
    s_turn(env);
    s_done(env, 0, "a", 1);
    dvi_msg_publish pub = {.req = 1, .key = "a"};
    pub.name = dvi_bytes_of("answer");
    pub.owner = (dvi_bytes){S_SECRET_A, 16, NULL};
    dvi_core_publish(env->core, env->cl[0], &pub);
    pub = (dvi_msg_publish){.req = 2, .key = "b"};
    pub.name = dvi_bytes_of("answer");
    pub.owner = (dvi_bytes){S_SECRET_B, 16, NULL};
    dvi_core_publish(env->core, env->cl[1], &pub);
    dvi_msg_unpublish un = {.req = 3};
    un.name = dvi_bytes_of("answer");
    un.owner = (dvi_bytes){S_SECRET_B, 16, NULL};
    dvi_core_unpublish(env->core, env->cl[1], &un);
    s_turn(env);
    DVT_EQ_I64(s_find(&env->cbox[0], DVI_MSG_REPLY, "")->num, 0);
    DVT_EQ_I64(s_count(&env->cbox[1], DVI_MSG_REPLY, NULL), 2);
    for (int i = 0; i < env->cbox[1].n; i++) {
        if (env->cbox[1].msgs[i].type == DVI_MSG_REPLY) {
            DVT_EQ_I64(env->cbox[1].msgs[i].num, DV_EPERM);
        }
    }
    dvi_msg_lookup look = {.req = 4};
    look.name = dvi_bytes_of("answer");
    dvi_core_lookup(env->core, env->cl[1], &look);
    s_turn(env);
    DVT_EQ_I64(s_count(&env->cbox[1], DVI_MSG_FINISHED, "a"), 1);
    s_env_free(env);
}

/* A worker leaves and another takes its place and outbox. */
/* A worker joins at index wi, with a fresh outbox. */
static void
s_join_worker(s_env *env, int wi)
{
    char id[16], addr[32];
    snprintf(id, sizeof(id), "w%d", wi);
    snprintf(addr, sizeof(addr), "inproc://w%d", wi);
    dvi_outbox_fini(&env->wbox[wi].out);
    dvi_outbox_init(&env->wbox[wi].out, NULL, NULL);
    s_noutst[wi] = 0;
    env->w[wi] =
        dvi_core_worker_join(env->core, id, addr, 1, &env->wbox[wi].out, 0);
}

static void
s_leave_worker(s_env *env, int wi)
{
    dvi_core_worker_leave(env->core, env->w[wi], "gone");
    env->w[wi] = NULL;
    s_noutst[wi] = 0;
}

/* A worker leaves and another takes its place. */
static void
s_replace_worker(s_env *env, int wi)
{
    s_leave_worker(env, wi);
    s_join_worker(env, wi);
}

/* Workers answer some of what they run. */
static void
s_answer(s_env *env, const char *key, int op)
{
    const dvi_task *t = dvi_core_task(env->core, key);
    for (int i = 0; t && i < 3; i++) {
        if (t->state == DVI_TASK_PROCESSING && t->where == env->w[i] &&
            t->nwaiting == 0) {
            if (op == 4) {
                s_done(env, i, key, 8);
            } else {
                s_failed(env, i, key, DVI_BLAME_TASK, "no");
            }
            return;
        }
    }
}

static void
s_retire(s_env *env, int wi)
{
    dvi_msg_retiring m = {.reason = dvi_bytes_of("signal 15")};
    dvi_core_retiring(env->core, env->w[wi], &m);
}

static void
test_retiring_worker_moves_its_work(void **state)
{
    /* w0 runs a and r and has b queued when w1 joins and w0 is told to
     * stop: b, which w0 will not start, goes to w1; nothing new goes to
     * w0, not even what would follow its results; a pin to it errs; the
     * clients stop seeing it. */
    s_env *env = s_env_new(1);
    env->core->queue_min = 2; /* a worker is full with three tasks */
    s_submit(env, 0, "a", NULL);
    s_submit(env, 0, "r", NULL);
    s_submit(env, 0, "b", NULL);
    s_turn(env);
    DVT_EQ_I64(s_count(&env->wbox[0], DVI_MSG_COMPUTE, NULL), 3);
    s_join_worker(env, 1);
    s_submit_pinned(env, 0, "p", "w0", NULL);
    s_turn(env);
    s_retire(env, 0);
    s_turn(env);
    DVT_EQ_I64(s_count(&env->cbox[0], DVI_MSG_WORKERS, NULL), 1);
    DVT_CONTAINS(s_find(&env->cbox[0], DVI_MSG_ERRED, "p")->text,
                 "where the task was pinned, is stopping");
    s_failed(env, 0, "b", DVI_BLAME_WORKER, "not started: w0 is stopping");
    s_turn(env);
    DVT_EQ_I64(s_computed_on(env, "b"), 1);
    DVT_EQ_I64(s_count(&env->cbox[0], DVI_MSG_ERRED, "b"), 0);
    DVT_EQ_I64(dvi_core_task(env->core, "b")->suspicious, 0);
    s_done(env, 0, "a", 1000);
    s_submit(env, 0, "c", DEPS("a"));
    s_submit(env, 0, "d", NULL);
    s_turn(env);
    DVT_EQ_I64(s_computed_on(env, "c"), 1);
    DVT_EQ_I64(s_computed_on(env, "d"), 1);
    DVT_EQ_STR(s_find(&env->cbox[0], DVI_MSG_FINISHED, "a")->text,
               "inproc://w0");
    s_submit_pinned(env, 1, "q", "w0", NULL);
    s_turn(env);
    DVT_CONTAINS(s_find(&env->cbox[1], DVI_MSG_ERRED, "q")->text,
                 "it is stopping");
    DVT_EQ_I64(s_count(&env->wbox[0], DVI_MSG_COMPUTE, NULL), 0);
    /* It leaves with r still running: r runs again on w1, and that is no
     * death. */
    dvi_core_worker_leave(env->core, env->w[0], "stopped on signal 15");
    env->w[0] = NULL;
    s_turn(env);
    DVT_EQ_I64(s_state(env, "r"), DVI_TASK_QUEUED); /* w1 is full */
    DVT_EQ_I64(dvi_core_task(env->core, "r")->suspicious, 0);
    s_done(env, 1, "b", 1);
    s_turn(env);
    /* a, which only w0 held and c still needs, is computed again first. */
    DVT_EQ_I64(s_computed_on(env, "a"), 1);
    s_done(env, 1, "a", 1);
    s_turn(env);
    DVT_EQ_I64(s_computed_on(env, "r"), 1);
    s_env_free(env);
}

static void
test_retiring_is_no_death(void **state)
{
    /* Four workers in turn stop while running r (three deaths would err
     * it as "killed worker"): r runs on, and then finishes. */
    s_env *env = s_env_new(1);
    s_submit(env, 0, "r", NULL);
    s_turn(env);
    int on = 0;
    for (int round = 0; round < 4; round++) {
        DVT_EQ_I64(s_computed_on(env, "r"), on);
        int next = 1 - on;
        s_join_worker(env, next);
        s_retire(env, on);
        s_turn(env);
        dvi_core_worker_leave(env->core, env->w[on], "stopped on signal 15");
        env->w[on] = NULL;
        s_turn(env);
        on = next;
    }
    DVT_EQ_I64(s_count(&env->cbox[0], DVI_MSG_ERRED, NULL), 0);
    DVT_EQ_I64(s_state(env, "r"), DVI_TASK_PROCESSING);
    s_done(env, on, "r", 1);
    s_turn(env);
    DVT_EQ_I64(s_count(&env->cbox[0], DVI_MSG_FINISHED, "r"), 1);
    /* A worker that is not stopping and gives a task back (blame worker)
     * does count: the third time, the task errs. */
    s_submit(env, 0, "x", NULL);
    s_turn(env);
    for (int i = 0; i < 3; i++) {
        DVT_EQ_I64(s_computed_on(env, "x"), on);
        s_failed(env, on, "x", DVI_BLAME_WORKER, "could not start it");
        s_turn(env);
    }
    DVT_CONTAINS(s_find(&env->cbox[0], DVI_MSG_ERRED, "x")->text,
                 "could not start it");
    s_env_free(env);
}

/* Random mixes of events on random graphs keep every invariant. */
static void
test_random_events_keep_invariants(void **state)
{
    for (uint64_t seed = 1; seed <= 6; seed++) {
        uint64_t rng = 0x5eed * seed;
        s_env *env = s_env_new(3);
        char key[16], dep[16], dep2[16];
        for (int round = 0; round < 600; round++) {
            int op = (int)(dvt_rand(&rng) % 8);
            int k = (int)(dvt_rand(&rng) % 40);
            int ci = (int)(dvt_rand(&rng) % 2);
            snprintf(key, sizeof(key), "t%d", k);
            snprintf(dep, sizeof(dep), "t%d", k / 2);
            snprintf(dep2, sizeof(dep2), "t%d", k / 3);
            if (op <= 1) {
                s_submit(env, ci, key, k > 2 ? DEPS(dep, dep2) : NULL);
            } else if (op == 2) {
                dvi_core_release(env->core, env->cl[ci], key);
            } else if (op == 3 && dvt_rand(&rng) % 4 == 0) {
                dvi_core_cancel(env->core, env->cl[ci], key);
            } else if (op == 6 && dvt_rand(&rng) % 8 == 0) {
                s_replace_worker(env, (int)(dvt_rand(&rng) % 3));
            } else if (op >= 4) {
                s_answer(env, key, op == 5 ? 5 : 4);
            }
            s_turn(env);
        }
        s_env_free(env);
    }
}

/* ---- Lineage, resubmission and rescatter --------------------------------- */

/* The key of a scattered value: the core takes only the value's own. */
static void
s_scatter_key(char *buf, size_t size, const char *value)
{
    dvi_callkey_scatter(buf, size, value, strlen(value));
}

/* Client ci scatters value (its bytes stand for an encoded value). */
static void
s_scatter(s_env *env, int ci, const char *value)
{
    char key[64];
    s_scatter_key(key, sizeof(key), value);
    dvi_msg_scatter m = {.key = key};
    m.value = (dvi_bytes){value, strlen(value), NULL};
    dvi_core_scatter(env->core, env->cl[ci], &m);
}

/* a, then b(a), both done; a released (b's lineage). */
static s_env *
s_env_with_lineage(void)
{
    s_env *env = s_env_new(1);
    s_submit(env, 0, "a", NULL);
    s_turn(env);
    s_done(env, 0, "a", 8);
    s_submit(env, 0, "b", DEPS("a"));
    s_turn(env);
    s_done(env, 0, "b", 8);
    dvi_core_release(env->core, env->cl[0], "a");
    s_turn(env);
    DVT_EQ_I64(s_state(env, "a"), DVI_TASK_RELEASED);
    return env;
}

/* A released input wanted again, then not before it ran: it goes back to
 * released, never away while b keeps it (the check would see b's input
 * forgotten, and releasing b would read freed memory). */
static void
test_revived_input_stays_lineage(void **state)
{
    s_env *env = s_env_with_lineage();
    s_submit(env, 1, "a", NULL);
    dvi_core_release(env->core, env->cl[1], "a");
    s_turn(env);
    DVT_EQ_I64(s_state(env, "a"), DVI_TASK_RELEASED);
    /* The same while it waits for its own revived input, sent ahead. */
    s_submit(env, 0, "m", DEPS("b"));
    s_turn(env);
    s_done(env, 0, "m", 8);
    dvi_core_release(env->core, env->cl[0], "b");
    s_turn(env);
    s_submit(env, 1, "c", DEPS("b"));
    s_turn(env);
    DVT_EQ_I64(s_state(env, "b"), DVI_TASK_PROCESSING);
    dvi_core_cancel(env->core, env->cl[1], "c");
    s_turn(env);
    DVT_EQ_I64(s_state(env, "b"), DVI_TASK_RELEASED); /* m's lineage */
    dvi_core_release(env->core, env->cl[0], "m");
    s_turn(env);
    DVT_EQ_I64(s_state(env, "a"), DVI_TASK_FORGOTTEN);
    s_env_free(env);
}

/* A result lost with its worker, kept as another's lineage: submitting the
 * call again runs it again (no stale error). */
static void
test_lost_result_runs_again_when_submitted(void **state)
{
    s_env *env = s_env_new(2);
    s_submit_pinned(env, 0, "a", "w0", NULL);
    s_turn(env);
    s_done(env, 0, "a", 8);
    s_submit_pinned(env, 0, "b", "w1", DEPS("a"));
    s_turn(env);
    s_done(env, 1, "b", 8);
    s_turn(env);
    s_leave_worker(env, 0);
    s_turn(env);
    /* Pinned to the lost worker, it cannot be computed again. */
    DVT_CONTAINS(s_find(&env->cbox[0], DVI_MSG_ERRED, "a")->text,
                 "where the task was pinned left");
    dvi_core_release(env->core, env->cl[0], "a");
    s_turn(env);
    s_submit(env, 0, "a", NULL);
    s_turn(env);
    DVT_EQ_I64(s_count(&env->cbox[0], DVI_MSG_ERRED, "a"), 0);
    DVT_EQ_I64(s_computed_on(env, "a"), 1);
    s_env_free(env);
}

/* One client cancels its recomputation of a released input: another
 * client asking for it later is not told "cancelled". */
static void
test_cancel_does_not_poison_the_key(void **state)
{
    s_env *env = s_env_with_lineage();
    s_submit(env, 1, "a", NULL);
    s_turn(env);
    dvi_core_cancel(env->core, env->cl[1], "a");
    dvi_core_release(env->core, env->cl[1], "a");
    s_turn(env);
    s_submit(env, 0, "a", NULL);
    s_submit(env, 0, "c", DEPS("a"));
    s_turn(env);
    DVT_EQ_I64(s_count(&env->cbox[0], DVI_MSG_ERRED, NULL), 0);
    DVT_EQ_I64(s_computed_on(env, "a"), 0);
    s_env_free(env);
}

/* Scattering data again after a scatter of it was cancelled is answered
 * (it used to wait forever). */
static void
test_scatter_again_after_cancel(void **state)
{
    char sk[64];
    s_scatter_key(sk, sizeof(sk), "s");
    s_env *env = s_env_new(1);
    s_scatter(env, 0, "s");
    s_turn(env);
    dvi_core_cancel(env->core, env->cl[0], sk);
    s_turn(env);
    DVT_EQ_I64(s_state(env, sk), DVI_TASK_FORGOTTEN);
    dvi_core_release(env->core, env->cl[0], sk);
    s_turn(env);
    s_scatter(env, 0, "s");
    s_turn(env);
    DVT_EQ_I64(s_count(&env->wbox[0], DVI_MSG_SCATTER, sk), 1);
    dvi_msg_stored st = {.key = sk, .nbytes = 1};
    dvi_core_stored(env->core, env->w[0], &st);
    s_turn(env);
    DVT_EQ_I64(s_count(&env->cbox[0], DVI_MSG_FINISHED, sk), 1);
    s_env_free(env);
}

/* An upload is answered when the workers present at the upload have
 * answered: a worker that joined later and died does not count. */
static void
test_upload_waits_for_present_workers(void **state)
{
    s_env *env = s_env_new(1);
    char hash[80];
    dvi_callkey_library(hash, sizeof(hash), "ELF", 3);
    dvi_msg_upload up = {.hash = dvi_bytes_of(hash)};
    up.name = dvi_bytes_of("lib.so");
    up.bytes = (dvi_bytes){"ELF", 3, NULL};
    dvi_core_upload(env->core, env->cl[0], &up);
    s_turn(env);
    DVT_EQ_I64(s_count(&env->wbox[0], DVI_MSG_UPLOAD, NULL), 1);
    s_join_worker(env, 1);
    s_turn(env);
    DVT_EQ_I64(s_count(&env->wbox[1], DVI_MSG_UPLOAD, NULL), 1);
    s_leave_worker(env, 1);
    s_turn(env);
    DVT_EQ_I64(s_count(&env->cbox[0], DVI_MSG_UPLOADED, NULL), 0);
    dvi_msg_uploaded ok = {.hash = dvi_bytes_of(hash), .loaded = 1};
    dvi_core_uploaded(env->core, env->w[0], &ok);
    s_turn(env);
    DVT_EQ_I64(s_count(&env->cbox[0], DVI_MSG_UPLOADED, NULL), 1);
    s_env_free(env);
}

/* ---- Forgery ------------------------------------------------------------ */

/* Client ci submits fn(args) under key: the derived key of the call when
 * key is NULL. Writes the key used into out. */
static void
s_submit_call(s_env *env, int ci, const char *key, const char *args, size_t n,
              char out[64])
{
    dvi_callkey k;
    unsigned char h[DVI_CALLKEY_BYTES];
    dvi_callkey_begin(&k, "f", 1, "", 0, DVI_CALLKEY_CALL, args, n);
    dvi_callkey_end(&k, h);
    dvi_callkey_format(out, 64, "f", 1, h);
    if (key) {
        snprintf(out, 64, "%s", key);
    }
    dvi_msg_submit m = {.key = out, .fn = "f"};
    m.args = (dvi_bytes){args, n, NULL};
    s_submit_msg(env, ci, &m, NULL);
}

/* A derived key must be its call's, and a known key names one call: no
 * client makes another's future read a result of its choosing. */
static void
test_forged_keys_refused(void **state)
{
    s_env *env = s_env_new(1);
    char key[64], forged[64];
    s_submit_call(env, 0, NULL, "\x91\x01", 2, key); /* f(1) */
    /* f(2) under f(1)'s key, and under a key of the derived form. */
    s_submit_call(env, 1, key, "\x91\x02", 2, forged);
    s_submit_call(env, 1, "f-00000000000000000000000000000000", "\x90", 1,
                  forged);
    s_turn(env);
    DVT_CONTAINS(s_find(&env->cbox[1], DVI_MSG_ERRED, key)->text,
                 "not the hash of the call");
    DVT_CONTAINS(s_find(&env->cbox[1], DVI_MSG_ERRED, forged)->text,
                 "not the hash of the call");
    DVT_EQ_I64(s_state(env, forged), DVI_TASK_FORGOTTEN);
    DVT_EQ_I64(s_count(&env->wbox[0], DVI_MSG_COMPUTE, NULL), 1);
    /* The same call under the same key shares the task. */
    s_submit_call(env, 1, NULL, "\x91\x01", 2, forged);
    s_done(env, 0, key, 1);
    s_turn(env);
    DVT_EQ_I64(s_count(&env->cbox[0], DVI_MSG_FINISHED, key), 1);
    DVT_EQ_I64(s_count(&env->cbox[1], DVI_MSG_FINISHED, key), 1);
    DVT_EQ_I64(s_count(&env->cbox[0], DVI_MSG_ERRED, NULL), 0);
    /* An explicit key is one call's too. */
    s_submit_call(env, 0, "mine", "\x91\x01", 2, forged);
    s_submit_call(env, 1, "mine", "\x91\x03", 2, forged);
    s_turn(env);
    DVT_CONTAINS(s_find(&env->cbox[1], DVI_MSG_ERRED, "mine")->text,
                 "already used for a different call");
    DVT_EQ_I64(s_count(&env->cbox[0], DVI_MSG_ERRED, "mine"), 0);
    s_env_free(env);
}

/* A scatter's key is its value's hash, and a library's hash its bytes'. */
static void
test_forged_scatter_and_library_refused(void **state)
{
    s_env *env = s_env_new(1);
    char sk[64];
    s_scatter_key(sk, sizeof(sk), "real");
    dvi_msg_scatter sc = {.key = sk};
    sc.value = (dvi_bytes){"fake", 4, NULL};
    dvi_core_scatter(env->core, env->cl[0], &sc);
    char hash[80];
    dvi_callkey_library(hash, sizeof(hash), "ELF", 3);
    dvi_msg_upload up = {.hash = dvi_bytes_of(hash)};
    up.name = dvi_bytes_of("lib.so");
    up.bytes = (dvi_bytes){"ELG", 3, NULL};
    dvi_core_upload(env->core, env->cl[0], &up);
    s_turn(env);
    DVT_CONTAINS(s_find(&env->cbox[0], DVI_MSG_ERRED, sk)->text,
                 "not the hash of the value");
    DVT_EQ_I64(s_count(&env->wbox[0], DVI_MSG_SCATTER, NULL), 0);
    DVT_EQ_I64(s_count(&env->wbox[0], DVI_MSG_UPLOAD, NULL), 0);
    DVT_EQ_I64(s_count(&env->cbox[0], DVI_MSG_UPLOADED, NULL), 1);
    s_env_free(env);
}

/* ---- Lineage recovery ---------------------------------------------------- */

/* A chain a <- b <- c, each link on w0 and released as it is used: when
 * w0 goes with c's result, c is computed again from its lineage, and so,
 * first, are b and a. */
static void
test_lost_chain_computed_again_recursively(void **state)
{
    s_env *env = s_env_new(2);
    s_submit_pinned(env, 0, "a", "w0", NULL);
    s_turn(env);
    s_done(env, 0, "a", 8);
    s_submit(env, 0, "b", DEPS("a"));
    s_turn(env);
    s_done(env, s_computed_on(env, "b"), "b", 8);
    dvi_core_release(env->core, env->cl[0], "a");
    s_submit(env, 0, "c", DEPS("b"));
    s_turn(env);
    int wc = s_computed_on(env, "c");
    s_done(env, wc, "c", 8);
    dvi_core_release(env->core, env->cl[0], "b");
    s_turn(env);
    DVT_EQ_I64(s_state(env, "b"), DVI_TASK_RELEASED);
    /* The worker holding c goes; a was pinned to w0, so let w1 go. */
    s_leave_worker(env, 1);
    s_turn(env);
    if (wc == 0) {
        DVT_EQ_I64(s_state(env, "c"), DVI_TASK_MEMORY);
        s_env_free(env);
        return; /* c was on w0: nothing lost */
    }
    DVT_EQ_I64(s_state(env, "c"), DVI_TASK_WAITING);
    DVT_EQ_I64(s_computed_on(env, "b"), 0); /* a is still on w0 */
    s_done(env, 0, "b", 8);
    s_turn(env);
    DVT_EQ_I64(s_computed_on(env, "c"), 0);
    s_done(env, 0, "c", 8);
    s_turn(env);
    DVT_EQ_STR(s_find(&env->cbox[0], DVI_MSG_FINISHED, "c")->text,
               "inproc://w0");
    DVT_EQ_I64(s_count(&env->cbox[0], DVI_MSG_ERRED, NULL), 0);
    s_env_free(env);
}

/* A worker could not fetch an input from its holder (LOST, then FAILED
 * blamed on the input): the holder no longer counts, the input is
 * computed again, and the task waits for it (sent ahead of it) instead of
 * erring. */
static void
test_lost_input_reported_by_a_worker(void **state)
{
    s_env *env = s_env_new(2);
    s_submit_pinned(env, 0, "a", "w0", NULL);
    s_turn(env);
    s_done(env, 0, "a", 8);
    dvi_core_release(env->core, env->cl[0], "a");
    s_submit_pinned(env, 0, "b", "w1", DEPS("a"));
    s_turn(env);
    DVT_EQ_I64(s_computed_on(env, "b"), 1);
    dvi_msg_lost lost = {.key = "a", .holder = dvi_bytes_of("inproc://w0")};
    dvi_core_worker_lost(env->core, env->w[1], &lost);
    s_failed(env, 1, "b", DVI_BLAME_INPUT, "input 'a' could not be fetched");
    s_turn(env);
    /* a runs again on w0, and b goes back to w1 at once, ahead of it: its
     * input is coming from w0. */
    DVT_EQ_I64(s_count(&env->wbox[0], DVI_MSG_FREE, "a"), 1);
    DVT_EQ_I64(s_computed_on(env, "a"), 0);
    DVT_EQ_I64(s_state(env, "b"), DVI_TASK_PROCESSING);
    DVT_EQ_I64(s_computed_on(env, "b"), 1);
    s_done(env, 0, "a", 8);
    s_turn(env);
    DVT_EQ_I64(s_computed_on(env, "b"), -1); /* no second COMPUTE */
    DVT_EQ_I64(dvi_core_task(env->core, "b")->suspicious, 0);
    s_done(env, 1, "b", 8);
    s_turn(env);
    DVT_EQ_I64(s_count(&env->cbox[0], DVI_MSG_FINISHED, "b"), 1);
    DVT_EQ_I64(s_count(&env->cbox[0], DVI_MSG_ERRED, NULL), 0);
    s_env_free(env);
}

/* A client that could not fetch a result says LOST: it hears FINISHED
 * again once the result is held again, from the new holder. */
static void
test_lost_result_reported_by_a_client(void **state)
{
    s_env *env = s_env_new(2);
    s_submit_pinned(env, 0, "a", "w0", NULL);
    s_submit(env, 0, "x", NULL); /* keeps w1 busy */
    s_turn(env);
    s_done(env, 0, "a", 100000);
    s_turn(env);
    dvi_sclient *cl = env->cl[0];
    dvi_msg_lost lost = {.key = "a", .holder = dvi_bytes_of("inproc://w0")};
    dvi_core_client_lost(env->core, cl, &lost);
    s_turn(env);
    /* Pinned to w0, which still runs: computed again there. */
    DVT_EQ_I64(s_computed_on(env, "a"), 0);
    s_done(env, 0, "a", 100000);
    s_turn(env);
    DVT_EQ_I64(s_count(&env->cbox[0], DVI_MSG_FINISHED, "a"), 1);
    s_env_free(env);
}

/* A queued task whose input was lost before it was placed waits again
 * (and errs with the input, which cannot come back here). */
static void
test_queued_task_waits_for_a_lost_input(void **state)
{
    s_env *env = s_env_new(2);
    s_submit_pinned(env, 0, "a", "w1", NULL);
    s_turn(env);
    s_done(env, 1, "a", 8);
    s_turn(env);
    s_submit(env, 0, "b", DEPS("a"));
    DVT_EQ_I64(s_state(env, "b"), DVI_TASK_QUEUED);
    s_leave_worker(env, 1); /* before b is placed, in the same turn */
    s_turn(env);
    DVT_EQ_I64(s_computed_on(env, "b"), -1);
    DVT_CONTAINS(s_find(&env->cbox[0], DVI_MSG_ERRED, "b")->text,
                 "where the task was pinned left");
    s_env_free(env);
}

/* Scattered data goes to two workers: one leaving loses nothing. */
static void
test_scatter_kept_on_two_workers(void **state)
{
    char sk[64];
    s_scatter_key(sk, sizeof(sk), "v");
    s_env *env = s_env_new(2);
    s_scatter(env, 0, "v");
    s_turn(env);
    DVT_EQ_I64(s_count(&env->wbox[0], DVI_MSG_SCATTER, sk), 1);
    DVT_EQ_I64(s_count(&env->wbox[1], DVI_MSG_SCATTER, sk), 1);
    dvi_msg_stored st = {.key = sk, .nbytes = 1};
    dvi_core_stored(env->core, env->w[1], &st);
    dvi_core_stored(env->core, env->w[0], &st);
    s_turn(env);
    DVT_EQ_I64(s_count(&env->cbox[0], DVI_MSG_FINISHED, sk), 1);
    DVT_EQ_I64(dvi_core_task(env->core, sk)->nwho, 2);
    s_leave_worker(env, 1);
    s_turn(env);
    DVT_EQ_I64(s_state(env, sk), DVI_TASK_MEMORY);
    s_leave_worker(env, 0);
    s_turn(env);
    DVT_CONTAINS(s_find(&env->cbox[0], DVI_MSG_ERRED, sk)->text,
                 "scattered data was lost");
    s_env_free(env);
}

/* ---- Broadcasts ---------------------------------------------------------- */

/* Client ci broadcasts value, under key (filled in). */
static void
s_broadcast(s_env *env, int ci, const char *value, char *key, size_t size)
{
    dvi_callkey_broadcast(key, size, value, strlen(value));
    dvi_msg_scatter m = {.key = key, .flags = DVI_SCATTER_BROADCAST};
    m.value = (dvi_bytes){value, strlen(value), NULL};
    dvi_core_scatter(env->core, env->cl[ci], &m);
}

static void
s_stored(s_env *env, int wi, const char *key)
{
    dvi_msg_stored st = {.key = key, .nbytes = 1};
    s_outst_del(wi, key);
    dvi_core_stored(env->core, env->w[wi], &st);
}

/* A broadcast goes to every worker, and to one that joins later, before
 * anything else; inputs on it draw no task to a worker; released, it is
 * freed everywhere and joiners no longer get it. */
static void
test_broadcast_reaches_every_worker(void **state)
{
    char bk[64], sk[64];
    s_env *env = s_env_new(2);
    s_broadcast(env, 0, "v", bk, sizeof(bk));
    s_turn(env);
    DVT_EQ_I64(s_count(&env->wbox[0], DVI_MSG_SCATTER, bk), 1);
    DVT_EQ_I64(s_count(&env->wbox[1], DVI_MSG_SCATTER, bk), 1);
    s_stored(env, 1, bk);
    s_turn(env);
    DVT_EQ_I64(s_count(&env->cbox[0], DVI_MSG_FINISHED, bk), 1);
    s_stored(env, 0, bk);
    s_join_worker(env, 2);
    s_turn(env);
    DVT_EQ_I64(env->wbox[2].msgs[0].type, DVI_MSG_WELCOME);
    DVT_EQ_I64(s_count(&env->wbox[2], DVI_MSG_SCATTER, bk), 1);
    s_stored(env, 2, bk);
    s_turn(env);
    DVT_EQ_I64(dvi_core_task(env->core, bk)->nwho, 3);
    /* A task on it goes where its other inputs are, not where it is. */
    s_submit_pinned(env, 0, "a", "w2", NULL);
    s_turn(env);
    s_done(env, 2, "a", 1);
    s_submit(env, 0, "b", DEPS(bk, "a"));
    s_turn(env);
    DVT_EQ_I64(s_computed_on(env, "b"), 2);
    s_done(env, 2, "b", 1);
    /* A forged key is refused; a plain scatter of the value is another. */
    dvi_msg_scatter forged = {.key = bk, .flags = 0};
    forged.value = (dvi_bytes){"v", 1, NULL};
    dvi_core_scatter(env->core, env->cl[1], &forged);
    s_scatter_key(sk, sizeof(sk), "v");
    DVT_NE_STR(sk, bk);
    s_turn(env);
    DVT_CONTAINS(s_find(&env->cbox[1], DVI_MSG_ERRED, bk)->text, "refused");
    dvi_core_release(env->core, env->cl[0], bk);
    dvi_core_release(env->core, env->cl[0], "b");
    s_turn(env);
    for (int i = 0; i < 3; i++) {
        DVT_EQ_I64(s_count(&env->wbox[i], DVI_MSG_FREE, bk), 1);
    }
    s_leave_worker(env, 2);
    s_join_worker(env, 2);
    s_turn(env);
    DVT_EQ_I64(s_count(&env->wbox[2], DVI_MSG_SCATTER, NULL), 0);
    s_env_free(env);
}

/* The worker a broadcast waited on leaves: another still receiving it
 * takes over; its holders all gone, a worker receiving it does; none
 * left, it is lost as scattered data is. */
static void
test_broadcast_outlives_its_workers(void **state)
{
    char bk[64];
    s_env *env = s_env_new(2);
    s_broadcast(env, 0, "v", bk, sizeof(bk));
    s_turn(env);
    s_leave_worker(env,
                   dvi_core_task(env->core, bk)->where == env->w[0] ? 0 : 1);
    s_turn(env);
    DVT_EQ_I64(s_state(env, bk), DVI_TASK_PROCESSING);
    int left = env->w[0] == NULL ? 1 : 0; /* the worker that stays */
    s_stored(env, left, bk);
    s_turn(env);
    DVT_EQ_I64(s_state(env, bk), DVI_TASK_MEMORY);
    DVT_EQ_I64(s_count(&env->cbox[0], DVI_MSG_FINISHED, bk), 1);
    s_join_worker(env, 2); /* receiving it */
    s_leave_worker(env, left);
    s_turn(env);
    DVT_EQ_I64(s_state(env, bk), DVI_TASK_PROCESSING);
    s_stored(env, 2, bk);
    s_turn(env);
    DVT_EQ_I64(s_state(env, bk), DVI_TASK_MEMORY);
    s_leave_worker(env, 2);
    s_turn(env);
    DVT_CONTAINS(s_find(&env->cbox[0], DVI_MSG_ERRED, bk)->text,
                 "scattered data was lost");
    s_env_free(env);
}

/* ---- Resources ----------------------------------------------------------- */

/* Worker wi declares spec (INFO). */
static void
s_declare(s_env *env, int wi, const char *spec)
{
    dvi_msg_info m = {.host = dvi_bytes_of("h"), .pid = 1};
    m.resources = dvi_bytes_of(spec);
    dvi_core_info(env->core, env->w[wi], &m);
}

static void
s_submit_res(s_env *env, const char *key, const char *spec)
{
    static const char args[] = {(char)0x90};
    dvi_msg_submit m = {.key = key, .fn = "f"};
    m.args = (dvi_bytes){args, 1, NULL};
    m.resources = dvi_bytes_of(spec);
    s_submit_msg(env, 0, &m, NULL);
}

/* Tasks that need a resource run only where it was declared, one at a
 * time per unit, without holding back the others; one that needs what
 * nobody has waits for a worker that has it; a bad spec is refused. */
static void
test_resources_decide_where_and_when(void **state)
{
    s_env *env = s_env_new(2);
    s_declare(env, 1, "GPU=1");
    s_declare(env, 0, "GPU"); /* malformed: ignored */
    s_submit_res(env, "g1", "GPU=1");
    s_submit_res(env, "g2", "GPU=1");
    s_submit_res(env, "f", "FPGA=1");
    s_submit(env, 0, "p", NULL);
    s_turn(env);
    DVT_EQ_I64(s_computed_on(env, "g1"), 1);
    DVT_EQ_I64(s_state(env, "g2"), DVI_TASK_QUEUED);
    DVT_EQ_I64(s_state(env, "f"), DVI_TASK_QUEUED);
    DVT_TRUE(s_computed_on(env, "p") >= 0);
    s_done(env, 1, "g1", 1);
    s_turn(env);
    DVT_EQ_I64(s_computed_on(env, "g2"), 1);
    /* Given back on FAILED too. */
    s_failed(env, 1, "g2", DVI_BLAME_TASK, "no");
    s_submit_res(env, "g3", " GPU = 0.5 ");
    s_submit_res(env, "g4", "GPU=0.5");
    s_turn(env);
    DVT_EQ_I64(s_computed_on(env, "g3"), 1);
    DVT_EQ_I64(s_computed_on(env, "g4"), 1);
    s_join_worker(env, 2);
    s_declare(env, 2, "FPGA=2,GPU=4");
    s_turn(env);
    DVT_EQ_I64(s_computed_on(env, "f"), 2);
    char *json = dvi_core_status_json(env->core, "x");
    DVT_CONTAINS(json, "\"FPGA\": 2.0");
    free(json);
    s_submit_res(env, "bad", "GPU=x");
    s_turn(env);
    DVT_CONTAINS(s_find(&env->cbox[0], DVI_MSG_ERRED, "bad")->text,
                 "the amount of GPU is 'x'");
    DVT_EQ_I64(s_state(env, "bad"), DVI_TASK_FORGOTTEN);
    s_env_free(env);
}

/* ---- Work stealing ------------------------------------------------------- */

/* w0 was given many tasks while alone; w1 joins idle with nothing ready:
 * w0 is asked to give back some it has not started, and they run on w1.
 * It is not asked again before it answers. */
static void
test_idle_worker_steals_queued_work(void **state)
{
    s_env *env = s_env_new(1);
    for (int i = 0; i < 3; i++) { /* as many as w0 takes */
        char key[8];
        snprintf(key, sizeof(key), "t%d", i);
        s_submit(env, 0, key, NULL);
    }
    s_turn(env);
    DVT_EQ_I64(s_count(&env->wbox[0], DVI_MSG_COMPUTE, NULL), 3);
    s_join_worker(env, 1);
    s_turn(env);
    DVT_EQ_I64(s_count(&env->wbox[0], DVI_MSG_STEAL, NULL), 1);
    s_turn(env);
    DVT_EQ_I64(s_count(&env->wbox[0], DVI_MSG_STEAL, NULL), 0);
    s_failed(env, 0, "t2", DVI_BLAME_STOLEN, "given back");
    s_turn(env);
    DVT_EQ_I64(s_computed_on(env, "t2"), 1);
    DVT_EQ_I64(dvi_core_task(env->core, "t2")->suspicious, 0);
    s_done(env, 1, "t2", 1);
    s_turn(env);
    DVT_EQ_I64(s_count(&env->cbox[0], DVI_MSG_FINISHED, "t2"), 1);
    s_env_free(env);
}

/* A task sent ahead of its input and given back (STEAL) while that input
 * still computes waits for it again, as one whose input failed there
 * does; it is placed once the input is done, and runs. Made ready with its
 * input unfinished, it was sent to a worker as if the input were held
 * (raster_add hung so, once workers held back their DONEs). */
static void
test_stolen_ahead_waits_for_its_input(void **state)
{
    s_env *env = s_env_new(2);
    s_submit(env, 0, "a", NULL);
    s_turn(env);
    int wi = s_computed_on(env, "a");
    s_submit(env, 0, "b", DEPS("a"));
    s_turn(env);
    DVT_EQ_I64(s_computed_on(env, "b"), wi); /* sent ahead */
    s_failed(env, wi, "b", DVI_BLAME_STOLEN, "given back");
    s_turn(env);
    DVT_EQ_I64(s_state(env, "b"), DVI_TASK_WAITING);
    DVT_EQ_I64(s_computed_on(env, "b"), -1);
    s_done(env, wi, "a", 1);
    s_turn(env);
    int wb = s_computed_on(env, "b");
    DVT_TRUE(wb >= 0);
    s_done(env, wb, "b", 1);
    s_turn(env);
    DVT_EQ_I64(s_count(&env->cbox[0], DVI_MSG_FINISHED, "b"), 1);
    DVT_EQ_I64(dvi_core_task(env->core, "b")->suspicious, 0);
    s_env_free(env);
}

/* A worker that says it is paused (MEMORY) gets no new task: another
 * takes them, one pinned to it waits, and nothing is stolen for it while
 * its thread idles. Resumed, it gets work again. */
static void
s_memory(s_env *env, int wi, int paused)
{
    dvi_msg_memory m = {.paused = (uint64_t)paused, .bytes = 100 << 20};
    dvi_core_worker_memory(env->core, env->w[wi], &m);
}

static void
test_paused_worker_gets_nothing_new(void **state)
{
    s_env *env = s_env_new(2);
    s_memory(env, 0, 1);
    for (int i = 0; i < S_QUEUE1 + 2; i++) {
        char key[8];
        snprintf(key, sizeof(key), "m%d", i);
        s_submit(env, 0, key, NULL);
    }
    s_submit_pinned(env, 0, "pin", "w0", NULL);
    s_turn(env);
    DVT_EQ_I64(s_count(&env->wbox[0], DVI_MSG_COMPUTE, NULL), 0);
    DVT_EQ_I64(s_count(&env->wbox[1], DVI_MSG_COMPUTE, NULL), S_QUEUE1);
    s_turn(env);
    DVT_EQ_I64(s_count(&env->wbox[1], DVI_MSG_STEAL, NULL), 0);
    s_memory(env, 0, 0);
    s_turn(env);
    DVT_EQ_I64(s_count(&env->wbox[0], DVI_MSG_COMPUTE, NULL), 3);
    DVT_EQ_I64(s_count(&env->wbox[0], DVI_MSG_COMPUTE, "pin"), 1);
    s_env_free(env);
}

/* ---- A random model: every future held is answered ---------------------- */

#define NKEYS 48 /* t0..t47 computed, s0..s3 scattered, s4..s7 broadcast */

typedef struct s_model {
    int held[2][NKEYS + 8]; /* the client holds a future on key k */
    int told[2][NKEYS + 8]; /* ...and heard FINISHED or ERRED for it */
} s_model;

static void
s_mkey(char *buf, size_t size, int k)
{
    char value[16];
    if (k < NKEYS) {
        snprintf(buf, size, "t%d", k);
    } else {
        snprintf(value, sizeof(value), "s%d", k - NKEYS);
        if (k - NKEYS < 4) {
            s_scatter_key(buf, size, value);
        } else {
            dvi_callkey_broadcast(buf, size, value, strlen(value));
        }
    }
}

/* Worker wi joins, with a GPU (every model worker has one: a task that
 * needs it always has somewhere to run once everything is answered). */
static void
s_model_join(s_env *env, int wi)
{
    s_join_worker(env, wi);
    s_declare(env, wi, "GPU=1");
}

static void
s_mturn(s_env *env, s_model *mo)
{
    s_turn(env);
    for (int ci = 0; ci < 2; ci++) {
        for (int i = 0; i < env->cbox[ci].n; i++) {
            const s_msg *m = &env->cbox[ci].msgs[i];
            for (int k = 0; k < NKEYS + 8; k++) {
                char key[64];
                s_mkey(key, sizeof(key), k);
                if ((m->type == DVI_MSG_FINISHED || m->type == DVI_MSG_ERRED) &&
                    strcmp(key, m->key) == 0 && mo->held[ci][k]) {
                    mo->told[ci][k] = 1;
                }
            }
        }
    }
}

/* Answers one worker's outstanding work as a real worker would. Returns
 * whether it answered anything. */
static int
s_answer_all(s_env *env, int w)
{
    int any = 0;
    for (int i = 0; env->w[w] && i < s_noutst[w];) {
        s_out o = s_outst[w][i];
        const dvi_task *t = dvi_core_task(env->core, o.key);
        int here =
            t && t->state == DVI_TASK_PROCESSING && t->where == env->w[w];
        if (here && t->nwaiting > 0) {
            i++; /* sent ahead: it waits for its inputs */
            continue;
        }
        any = 1;
        if (here && env->w[w]->retiring && !o.scatter && o.key[1] % 2) {
            /* A stopping worker gives back what it did not start. */
            s_failed(env, w, o.key, DVI_BLAME_WORKER, "not started");
        } else if (o.scatter) {
            s_outst_del(w, o.key);
            dvi_msg_stored m = {.key = o.key, .nbytes = 1};
            dvi_core_stored(env->core, env->w[w], &m);
        } else if (here) {
            s_done(env, w, o.key, 8);
        } else {
            s_failed(env, w, o.key, DVI_BLAME_TASK, "dropped");
        }
    }
    return any;
}

/* Runs everything to the end: then nothing is live and every future a
 * client holds has been answered. */
static void
s_quiesce(s_env *env, s_model *mo)
{
    int active = 0;
    for (int w = 0; w < 3; w++) {
        active += env->w[w] && !env->w[w]->retiring;
    }
    if (!active) {
        /* Every worker left or is stopping: one more joins. */
        if (env->w[0] != NULL) {
            s_leave_worker(env, 0);
        }
        s_model_join(env, 0);
        s_mturn(env, mo);
    }
    for (int round = 0; round < 10000; round++) {
        int any = 0;
        for (int w = 0; w < 3; w++) {
            any |= s_answer_all(env, w);
        }
        s_mturn(env, mo);
        if (!any) {
            break;
        }
    }
    dvi_core_stats st;
    dvi_core_stats_get(env->core, &st);
    DVT_EQ_I64(st.states[DVI_TASK_PROCESSING], 0);
    DVT_EQ_I64(st.states[DVI_TASK_QUEUED], 0);
    DVT_EQ_I64(st.states[DVI_TASK_WAITING], 0);
    for (int ci = 0; ci < 2; ci++) {
        for (int k = 0; k < NKEYS + 8; k++) {
            if (mo->held[ci][k] && !mo->told[ci][k]) {
                char key[64];
                s_mkey(key, sizeof(key), k);
                DVT_FAIL("client %d never heard of %s (state %d)", ci, key,
                         s_state(env, key));
            }
        }
    }
}

/* A client submits t_k with inputs t_{k/2} and t_{k/3} (known ones). */
static void
s_model_submit(s_env *env, s_model *mo, int ci, int k, uint64_t *rng)
{
    char key[64], d1[64], d2[64], pin[8];
    while (k > 2) {
        s_mkey(d1, sizeof(d1), k / 2);
        s_mkey(d2, sizeof(d2), k / 3);
        if (!dvi_core_task(env->core, d1)) {
            k = k / 2;
        } else if (!dvi_core_task(env->core, d2)) {
            k = k / 3;
        } else {
            break;
        }
    }
    if (mo->held[ci][k]) {
        return;
    }
    s_mkey(key, sizeof(key), k);
    s_mkey(d1, sizeof(d1), k / 2);
    s_mkey(d2, sizeof(d2), k / 3);
    mo->held[ci][k] = 1;
    mo->told[ci][k] = 0;
    snprintf(pin, sizeof(pin), "w%d", (int)(dvt_rand(rng) % 3));
    static const char args[] = {(char)0x90};
    dvi_msg_submit m = {.key = key, .fn = "f"};
    m.args = (dvi_bytes){args, 1, NULL};
    m.worker = dvi_bytes_of(k % 5 == 0 ? pin : NULL);
    m.resources = dvi_bytes_of(k % 4 == 1 ? "GPU=1" : NULL);
    s_submit_msg(env, ci, &m, k > 2 ? DEPS(d1, d2) : NULL);
}

static void
s_model_step(s_env *env, s_model *mo, uint64_t *rng)
{
    int op = (int)(dvt_rand(rng) % 16);
    int k = (int)(dvt_rand(rng) % NKEYS);
    int ci = (int)(dvt_rand(rng) % 2);
    int sk = NKEYS + (int)(dvt_rand(rng) % 8);
    char key[64], name[16];
    s_mkey(key, sizeof(key), k);
    snprintf(name, sizeof(name), "n%d", k % 4);
    if (op <= 2) {
        s_model_submit(env, mo, ci, k, rng);
    } else if (op == 3 && !mo->held[ci][sk]) {
        mo->held[ci][sk] = 1;
        mo->told[ci][sk] = 0;
        snprintf(name, sizeof(name), "s%d", sk - NKEYS);
        if (sk - NKEYS < 4) {
            s_scatter(env, ci, name);
        } else {
            s_broadcast(env, ci, name, key, sizeof(key));
        }
    } else if ((op == 4 || op == 5) && mo->held[ci][op == 5 ? sk : k]) {
        s_mkey(key, sizeof(key), op == 5 ? sk : k);
        mo->held[ci][op == 5 ? sk : k] = 0;
        dvi_core_release(env->core, env->cl[ci], key);
    } else if (op == 6 && mo->held[ci][k] && !mo->told[ci][k]) {
        mo->told[ci][k] = 1; /* the canceller marks its future itself */
        dvi_core_cancel(env->core, env->cl[ci], key);
    } else if (op == 7 && dvt_rand(rng) % 6 == 0) {
        int wi = (int)(dvt_rand(rng) % 3);
        if (env->w[wi] && !env->w[wi]->retiring && dvt_rand(rng) % 3 == 0) {
            s_retire(env, wi);
        } else if (env->w[wi]) {
            s_leave_worker(env, wi);
        } else {
            s_model_join(env, wi);
        }
    } else if (op == 8) {
        s_answer(env, key, 5);
    } else if (op == 9) {
        dvi_msg_publish pub = {.req = 1, .key = key};
        pub.name = dvi_bytes_of(name);
        pub.owner = (dvi_bytes){ci ? S_SECRET_B : S_SECRET_A, 16, NULL};
        dvi_core_publish(env->core, env->cl[ci], &pub);
    } else if (op == 10) {
        dvi_msg_unpublish un = {.req = 2};
        un.name = dvi_bytes_of(name);
        un.owner = (dvi_bytes){ci ? S_SECRET_B : S_SECRET_A, 16, NULL};
        dvi_core_unpublish(env->core, env->cl[ci], &un);
    } else if (op >= 11) {
        s_answer(env, key, 4);
    }
}

/* Random events — submissions with inputs, pins and resources, scatters,
 * broadcasts, releases, cancels, workers stopping, leaving and joining,
 * failures, names — keep every invariant, and whenever everything is run to the
 * end, every future a client holds has been answered. */
static void
test_random_model_every_future_answered(void **state)
{
    for (uint64_t seed = 1; seed <= 40; seed++) {
        uint64_t rng = 0x9e3779b97f4a7c15ull * seed;
        s_env *env = s_env_new(3);
        for (int wi = 0; wi < 3; wi++) {
            s_declare(env, wi, "GPU=1");
        }
        s_model mo;
        memset(&mo, 0, sizeof(mo));
        for (int round = 0; round < 400; round++) {
            s_model_step(env, &mo, &rng);
            s_mturn(env, &mo);
            if (round % 100 == 99) {
                s_quiesce(env, &mo);
            }
        }
        s_quiesce(env, &mo);
        s_env_free(env);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_task_through_its_states),
        cmocka_unit_test(test_roots_spread_over_workers),
        cmocka_unit_test(test_stencil_keeps_columns),
        cmocka_unit_test(test_roots_in_blocks),
        cmocka_unit_test(test_idle_worker_takes_from_other_block),
        cmocka_unit_test(test_priority_passes_blocks),
        cmocka_unit_test(test_lost_worker_block_goes_back),
        cmocka_unit_test(test_large_input_keeps_its_task),
        cmocka_unit_test(test_full_holder_alone_gets_no_more),
        cmocka_unit_test(test_dependent_follows_its_input),
        cmocka_unit_test(test_chain_sent_ahead),
        cmocka_unit_test(test_chain_goes_ahead_as_room_frees),
        cmocka_unit_test(test_inputs_on_two_workers_sent_ahead),
        cmocka_unit_test(test_computing_inputs_weigh_as_results),
        cmocka_unit_test(test_pinned_compute_says_so),
        cmocka_unit_test(test_lineage_kept_and_recomputed),
        cmocka_unit_test(test_released_input_recomputed_for_new_dependent),
        cmocka_unit_test(test_failure_reaches_dependents),
        cmocka_unit_test(test_retries_and_unknown_input),
        cmocka_unit_test(test_every_error_has_a_text),
        cmocka_unit_test(test_cancel_is_quiet_to_the_canceller),
        cmocka_unit_test(test_cancel_spares_other_clients),
        cmocka_unit_test(test_lost_worker_reruns_then_kills),
        cmocka_unit_test(test_lost_result_is_computed_again),
        cmocka_unit_test(test_lost_chain_computed_again_recursively),
        cmocka_unit_test(test_lost_input_reported_by_a_worker),
        cmocka_unit_test(test_lost_result_reported_by_a_client),
        cmocka_unit_test(test_queued_task_waits_for_a_lost_input),
        cmocka_unit_test(test_scatter_kept_on_two_workers),
        cmocka_unit_test(test_broadcast_reaches_every_worker),
        cmocka_unit_test(test_broadcast_outlives_its_workers),
        cmocka_unit_test(test_resources_decide_where_and_when),
        cmocka_unit_test(test_idle_worker_steals_queued_work),
        cmocka_unit_test(test_stolen_ahead_waits_for_its_input),
        cmocka_unit_test(test_paused_worker_gets_nothing_new),
        cmocka_unit_test(test_pinned_tasks),
        cmocka_unit_test(test_client_leaving_releases_its_work),
        cmocka_unit_test(test_result_stays_where_made),
        cmocka_unit_test(test_function_counters),
        cmocka_unit_test(test_forged_keys_refused),
        cmocka_unit_test(test_forged_scatter_and_library_refused),
        cmocka_unit_test(test_publish_outlives_client),
        cmocka_unit_test(test_publish_only_by_its_publisher),
        cmocka_unit_test(test_retiring_worker_moves_its_work),
        cmocka_unit_test(test_retiring_is_no_death),
        cmocka_unit_test(test_random_events_keep_invariants),
        cmocka_unit_test(test_revived_input_stays_lineage),
        cmocka_unit_test(test_lost_result_runs_again_when_submitted),
        cmocka_unit_test(test_cancel_does_not_poison_the_key),
        cmocka_unit_test(test_scatter_again_after_cancel),
        cmocka_unit_test(test_upload_waits_for_present_workers),
        cmocka_unit_test(test_random_model_every_future_answered),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
