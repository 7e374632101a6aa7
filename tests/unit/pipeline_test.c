/* drove — unit: the pipeline's spec, globs, datums and identities.
 *
 * What `drove pipeline run` relies on before anything runs: the glob
 * patterns of Pachyderm's states example give the datums its docs say
 * ("/" one, "/\*" one per state, "/\*" + "/\*" one per city,
 * "/California/\*" California's cities only); cross gives the product and
 * union the sum of its inputs' datums; a datum's id changes when one of
 * its files does and only then; the file cache answers from the stat
 * without reading; the transform's identity follows cmd, stdin, env and
 * the code's contents, and nothing else; a bad spec is refused naming the
 * field, an unknown key naming the key, and Pachyderm's unimplemented
 * fields are warnings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "dvtest.h"
#include "pipeline/datums.h"
#include "pipeline/glob.h"
#include "pipeline/spec.h"
#include "pipeline/state.h"
#include "pipeline/transform.h"

static char s_dir[64]; /* the test's temporary directory */

static void
s_write(const char *rel, const char *text)
{
    char path[512], cmd[600];
    snprintf(path, sizeof(path), "%s/%s", s_dir, rel);
    snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", path);
    DVT_TRUE(system(cmd) == 0);
    FILE *f = fopen(path, "w");
    DVT_TRUE(f != NULL);
    fputs(text, f);
    fclose(f);
}

static int
s_setup(void **state)
{
    snprintf(s_dir, sizeof(s_dir), "/tmp/dvpipe-XXXXXX");
    if (mkdtemp(s_dir) == NULL) {
        return -1;
    }
    s_write("states/California/LA.json", "la");
    s_write("states/California/SF.json", "sf");
    s_write("states/Colorado/Denver.json", "denver");
    s_write("states/Colorado/Boulder.json", "boulder");
    s_write("states/Texas/Austin.json", "austin");
    s_write("states/.hidden/x.json", "hidden");
    s_write("letters/a.txt", "a");
    s_write("letters/b.txt", "b");
    s_write("script.sh", "echo one");
    /* A link cycle and an empty directory: neither is a datum. */
    char path[128];
    snprintf(path, sizeof(path), "%s/states/Texas/loop", s_dir);
    if (symlink("..", path) != 0) {
        return -1;
    }
    snprintf(path, sizeof(path), "%s/states/Empty", s_dir);
    return mkdir(path, 0755);
}

static int
s_teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s_dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* A spec parsed from text, as if at s_dir/spec.json. */
static dvi_pspec *
s_spec(const char *text)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/spec.json", s_dir);
    return dvi_pspec_parse(path, text);
}

static size_t
s_glob_count(const char *pattern, char ***out)
{
    char root[128];
    size_t n;
    snprintf(root, sizeof(root), "%s/states", s_dir);
    DVT_PASS(dvi_glob(root, pattern, out, &n));
    return n;
}

static void
test_glob_states(void **state)
{
    char **m;
    size_t n = s_glob_count("/", &m);
    DVT_EQ_I64(n, 1);
    DVT_EQ_STR(m[0], "");
    dvi_glob_free(m, n);

    /* Hidden directories are not matched; an empty one is (it makes no
     * datum). */
    n = s_glob_count("/*", &m);
    DVT_EQ_I64(n, 4);
    DVT_EQ_STR(m[0], "California");
    DVT_EQ_STR(m[2], "Empty");
    DVT_EQ_STR(m[3], "Texas");
    dvi_glob_free(m, n);

    n = s_glob_count("/*/*", &m); /* the link Texas/loop too */
    DVT_EQ_I64(n, 6);
    DVT_EQ_STR(m[0], "California/LA.json");
    dvi_glob_free(m, n);

    n = s_glob_count("/California/*", &m);
    DVT_EQ_I64(n, 2);
    DVT_EQ_STR(m[1], "California/SF.json");
    dvi_glob_free(m, n);

    n = s_glob_count("/C*/D*", &m);
    DVT_EQ_I64(n, 1);
    DVT_EQ_STR(m[0], "Colorado/Denver.json");
    dvi_glob_free(m, n);

    n = s_glob_count("/Nowhere/*", &m);
    DVT_EQ_I64(n, 0);
    dvi_glob_free(m, n);
}

