/* Starting drove daemons for `drove cluster`, and the record of them. */
#include "launch.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "common/err.h"
#include "common/file.h"
#include "drove.h"

#define S_RECORD "launched.json"

/* ---- The record ---------------------------------------------------- */

static void
s_copy(char *dst, size_t size, json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    snprintf(dst, size, "%s", v ? v : "");
}

int
dvi_launch_load(const dvi_profile *p, dvi_launched **out, size_t *n)
{
    char path[PATH_MAX];
    dvi_profile_path(p, S_RECORD, path, sizeof(path));
    *out = NULL;
    *n = 0;
    if (access(path, F_OK) != 0) {
        return 0;
    }
    json_error_t err;
    json_t *a = json_load_file(path, 0, &err);
    if (!json_is_array(a)) {
        json_decref(a);
        return dvi_seterr(DV_EIO, "%s: not a list of processes (%s)", path,
                          err.text);
    }
    *out = dvi_calloc(json_array_size(a) + 1, sizeof(**out));
    size_t i;
    json_t *o;
    json_array_foreach(a, i, o)
    {
        dvi_launched *l = &(*out)[*n];
        s_copy(l->role, sizeof(l->role), o, "role");
        s_copy(l->launcher, sizeof(l->launcher), o, "launcher");
        s_copy(l->host, sizeof(l->host), o, "host");
        s_copy(l->name, sizeof(l->name), o, "name");
        l->pid = (long)json_integer_value(json_object_get(o, "pid"));
        json_t *ssh = json_object_get(o, "ssh");
        for (size_t k = 0;
             k < json_array_size(ssh) && l->nssh < DVI_LAUNCH_SSH_MAX; k++) {
            const char *arg = json_string_value(json_array_get(ssh, k));
            l->ssh[l->nssh++] = dvi_strdup(arg ? arg : "");
        }
        *n += l->pid > 0;
    }
    json_decref(a);
    return 0;
}

int
dvi_launch_save(const dvi_profile *p, const dvi_launched *v, size_t n)
{
    char path[PATH_MAX];
    dvi_profile_path(p, S_RECORD, path, sizeof(path));
    if (n == 0) {
        unlink(path);
        return 0;
    }
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *ssh = json_array();
        for (int k = 0; k < v[i].nssh; k++) {
            json_array_append_new(ssh, json_string(v[i].ssh[k]));
        }
        json_array_append_new(
            a, json_pack("{s:s, s:s, s:s, s:s, s:I, s:o}", "role", v[i].role,
                         "launcher", v[i].launcher, "host", v[i].host, "name",
                         v[i].name, "pid", (json_int_t)v[i].pid, "ssh", ssh));
    }
    char *text = json_dumps(a, JSON_INDENT(2));
    json_decref(a);
    if (text == NULL) {
        return dvi_seterr(DV_ENOMEM, "encoding %s", path);
    }
    int rc = dvi_write_file(path, text, strlen(text));
    free(text);
    return rc;
}

int
dvi_launch_record(const dvi_profile *p, const dvi_launched *l)
{
    dvi_launched *v;
    size_t n;
    int rc = dvi_launch_load(p, &v, &n);
    if (rc < 0) {
        return rc;
    }
    v = dvi_realloc(v, (n + 1) * sizeof(*v));
    v[n] = *l; /* borrowed: its ssh arguments stay the caller's */
    rc = dvi_launch_save(p, v, n + 1);
    dvi_launched_fini(v, n);
    free(v);
    return rc;
}

/* ---- Processes ----------------------------------------------------- */

void
dvi_launch_self(char *out, size_t size)
{
    size_t len = size;
    if (uv_exepath(out, &len) != 0) {
        snprintf(out, size, "drove");
    }
}

const char *
dvi_launch_hostname(void)
{
    static char host[256];
    size_t len = sizeof(host);
    if (host[0] == '\0' && uv_os_gethostname(host, &len) != 0) {
        snprintf(host, sizeof(host), "localhost");
    }
    return host;
}

