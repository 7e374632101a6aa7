/* The built-in task function "drove_cmd": a command task on the worker.
 *
 * It lays out a scratch directory (the inputs as files, in/ and out/),
 * runs the program there (cmd_spawn.c), keeps the outputs asked for, and
 * removes the directory. Its description comes from the network: every
 * field is checked, and a bad one errs the task, naming it.
 */
#define _GNU_SOURCE /* memfd_create */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "cmd_spawn.h"
#include "common/cmdval.h"
#include "common/err.h"
#include "common/file.h"
#include "common/tree.h"
#include "funcs.h"

extern char **environ;

/* What one stream may hold: more is an error naming the stream. */
#define S_MAX_STREAM ((size_t)256 << 20)

/* One command task's run. */
typedef struct s_task {
    dv_call *call;
    const dv_value *spec;
    char scratch[PATH_MAX]; /* "" when it needs none */
    const char *workdir;    /* asked for, or "": the scratch directory */
    char **argv;            /* borrowed strings of the description */
    char **envp;            /* the worker's, the DROVE_* and the command's */
    char *envbuf[3];
    int stdin_fd;
    dv_arg *outs; /* kept outputs: path, bytes, ... */
    char **bufs;  /* their bytes and paths, owned */
    size_t nouts, nbufs;
} s_task;

static const dv_value *
s_field(const s_task *t, int i)
{
    return dv_value_at(t->spec, (size_t)i);
}

/* file = the scratch directory's rel. Returns 0, or -1 if too long. */
static int
s_path(const s_task *t, const char *rel, char file[PATH_MAX])
{
    int n = snprintf(file, PATH_MAX, "%s/%s", t->scratch, rel);
    return n > 0 && n < PATH_MAX ? 0 : -1;
}

/* Copies the strings of list field i (NULL-terminated, borrowed), or
 * returns NULL for a field that is not a list of strings. */
static char **
s_strings(const s_task *t, int i, size_t *n)
{
    const dv_value *l = s_field(t, i);
    if (dv_value_type(l) != DV_LIST) {
        return NULL;
    }
    *n = dv_value_len(l);
    char **v = dvi_calloc(*n + 1, sizeof(char *));
    for (size_t k = 0; k < *n; k++) {
        v[k] = (char *)dv_value_str(dv_value_at(l, k), NULL);
        if (v[k] == NULL) {
            free(v);
            return NULL;
        }
    }
    return v;
}

/* The environment: the worker's, less what the command sets, and the
 * scratch directory's names when it has one. */
static int
s_env(s_task *t)
{
    size_t nuser = 0, nenv = 0;
    char **user = s_strings(t, DVI_CMD_SPEC_ENV, &nuser);
    if (user == NULL) {
        return dv_fail(t->call, "command: a bad environment");
    }
    static const char *const dirs[] = {"DROVE_SCRATCH=%s", "DROVE_IN=%s/in",
                                       "DROVE_OUT=%s/out"};
    int ndirs = t->scratch[0] ? 3 : 0;
    for (int i = 0; i < ndirs; i++) {
        t->envbuf[i] = dvi_malloc(PATH_MAX + 32);
        snprintf(t->envbuf[i], PATH_MAX + 32, dirs[i], t->scratch);
    }
    while (environ[nenv] != NULL) {
        nenv++;
    }
    t->envp = dvi_calloc(nenv + nuser + 4, sizeof(char *));
    size_t n = 0;
    for (size_t i = 0; i < nenv; i++) {
        int mine = strncmp(environ[i], "DROVE_SCRATCH=", 14) == 0 ||
                   strncmp(environ[i], "DROVE_IN=", 9) == 0 ||
                   strncmp(environ[i], "DROVE_OUT=", 10) == 0;
        size_t klen = strcspn(environ[i], "=");
        for (size_t k = 0; k < nuser && !mine; k++) {
            mine = strncmp(user[k], environ[i], klen + 1) == 0;
        }
        if (!mine) {
            t->envp[n++] = environ[i];
        }
    }
    for (int i = 0; i < ndirs; i++) {
        t->envp[n++] = t->envbuf[i];
    }
    for (size_t k = 0; k < nuser; k++) {
        const char *kv = user[k]; /* the value's: outlives the array */
        t->envp[n++] = strchr(kv, '=') ? (char *)kv : NULL;
        if (t->envp[n - 1] == NULL) {
            free(user);
            return dv_fail(t->call,
                           "command: environment entry '%s' has no '='", kv);
        }
    }
    free(user);
    return 0;
}