static void
test_glob_errors(void **state)
{
    char **m;
    size_t n;
    DVT_FAILS_WITH(DV_EINVAL, dvi_glob(s_dir, "*", &m, &n));
    DVT_FAILS_WITH(DV_EIO, dvi_glob("/nonexistent/dir", "/*", &m, &n));
    DVT_CONTAINS(dv_last_error(), "/nonexistent/dir");
}

static dvi_pspec *
s_spec_glob(const char *glob)
{
    char text[512];
    snprintf(text, sizeof(text),
             "{\"pipeline\": {\"name\": \"p\"}, \"input\": {\"pfs\": "
             "{\"repo\": \"states\", \"glob\": \"%s\"}}, \"transform\": "
             "{\"cmd\": [\"true\"]}}",
             glob);
    return DVT_NOTNULL(s_spec(text));
}

static void
test_datums_states(void **state)
{
    const char *globs[] = {"/", "/*", "/*/*", "/California/*"};
    size_t want[] = {1, 3, 5, 2}, files[] = {5, 2, 1, 1};
    for (size_t i = 0; i < 4; i++) {
        dvi_pspec *s = s_spec_glob(globs[i]);
        dvi_datums d;
        DVT_PASS(dvi_datums_build(s->input, NULL, &d));
        DVT_EQ_I64(d.n, want[i]);
        DVT_EQ_I64(d.v[0].nfiles, files[i]);
        DVT_EQ_STR(d.v[0].files[0].input, "states");
        dvi_datums_fini(&d);
        dvi_pspec_destroy(&s);
    }
    /* A directory datum holds every file under it, at its path from the
     * input's root. */
    dvi_pspec *s = s_spec_glob("/*");
    dvi_datums d;
    DVT_PASS(dvi_datums_build(s->input, NULL, &d));
    DVT_EQ_STR(d.v[1].desc, "states:/Colorado");
    DVT_EQ_STR(d.v[1].files[0].rel, "Colorado/Boulder.json");
    dvi_datums_fini(&d);
    dvi_pspec_destroy(&s);
}

/* The ids of the states' datums under glob, as one string. */
static void
s_ids(const char *glob, char *out, size_t size)
{
    dvi_pspec *s = s_spec_glob(glob);
    dvi_datums d;
    DVT_PASS(dvi_datums_build(s->input, NULL, &d));
    out[0] = '\0';
    for (size_t i = 0; i < d.n; i++) {
        strncat(out, d.v[i].id, size - strlen(out) - 1);
        strncat(out, " ", size - strlen(out) - 1);
    }
    dvi_datums_fini(&d);
    dvi_pspec_destroy(&s);
}

static void
test_datum_ids(void **state)
{
    char a[512], b[512];
    s_ids("/*", a, sizeof(a));
    s_ids("/*", b, sizeof(b));
    DVT_EQ_STR(a, b);
    /* A new city changes California's id and no other. */
    s_write("states/California/Sacramento.json", "sac");
    s_ids("/*", b, sizeof(b));
    DVT_TRUE(strncmp(a, b, 33) != 0);
    DVT_EQ_STR(a + 33, b + 33);
    /* The same content under another name is another datum. */
    char path[256];
    snprintf(path, sizeof(path), "%s/states/California/Sacramento.json", s_dir);
    unlink(path);
    s_ids("/*", b, sizeof(b));
    DVT_EQ_STR(a, b);
}

