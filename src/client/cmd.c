/* dv_cmd: describing a command task, and submitting it as a call of the
 * built-in function "drove_cmd" (common/cmdval.h has the layout; the
 * worker's side is worker/cmd_task.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cmdval.h"
#include "common/err.h"
#include "common/file.h"
#include "common/value.h"

typedef struct s_input {
    char *path;    /* "" for stdin */
    char *output;  /* a command result's output file, or "" (its stdout) */
    dv_arg value;  /* STR and BYTES point into copy; FUTURE is borrowed */
    char *copy;    /* owned bytes */
    dv_value *val; /* owned copy of a DV_VALUE */
} s_input;

struct dv_cmd {
    char **argv;
    size_t argc;
    char **env; /* "NAME=VALUE" */
    size_t nenv;
    s_input *in;
    size_t nin;
    char **out;
    size_t nout;
    unsigned flags;
    double timeout;
};

static dv_cmd *
s_new(const char *const *argv, size_t argc)
{
    dv_cmd *cmd = dvi_calloc(1, sizeof(*cmd));
    cmd->argv = dvi_calloc(argc, sizeof(char *));
    for (size_t i = 0; i < argc; i++) {
        cmd->argv[i] = dvi_strdup(argv[i]);
    }
    cmd->argc = argc;
    return cmd;
}

dv_cmd *
dv_cmd_new(const char *const *argv)
{
    size_t argc = 0;
    while (argv != NULL && argv[argc] != NULL) {
        argc++;
    }
    if (argc == 0 || argv[0][0] == '\0') {
        dvi_seterr(DV_EINVAL, "dv_cmd_new: an empty command");
        return NULL;
    }
    return s_new(argv, argc);
}

dv_cmd *
dv_cmd_new_shell(const char *script)
{
    if (script == NULL) {
        dvi_seterr(DV_EINVAL, "dv_cmd_new_shell: no script");
        return NULL;
    }
    const char *argv[] = {"/bin/sh", "-c", script};
    return s_new(argv, 3);
}

static void
s_free_strs(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i]);
    }
    free(v);
}

void
dv_cmd_free(dv_cmd *cmd)
{
    if (cmd == NULL) {
        return;
    }
    s_free_strs(cmd->argv, cmd->argc);
    s_free_strs(cmd->env, cmd->nenv);
    s_free_strs(cmd->out, cmd->nout);
    for (size_t i = 0; i < cmd->nin; i++) {
        free(cmd->in[i].path);
        free(cmd->in[i].output);
        free(cmd->in[i].copy);
        dvi_value_destroy(&cmd->in[i].val);
    }
    free(cmd->in);
    free(cmd);
}

int
dv_cmd_env(dv_cmd *cmd, const char *name, const char *value)
{
    if (cmd == NULL || name == NULL || name[0] == '\0' ||
        strchr(name, '=') != NULL) {
        return dvi_seterr(DV_EINVAL, "dv_cmd_env: bad variable name '%s'",
                          name ? name : "(null)");
    }
    size_t n = strlen(name);
    size_t size = n + 1 + strlen(value ? value : "") + 1;
    char *kv = dvi_malloc(size);
    snprintf(kv, size, "%s=%s", name, value ? value : "");
    for (size_t i = 0; i < cmd->nenv; i++) {
        if (strncmp(cmd->env[i], kv, n + 1) == 0) {
            free(cmd->env[i]);
            cmd->env[i] = kv;
            return 0;
        }
    }
    cmd->env = dvi_realloc(cmd->env, (cmd->nenv + 1) * sizeof(char *));
    cmd->env[cmd->nenv++] = kv;
    return 0;
}

