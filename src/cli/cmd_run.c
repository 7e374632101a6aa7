/* drove run: one command on the cluster, its output and status relayed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "common/file.h"
#include "common/tree.h"
#include "drove.h"
#include "options.h"

#define S_N(a) (sizeof(a) / sizeof((a)[0]))
/* drove's own failures, as timeout(1) and env(1) exit with them. */
#define S_EXIT_DROVE 125

static const char s_usage[] =
    "usage: drove run [OPTIONS] [--] COMMAND [ARGS...]\n";
static const char s_about[] =
    "Runs one command on a worker of the cluster (the embedded default, or\n"
    "the scheduler DROVE_SCHEDULER or DROVE_SCHEME names, as dv_connect\n"
    "finds it), in a scratch directory, and relays its stdout, its stderr\n"
    "and its exit status (128+N when signal N ended it; 125 when drove\n"
    "itself failed). Put '--' before a command that has options of its\n"
    "own.\n";

static dvi_option s_opts[] = {
    {"shell", DVI_OPT_FLAG, NULL, 0, 0, NULL,
     "run COMMAND ARGS... joined by spaces with /bin/sh -c", NULL},
    {"env", DVI_OPT_LIST, NULL, 0, 0, NULL,
     "NAME=VALUE in the command's environment (again for more)", NULL},
    {"input", DVI_OPT_LIST, NULL, 0, 0, NULL,
     "LOCAL[:PATH]: the local file LOCAL as PATH in the scratch directory "
     "(default its base name)",
     NULL},
    {"output", DVI_OPT_LIST, NULL, 0, 0, NULL,
     "PATH: the file PATH of the scratch directory (a directory with a "
     "trailing '/') copied back here under the same relative path",
     NULL},
    {"stdin", DVI_OPT_FLAG, NULL, 0, 0, NULL,
     "send what this process reads on stdin to the command's stdin", NULL},
    {"workdir", DVI_OPT_STR, NULL, 0, 0, NULL,
     "run it in this directory of the worker (an absolute path; . is this "
     "one) instead of a scratch directory",
     NULL},
    {"timeout", DVI_OPT_NUM, "0", 0, 1000000000, NULL,
     "seconds the command may run (0: no limit); then it is killed", NULL},
};

/* Where the command starts: after "--", or at the first argument that is
 * neither an option nor an option's value. */
static int
s_split(int argc, char **argv, int *optc)
{
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            *optc = i;
            return i + 1;
        }
        if (argv[i][0] != '-') {
            *optc = i;
            return i;
        }
        int flag = strcmp(argv[i], "--shell") == 0 ||
                   strcmp(argv[i], "--stdin") == 0 ||
                   strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0;
        if (!flag && strchr(argv[i], '=') == NULL) {
            i++; /* its value */
        }
    }
    *optc = argc;
    return argc;
}

/* Builds the command from the arguments and options. NULL: printed. */
static dv_cmd *
s_build(int argc, char **argv, int cmd0, int optc)
{
    dv_cmd *cmd;
    if (dvi_opt_flag(s_opts, S_N(s_opts), "shell")) {
        size_t size = 1;
        for (int i = cmd0; i < argc; i++) {
            size += strlen(argv[i]) + 1;
        }
        char *script = calloc(1, size);
        for (int i = cmd0; i < argc; i++) {
            strcat(script, argv[i]);
            strcat(script, i + 1 < argc ? " " : "");
        }
        cmd = dv_cmd_new_shell(script);
        free(script);
    } else {
        cmd = dv_cmd_new((const char *const *)argv + cmd0);
    }
    dv_cmd_flags(cmd, DV_CMD_ANY_STATUS);
    dv_cmd_timeout(cmd, dvi_opt_num(s_opts, S_N(s_opts), "timeout"));
    const char *wd = dvi_opt_str(s_opts, S_N(s_opts), "workdir");
    char here[4096];
    if (wd != NULL && strcmp(wd, ".") == 0) {
        wd = getcwd(here, sizeof(here));
    }
    if (wd != NULL && dv_cmd_workdir(cmd, wd) < 0) {
        fprintf(stderr, "drove run: --workdir '%s': %s\n", wd, dv_last_error());
        dv_cmd_free(cmd);
        return NULL;
    }
    const char *v[256];
    size_t n = dvi_opt_list(s_opts, S_N(s_opts), optc, argv, "env", v, 256);
    for (size_t i = 0; i < n && i < 256; i++) {
        char name[256];
        snprintf(name, sizeof(name), "%.*s", (int)strcspn(v[i], "="), v[i]);
        const char *eq = strchr(v[i], '=');
        if (eq == NULL || dv_cmd_env(cmd, name, eq + 1) < 0) {
            fprintf(stderr, "drove run: --env '%s': not NAME=VALUE\n", v[i]);
            dv_cmd_free(cmd);
            return NULL;
        }
    }
    n = dvi_opt_list(s_opts, S_N(s_opts), optc, argv, "input", v, 256);
    for (size_t i = 0; i < n && i < 256; i++) {
        char local[4096];
        snprintf(local, sizeof(local), "%.*s", (int)strcspn(v[i], ":"), v[i]);
        const char *colon = strchr(v[i], ':'), *slash = strrchr(local, '/');
        const char *path = colon ? colon + 1 : slash ? slash + 1 : local;
        if (dv_cmd_input_file(cmd, path, local) < 0) {
            fprintf(stderr, "drove run: --input '%s': %s\n", v[i],
                    dv_last_error());
            dv_cmd_free(cmd);
            return NULL;
        }
    }
    n = dvi_opt_list(s_opts, S_N(s_opts), optc, argv, "output", v, 256);
    for (size_t i = 0; i < n && i < 256; i++) {
        if (dv_cmd_output(cmd, v[i]) < 0) {
            fprintf(stderr, "drove run: --output '%s': %s\n", v[i],
                    dv_last_error());
            dv_cmd_free(cmd);
            return NULL;
        }
    }
    return cmd;
}