static void
test_cross_union(void **state)
{
    /* 3 states x 2 letters. */
    dvi_pspec *s = DVT_NOTNULL(
        s_spec("{\"pipeline\": {\"name\": \"x\"}, \"input\": {\"cross\": ["
               "{\"pfs\": {\"repo\": \"states\", \"glob\": \"/*\"}},"
               "{\"pfs\": {\"repo\": \"letters\", \"glob\": \"/*\"}}]},"
               "\"transform\": {\"cmd\": [\"true\"]}}"));
    dvi_datums d;
    DVT_PASS(dvi_datums_build(s->input, NULL, &d));
    DVT_EQ_I64(d.n, 6);
    DVT_EQ_STR(d.v[0].desc, "states:/California x letters:/a.txt");
    DVT_EQ_I64(d.v[0].nfiles, 3); /* LA, SF and a.txt */
    DVT_EQ_STR(d.v[0].files[2].input, "letters");
    dvi_datums_fini(&d);
    dvi_pspec_destroy(&s);

    /* 3 states + 2 letters, each datum alone. */
    s = DVT_NOTNULL(
        s_spec("{\"pipeline\": {\"name\": \"u\"}, \"input\": {\"union\": ["
               "{\"pfs\": {\"repo\": \"states\", \"glob\": \"/*\"}},"
               "{\"pfs\": {\"repo\": \"letters\", \"glob\": \"/*\"}}]},"
               "\"transform\": {\"cmd\": [\"true\"]}}"));
    DVT_PASS(dvi_datums_build(s->input, NULL, &d));
    DVT_EQ_I64(d.n, 5);
    DVT_EQ_STR(d.v[3].desc, "letters:/a.txt");
    DVT_EQ_I64(d.v[3].nfiles, 1);
    dvi_datums_fini(&d);
    dvi_pspec_destroy(&s);

    /* A cross with an input that has no datum has none. */
    s = DVT_NOTNULL(
        s_spec("{\"pipeline\": {\"name\": \"e\"}, \"input\": {\"cross\": ["
               "{\"pfs\": {\"repo\": \"states\", \"glob\": \"/*\"}},"
               "{\"pfs\": {\"repo\": \"letters\", \"glob\": \"/none/*\"}}]},"
               "\"transform\": {\"cmd\": [\"true\"]}}"));
    DVT_PASS(dvi_datums_build(s->input, NULL, &d));
    DVT_EQ_I64(d.n, 0);
    dvi_datums_fini(&d);
    dvi_pspec_destroy(&s);
}

static void
test_missing_input(void **state)
{
    dvi_pspec *s = DVT_NOTNULL(
        s_spec("{\"pipeline\": {\"name\": \"m\"}, \"input\": {\"pfs\": "
               "{\"repo\": \"nope\", \"glob\": \"/*\"}}, \"transform\": "
               "{\"cmd\": [\"true\"]}}"));
    dvi_datums d;
    DVT_FAILS_WITH(DV_EIO, dvi_datums_build(s->input, NULL, &d));
    DVT_CONTAINS(dv_last_error(), "input 'nope'");
    DVT_CONTAINS(dv_last_error(), "/nope");
    dvi_pspec_destroy(&s);
}

