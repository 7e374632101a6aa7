/* drove — unit: dvi_state, the scheduler's state file (--state).
 *
 * What a restarted scheduler relies on: what was applied comes back from
 * a reopened file — names with their owner hash, tasks with their
 * arguments, inputs (in order), flags, small results and errors,
 * libraries — with every task after its inputs; rows no name needs are
 * dropped (from the file too), and so are deleted ones. And what it must
 * never trust: a file that is not SQLite, another program's database,
 * another version, a second opener while one holds it, and every kind of
 * bad row — a key too long or holding a zero byte, a column of the wrong
 * type, unknown flags, malformed arguments, a derived key that is not its
 * call's, an input or a name's task that is missing, a cycle, an owner
 * of the wrong size, a value too large or not msgpack, a library whose
 * hash is not its content's — is refused with DV_EINVAL (DV_EVERSION,
 * DV_EIO) and a reason naming the file and the row.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "dvtest.h"
#include "proto/callkey.h"
#include "proto/msg.h"
#include "scheduler/state.h"
#include <sqlite3.h>

static char s_dir[64];
static int s_nfiles;

/* A fresh path in the test's directory. */
static const char *
s_path(char *buf, size_t size)
{
    snprintf(buf, size, "%s/state%d.db", s_dir, s_nfiles++);
    return buf;
}

static void
s_sql(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    DVT_EQ_I64(sqlite3_open(path, &db), SQLITE_OK);
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        DVT_FAIL("%s: %s", sql, err);
    }
    sqlite3_close(db);
}

/* ---- Building rows ------------------------------------------------------ */

static const char s_args[] = "\x92\x01\xc7\x08\x0a\x00\x00\x00\x00\xff\xff\xff"
                             "\xff"; /* [1, a future] */
#define S_ARGS_LEN (sizeof(s_args) - 1)
static const char s_lib_bytes[] = "\x7f"
                                  "ELF, or so it says";

/* A pure call of fn on s_args with inputs deps, its key derived as the
 * scheduler derives it, into op (its kind set). */
static void
s_call(dvi_state_op *op, const char *fn, const char *code, const char **deps,
       uint32_t ndeps)
{
    dvi_state_task *t = &op->task;
    dvi_callkey k;
    unsigned char h[DVI_CALLKEY_BYTES];
    char key[DVI_MAX_KEY + 1];
    dvi_callkey_begin(&k, fn, strlen(fn), code, strlen(code), DVI_CALLKEY_CALL,
                      s_args, S_ARGS_LEN);
    for (uint32_t i = 0; i < ndeps; i++) {
        dvi_callkey_dep(&k, deps[i], strlen(deps[i]));
    }
    dvi_callkey_end(&k, h);
    dvi_callkey_format(key, sizeof(key), fn, strlen(fn), h);
    t->key = dvi_strdup(key);
    t->fn = dvi_strdup(fn);
    t->code = dvi_strdup(code);
    t->args = dvi_blob_copy(s_args, S_ARGS_LEN);
    t->ndeps = ndeps;
    t->deps = ndeps ? calloc(ndeps, sizeof(char *)) : NULL;
    for (uint32_t i = 0; i < ndeps; i++) {
        t->deps[i] = dvi_strdup(deps[i]);
    }
    t->retries = 2;
    t->priority = -7;
}

static void
s_name(dvi_state_batch *b, const char *name, const char *key, int owner)
{
    dvi_state_op *op = dvi_state_batch_add(b, DVI_STATE_PUT_NAME);
    op->name.name = dvi_strdup(name);
    op->name.key = dvi_strdup(key);
    memset(op->name.owner, owner, sizeof(op->name.owner));
}

/* The keys of the good file's tasks. */
typedef struct s_keys {
    char lib[80], a[DVI_MAX_KEY + 1], b[DVI_MAX_KEY + 1], sum[DVI_MAX_KEY + 1];
    char orphan[DVI_MAX_KEY + 1];
} s_keys;

/* A good file: a library; a and b (inputs of sum); sum published as
 * "sum" with a value; a published as "a"; an orphan nobody needs. */