long
dvi_launch_local(char *const argv[], const char *log)
{
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        return dvi_seterr(DV_EIO, "%s: %s", log, strerror(errno));
    }
    uv_loop_t loop;
    uv_loop_init(&loop);
    uv_stdio_container_t io[3] = {{.flags = UV_IGNORE},
                                  {.flags = UV_INHERIT_FD, .data.fd = fd},
                                  {.flags = UV_INHERIT_FD, .data.fd = fd}};
    uv_process_options_t o = {.file = argv[0], .args = (char **)argv};
    o.stdio = io;
    o.stdio_count = 3;
    o.flags = UV_PROCESS_DETACHED; /* a session of its own: it outlives us */
    uv_process_t proc;
    int rc = uv_spawn(&loop, &proc, &o);
    long pid = rc == 0 ? (long)proc.pid : 0;
    if (rc == 0) {
        uv_unref((uv_handle_t *)&proc);
        uv_close((uv_handle_t *)&proc, NULL);
    }
    uv_run(&loop, UV_RUN_NOWAIT);
    uv_loop_close(&loop);
    close(fd);
    if (rc != 0) {
        return dvi_seterr(DV_ESYS, "starting %s: %s", argv[0], uv_strerror(rc));
    }
    return pid;
}

void
dvi_launched_fini(dvi_launched *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (int k = 0; k < v[i].nssh; k++) {
            free(v[i].ssh[k]);
        }
        v[i].nssh = 0;
    }
}

/* ---- Running a command to its end ---------------------------------- */

typedef struct s_cmd {
    uv_pipe_t in, out;
    uv_process_t proc;
    uv_write_t write;
    char *buf;
    size_t size, len;
    int64_t status;
} s_cmd;

static void
s_exited(uv_process_t *p, int64_t status, int signum)
{
    s_cmd *c = p->data;
    c->status = signum ? -1 : status;
    uv_close((uv_handle_t *)p, NULL);
}

static void
s_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    s_cmd *c = h->data;
    static char sink[4096]; /* past the caller's buffer: dropped */
    size_t room = c->size - 1 - c->len;
    (void)hint;
    *b = room ? uv_buf_init(c->buf + c->len, (unsigned)room)
              : uv_buf_init(sink, sizeof(sink));
}

static void
s_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    s_cmd *c = s->data;
    if (n > 0 && b->base == c->buf + c->len) {
        c->len += (size_t)n;
    } else if (n < 0) {
        uv_close((uv_handle_t *)s, NULL);
    }
}

static void
s_written(uv_write_t *w, int status)
{
    s_cmd *c = w->data;
    (void)status;
    uv_close((uv_handle_t *)&c->in, NULL); /* end of its input */
}

