/* dvi_pspec: parsing and validating a pipeline spec (see spec.h).
 *
 * Every check happens here, before anything runs, so that a typo in a
 * field is reported with its name rather than discovered halfway through
 * a run. Fields of Pachyderm's spec that drove does not implement are
 * listed below: a spec written for Pachyderm runs, and the user is told
 * what was ignored. Any other key is refused, since a misspelt key would
 * otherwise be silently ignored too.
 */
#include "pipeline/spec.h"

#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/file.h"

/* Pachyderm's fields that drove accepts and ignores, by object. */
static const char *const s_ignored_top[] = {"description",
                                            "metadata",
                                            "resource_requests",
                                            "resource_limits",
                                            "sidecar_resource_limits",
                                            "sidecar_resource_requests",
                                            "datum_timeout",
                                            "job_timeout",
                                            "enable_stats",
                                            "standby",
                                            "scheduling_spec",
                                            "egress",
                                            "s3_out",
                                            "spout",
                                            "service",
                                            "autoscaling",
                                            "tolerations",
                                            "pod_spec",
                                            "pod_patch",
                                            "salt",
                                            "cache_size",
                                            "max_queue_size",
                                            "chunk_spec",
                                            "datum_set_spec",
                                            "reprocess_spec",
                                            "tf_job",
                                            "spec_commit",
                                            "update",
                                            "reprocess",
                                            "output_branch",
                                            "batch_size",
                                            "hashtree_spec",
                                            NULL};
static const char *const s_ignored_transform[] = {
    "image",   "secrets",   "image_pull_secrets", "accept_return_code",
    "debug",   "user",      "working_dir",        "dockerfile",
    "err_cmd", "err_stdin", "memory_volume",      "datum_batching",
    NULL};
static const char *const s_ignored_pfs[] = {
    "branch",  "commit",     "lazy",      "empty_files", "s3",
    "trigger", "outer_join", "repo_type", "project",     NULL};
static const char *const s_ignored_pipeline[] = {"project", NULL};

/* Parsing context: where errors and warnings go. */
typedef struct s_ctx {
    dvi_pspec *spec;
    const char *file; /* for messages */
} s_ctx;

static int s_fail(s_ctx *x, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
s_fail(s_ctx *x, const char *field, const char *fmt, ...)
{
    char text[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    return dvi_seterr(DV_EINVAL, "%s: %s: %s", x->file, field, text);
}

static int
s_in(const char *const *list, const char *key)
{
    for (size_t i = 0; list[i] != NULL; i++) {
        if (strcmp(list[i], key) == 0) {
            return 1;
        }
    }
    return 0;
}

static void
s_warn(s_ctx *x, const char *field)
{
    dvi_pspec *s = x->spec;
    char line[512];
    snprintf(line, sizeof(line),
             "%s: %s: a Pachyderm field drove does not implement; ignored",
             x->file, field);
    s->warnings =
        dvi_realloc(s->warnings, (s->nwarnings + 1) * sizeof(*s->warnings));
    s->warnings[s->nwarnings++] = dvi_strdup(line);
}

/* Checks obj's keys: known ones pass, ignored ones warn, others fail. */
static int
s_keys(s_ctx *x, json_t *obj, const char *where, const char *const *known,
       const char *const *ignored)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        char field[256];
        snprintf(field, sizeof(field), "%.200s%s%.40s", where,
                 *where ? "." : "", key);
        if (s_in(known, key)) {
            continue;
        }
        if (ignored != NULL && s_in(ignored, key)) {
            s_warn(x, field);
            continue;
        }
        return s_fail(x, field, "unknown key");
    }
    return 0;
}

/* An array of strings into a NULL-terminated copy. */
static int
s_strings(s_ctx *x, json_t *a, const char *field, int nonempty, char ***out,
          size_t *n)
{
    if (!json_is_array(a) || (nonempty && json_array_size(a) == 0)) {
        return s_fail(x, field, "must be a%s array of strings",
                      nonempty ? " non-empty" : "n");
    }
    size_t len = json_array_size(a);
    char **v = dvi_calloc(len + 1, sizeof(*v));
    for (size_t i = 0; i < len; i++) {
        const char *s = json_string_value(json_array_get(a, i));
        if (s == NULL) {
            for (size_t j = 0; j < i; j++) {
                free(v[j]);
            }
            free(v);
            return s_fail(x, field, "item %zu is not a string", i);
        }
        v[i] = dvi_strdup(s);
    }
    *out = v;
    *n = len;
    return 0;
}