/* Adds input path (validated by the caller; "" is stdin). */
static int
s_add_input(dv_cmd *cmd, const char *path, const char *output, dv_arg value)
{
    for (size_t i = 0; i < cmd->nin; i++) {
        if (strcmp(cmd->in[i].path, path) == 0) {
            return dvi_seterr(DV_EINVAL, "command input '%s' given twice",
                              path[0] ? path : "(stdin)");
        }
    }
    s_input in = {.path = dvi_strdup(path),
                  .output = dvi_strdup(output ? output : ""),
                  .value = value};
    if (value.type == DV_STR || value.type == DV_BYTES) {
        in.copy = dvi_malloc(value.len + 1);
        if (value.len > 0) {
            memcpy(in.copy, value.u.p, value.len);
        }
        in.copy[value.len] = '\0';
        in.value.u.p = in.copy;
    } else if (value.type == DV_VALUE && value.u.value != NULL) {
        in.val = dvi_calloc(1, sizeof(dv_value));
        dvi_value_copy(in.val, value.u.value);
        in.value.u.value = in.val;
    } else if (value.type != DV_FUTURE || value.u.fut == NULL) {
        free(in.path);
        free(in.output);
        return dvi_seterr(DV_EINVAL,
                          "command input '%s': only strings, bytes, values "
                          "and futures become files",
                          path[0] ? path : "(stdin)");
    }
    cmd->in = dvi_realloc(cmd->in, (cmd->nin + 1) * sizeof(s_input));
    cmd->in[cmd->nin++] = in;
    return 0;
}

int
dv_cmd_input(dv_cmd *cmd, const char *path, dv_arg value)
{
    if (cmd == NULL || !dvi_cmdval_path_ok(path)) {
        return dvi_seterr(DV_EINVAL,
                          "command input '%s': a relative path inside the "
                          "scratch directory, without '..'",
                          path ? path : "(null)");
    }
    return s_add_input(cmd, path, NULL, value);
}

int
dv_cmd_input_output(dv_cmd *cmd, const char *path, dv_future *f,
                    const char *output)
{
    if (cmd == NULL || !dvi_cmdval_path_ok(path) || output == NULL ||
        output[0] == '\0') {
        return dvi_seterr(DV_EINVAL, "command input '%s': bad path or output",
                          path ? path : "(null)");
    }
    return s_add_input(cmd, path, output, dv_fut(f));
}

int
dv_cmd_input_file(dv_cmd *cmd, const char *path, const char *local_path)
{
    char *data = NULL;
    size_t len = 0;
    if (cmd == NULL || !dvi_cmdval_path_ok(path) || local_path == NULL) {
        return dvi_seterr(DV_EINVAL, "command input '%s': bad path",
                          path ? path : "(null)");
    }
    int rc = dvi_read_file(local_path, &data, &len);
    if (rc < 0) {
        return rc;
    }
    rc = s_add_input(cmd, path, NULL, dv_bytes(data, len));
    free(data);
    return rc;
}

int
dv_cmd_stdin(dv_cmd *cmd, dv_arg value)
{
    if (cmd == NULL) {
        return dvi_seterr(DV_EINVAL, "dv_cmd_stdin: no command");
    }
    return s_add_input(cmd, "", NULL, value);
}

int
dv_cmd_output(dv_cmd *cmd, const char *path)
{
    char copy[4096];
    snprintf(copy, sizeof(copy), "%s", path ? path : "");
    size_t n = strlen(copy);
    if (n > 1 && copy[n - 1] == '/') {
        copy[n - 1] = '\0'; /* "out/" is checked as "out" */
    }
    if (cmd == NULL || !dvi_cmdval_path_ok(copy) || n >= sizeof(copy) - 1) {
        return dvi_seterr(DV_EINVAL,
                          "command output '%s': a relative path inside the "
                          "scratch directory, without '..'",
                          path ? path : "(null)");
    }
    cmd->out = dvi_realloc(cmd->out, (cmd->nout + 1) * sizeof(char *));
    cmd->out[cmd->nout++] = dvi_strdup(path);
    return 0;
}

int
dv_cmd_timeout(dv_cmd *cmd, double seconds)
{
    if (cmd == NULL || !(seconds >= 0)) {
        return dvi_seterr(DV_EINVAL, "dv_cmd_timeout: a limit of %g s",
                          seconds);
    }
    cmd->timeout = seconds;
    return 0;
}

int
dv_cmd_flags(dv_cmd *cmd, unsigned flags)
{
    if (cmd == NULL || (flags & ~(DV_CMD_ANY_STATUS | DV_CMD_PURE)) != 0) {
        return dvi_seterr(DV_EINVAL, "dv_cmd_flags: unknown flags %#x", flags);
    }
    cmd->flags = flags;
    return 0;
}