/* The bytes input i becomes: a string, bytes, or a command's stdout or
 * output file. NULL (the task failed) for anything else. */
static const void *
s_input_bytes(s_task *t, const char *path, const char *output, size_t i,
              size_t *len)
{
    const dv_value *v = dv_arg_at(t->call, 1 + i);
    const char *name = path[0] ? path : "stdin";
    const void *p = NULL;
    if (dvi_cmdval_is(v, DVI_CMD_RES_LEN)) {
        p = output[0] ? dv_cmd_output_find(v, output, len)
                      : dv_cmd_stdout(v, len);
        if (p == NULL) {
            dv_fail(t->call,
                    "command input '%s': the command it comes from kept no "
                    "output '%s'",
                    name, output);
        }
        return p;
    }
    p = dv_value_bytes(v, len);
    if (p == NULL && (dv_value_type(v) == DV_BYTES)) {
        p = "";
    }
    if (p == NULL) {
        dv_fail(t->call,
                "command input '%s': a value of type %d, not a string, bytes "
                "or a command's result",
                name, dv_value_type(v));
    }
    return p;
}

/* Writes stdin's bytes into an anonymous file. */
static int
s_stdin(s_task *t, const void *p, size_t len)
{
    int fd = memfd_create("drove-stdin", MFD_CLOEXEC);
    if (fd < 0 || (len > 0 && write(fd, p, len) != (ssize_t)len) ||
        lseek(fd, 0, SEEK_SET) < 0) {
        int e = errno;
        if (fd >= 0) {
            close(fd);
        }
        return dv_fail(t->call, "command stdin: %s", strerror(e));
    }
    t->stdin_fd = fd;
    return 0;
}

/* Lays out every input. */
static int
s_inputs(s_task *t)
{
    const dv_value *ins = s_field(t, DVI_CMD_SPEC_INPUTS);
    size_t n = dv_value_len(ins);
    if (dv_value_type(ins) != DV_LIST || dv_nargs(t->call) != 1 + n) {
        return dv_fail(t->call, "command: %zu inputs described, %zu given", n,
                       dv_nargs(t->call) - 1);
    }
    for (size_t i = 0; i < n; i++) {
        const dv_value *pair = dv_value_at(ins, i);
        const char *path = dv_value_str(dv_value_at(pair, 0), NULL);
        const char *output = dv_value_str(dv_value_at(pair, 1), NULL);
        if (path == NULL || output == NULL ||
            (path[0] && !dvi_cmdval_path_ok(path))) {
            return dv_fail(t->call, "command input %zu: a bad path", i);
        }
        size_t len = 0;
        const void *p = s_input_bytes(t, path, output, i, &len);
        if (p == NULL) {
            return DV_ETASK;
        }
        if (path[0] == '\0') {
            if (s_stdin(t, p, len) < 0) {
                return DV_ETASK;
            }
            continue;
        }
        char file[PATH_MAX];
        if (s_path(t, path, file) < 0) {
            return dv_fail(t->call, "command input '%s': path too long", path);
        }
        /* No fsync, no rename: the directory is gone when the command
         * ends. */
        if (dvi_tree_make_parents(file) < 0 ||
            dvi_write_file_as(file, p, len,
                              DVI_FILE_SHARED | DVI_FILE_NO_SYNC |
                                  DVI_FILE_IN_PLACE) < 0) {
            return dv_fail(t->call, "command input '%s': %s", path,
                           dv_last_error());
        }
    }
    return 0;
}