/* path made absolute against the spec's directory. Caller frees. */
static char *
s_abs(const dvi_pspec *s, const char *path)
{
    if (path[0] == '/') {
        return dvi_strdup(path);
    }
    size_t n = strlen(s->dir) + strlen(path) + 2;
    char *out = dvi_malloc(n);
    snprintf(out, n, "%s/%s", s->dir, path);
    return out;
}

static int
s_name_ok(const char *name)
{
    if (name[0] == '\0' || name[0] == '.' || strlen(name) > 200) {
        return 0;
    }
    for (const char *p = name; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ||
              *p == '.')) {
            return 0;
        }
    }
    return 1;
}

static int s_input(s_ctx *x, json_t *j, const char *field, dvi_pinput **out);

static void
s_input_free(dvi_pinput *in)
{
    if (in == NULL) {
        return;
    }
    for (size_t i = 0; i < in->nkids; i++) {
        s_input_free(in->kids[i]);
    }
    free(in->kids);
    free(in->name);
    free(in->repo);
    free(in->pipeline);
    free(in->glob);
    free(in);
}

/* The base name of a directory path, ignoring trailing slashes. */
static char *
s_basename(const char *path)
{
    char *copy = dvi_strdup(path);
    size_t n = strlen(copy);
    while (n > 1 && copy[n - 1] == '/') {
        copy[--n] = '\0';
    }
    char *b = dvi_strdup(basename(copy));
    free(copy);
    return b;
}

static int
s_pfs(s_ctx *x, json_t *j, const char *field, dvi_pinput *in)
{
    static const char *const known[] = {"repo", "glob", "name", "pipeline",
                                        NULL};
    if (!json_is_object(j)) {
        return s_fail(x, field, "must be an object");
    }
    if (s_keys(x, j, field, known, s_ignored_pfs) < 0) {
        return -1;
    }
    const char *repo = json_string_value(json_object_get(j, "repo"));
    const char *pipe = json_string_value(json_object_get(j, "pipeline"));
    const char *glob = json_string_value(json_object_get(j, "glob"));
    json_t *name = json_object_get(j, "name");
    char sub[256];
    if ((repo == NULL) == (pipe == NULL)) {
        return s_fail(x, field,
                      "needs \"repo\" (a directory) or \"pipeline\" (another "
                      "pipeline's name), as a string: exactly one");
    }
    if (glob == NULL || glob[0] != '/') {
        snprintf(sub, sizeof(sub), "%.200s.glob", field);
        return s_fail(x, sub,
                      "must be a string starting with '/' (\"/\", "
                      "\"/*\", \"/*/*\", \"/dir/*\")");
    }
    if (name != NULL &&
        (!json_is_string(name) || !s_name_ok(json_string_value(name)))) {
        snprintf(sub, sizeof(sub), "%.200s.name", field);
        return s_fail(x, sub,
                      "must be a name of letters, digits, '-', '_' "
                      "and '.'");
    }
    if (pipe != NULL && !s_name_ok(pipe)) {
        snprintf(sub, sizeof(sub), "%.200s.pipeline", field);
        return s_fail(x, sub, "'%s' is not a pipeline name", pipe);
    }
    in->kind = DVI_PIN_PFS;
    in->glob = dvi_strdup(glob);
    in->repo = repo ? s_abs(x->spec, repo) : NULL;
    in->pipeline = pipe ? dvi_strdup(pipe) : NULL;
    in->name = name   ? dvi_strdup(json_string_value(name))
               : pipe ? dvi_strdup(pipe)
                      : s_basename(in->repo);
    if (!s_name_ok(in->name)) {
        snprintf(sub, sizeof(sub), "%.200s.name", field);
        return s_fail(x, sub,
                      "'%s' (the directory's name) is not a usable "
                      "input name: give \"name\"",
                      in->name);
    }
    return 0;
}

static int
s_group(s_ctx *x, json_t *a, const char *field, dvi_pinput *in)
{
    if (!json_is_array(a) || json_array_size(a) == 0) {
        return s_fail(x, field, "must be a non-empty array of inputs");
    }
    in->nkids = json_array_size(a);
    in->kids = dvi_calloc(in->nkids, sizeof(*in->kids));
    for (size_t i = 0; i < in->nkids; i++) {
        char sub[256];
        snprintf(sub, sizeof(sub), "%.200s[%zu]", field, i);
        if (s_input(x, json_array_get(a, i), sub, &in->kids[i]) < 0) {
            return -1;
        }
    }
    return 0;
}