static void
test_filecache(void **state)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/state/p.sqlite", s_dir);
    dvi_pstate *st = DVT_NOTNULL(dvi_pstate_open(path, 1));
    dvi_filecache *fc = DVT_NOTNULL(dvi_filecache_new(dvi_pstate_db(st)));
    snprintf(path, sizeof(path), "%s/letters/a.txt", s_dir);
    struct stat sb;
    DVT_TRUE(stat(path, &sb) == 0);
    unsigned char h1[DVI_HASH_BYTES], h2[DVI_HASH_BYTES];
    DVT_PASS(dvi_filecache_hash(fc, path, &sb, h1));
    DVT_PASS(dvi_filecache_hash(fc, path, &sb, h2));
    DVT_EQ_I64(dvi_filecache_reads(fc), 1);
    DVT_EQ_I64(dvi_filecache_hits(fc), 1);
    DVT_TRUE(memcmp(h1, h2, sizeof(h1)) == 0);
    /* Another stat (a rewrite) is read again. */
    sb.st_mtim.tv_nsec ^= 1;
    DVT_PASS(dvi_filecache_hash(fc, path, &sb, h2));
    DVT_EQ_I64(dvi_filecache_reads(fc), 2);
    dvi_filecache_destroy(&fc);

    /* A scan that no longer sees a.txt forgets its hash. */
    fc = DVT_NOTNULL(dvi_filecache_new(dvi_pstate_db(st)));
    snprintf(path, sizeof(path), "%s/letters/b.txt", s_dir);
    DVT_TRUE(stat(path, &sb) == 0);
    DVT_PASS(dvi_filecache_hash(fc, path, &sb, h2));
    DVT_EQ_I64(dvi_filecache_prune(fc), 1);
    dvi_filecache_destroy(&fc);
    fc = DVT_NOTNULL(dvi_filecache_new(dvi_pstate_db(st)));
    DVT_PASS(dvi_filecache_hash(fc, path, &sb, h2));
    DVT_EQ_I64(dvi_filecache_hits(fc), 1); /* b.txt kept */
    snprintf(path, sizeof(path), "%s/letters/a.txt", s_dir);
    DVT_TRUE(stat(path, &sb) == 0);
    DVT_PASS(dvi_filecache_hash(fc, path, &sb, h2));
    DVT_EQ_I64(dvi_filecache_reads(fc), 1); /* a.txt read again */
    dvi_filecache_destroy(&fc);

    /* A second run of the same pipeline is refused while one runs. */
    snprintf(path, sizeof(path), "%s/state/p.sqlite", s_dir);
    DVT_TRUE(dvi_pstate_open(path, 1) == NULL);
    DVT_EQ_I64(dv_last_code(), DV_EPERM);
    DVT_CONTAINS(dv_last_error(), "another `drove pipeline run`");
    dvi_pstate *reader = DVT_NOTNULL(dvi_pstate_open(path, 0));
    dvi_pstate_destroy(&reader);
    dvi_pstate_destroy(&st);
}

static void
s_tid(const char *transform, char *out)
{
    char text[512];
    snprintf(text, sizeof(text),
             "{\"pipeline\": {\"name\": \"t\"}, \"input\": {\"pfs\": "
             "{\"repo\": \"states\", \"glob\": \"/\"}}, \"transform\": %s}",
             transform);
    dvi_pspec *s = DVT_NOTNULL(s_spec(text));
    DVT_PASS(dvi_ptransform_id(s, out));
    dvi_pspec_destroy(&s);
}

static void
test_transform_identity(void **state)
{
    char a[65], b[65];
    s_tid("{\"cmd\": [\"sh\", \"script.sh\"], \"code\": [\"script.sh\"], "
          "\"env\": {\"A\": \"1\", \"B\": \"2\"}}",
          a);
    /* The order of env's keys does not matter, the caller's environment
     * neither. */
    setenv("DVT_SOMETHING", "else", 1);
    s_tid("{\"cmd\": [\"sh\", \"script.sh\"], \"code\": [\"script.sh\"], "
          "\"env\": {\"B\": \"2\", \"A\": \"1\"}}",
          b);
    DVT_EQ_STR(a, b);
    s_tid("{\"cmd\": [\"sh\", \"script.sh\"], \"code\": [\"script.sh\"], "
          "\"env\": {\"A\": \"1\", \"B\": \"3\"}}",
          b);
    DVT_TRUE(strcmp(a, b) != 0);
    s_tid("{\"cmd\": [\"sh\", \"script.sh\"], \"code\": [\"script.sh\"], "
          "\"env\": {\"A\": \"1\", \"B\": \"2\"}, \"stdin\": [\"x\"]}",
          b);
    DVT_TRUE(strcmp(a, b) != 0);
    s_tid("{\"cmd\": [\"sh script.sh\"], \"code\": [\"script.sh\"], "
          "\"env\": {\"A\": \"1\", \"B\": \"2\"}}",
          b);
    DVT_TRUE(strcmp(a, b) != 0);
    /* The code's contents are part of it. */
    s_write("script.sh", "echo two");
    s_tid("{\"cmd\": [\"sh\", \"script.sh\"], \"code\": [\"script.sh\"], "
          "\"env\": {\"A\": \"1\", \"B\": \"2\"}}",
          b);
    DVT_TRUE(strcmp(a, b) != 0);
}