/* Keeps a file's bytes as an output named rel (relative to scratch). */
static int
s_keep(s_task *t, const char *rel)
{
    char file[PATH_MAX], *data = NULL;
    size_t len = 0;
    if (s_path(t, rel, file) < 0) {
        return dv_fail(t->call, "command output '%s': path too long", rel);
    }
    if (dvi_read_file(file, &data, &len) < 0) {
        return dv_fail(t->call, "command output '%s': %s", rel,
                       dv_last_error());
    }
    t->outs = dvi_realloc(t->outs, (t->nouts + 2) * sizeof(dv_arg));
    t->bufs = dvi_realloc(t->bufs, (t->nbufs + 2) * sizeof(char *));
    t->bufs[t->nbufs++] = data;
    t->bufs[t->nbufs++] = dvi_strdup(rel);
    t->outs[t->nouts++] = dv_str(t->bufs[t->nbufs - 1]);
    t->outs[t->nouts++] = dv_bytes(data, len);
    return 0;
}

/* The walk of an output directory: ctx is the task, rel relative to the
 * directory; prefix is joined here. */
typedef struct s_dirwalk {
    s_task *t;
    const char *prefix;
} s_dirwalk;

static int
s_keep_in_dir(void *ctx, const char *rel)
{
    s_dirwalk *w = ctx;
    char path[PATH_MAX];
    int n = snprintf(path, sizeof(path), "%s/%s", w->prefix, rel);
    if (n < 0 || n >= (int)sizeof(path)) {
        return dv_fail(w->t->call, "command output '%s/%s': path too long",
                       w->prefix, rel);
    }
    return s_keep(w->t, path);
}

/* Keeps every output asked for; a missing file errs when it must exist. */
static int
s_outputs(s_task *t, int must_exist)
{
    size_t n = 0;
    char **outs = s_strings(t, DVI_CMD_SPEC_OUTPUTS, &n);
    if (outs == NULL) {
        return dv_fail(t->call, "command: bad outputs");
    }
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char rel[PATH_MAX], file[PATH_MAX];
        snprintf(rel, sizeof(rel), "%s", outs[i]);
        size_t len = strlen(rel);
        int dir = len > 1 && rel[len - 1] == '/';
        rel[len - dir] = '\0';
        if (!dvi_cmdval_path_ok(rel)) {
            rc = dv_fail(t->call, "command output '%s': a bad path", outs[i]);
            break;
        }
        if (s_path(t, rel, file) < 0) {
            rc = dv_fail(t->call, "command output '%s': path too long", rel);
            break;
        }
        if (dir) {
            s_dirwalk w = {t, rel};
            rc = dvi_tree_walk(file, s_keep_in_dir, &w);
            rc = rc == DV_EIO ? dv_fail(t->call, "command output '%s': %s",
                                        outs[i], dv_last_error())
                              : rc;
        } else if (must_exist || access(file, F_OK) == 0) {
            rc = s_keep(t, rel);
        }
    }
    free(outs);
    return rc;
}

/* The end of stderr, for an error message: its last line or so. */
static const char *
s_tail(const dvi_cmd_proc *p)
{
    size_t n = p->err_len;
    while (n > 0 && (p->err[n - 1] == '\n' || p->err[n - 1] == '\r')) {
        p->err[--n] = '\0';
    }
    return n > 1000 ? p->err + n - 1000 : p->err;
}

/* Fails the task for a program that did not succeed; 0 if it did. */
static int
s_check(s_task *t, const dvi_cmd_proc *p, unsigned flags)
{
    const char *name = t->argv[0];
    if (p->cancelled) {
        return dv_fail(t->call,
                       "command '%s' was stopped: its call was "
                       "cancelled or timed out",
                       name);
    }
    if (flags & DV_CMD_ANY_STATUS) {
        return 0;
    }
    if (p->timed_out) {
        return dv_fail(t->call, "command '%s' timed out after %g s", name,
                       p->timeout_s);
    }
    if (p->signal != 0) {
        return dv_fail(t->call, "command '%s' was killed by signal %d%s%s",
                       name, p->signal, p->err_len ? ": " : "", s_tail(p));
    }
    if (p->status != 0) {
        return dv_fail(t->call, "command '%s' exited with status %d%s%s", name,
                       p->status, p->err_len ? ": " : "", s_tail(p));
    }
    return 0;
}