static void
s_good_file(const char *path, s_keys *k)
{
    dvi_state *s = DVT_NOTNULL(dvi_state_open(path));
    dvi_state_batch b = {0};
    dvi_callkey_library(k->lib, sizeof(k->lib), s_lib_bytes,
                        sizeof(s_lib_bytes) - 1);
    dvi_state_op *op = dvi_state_batch_add(&b, DVI_STATE_PUT_LIB);
    op->lib.hash = dvi_strdup(k->lib);
    op->lib.name = dvi_strdup("libfns.so");
    op->lib.bytes = dvi_blob_copy(s_lib_bytes, sizeof(s_lib_bytes) - 1);

    s_call(dvi_state_batch_add(&b, DVI_STATE_PUT_TASK), "inc", k->lib, NULL, 0);
    snprintf(k->a, sizeof(k->a), "%s", b.v[b.n - 1].task.key);
    s_call(dvi_state_batch_add(&b, DVI_STATE_PUT_TASK), "dec", "", NULL, 0);
    snprintf(k->b, sizeof(k->b), "%s", b.v[b.n - 1].task.key);
    const char *deps[3] = {k->a, k->b, k->a};
    /* The dependent first: the file keeps no order of its own. */
    s_call(dvi_state_batch_add(&b, DVI_STATE_PUT_TASK), "add", "", deps, 3);
    snprintf(k->sum, sizeof(k->sum), "%s", b.v[b.n - 1].task.key);
    s_call(dvi_state_batch_add(&b, DVI_STATE_PUT_TASK), "lonely", "", NULL, 0);
    snprintf(k->orphan, sizeof(k->orphan), "%s", b.v[b.n - 1].task.key);
    op = dvi_state_batch_add(&b, DVI_STATE_PUT_VALUE);
    op->task.key = dvi_strdup(k->sum);
    op->task.nbytes = 1;
    op->task.value = dvi_blob_copy("\x2a", 1);
    s_name(&b, "sum", k->sum, 0xab);
    s_name(&b, "a", k->a, 0xcd);
    DVT_PASS(dvi_state_apply(s, &b));
    dvi_state_batch_fini(&b);
    dvi_state_close(&s);
}

static const dvi_state_task *
s_find(const dvi_state_image *img, const char *key, size_t *at)
{
    for (size_t i = 0; i < img->ntasks; i++) {
        if (strcmp(img->tasks[i].key, key) == 0) {
            *at = i;
            return &img->tasks[i];
        }
    }
    DVT_FAIL("no task %s among %zu", key, img->ntasks);
    return NULL;
}

/* ---- What comes back ---------------------------------------------------- */

static void
test_roundtrip(void **state)
{
    char path[128];
    s_keys k;
    s_good_file(s_path(path, sizeof(path)), &k);
    dvi_state *s = DVT_NOTNULL(dvi_state_open(path));
    dvi_state_image img;
    DVT_PASS(dvi_state_load(s, &img));
    DVT_EQ_I64(img.nnames, 2);
    DVT_EQ_I64(img.ntasks, 3);
    DVT_EQ_I64(img.nlibs, 1);
    DVT_EQ_I64(img.dropped, 1);      /* the orphan */
    size_t ia = 0, ib = 0, isum = 0; /* (-O3 cannot see s_find fail the test) */
    const dvi_state_task *a = s_find(&img, k.a, &ia);
    const dvi_state_task *sum = s_find(&img, k.sum, &isum);
    s_find(&img, k.b, &ib);
    DVT_TRUE(ia < isum && ib < isum); /* inputs first */
    DVT_EQ_STR(a->code, k.lib);
    DVT_EQ_I64(sum->ndeps, 3);
    DVT_EQ_STR(sum->deps[0], k.a);
    DVT_EQ_STR(sum->deps[1], k.b);
    DVT_EQ_STR(sum->deps[2], k.a);
    DVT_EQ_I64(sum->args->len, S_ARGS_LEN);
    DVT_TRUE(memcmp(sum->args->data, s_args, S_ARGS_LEN) == 0);
    DVT_EQ_I64(sum->retries, 2);
    DVT_EQ_I64(sum->priority, -7);
    DVT_TRUE(sum->value != NULL && sum->value->len == 1);
    DVT_EQ_I64(sum->nbytes, 1);
    DVT_TRUE(a->value == NULL);
    DVT_TRUE(sum->call != 0);
    for (size_t i = 0; i < img.nnames; i++) {
        int is_sum = strcmp(img.names[i].name, "sum") == 0;
        DVT_EQ_STR(img.names[i].key, is_sum ? k.sum : k.a);
        DVT_EQ_I64(img.names[i].owner[15], is_sum ? 0xab : 0xcd);
    }
    DVT_EQ_STR(img.libs[0].name, "libfns.so");
    dvi_state_image_fini(&img);

    /* The orphan left the file; a name and what only it needed go. */
    dvi_state_batch b = {0};
    dvi_state_batch_add(&b, DVI_STATE_DEL_NAME)->name.name = dvi_strdup("a");
    DVT_PASS(dvi_state_apply(s, &b));
    dvi_state_batch_fini(&b);
    dvi_state_close(&s);
    s = DVT_NOTNULL(dvi_state_open(path));
    DVT_PASS(dvi_state_load(s, &img));
    DVT_EQ_I64(img.dropped, 0);
    DVT_EQ_I64(img.nnames, 1);
    DVT_EQ_I64(img.ntasks, 3); /* a is still an input of sum */
    dvi_state_image_fini(&img);
    dvi_state_close(&s);
}