/* The spec is refused, and the reason holds want. */
static void
s_refused(const char *text, const char *want)
{
    dvi_pspec *s = s_spec(text);
    if (s != NULL) {
        DVT_FAIL("accepted: %s", text);
    }
    DVT_EQ_I64(dv_last_code(), DV_EINVAL);
    DVT_CONTAINS(dv_last_error(), want);
    DVT_CONTAINS(dv_last_error(), "spec.json");
}

#define S_PFS "{\"pfs\": {\"repo\": \"states\", \"glob\": \"/*\"}}"
#define S_IN "\"input\": " S_PFS
#define S_TR "\"transform\": {\"cmd\": [\"true\"]}"
#define S_PL "\"pipeline\": {\"name\": \"p\"}"

static void
test_spec_errors(void **state)
{
    s_refused("{", "not valid JSON");
    s_refused("[]", "must be a JSON object");
    s_refused("{" S_IN ", " S_TR "}", "pipeline");
    s_refused("{\"pipeline\": {\"name\": \"a b\"}, " S_IN ", " S_TR "}",
              "pipeline.name");
    s_refused("{" S_PL ", " S_TR "}", "input: missing");
    s_refused("{" S_PL ", " S_IN "}", "transform: missing");
    s_refused("{" S_PL ", " S_IN ", \"transform\": {\"cmd\": []}}",
              "transform.cmd");
    s_refused("{" S_PL ", " S_IN ", \"transform\": {\"cmd\": \"ls\"}}",
              "transform.cmd");
    s_refused("{" S_PL ", " S_IN ", \"transform\": {\"cmd\": [1]}}",
              "transform.cmd");
    s_refused("{" S_PL ", " S_IN
              ", \"transform\": {\"cmd\": [\"x\"], \"env\": {\"A\": 1}}}",
              "transform.env");
    s_refused("{" S_PL ", " S_IN
              ", \"transform\": {\"cmd\": [\"x\"], \"code\": [\"nofile\"]}}",
              "transform.code");
    s_refused("{" S_PL ", " S_IN
              ", \"transform\": {\"cmd\": [\"x\"], \"code\": [\"../x\"]}}",
              "transform.code");
    s_refused("{" S_PL ", \"input\": {\"pfs\": {\"repo\": \"states\", "
              "\"glob\": \"*\"}}, " S_TR "}",
              "input.pfs.glob");
    s_refused("{" S_PL ", \"input\": {\"pfs\": {\"glob\": \"/\"}}, " S_TR "}",
              "input.pfs");
    s_refused("{" S_PL ", \"input\": {\"join\": []}, " S_TR "}", "input.join");
    s_refused("{" S_PL ", \"input\": {\"cross\": []}, " S_TR "}",
              "input.cross");
    s_refused("{" S_PL ", \"input\": {\"cross\": [" S_PFS ", " S_PFS "]}, " S_TR
              "}",
              "named 'states'");
    s_refused("{" S_PL ", " S_IN ", " S_TR ", \"datum_tries\": 0}",
              "datum_tries");
    s_refused("{" S_PL ", " S_IN ", " S_TR
              ", \"parallelism_spec\": {\"constant\": -1}}",
              "parallelism_spec.constant");
    s_refused("{" S_PL ", " S_IN ", " S_TR
              ", \"parallelism_spec\": {\"coefficient\": \"x\"}}",
              "parallelism_spec.coefficient");
    s_refused("{" S_PL ", " S_IN ", " S_TR ", \"output\": 3}", "output");
    /* Unknown keys are named, at any depth. */
    s_refused("{" S_PL ", " S_IN ", " S_TR ", \"colour\": 1}",
              "colour: unknown key");
    s_refused("{" S_PL ", " S_IN
              ", \"transform\": {\"cmd\": [\"x\"], \"cmdd\": []}}",
              "transform.cmdd: unknown key");
    s_refused("{" S_PL ", \"input\": {\"pfs\": {\"repo\": \"states\", "
              "\"glob\": \"/\", \"globb\": 1}}, " S_TR "}",
              "input.pfs.globb: unknown key");
}