/* Returns the result (cmdval.h). */
static int
s_result(s_task *t, const dvi_cmd_proc *p)
{
    char host[256] = "";
    gethostname(host, sizeof(host) - 1);
    dv_arg r[DVI_CMD_RES_LEN];
    r[0] = dv_str(DVI_CMD_MAGIC);
    r[DVI_CMD_RES_STATUS] = dv_i64(p->status);
    r[DVI_CMD_RES_SIGNAL] = dv_i64(p->signal);
    r[DVI_CMD_RES_TIMED_OUT] = dv_bool(p->timed_out);
    r[DVI_CMD_RES_STDOUT] = dv_bytes(p->out, p->out_len);
    r[DVI_CMD_RES_STDERR] = dv_bytes(p->err, p->err_len);
    r[DVI_CMD_RES_OUTPUTS] = dv_list(t->outs, t->nouts);
    r[DVI_CMD_RES_STARTED] = dv_f64(p->started);
    r[DVI_CMD_RES_RUNTIME] = dv_f64(p->runtime);
    r[DVI_CMD_RES_HOST] = dv_str(host);
    int rc = dv_return(t->call, dv_list(r, DVI_CMD_RES_LEN));
    return rc < 0 ? dv_fail(t->call, "command result: %s", dv_last_error()) : 0;
}

/* The directory scratch directories go in: $TMPDIR, or /tmp. */
static const char *
s_tmpdir(void)
{
    const char *tmp = getenv("TMPDIR");
    return tmp && tmp[0] ? tmp : "/tmp";
}

/* This host's name, as scratch directories carry it. */
static char s_host[128];

/* Removes the scratch directories of processes that are gone (a worker
 * killed while its commands ran leaves them): each is named after the
 * host and process that made it, drove-cmd-HOST-PID-XXXXXX, so that a
 * $TMPDIR shared between machines loses nothing of another host's. Once
 * per process, at its first command. A pid taken since by another
 * process keeps its directories: the safe side. */
static void
s_sweep(void)
{
    if (gethostname(s_host, sizeof(s_host) - 1) != 0 || s_host[0] == '\0' ||
        strchr(s_host, '/') != NULL) {
        snprintf(s_host, sizeof(s_host), "localhost");
    }
    char prefix[160];
    int np = snprintf(prefix, sizeof(prefix), "drove-cmd-%s-", s_host);
    DIR *d = opendir(s_tmpdir());
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        long pid = 0;
        char path[PATH_MAX];
        if (strncmp(e->d_name, prefix, (size_t)np) != 0 ||
            sscanf(e->d_name + np, "%ld-", &pid) != 1 || pid <= 0 ||
            pid == (long)getpid() || kill((pid_t)pid, 0) == 0 ||
            errno != ESRCH ||
            snprintf(path, sizeof(path), "%s/%s", s_tmpdir(), e->d_name) >=
                (int)sizeof(path)) {
            continue;
        }
        dvi_tree_remove(path);
    }
    if (d != NULL) {
        closedir(d);
    }
}

static uv_once_t s_swept = UV_ONCE_INIT;

/* Makes the scratch directory with in/ and out/. */
static int
s_scratch(s_task *t)
{
    uv_once(&s_swept, s_sweep);
    snprintf(t->scratch, sizeof(t->scratch), "%s/drove-cmd-%s-%ld-XXXXXX",
             s_tmpdir(), s_host, (long)getpid());
    char dir[PATH_MAX + 8];
    if (mkdtemp(t->scratch) == NULL) {
        int e = errno;
        t->scratch[0] = '\0';
        return dv_fail(t->call, "command: a scratch directory: %s",
                       strerror(e));
    }
    snprintf(dir, sizeof(dir), "%s/in", t->scratch);
    mkdir(dir, 0755);
    snprintf(dir, sizeof(dir), "%s/out", t->scratch);
    mkdir(dir, 0755);
    return 0;
}

/* The working directory asked for (absolute, existing), or "" for the
 * scratch directory. NULL: the task failed. A command running elsewhere
 * with neither inputs nor outputs gets no scratch directory at all:
 * making and removing one is most of the cost of a short job. */
