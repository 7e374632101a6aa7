/* drove — unit: dvi_durable, what a scheduler with --state saves, between
 * its core and the state file, driven without sockets.
 *
 * A core on a runtime's loop, with --state on a temporary file: a client
 * publishes a task computed from two others and a large result; the
 * PUBLISH is answered only once the change is on disk; another client
 * cannot unpublish. A second core started on the same file holds the
 * names again (their tasks released records, the counts that keep them
 * right), answers a lookup of the small result with its value without
 * any worker, and computes the large one again when asked, on the first
 * worker that joins. The owner's secret still removes its name, and the
 * rows only that name needed leave the file with it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/runtime.h"
#include "dvtest.h"
#include "scheduler/core_impl.h"
#include "scheduler/durable.h"

#define S_SECRET_A "secret-of-A-0123"
#define S_SECRET_B "secret-of-B-4567"

static char s_dir[64];

/* A message read back from an outbox. */
typedef struct s_msg {
    int type;
    char key[DVI_MAX_KEY + 1]; /* the first field, if a string */
    int64_t status;            /* REPLY */
    int has_value;             /* FINISHED */
} s_msg;

typedef struct s_box {
    dvi_outbox out;
    s_msg msgs[64];
    int n;
} s_box;

/* A scheduler core with --state, two clients and maybe a worker. */
typedef struct s_sched {
    dvi_runtime *rt;
    dvi_core *core;
    s_box cbox[2], wbox;
    dvi_sclient *cl[2];
    dvi_sworker *w;
} s_sched;

static int
s_record(void *ctx, int type, const msgpack_object *f, uint32_t n)
{
    s_box *b = ctx;
    DVT_TRUE(b->n < 64);
    s_msg *m = &b->msgs[b->n++];
    memset(m, 0, sizeof(*m));
    m->type = type;
    if (n > 0 && f[0].type == MSGPACK_OBJECT_STR) {
        dvi_msg_str(&f[0], m->key, sizeof(m->key));
    }
    if (type == DVI_MSG_REPLY) {
        dvi_msg_reply r;
        DVT_PASS(dvi_msg_reply_read(f, n, &r));
        m->status = r.status;
        snprintf(m->key, sizeof(m->key), "%.*s", (int)r.text.n,
                 r.text.p ? r.text.p : "");
    } else if (type == DVI_MSG_FINISHED) {
        dvi_msg_finished r;
        DVT_PASS(dvi_msg_finished_read(f, n, &r));
        m->has_value = r.value.p != NULL;
    }
    return 0;
}

/* Moves what the core put in the box's outbox to its list (kept). */
static void
s_drain(s_box *b)
{
    dvi_outbox_frame fr;
    if (dvi_outbox_take(&b->out, &fr) < 0) {
        return;
    }
    dvi_outbox_frame_flatten(&fr);
    DVT_PASS(dvi_msg_each(fr.buf + 4, fr.len - 4, s_record, b));
    dvi_outbox_frame_fini(&fr);
}

static const s_msg *
s_find(s_box *b, int type, const char *key)
{
    s_drain(b);
    for (int i = 0; i < b->n; i++) {
        if (b->msgs[i].type == type &&
            (key == NULL || strcmp(b->msgs[i].key, key) == 0)) {
            return &b->msgs[i];
        }
    }
    return NULL;
}

/* Runs the loop until the client's box holds a REPLY; returns it. */
static const s_msg *
s_reply(s_sched *s, int ci)
{
    double deadline = dvt_now() + 10.0;
    const s_msg *m;
    while ((m = s_find(&s->cbox[ci], DVI_MSG_REPLY, NULL)) == NULL &&
           dvt_now() < deadline) {
        uv_run(dvi_runtime_loop(s->rt), UV_RUN_NOWAIT);
        usleep(500);
    }
    DVT_TRUE(m != NULL);
    return m;
}

static void
s_worker_join(s_sched *s)
{
    dvi_outbox_init(&s->wbox.out, NULL, NULL);
    s->w =
        dvi_core_worker_join(s->core, "w0", "inproc://w0", 1, &s->wbox.out, 0);
    dvi_core_turn(s->core);
}