int
dvi_launch_run(char *const argv[], const char *input, size_t inlen, char *out,
               size_t size, size_t *got)
{
    signal(SIGPIPE, SIG_IGN); /* a command that stops reading fails */
    uv_loop_t loop;
    uv_loop_init(&loop);
    s_cmd c = {.buf = out, .size = size, .status = -1};
    uv_pipe_init(&loop, &c.in, 0);
    uv_pipe_init(&loop, &c.out, 0);
    c.in.data = c.out.data = c.proc.data = c.write.data = &c;
    uv_stdio_container_t io[3] = {{.flags = UV_CREATE_PIPE | UV_READABLE_PIPE,
                                   .data.stream = (uv_stream_t *)&c.in},
                                  {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE,
                                   .data.stream = (uv_stream_t *)&c.out},
                                  {.flags = UV_INHERIT_FD, .data.fd = 2}};
    uv_process_options_t o = {.file = argv[0], .args = (char **)argv};
    o.stdio = io;
    o.stdio_count = 3;
    o.exit_cb = s_exited;
    int rc = uv_spawn(&loop, &c.proc, &o);
    if (rc == 0) {
        uv_buf_t b = uv_buf_init((char *)(input ? input : ""), (unsigned)inlen);
        uv_write(&c.write, (uv_stream_t *)&c.in, &b, 1, s_written);
        uv_read_start((uv_stream_t *)&c.out, s_alloc, s_read);
    } else {
        uv_close((uv_handle_t *)&c.in, NULL);
        uv_close((uv_handle_t *)&c.out, NULL);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    out[c.len] = '\0';
    if (got != NULL) {
        *got = c.len;
    }
    if (rc != 0) {
        return dvi_seterr(DV_ESYS, "running %s: %s", argv[0], uv_strerror(rc));
    }
    return (int)c.status;
}

/* ---- ssh
 * --------------------------------------------------------------------- */

static void
s_ssh_add(dvi_launched *l, const char *a)
{
    if (l->nssh < DVI_LAUNCH_SSH_MAX) {
        l->ssh[l->nssh++] = dvi_strdup(a);
    }
}

int
dvi_launch_ssh_target(dvi_launched *l, const char *target, const char *key,
                      const char *const *opts, size_t n)
{
    char dest[256], port[16] = "";
    snprintf(dest, sizeof(dest), "%s", target);
    char *colon = strrchr(dest, ':');
    if (colon != NULL) {
        snprintf(port, sizeof(port), "%s", colon + 1);
        *colon = '\0';
    }
    if (dest[0] == '\0' || dest[0] == '-' || strpbrk(dest, " \t'\"") ||
        (colon &&
         (port[0] == '\0' || strspn(port, "0123456789") != strlen(port)))) {
        return dvi_seterr(DV_EINVAL, "'%s': want [USER@]HOST[:PORT]", target);
    }
    static const char *const base[] = {
        "ssh",           "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-o",
        "LogLevel=ERROR"};
    for (size_t i = 0; i < sizeof(base) / sizeof(base[0]); i++) {
        s_ssh_add(l, base[i]);
    }
    for (size_t i = 0; i < n && l->nssh + 6 < DVI_LAUNCH_SSH_MAX; i++) {
        s_ssh_add(l, "-o");
        s_ssh_add(l, opts[i]);
    }
    if (key != NULL) {
        s_ssh_add(l, "-i");
        s_ssh_add(l, key);
    }
    if (port[0] != '\0') {
        s_ssh_add(l, "-p");
        s_ssh_add(l, port);
    }
    s_ssh_add(l, dest);
    return 0;
}

int
dvi_launch_ssh(const dvi_launched *l, const char *cmd, const char *input,
               size_t inlen, char *out, size_t size)
{
    char *argv[DVI_LAUNCH_SSH_MAX + 2];
    for (int k = 0; k < l->nssh; k++) {
        argv[k] = l->ssh[k];
    }
    argv[l->nssh] = (char *)cmd;
    argv[l->nssh + 1] = NULL;
    return dvi_launch_run(argv, input, inlen, out, size, NULL);
}

/* Sends sig to l's process, or (sig 0) checks that it runs: here with
 * kill(2), elsewhere with kill(1) over ssh; a Slurm job is checked with
 * squeue, which lists it while it lives, and ended with scancel. Returns
 * 0, or -1 if it is gone. */
static int
s_signal(const dvi_launched *l, int sig)
{
    char arg[64], out[256];
    if (l->pid <= 0) {
        return -1;
    }
    if (strcmp(l->launcher, "slurm") == 0) {
        snprintf(arg, sizeof(arg), "%ld", l->pid);
        char *squeue[] = {"squeue", "-h", "-j", arg, NULL};
        char *scancel[] = {"scancel", arg, NULL};
        int rc = dvi_launch_run(sig ? scancel : squeue, NULL, 0, out,
                                sizeof(out), NULL);
        return rc == 0 && (sig || out[0] != '\0') ? 0 : -1;
    }
    if (l->nssh > 0) {
        snprintf(arg, sizeof(arg), "kill -%d %ld 2>/dev/null", sig, l->pid);
        return dvi_launch_ssh(l, arg, NULL, 0, out, sizeof(out)) == 0 ? 0 : -1;
    }
    return kill((pid_t)l->pid, sig) == 0 ? 0 : -1;
}

int
dvi_launch_alive(const dvi_launched *l)
{
    return s_signal(l, 0) == 0;
}

int
dvi_launch_kill(const dvi_launched *l, int sig)
{
    return s_signal(l, sig);
}
