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
#include "scheduler/core_impl.h"

#define MAXMSGS 256

/* A message read back from an outbox. */
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
    s_msg msgs[MAXMSGS];
    int n;
} s_box;

typedef struct s_env {
    dvi_core *core;
    s_box wbox[3], cbox[2];
    dvi_sworker *w[3];
    dvi_sclient *cl[2];
} s_env;

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

static int
s_state_ok(dvi_core *c, dvi_task *t)
{
    if (t->state == DVI_TASK_PROCESSING && t->where) {
        DVT_TRUE(dvi_pset_has(&t->where->running, t));
    }
    if (t->state == DVI_TASK_MEMORY) {
        DVT_TRUE(t->nwho > 0);
    } else {
        DVT_EQ_I64(t->nwho, 0);
    }
    for (uint32_t i = 0; i < t->nwho; i++) {
        DVT_TRUE(dvi_pset_has(&dvi_task_holder(t, i)->held, t));
    }
    DVT_EQ_I64(t->state == DVI_TASK_QUEUED, t->heap_index != DVI_NO_INDEX);
    (void)c;
    return 1;
}

/* The counts and indices agree with the graph. */
static void
s_check(dvi_core *c)
{
    dvi_map_entry *e;
    uint64_t states[DVI_TASK_NSTATES] = {0};
    for (size_t i = 0; dvi_map_next(&c->tasks, &i, &e);) {
        dvi_task *t = e->val;
        DVT_TRUE(t->state > 0 && t->state < DVI_TASK_FORGOTTEN);
        states[t->state]++;
        if (t->state == DVI_TASK_PROCESSING) {
            DVT_TRUE(t->where != NULL);
        }
        s_state_ok(c, t);
        uint32_t waiters = 0, lineage = 0;
        dvi_map_entry *e2;
        for (size_t j = 0; dvi_map_next(&c->tasks, &j, &e2);) {
            dvi_task *d = e2->val;
            dvi_task **deps = dvi_task_deps(d);
            for (uint32_t k = 0; k < d->ndeps; k++) {
                if (deps[k] == t) {
                    lineage++;
                    waiters += dvi_task_is_live(d);
                }
            }
        }
        DVT_EQ_I64(t->nlineage, lineage);
        DVT_EQ_I64(t->nwaiters, waiters);
        uint32_t wants = 0;
        for (size_t k = 0; k < c->nclients; k++) {
            wants += dvi_pset_has(&c->clients[k]->wants, t);
        }
        DVT_TRUE(t->nwants >= wants);
    }
    for (int s = 1; s < DVI_TASK_FORGOTTEN; s++) {
        DVT_EQ_I64(c->stats.states[s], states[s]);
    }
    uint64_t running = 0, held = 0, holders = 0;
    for (size_t i = 0; i < c->nworkers; i++) {
        running += c->workers[i]->running.len;
        held += c->workers[i]->held.len;
    }
    for (size_t i = 0; dvi_map_next(&c->tasks, &i, &e);) {
        holders += ((dvi_task *)e->val)->nwho;
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
    for (int i = 0; i < 2; i++) {
        dvi_outbox_init(&env->cbox[i].out, NULL, NULL);
        env->cl[i] = dvi_core_client_join(env->core, &env->cbox[i].out);
    }
    for (int i = 0; i < nworkers; i++) {
        char id[16], addr[32];
        snprintf(id, sizeof(id), "w%d", i);
        snprintf(addr, sizeof(addr), "inproc://w%d", i);
        dvi_outbox_init(&env->wbox[i].out, NULL, NULL);
        env->w[i] =
            dvi_core_worker_join(env->core, id, addr, 1, &env->wbox[i].out);
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
static void
s_submit_pinned(s_env *env, int ci, const char *key, const char *pin,
                const char *const *deps)
{
    dvi_outbox o;
    dvi_outbox_init(&o, NULL, NULL);
    dvi_msg_submit m = {.key = key, .fn = "f", .priority = 0};
    static const char args[] = {(char)0x90}; /* an empty list */
    m.args = (dvi_bytes){args, 1, NULL};
    m.worker = dvi_bytes_of(pin);
    msgpack_packer *pk = dvi_msg_submit_pack(&o, &m);
    size_t n = 0;
    while (deps && deps[n]) {
        n++;
    }
    msgpack_pack_array(pk, n);
    for (size_t i = 0; i < n; i++) {
        dvi_pack_str(pk, deps[i]);
    }
    dvi_outbox_frame fr;
    DVT_PASS(dvi_outbox_take(&o, &fr));
    s_sub s = {env, env->cl[ci]};
    DVT_PASS(dvi_msg_each(fr.buf + 4, fr.len - 4, s_feed, &s));
    dvi_outbox_frame_fini(&fr);
    dvi_outbox_fini(&o);
}

#define DEPS(...) ((const char *const[]){__VA_ARGS__, NULL})

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
    dvi_core_done(env->core, env->w[wi], &m);
}

static void
s_failed(s_env *env, int wi, const char *key, int blame, const char *text)
{
    dvi_msg_failed m = {.key = key, .blame = (uint64_t)blame};
    m.text = dvi_bytes_of(text);
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
    s_submit(env, 1, "b", DEPS("a"));
    s_turn(env);
    dvi_core_cancel(env->core, env->cl[0], "a");
    s_turn(env);
    DVT_EQ_I64(s_state(env, "a"), DVI_TASK_CANCELLED);
    DVT_EQ_I64(s_count(&env->cbox[0], DVI_MSG_ERRED, "a"), 0);
    const s_msg *e = s_find(&env->cbox[1], DVI_MSG_ERRED, "b");
    DVT_EQ_I64(e->num, DV_CANCELLED);
    /* It was running: the worker drops its result when it ends. */
    DVT_EQ_I64(s_count(&env->wbox[0], DVI_MSG_FREE, "a"), 1);
    s_done(env, 0, "a", 1); /* late */
    s_turn(env);
    DVT_EQ_I64(s_count(&env->cbox[0], DVI_MSG_FINISHED, NULL), 0);
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
test_lost_worker_loses_only_its_results(void **state)
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
    DVT_EQ_I64(s_state(env, "b"), DVI_TASK_MEMORY);
    DVT_EQ_I64(s_state(env, "a"), DVI_TASK_ERRED);
    DVT_CONTAINS(s_find(&env->cbox[0], DVI_MSG_ERRED, "a")->text,
                 "result lost");
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
    const uint64_t *st = dvi_core_fn_states(env->core, "f");
    DVT_TRUE(st != NULL);
    DVT_EQ_I64(st[DVI_TASK_MEMORY], 1);
    DVT_EQ_I64(st[DVI_TASK_PROCESSING], 1);
    DVT_TRUE(dvi_core_fn_states(env->core, "g") == NULL);
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
    dvi_msg_unpublish un = {.req = 9};
    un.name = dvi_bytes_of("answer");
    dvi_core_unpublish(env->core, env->cl[1], &un);
    dvi_core_release(env->core, env->cl[1], "a");
    s_turn(env);
    DVT_EQ_I64(s_state(env, "a"), DVI_TASK_FORGOTTEN);
    s_env_free(env);
}

/* A worker leaves and another takes its place and outbox. */
static void
s_replace_worker(s_env *env, int wi)
{
    char id[16], addr[32];
    dvi_core_worker_leave(env->core, env->w[wi], "replaced");
    snprintf(id, sizeof(id), "w%d", wi);
    snprintf(addr, sizeof(addr), "inproc://w%d", wi);
    env->w[wi] =
        dvi_core_worker_join(env->core, id, addr, 1, &env->wbox[wi].out);
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

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_task_through_its_states),
        cmocka_unit_test(test_roots_spread_over_workers),
        cmocka_unit_test(test_dependent_follows_its_input),
        cmocka_unit_test(test_chain_sent_ahead),
        cmocka_unit_test(test_lineage_kept_and_recomputed),
        cmocka_unit_test(test_released_input_recomputed_for_new_dependent),
        cmocka_unit_test(test_failure_reaches_dependents),
        cmocka_unit_test(test_retries_and_unknown_input),
        cmocka_unit_test(test_cancel_is_quiet_to_the_canceller),
        cmocka_unit_test(test_lost_worker_reruns_then_kills),
        cmocka_unit_test(test_lost_worker_loses_only_its_results),
        cmocka_unit_test(test_pinned_tasks),
        cmocka_unit_test(test_client_leaving_releases_its_work),
        cmocka_unit_test(test_result_stays_where_made),
        cmocka_unit_test(test_function_counters),
        cmocka_unit_test(test_publish_outlives_client),
        cmocka_unit_test(test_random_events_keep_invariants),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