static void
test_fresh_and_empty_files(void **state)
{
    char path[128];
    s_path(path, sizeof(path));
    FILE *f = fopen(path, "w"); /* empty: taken as new */
    fclose(f);
    dvi_state *s = DVT_NOTNULL(dvi_state_open(path));
    DVT_EQ_STR(dvi_state_path(s), path);
    dvi_state_image img;
    DVT_PASS(dvi_state_load(s, &img));
    DVT_EQ_I64(img.ntasks + img.nnames + img.nlibs, 0);
    dvi_state_image_fini(&img);
    /* Held: a second scheduler is refused. */
    DVT_TRUE(dvi_state_open(path) == NULL);
    DVT_EQ_I64(dvi_last_code(), DV_EIO);
    DVT_CONTAINS(dv_last_error(), "in use");
    dvi_state_close(&s);
    s = DVT_NOTNULL(dvi_state_open(path));
    dvi_state_close(&s);
    DVT_TRUE(dvi_state_open("/nonexistent-dir/x.db") == NULL);
    DVT_CONTAINS(dv_last_error(), "/nonexistent-dir/x.db");
}

/* ---- What is refused ---------------------------------------------------- */

/* Opening and loading path fails with code, saying want and the path. */
static void
s_refused(const char *path, int code, const char *want)
{
    dvi_state *s = dvi_state_open(path);
    int rc = 0;
    if (s != NULL) {
        dvi_state_image img;
        rc = dvi_state_load(s, &img);
        dvi_state_image_fini(&img);
        dvi_state_close(&s);
    } else {
        rc = dvi_last_code();
    }
    DVT_EQ_I64(rc, code);
    DVT_CONTAINS(dv_last_error(), path);
    DVT_CONTAINS(dv_last_error(), want);
}

static void
test_refuses_other_files(void **state)
{
    char path[128];
    s_path(path, sizeof(path));
    FILE *f = fopen(path, "w");
    fputs("SQLite format 3, it claims; it is not", f);
    fclose(f);
    s_refused(path, DV_EINVAL, "not a drove state file");

    s_path(path, sizeof(path));
    s_sql(path, "CREATE TABLE names (name TEXT)");
    s_refused(path, DV_EINVAL, "not a drove state file");

    s_keys k;
    s_good_file(s_path(path, sizeof(path)), &k);
    s_sql(path, "PRAGMA user_version = 9");
    s_refused(path, DV_EVERSION, "version 9");

    s_good_file(s_path(path, sizeof(path)), &k);
    s_sql(path, "DROP TABLE libs");
    s_refused(path, DV_EINVAL, "damaged");
}

/* A good file changed by sql must be refused, saying want. */
static void
s_bad_row(const char *sql, const char *want)
{
    char path[128], buf[1024];
    s_keys k;
    s_good_file(s_path(path, sizeof(path)), &k);
    /* %1 in sql: the key of sum; %2: of a. */
    char *out = buf;
    for (const char *p = sql; *p; p++) {
        if (p[0] == '%' && (p[1] == '1' || p[1] == '2')) {
            out += sprintf(out, "%s", p[1] == '1' ? k.sum : k.a);
            p++;
        } else {
            *out++ = *p;
        }
    }
    *out = '\0';
    s_sql(path, buf);
    s_refused(path, DV_EINVAL, want);
}