static int
s_input(s_ctx *x, json_t *j, const char *field, dvi_pinput **out)
{
    static const char *const known[] = {"pfs", "cross", "union", NULL};
    static const char *const unsupported[] = {"join", "group", "cron", "git",
                                              NULL};
    if (!json_is_object(j) || json_object_size(j) != 1) {
        return s_fail(x, field,
                      "must be an object with one of \"pfs\", "
                      "\"cross\" or \"union\"");
    }
    const char *key = json_object_iter_key(json_object_iter(j));
    json_t *v = json_object_iter_value(json_object_iter(j));
    char sub[256];
    snprintf(sub, sizeof(sub), "%.200s.%.40s", field, key);
    if (s_in(unsupported, key)) {
        return s_fail(x, sub,
                      "a Pachyderm input drove does not implement "
                      "(pfs, cross and union are)");
    }
    if (!s_in(known, key)) {
        return s_fail(x, sub, "unknown key");
    }
    dvi_pinput *in = dvi_calloc(1, sizeof(*in));
    *out = in;
    if (strcmp(key, "pfs") == 0) {
        return s_pfs(x, v, sub, in);
    }
    in->kind = strcmp(key, "cross") == 0 ? DVI_PIN_CROSS : DVI_PIN_UNION;
    return s_group(x, v, sub, in);
}

static void
s_leaf_names(dvi_pinput *in, void *arg)
{
    json_t *names = arg;
    json_array_append_new(names, json_string(in->name));
}

/* A cross puts every child's files side by side under $DROVE_IN: two
 * children with an input of the same name would overwrite each other. */
static int
s_cross_names(s_ctx *x, dvi_pinput *in, const char *field)
{
    if (in->kind == DVI_PIN_PFS) {
        return 0;
    }
    json_t *seen = json_object();
    int rc = 0;
    for (size_t i = 0; i < in->nkids && rc == 0; i++) {
        char sub[256];
        snprintf(sub, sizeof(sub), "%.200s[%zu]", field, i);
        rc = s_cross_names(x, in->kids[i], sub);
        json_t *names = json_array();
        dvi_pinput_each(in->kids[i], s_leaf_names, names);
        size_t k;
        json_t *n;
        json_array_foreach(names, k, n)
        {
            const char *s = json_string_value(n);
            json_t *other = json_object_get(seen, s);
            if (rc == 0 && in->kind == DVI_PIN_CROSS && other != NULL &&
                json_integer_value(other) != (json_int_t)i) {
                rc = s_fail(x, field,
                            "two inputs of the cross are named '%s': give "
                            "each a distinct \"name\"",
                            s);
            }
            json_object_set_new(seen, s, json_integer((json_int_t)i));
        }
        json_decref(names);
    }
    json_decref(seen);
    return rc;
}

static int
s_env(s_ctx *x, json_t *env)
{
    dvi_pspec *s = x->spec;
    if (env == NULL) {
        return 0;
    }
    if (!json_is_object(env)) {
        return s_fail(x, "transform.env", "must be an object of strings");
    }
    /* Sorted by name, so that the transform's identity does not depend on
     * the order the keys were written in. */
    const char **keys = dvi_calloc(json_object_size(env) + 1, sizeof(*keys));
    const char *key;
    json_t *v;
    size_t n = 0;
    json_object_foreach(env, key, v)
    {
        if (!json_is_string(v) || key[0] == '\0' || strchr(key, '=')) {
            free(keys);
            return s_fail(x, "transform.env",
                          "'%s' must be a name without '=' whose value is "
                          "a string",
                          key);
        }
        size_t i = n++;
        while (i > 0 && strcmp(keys[i - 1], key) > 0) {
            keys[i] = keys[i - 1];
            i--;
        }
        keys[i] = key;
    }
    s->env = dvi_calloc(2 * n + 1, sizeof(*s->env));
    for (size_t i = 0; i < n; i++) {
        s->env[2 * i] = dvi_strdup(keys[i]);
        s->env[2 * i + 1] =
            dvi_strdup(json_string_value(json_object_get(env, keys[i])));
    }
    s->nenv = n;
    free(keys);
    return 0;
}

/* transform.code: files the command runs (scripts). They are copied into
 * the scratch directory at their path relative to the spec, so that the
 * spec's own relative path works on any worker: it must stay below the
 * spec's directory and out of in/ and out/. */