/* The scratch space a call's arguments point into. */
typedef struct s_wire {
    dv_arg *items; /* argv, env, outputs, input pairs, inputs */
    dv_arg spec[DVI_CMD_SPEC_LEN];
    dv_arg *args; /* the description, then the inputs */
    size_t nargs;
} s_wire;

/* Lays out the description (cmdval.h) and the inputs as the arguments of
 * a call of DVI_CMD_FN. Free with s_wire_fini. */
static void
s_wire_init(s_wire *w, const dv_cmd *cmd)
{
    size_t nitems = cmd->argc + cmd->nenv + cmd->nout + 3 * cmd->nin;
    w->items = dvi_calloc(nitems + 1, sizeof(dv_arg));
    dv_arg *argv = w->items, *env = argv + cmd->argc;
    dv_arg *outs = env + cmd->nenv, *pairs = outs + cmd->nout;
    dv_arg *ins = pairs + 2 * cmd->nin;
    w->nargs = 1 + cmd->nin;
    w->args = dvi_calloc(w->nargs, sizeof(dv_arg));
    for (size_t i = 0; i < cmd->argc; i++) {
        argv[i] = dv_str(cmd->argv[i]);
    }
    for (size_t i = 0; i < cmd->nenv; i++) {
        env[i] = dv_str(cmd->env[i]);
    }
    for (size_t i = 0; i < cmd->nout; i++) {
        outs[i] = dv_str(cmd->out[i]);
    }
    for (size_t i = 0; i < cmd->nin; i++) {
        pairs[2 * i] = dv_str(cmd->in[i].path);
        pairs[2 * i + 1] = dv_str(cmd->in[i].output);
        ins[i] = dv_list(&pairs[2 * i], 2);
        w->args[1 + i] = cmd->in[i].value;
    }
    w->spec[0] = dv_str(DVI_CMD_MAGIC);
    w->spec[DVI_CMD_SPEC_ARGV] = dv_list(argv, cmd->argc);
    w->spec[DVI_CMD_SPEC_ENV] = dv_list(env, cmd->nenv);
    w->spec[DVI_CMD_SPEC_FLAGS] = dv_i64(cmd->flags);
    w->spec[DVI_CMD_SPEC_TIMEOUT] = dv_f64(cmd->timeout);
    w->spec[DVI_CMD_SPEC_OUTPUTS] = dv_list(outs, cmd->nout);
    w->spec[DVI_CMD_SPEC_INPUTS] = dv_list(ins, cmd->nin);
    w->args[0] = dv_list(w->spec, DVI_CMD_SPEC_LEN);
}

static void
s_wire_fini(s_wire *w)
{
    free(w->items);
    free(w->args);
}

/* The options of a command's call: impure unless it is pure. */
static dv_opts
s_opts(const dv_cmd *cmd, const dv_opts *opts)
{
    dv_opts o = DV_OPTS_INIT;
    if (opts != NULL) {
        o = *opts;
    }
    if (!(cmd->flags & DV_CMD_PURE)) {
        o.impure = 1;
    }
    return o;
}

dv_future *
dv_cmd_submit(dv_client *c, const dv_cmd *cmd, const dv_opts *opts)
{
    if (cmd == NULL) {
        dvi_seterr(DV_EINVAL, "dv_cmd_submit: no command");
        return NULL;
    }
    s_wire w;
    s_wire_init(&w, cmd);
    dv_opts o = s_opts(cmd, opts);
    dv_future *f = dv_submit(c, DVI_CMD_FN, w.nargs, w.args, &o);
    s_wire_fini(&w);
    return f;
}

dv_future *
dv_cmd_call_submit(dv_call *call, const dv_cmd *cmd, const dv_opts *opts)
{
    if (cmd == NULL) {
        dvi_seterr(DV_EINVAL, "dv_cmd_call_submit: no command");
        return NULL;
    }
    s_wire w;
    s_wire_init(&w, cmd);
    dv_opts o = s_opts(cmd, opts);
    dv_future *f = dv_call_submit(call, DVI_CMD_FN, w.nargs, w.args, &o);
    s_wire_fini(&w);
    return f;
}