static void
s_up(s_sched *s, const char *path, int worker)
{
    memset(s, 0, sizeof(*s));
    s->rt = DVT_NOTNULL(dvi_runtime_new());
    dvi_durable *d = DVT_NOTNULL(dvi_durable_open(path));
    s->core = dvi_core_new();
    dvi_durable_start(d, s->core, dvi_runtime_loop(s->rt), NULL);
    for (int i = 0; i < 2; i++) {
        dvi_outbox_init(&s->cbox[i].out, NULL, NULL);
        s->cl[i] = dvi_core_client_join(s->core, &s->cbox[i].out, 0);
    }
    if (worker) {
        s_worker_join(s);
    }
    dvi_core_turn(s->core);
}

static void
s_down(s_sched *s, int worker)
{
    dvi_durable_destroy(&s->core->durable); /* writes what is queued */
    dvi_core_destroy(&s->core);
    for (int i = 0; i < 2; i++) {
        dvi_outbox_fini(&s->cbox[i].out);
    }
    if (worker) {
        dvi_outbox_fini(&s->wbox.out);
    }
    dvi_runtime_destroy(&s->rt);
}

/* ---- Events ------------------------------------------------------------- */

typedef struct s_sub {
    s_sched *s;
    int ci;
} s_sub;

static int
s_feed(void *ctx, int type, const msgpack_object *f, uint32_t n)
{
    s_sub *sub = ctx;
    dvi_msg_submit m;
    DVT_PASS(dvi_msg_submit_read(f, n, &m));
    return dvi_core_submit(sub->s->core, sub->s->cl[sub->ci], &m);
}

/* Client ci submits f as key with inputs deps (NULL-ended), through the
 * reader a session uses. */
static void
s_submit(s_sched *s, int ci, const char *key, const char *const *deps)
{
    static const char args[] = {(char)0x91, 0x01}; /* [1] */
    dvi_msg_submit m = {.key = key, .fn = "f"};
    m.args = (dvi_bytes){args, sizeof(args), NULL};
    dvi_outbox o;
    dvi_outbox_init(&o, NULL, NULL);
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
    s_sub sub = {s, ci};
    DVT_PASS(dvi_msg_each(fr.buf + 4, fr.len - 4, s_feed, &sub));
    dvi_outbox_frame_fini(&fr);
    dvi_outbox_fini(&o);
    dvi_core_turn(s->core);
}

/* The worker finishes key: a small result (inline) or a large one. */
static void
s_done(s_sched *s, const char *key, uint64_t nbytes)
{
    static const char v = 0x2a; /* 42 */
    dvi_msg_done m = {.key = key, .nbytes = nbytes, .us = 10};
    if (nbytes == 1) {
        m.value = (dvi_bytes){&v, 1, NULL};
    }
    dvi_core_done(s->core, s->w, &m);
    dvi_core_turn(s->core);
}

static void
s_publish(s_sched *s, int ci, const char *name, const char *key,
          const char *secret)
{
    dvi_msg_publish m = {.req = 7, .key = key};
    m.name = dvi_bytes_of(name);
    m.owner = dvi_bytes_of(secret);
    dvi_core_publish(s->core, s->cl[ci], &m);
    dvi_core_turn(s->core);
}

static void
s_unpublish(s_sched *s, int ci, const char *name, const char *secret)
{
    dvi_msg_unpublish m = {.req = 8};
    m.name = dvi_bytes_of(name);
    m.owner = dvi_bytes_of(secret);
    dvi_core_unpublish(s->core, s->cl[ci], &m);
    dvi_core_turn(s->core);
}

static void
s_lookup(s_sched *s, int ci, const char *name)
{
    dvi_msg_lookup m = {.req = 9};
    m.name = dvi_bytes_of(name);
    dvi_core_lookup(s->core, s->cl[ci], &m);
    dvi_core_turn(s->core);
}