static int
s_code(s_ctx *x, json_t *code)
{
    dvi_pspec *s = x->spec;
    if (code == NULL) {
        return 0;
    }
    char **rel;
    size_t n;
    if (s_strings(x, code, "transform.code", 0, &rel, &n) < 0) {
        return -1;
    }
    s->code_rel = rel;
    s->ncode = n;
    s->code = dvi_calloc(n + 1, sizeof(*s->code));
    for (size_t i = 0; i < n; i++) {
        const char *r = rel[i];
        if (r[0] == '/' || strstr(r, "..") || strncmp(r, "in/", 3) == 0 ||
            strncmp(r, "out/", 4) == 0 || r[0] == '\0') {
            return s_fail(x, "transform.code",
                          "'%s' must be a path relative to the spec's "
                          "directory, without '..', outside in/ and out/",
                          r);
        }
        s->code[i] = s_abs(s, r);
        struct stat st;
        if (stat(s->code[i], &st) != 0 || !S_ISREG(st.st_mode)) {
            return s_fail(x, "transform.code", "no file %s", s->code[i]);
        }
    }
    return 0;
}

static int
s_transform(s_ctx *x, json_t *t)
{
    static const char *const known[] = {"cmd", "stdin", "env", "code", NULL};
    dvi_pspec *s = x->spec;
    if (!json_is_object(t)) {
        return s_fail(x, "transform", "must be an object with \"cmd\"");
    }
    if (s_keys(x, t, "transform", known, s_ignored_transform) < 0 ||
        s_strings(x, json_object_get(t, "cmd"), "transform.cmd", 1, &s->cmd,
                  &s->ncmd) < 0) {
        return -1;
    }
    json_t *in = json_object_get(t, "stdin");
    if (in != NULL && s_strings(x, in, "transform.stdin", 0, &s->stdin_lines,
                                &s->nstdin) < 0) {
        return -1;
    }
    return s_env(x, json_object_get(t, "env")) < 0 ||
                   s_code(x, json_object_get(t, "code")) < 0
               ? -1
               : 0;
}

static int
s_parallelism(s_ctx *x, json_t *p)
{
    static const char *const known[] = {"constant", "coefficient", "strategy",
                                        NULL};
    dvi_pspec *s = x->spec;
    s->par_coef = 1.0;
    if (p == NULL) {
        return 0;
    }
    if (!json_is_object(p) ||
        s_keys(x, p, "parallelism_spec", known, NULL) < 0) {
        return json_is_object(p)
                   ? -1
                   : s_fail(x, "parallelism_spec", "must be an object");
    }
    json_t *c = json_object_get(p, "constant");
    json_t *k = json_object_get(p, "coefficient");
    if (c != NULL && k != NULL) {
        return s_fail(x, "parallelism_spec",
                      "give \"constant\" or \"coefficient\", not both");
    }
    if (c != NULL && (!json_is_integer(c) || json_integer_value(c) < 1 ||
                      json_integer_value(c) > 100000)) {
        return s_fail(x, "parallelism_spec.constant",
                      "must be an integer from 1 to 100000");
    }
    if (k != NULL && (!json_is_number(k) || json_number_value(k) <= 0 ||
                      json_number_value(k) > 1000)) {
        return s_fail(x, "parallelism_spec.coefficient",
                      "must be a number above 0 (at most 1000)");
    }
    s->par_constant = c ? (int)json_integer_value(c) : 0;
    s->par_coef = k ? json_number_value(k) : 1.0;
    return 0;
}

static int
s_pipeline(s_ctx *x, json_t *p)
{
    static const char *const known[] = {"name", NULL};
    if (!json_is_object(p)) {
        return s_fail(x, "pipeline", "must be an object with \"name\"");
    }
    if (s_keys(x, p, "pipeline", known, s_ignored_pipeline) < 0) {
        return -1;
    }
    const char *name = json_string_value(json_object_get(p, "name"));
    if (name == NULL || !s_name_ok(name)) {
        return s_fail(x, "pipeline.name",
                      "must be a name of letters, digits, '-', '_' and '.'");
    }
    x->spec->name = dvi_strdup(name);
    return 0;
}