static const char *
s_workdir(s_task *t, int *scratch)
{
    const char *dir = dv_value_str(s_field(t, DVI_CMD_SPEC_WORKDIR), NULL);
    struct stat st;
    if (dir == NULL || (dir[0] != '\0' && dir[0] != '/')) {
        dv_fail(t->call, "command: a bad working directory");
        return NULL;
    }
    int e = dir[0] == '\0'         ? 0
            : stat(dir, &st) < 0   ? errno
            : !S_ISDIR(st.st_mode) ? ENOTDIR
                                   : 0;
    if (e != 0) {
        dv_fail(t->call, "command: working directory '%s' on worker %s: %s",
                dir, dv_call_worker(t->call), strerror(e));
        return NULL;
    }
    *scratch = dir[0] == '\0' ||
               dv_value_len(s_field(t, DVI_CMD_SPEC_INPUTS)) > 0 ||
               dv_value_len(s_field(t, DVI_CMD_SPEC_OUTPUTS)) > 0;
    return dir;
}

/* Everything before the program starts. */
static int
s_prepare(s_task *t, double *timeout, unsigned *flags)
{
    size_t argc = 0;
    if (!dvi_cmdval_is(t->spec, DVI_CMD_SPEC_LEN) ||
        (t->argv = s_strings(t, DVI_CMD_SPEC_ARGV, &argc)) == NULL ||
        argc == 0 || t->argv[0][0] == '\0') {
        return dv_fail(t->call, "%s: not a command description", DVI_CMD_FN);
    }
    *timeout = dv_value_f64(s_field(t, DVI_CMD_SPEC_TIMEOUT));
    *flags = (unsigned)dv_value_i64(s_field(t, DVI_CMD_SPEC_FLAGS));
    int scratch = 0;
    if ((t->workdir = s_workdir(t, &scratch)) == NULL) {
        return DV_ETASK;
    }
    if (!(*timeout >= 0) || (scratch && s_scratch(t) < 0) || s_env(t) < 0 ||
        s_inputs(t) < 0) {
        return *timeout >= 0 ? DV_ETASK
                             : dv_fail(t->call, "command: a bad time limit");
    }
    if (t->stdin_fd < 0 &&
        (t->stdin_fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
        return dv_fail(t->call, "/dev/null: %s", strerror(errno));
    }
    return 0;
}

static void
s_cleanup(s_task *t)
{
    if (t->scratch[0]) {
        dvi_tree_remove(t->scratch);
    }
    if (t->stdin_fd >= 0) {
        close(t->stdin_fd);
    }
    for (size_t i = 0; i < t->nbufs; i++) {
        free(t->bufs[i]);
    }
    for (int i = 0; i < 3; i++) {
        free(t->envbuf[i]);
    }
    free(t->bufs);
    free(t->outs);
    free(t->argv);
    free(t->envp);
}

static int
s_drove_cmd(dv_call *call)
{
    s_task t = {.call = call, .spec = dv_arg_at(call, 0), .stdin_fd = -1};
    double timeout = 0;
    unsigned flags = 0;
    int rc = s_prepare(&t, &timeout, &flags);
    if (rc == 0) {
        dvi_cmd_proc p = {.argv = t.argv,
                          .envp = t.envp,
                          .cwd = t.workdir[0] ? t.workdir : t.scratch,
                          .stdin_fd = t.stdin_fd,
                          .timeout_s = timeout,
                          .call = call,
                          .max_output = S_MAX_STREAM};
        rc = dvi_cmd_proc_run(&p);
        if (rc < 0) {
            rc = dv_fail(call, "command '%s': %s", t.argv[0], dv_last_error());
        } else if ((rc = s_check(&t, &p, flags)) == 0 &&
                   (rc = s_outputs(&t, p.status == 0)) == 0) {
            rc = s_result(&t, &p);
        }
        dvi_cmd_proc_fini(&p);
    }
    s_cleanup(&t);
    return rc;
}

/* Registered as every program's own function, with no code identity:
 * the same name means the same built-in everywhere. */
const dv_function dvi_cmd_function = {DVI_CMD_FN, s_drove_cmd, DVI_FN_BUILTIN,
                                      DV_VERSION_MAJOR};