/* Each task's lineage count is the number of tasks that list it. */
static void
s_check_lineage(dvi_core *c)
{
    dvi_map_entry *e, *f;
    for (size_t i = 0; dvi_map_next(&c->tasks, &i, &e);) {
        dvi_task *t = e->val;
        uint32_t n = 0;
        for (size_t j = 0; dvi_map_next(&c->tasks, &j, &f);) {
            dvi_task *d = f->val;
            for (uint32_t k = 0; k < d->ndeps; k++) {
                n += dvi_task_deps(d)[k] == t;
            }
        }
        DVT_EQ_I64(t->nlineage, n);
        if (t->state == DVI_TASK_RELEASED) {
            DVT_TRUE(t->nlineage > 0 || t->nwants > 0);
        }
    }
}

/* ---- The test ----------------------------------------------------------- */

static void
s_first_life(const char *path)
{
    s_sched s;
    s_up(&s, path, 1);
    s_submit(&s, 0, "a", NULL);
    s_done(&s, "a", 1);
    s_submit(&s, 0, "b", (const char *const[]){"a", NULL});
    s_done(&s, "b", 1);
    s_submit(&s, 0, "c", (const char *const[]){"a", "b", NULL});
    s_submit(&s, 0, "z", NULL);
    s_done(&s, "z", 100000);
    s_publish(&s, 0, "sum", "c", S_SECRET_A);
    /* Not before it is on disk. */
    DVT_TRUE(s_find(&s.cbox[0], DVI_MSG_REPLY, NULL) == NULL);
    DVT_EQ_I64(s_reply(&s, 0)->status, 0);
    s_done(&s, "c", 1); /* after publishing: the value from DONE */
    s.cbox[0].n = 0;
    s_publish(&s, 0, "big", "z", S_SECRET_A);
    DVT_EQ_I64(s_reply(&s, 0)->status, 0);
    s_unpublish(&s, 1, "sum", S_SECRET_B);
    DVT_EQ_I64(s_find(&s.cbox[1], DVI_MSG_REPLY, NULL)->status, DV_EPERM);
    s_down(&s, 1);
}

static void
test_publish_restart_unpublish(void **state)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/state.db", s_dir);
    s_first_life(path);

    s_sched s;
    s_up(&s, path, 0);
    const dvi_task *c = DVT_NOTNULL(dvi_core_task(s.core, "c"));
    DVT_EQ_I64(c->state, DVI_TASK_RELEASED);
    DVT_EQ_I64(c->nwants, 1);
    DVT_EQ_I64(dvi_core_task(s.core, "a")->nlineage, 2);
    dvi_core_stats st;
    dvi_core_stats_get(s.core, &st);
    DVT_EQ_I64(st.states[DVI_TASK_RELEASED], 4);
    s_check_lineage(s.core);

    s_lookup(&s, 1, "sum"); /* no worker: the value from the file */
    DVT_TRUE(s_find(&s.cbox[1], DVI_MSG_REPLY, "c") != NULL);
    DVT_TRUE(s_find(&s.cbox[1], DVI_MSG_FINISHED, "c")->has_value);
    s_lookup(&s, 1, "big"); /* computed again, when a worker joins */
    DVT_EQ_I64(dvi_core_task(s.core, "z")->state, DVI_TASK_QUEUED);
    s_worker_join(&s);
    DVT_TRUE(s_find(&s.wbox, DVI_MSG_COMPUTE, "z") != NULL);
    s_check_lineage(s.core);

    s.cbox[1].n = 0;
    s_unpublish(&s, 1, "sum", S_SECRET_A); /* the publisher's secret */
    DVT_EQ_I64(s_reply(&s, 1)->status, 0);
    s_down(&s, 1);

    /* Only "big" is left, and only its task. */
    s_up(&s, path, 0);
    dvi_core_stats_get(s.core, &st);
    DVT_EQ_I64(st.tasks, 1);
    DVT_TRUE(dvi_core_task(s.core, "z") != NULL);
    s_down(&s, 0);
}

int
main(void)
{
    snprintf(s_dir, sizeof(s_dir), "/tmp/dvt-durable-XXXXXX");
    if (mkdtemp(s_dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_publish_restart_unpublish),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s_dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "durable_test: could not remove %s\n", s_dir);
    }
    return failed;
}
