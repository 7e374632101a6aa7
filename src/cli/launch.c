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

/* ---- The record -----------------------------------------------------------
 */

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
        l->pid = (long)json_integer_value(json_object_get(o, "pid"));
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
        json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:I}", "role",
                                           v[i].role, "launcher", v[i].launcher,
                                           "host", v[i].host, "pid",
                                           (json_int_t)v[i].pid));
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

/* ---- Processes ------------------------------------------------------------
 */

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
    if (host[0] == '\0' && gethostname(host, sizeof(host) - 1) != 0) {
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

int
dvi_launch_alive(const dvi_launched *l)
{
    return l->pid > 0 && kill((pid_t)l->pid, 0) == 0;
}

int
dvi_launch_kill(const dvi_launched *l, int sig)
{
    return l->pid > 0 && kill((pid_t)l->pid, sig) == 0 ? 0 : -1;
}