static void
test_spec_fields(void **state)
{
    dvi_pspec *s = DVT_NOTNULL(
        s_spec("{" S_PL ", " S_IN ", \"transform\": {\"cmd\": [\"a\", \"b\"], "
               "\"image\": \"ubuntu\", \"stdin\": [\"l1\", \"l2\"], \"env\": "
               "{\"Z\": \"z\", \"A\": \"a\"}, \"code\": [\"script.sh\"]}, "
               "\"description\": \"d\", \"datum_timeout\": \"1m\", "
               "\"parallelism_spec\": {\"constant\": 4}, \"datum_tries\": 5, "
               "\"output\": \"/abs/out\"}"));
    DVT_EQ_STR(s->name, "p");
    DVT_EQ_I64(s->ncmd, 2);
    DVT_TRUE(s->cmd[2] == NULL);
    DVT_EQ_I64(s->nstdin, 2);
    DVT_EQ_STR(s->env[0], "A"); /* sorted */
    DVT_EQ_STR(s->env[3], "z");
    DVT_EQ_STR(s->code_rel[0], "script.sh");
    DVT_CONTAINS(s->code[0], s_dir);
    DVT_EQ_I64(s->par_constant, 4);
    DVT_EQ_I64(s->datum_tries, 5);
    DVT_EQ_STR(s->output, "/abs/out");
    DVT_CONTAINS(s->input->repo, s_dir);
    DVT_EQ_STR(s->input->name, "states");
    /* Pachyderm's fields drove ignores are named in warnings. */
    DVT_EQ_I64(s->nwarnings, 3);
    char all[2048] = "";
    for (size_t i = 0; i < s->nwarnings; i++) {
        strncat(all, s->warnings[i], sizeof(all) - strlen(all) - 1);
    }
    DVT_CONTAINS(all, "transform.image");
    DVT_CONTAINS(all, "description");
    DVT_CONTAINS(all, "datum_timeout");
    dvi_pspec_destroy(&s);

    /* Defaults: 3 tries, coefficient 1, out/<name> beside the spec, the
     * input named after its directory; a pipeline input named after it. */
    s = DVT_NOTNULL(s_spec("{" S_PL ", \"input\": {\"pfs\": {\"pipeline\": "
                           "\"up\", \"glob\": \"/*\"}}, " S_TR "}"));
    DVT_EQ_I64(s->datum_tries, 3);
    DVT_EQ_F64(s->par_coef, 1.0, 1e-9);
    DVT_CONTAINS(s->output, "/out/p");
    DVT_EQ_STR(s->input->name, "up");
    DVT_EQ_STR(s->input->pipeline, "up");
    DVT_TRUE(s->input->repo == NULL);
    dvi_pspec_destroy(&s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_glob_states),
        cmocka_unit_test(test_glob_errors),
        cmocka_unit_test(test_datums_states),
        cmocka_unit_test(test_datum_ids),
        cmocka_unit_test(test_cross_union),
        cmocka_unit_test(test_missing_input),
        cmocka_unit_test(test_filecache),
        cmocka_unit_test(test_transform_identity),
        cmocka_unit_test(test_spec_errors),
        cmocka_unit_test(test_spec_fields),
    };
    return cmocka_run_group_tests_name("pipeline", tests, s_setup, s_teardown);
}