static void
test_refuses_bad_rows(void **state)
{
    s_bad_row("UPDATE names SET name = printf('%.300c', 'n') WHERE name='a'",
              "bad name");
    s_bad_row("UPDATE tasks SET key = CAST(x'61620063' AS TEXT) WHERE "
              "key='%2'",
              "bad key");
    s_bad_row("UPDATE tasks SET key = x'3737' WHERE key = '%2'", "bad key");
    s_bad_row("UPDATE tasks SET fn = 'dec' WHERE key = '%1'",
              "not the hash of its call");
    s_bad_row("UPDATE tasks SET args = x'9201' WHERE key = '%1'",
              "malformed arguments");
    s_bad_row("UPDATE tasks SET flags = 64 WHERE key = '%1'",
              "wrong type or is out of range");
    s_bad_row("UPDATE tasks SET retries = 'many' WHERE key = '%1'",
              "wrong type or is out of range");
    s_bad_row("UPDATE tasks SET deps = x'6162' WHERE key = '%1'",
              "bad list of inputs");
    /* Keys of impure calls (not derived), so that only the cycle is wrong:
     * p-1 needs q-1, which needs p-1. */
    s_bad_row("INSERT INTO tasks VALUES ('p-1', 'p', '', NULL, x'712d3100', "
              "1, 0, 0, 0, NULL, NULL); INSERT INTO tasks VALUES ('q-1', "
              "'q', '', NULL, x'702d3100', 1, 0, 0, 0, NULL, NULL); INSERT "
              "INTO names VALUES ('cyc', 'p-1', zeroblob(16))",
              "cycle");
    s_bad_row("DELETE FROM tasks WHERE key = '%2'",
              "its task is not in the file");
    s_bad_row("DELETE FROM names WHERE name = 'a'; DELETE FROM tasks WHERE "
              "key = '%2'",
              "an input is not in the file");
    s_bad_row("UPDATE names SET owner = x'0102' WHERE name = 'sum'",
              "wrong type or is out of range");
    s_bad_row("UPDATE tasks SET value = zeroblob(70000), nbytes = 70000 "
              "WHERE key = '%1'",
              "wrong type or is out of range");
    s_bad_row("UPDATE tasks SET value = x'c1' WHERE key = '%1'",
              "malformed value");
    s_bad_row("UPDATE tasks SET nbytes = 2 WHERE key = '%1'",
              "malformed value");
    s_bad_row("UPDATE libs SET bytes = x'00'", "not its content's");
    s_bad_row("UPDATE libs SET name = 'a/b'", "library");
    s_bad_row("UPDATE tasks SET error = 'boom' WHERE key = '%1'",
              "malformed error");
}

/* The checks the writer also makes before saving a task. */
static void
test_task_check(void **state)
{
    dvi_state_batch b = {0};
    dvi_state_op *op = dvi_state_batch_add(&b, DVI_STATE_PUT_TASK);
    s_call(op, "inc", "", NULL, 0);
    dvi_state_task *t = &op->task;
    DVT_PASS(dvi_state_task_check(t));
    uint64_t call = t->call;
    DVT_TRUE(call != 0);
    t->flags = DVI_STATE_CHUNK; /* the key is not the call's any more */
    DVT_FAILS_WITH(DV_EINVAL, dvi_state_task_check(t));
    t->flags = 0;
    free(t->code);
    t->code = dvi_strdup("B"
                         "0123456789012345678901234567890123456789012345678"
                         "9012345678901234567890123456789012345678901234567"
                         "89"); /* 100 bytes: maybe cut by the core */
    DVT_FAILS_WITH(DV_EINVAL, dvi_state_task_check(t));
    DVT_CONTAINS(dv_last_error(), "code");
    free(t->code);
    t->code = dvi_strdup("");
    /* A failed task keeps no inputs and derives no call. */
    t->error = dvi_strdup("boom");
    DVT_PASS(dvi_state_task_check(t));
    DVT_EQ_I64(t->call, 0);
    t->flags = DVI_STATE_CANCELLED;
    DVT_PASS(dvi_state_task_check(t));
    dvi_state_batch_fini(&b);

    /* A scattered value: its key must be its value's. */
    op = dvi_state_batch_add(&b, DVI_STATE_PUT_TASK);
    t = &op->task;
    char key[DVI_MAX_KEY + 1];
    dvi_callkey_scatter(key, sizeof(key), "\x2a", 1);
    t->key = dvi_strdup(key);
    t->fn = dvi_strdup("scatter");
    t->code = dvi_strdup("");
    t->flags = DVI_STATE_SCATTER;
    t->value = dvi_blob_copy("\x2a", 1);
    t->nbytes = 1;
    DVT_PASS(dvi_state_task_check(t));
    dvi_blob_rele(t->value);
    t->value = dvi_blob_copy("\x2b", 1);
    DVT_FAILS_WITH(DV_EINVAL, dvi_state_task_check(t));
    DVT_CONTAINS(dv_last_error(), "not the one its key names");
    dvi_state_batch_fini(&b);
}

int
main(void)
{
    snprintf(s_dir, sizeof(s_dir), "/tmp/dvt-state-XXXXXX");
    if (mkdtemp(s_dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_fresh_and_empty_files),
        cmocka_unit_test(test_refuses_other_files),
        cmocka_unit_test(test_refuses_bad_rows),
        cmocka_unit_test(test_task_check),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s_dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "statefile_test: could not remove %s\n", s_dir);
    }
    return failed;
}