static int
s_top(s_ctx *x, json_t *root)
{
    static const char *const known[] = {
        "pipeline",    "input",  "transform", "parallelism_spec",
        "datum_tries", "output", NULL};
    dvi_pspec *s = x->spec;
    if (!json_is_object(root)) {
        return dvi_seterr(DV_EINVAL, "%s: must be a JSON object", x->file);
    }
    if (s_keys(x, root, "", known, s_ignored_top) < 0 ||
        s_pipeline(x, json_object_get(root, "pipeline")) < 0) {
        return -1;
    }
    json_t *in = json_object_get(root, "input");
    if (in == NULL) {
        return s_fail(x, "input", "missing");
    }
    if (s_input(x, in, "input", &s->input) < 0 ||
        s_cross_names(x, s->input, "input") < 0) {
        return -1;
    }
    json_t *t = json_object_get(root, "transform");
    if (t == NULL) {
        return s_fail(x, "transform", "missing");
    }
    if (s_transform(x, t) < 0 ||
        s_parallelism(x, json_object_get(root, "parallelism_spec")) < 0) {
        return -1;
    }
    json_t *tries = json_object_get(root, "datum_tries");
    if (tries != NULL &&
        (!json_is_integer(tries) || json_integer_value(tries) < 1 ||
         json_integer_value(tries) > 100)) {
        return s_fail(x, "datum_tries", "must be an integer from 1 to 100");
    }
    s->datum_tries = tries ? (int)json_integer_value(tries) : 3;
    json_t *out = json_object_get(root, "output");
    if (out != NULL && (!json_is_string(out) || !json_string_length(out))) {
        return s_fail(x, "output", "must be a directory's path");
    }
    char def[PATH_MAX];
    snprintf(def, sizeof(def), "out/%s", s->name);
    s->output = s_abs(s, out ? json_string_value(out) : def);
    return 0;
}

/* The spec's absolute path and directory, whether or not it exists. */
static void
s_paths(dvi_pspec *s, const char *path)
{
    char cwd[PATH_MAX] = ".";
    char full[2 * PATH_MAX + 2];
    if (path[0] == '/') {
        snprintf(full, sizeof(full), "%s", path);
    } else {
        if (getcwd(cwd, sizeof(cwd)) == NULL) {
            snprintf(cwd, sizeof(cwd), ".");
        }
        snprintf(full, sizeof(full), "%s/%s", cwd, path);
    }
    char real[PATH_MAX];
    s->path = dvi_strdup(realpath(full, real) ? real : full);
    char *copy = dvi_strdup(s->path);
    s->dir = dvi_strdup(dirname(copy));
    free(copy);
}

dvi_pspec *
dvi_pspec_parse(const char *path, const char *text)
{
    dvi_pspec *s = dvi_calloc(1, sizeof(*s));
    s_paths(s, path);
    s_ctx x = {s, path};
    json_error_t jerr;
    json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        dvi_seterr(DV_EINVAL, "%s:%d:%d: not valid JSON: %s", path, jerr.line,
                   jerr.column, jerr.text);
        dvi_pspec_destroy(&s);
        return NULL;
    }
    int rc = s_top(&x, root);
    json_decref(root);
    if (rc < 0) {
        dvi_pspec_destroy(&s);
        return NULL;
    }
    return s;
}

dvi_pspec *
dvi_pspec_load(const char *path)
{
    char *text;
    size_t len;
    if (dvi_read_file(path, &text, &len) < 0) {
        return NULL;
    }
    /* dvi_read_file's buffer is not NUL-terminated. */
    char *copy = dvi_malloc(len + 1);
    memcpy(copy, text, len);
    copy[len] = '\0';
    free(text);
    dvi_pspec *s = dvi_pspec_parse(path, copy);
    free(copy);
    return s;
}

static void
s_free_strings(char **v, size_t n)
{
    for (size_t i = 0; v != NULL && i < n; i++) {
        free(v[i]);
    }
    free(v);
}

void
dvi_pspec_destroy(dvi_pspec **p)
{
    dvi_pspec *s = p ? *p : NULL;
    if (s == NULL) {
        return;
    }
    free(s->name);
    free(s->path);
    free(s->dir);
    s_input_free(s->input);
    s_free_strings(s->cmd, s->ncmd);
    s_free_strings(s->stdin_lines, s->nstdin);
    s_free_strings(s->env, 2 * s->nenv);
    s_free_strings(s->code, s->ncode);
    s_free_strings(s->code_rel, s->ncode);
    free(s->output);
    s_free_strings(s->warnings, s->nwarnings);
    free(s);
    *p = NULL;
}

void
dvi_pinput_each(dvi_pinput *in, void (*fn)(dvi_pinput *, void *), void *arg)
{
    if (in->kind == DVI_PIN_PFS) {
        fn(in, arg);
        return;
    }
    for (size_t i = 0; i < in->nkids; i++) {
        dvi_pinput_each(in->kids[i], fn, arg);
    }
}