/* Reads all of stdin into the command's stdin. */
static int
s_stdin(dv_cmd *cmd)
{
    size_t len = 0, cap = 65536;
    char *buf = malloc(cap);
    ssize_t r;
    while (buf != NULL && (r = read(0, buf + len, cap - len)) != 0) {
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            free(buf);
            fprintf(stderr, "drove run: reading stdin: %s\n", strerror(errno));
            return -1;
        }
        len += (size_t)r;
        if (len == cap) {
            buf = realloc(buf, cap *= 2);
        }
    }
    int rc = dv_cmd_stdin(cmd, dv_bytes(buf, len));
    free(buf);
    return rc;
}

/* Writes the kept outputs under the current directory. */
static int
s_write_outputs(const dv_value *r)
{
    for (size_t i = 0; i < dv_cmd_noutputs(r); i++) {
        size_t len = 0;
        const char *path = dv_cmd_output_path(r, i);
        const void *data = dv_cmd_output_data(r, i, &len);
        if (dvi_tree_make_parents(path) < 0 ||
            dvi_write_file_as(path, data, len, DVI_FILE_SHARED) < 0) {
            fprintf(stderr, "drove run: %s\n", dv_last_error());
            return -1;
        }
    }
    return 0;
}

/* Runs the command and relays what it did. */
static int
s_run(dv_cmd *cmd)
{
    dv_client *c = dv_connect(NULL);
    if (c == NULL) {
        fprintf(stderr, "drove run: %s\n", dv_last_error());
        return S_EXIT_DROVE;
    }
    dv_future *f = dv_cmd_submit(c, cmd, NULL);
    const dv_value *r = f ? dv_result(f, -1) : NULL;
    int rc = S_EXIT_DROVE;
    if (r == NULL) {
        fprintf(stderr, "drove run: %s\n",
                f ? dv_future_error(f) : dv_last_error());
    } else {
        size_t no = 0, ne = 0;
        const char *out = dv_cmd_stdout(r, &no), *err = dv_cmd_stderr(r, &ne);
        fwrite(out, 1, no, stdout);
        fflush(stdout);
        fwrite(err, 1, ne, stderr);
        if (dv_cmd_timed_out(r) == 1) {
            fprintf(stderr, "drove run: timed out after %g s\n",
                    dvi_opt_num(s_opts, S_N(s_opts), "timeout"));
        }
        rc = s_write_outputs(r) < 0 ? S_EXIT_DROVE : dv_cmd_exit_status(r);
    }
    dv_close(c);
    return rc;
}

int
dvi_cmd_run(int argc, char **argv)
{
    int optc = 0, cmd0 = s_split(argc, argv, &optc);
    int rc =
        dvi_options_parse(s_opts, S_N(s_opts), optc, argv, s_usage, s_about);
    if (rc != 0) {
        return rc == 1 ? 0 : rc;
    }
    if (cmd0 >= argc) {
        fprintf(stderr, "drove run: no command (see --help)\n");
        return 2;
    }
    dv_cmd *cmd = s_build(argc, argv, cmd0, optc);
    if (cmd == NULL) {
        return 2;
    }
    if (dvi_opt_flag(s_opts, S_N(s_opts), "stdin") && s_stdin(cmd) < 0) {
        dv_cmd_free(cmd);
        return S_EXIT_DROVE;
    }
    rc = s_run(cmd);
    dv_cmd_free(cmd);
    return rc;
}
