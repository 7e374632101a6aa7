/* The embedded cluster: a scheduler and workers started by dv_connect.
 *
 * Both schemes put the scheduler on the client's own loop thread, so a
 * submission reaches it without a socket. "local:threads=N" adds N workers
 * on the same loop, talking in-process; "local:processes=N" starts N child
 * processes running this same executable in the worker role (role.c), each
 * connected over a socketpair, so nothing is left on disk and no port
 * stays open once the client closes. A child that dies is replaced.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client_impl.h"
#include "common/err.h"
#include "common/log.h"
#include "worker/run.h"

#define S_MAX_WORKERS 1024
#define S_MAX_RESPAWNS_PER_WORKER 100
#define S_STOP_GRACE_MS 3000

struct dvi_proc {
    uv_process_t handle;
    dv_client *c;
    int index;
    int respawns;
    char epitaph[128]; /* how the last child died, until the scheduler asks */
};

extern char **environ;

static int s_spawn(dv_client *c, dvi_proc *p);

static void
s_proc_closed(uv_handle_t *h)
{
    dvi_proc *p = h->data;
    dv_client *c = p->c;
    int again = !c->stopping && p->respawns < S_MAX_RESPAWNS_PER_WORKER;
    if (again && s_spawn(c, p) == 0) {
        return;
    }
    c->procs[p->index] = NULL;
    c->nprocs_alive--;
    free(p);
    if (c->stopping && c->nprocs_alive == 0 &&
        !uv_is_closing((uv_handle_t *)&c->stop_timer)) {
        uv_close((uv_handle_t *)&c->stop_timer, NULL);
    }
}

static void
s_describe_exit(char *buf, size_t size, int64_t status, int signum)
{
    if (signum) {
        snprintf(buf, size, "killed by signal %d (%s)", signum,
                 strsignal(signum));
    } else {
        snprintf(buf, size, "exited with status %d", (int)status);
    }
}

/* The exit code of a child that is exiting or dead but not yet reaped,
 * from /proc/PID/stat (field 52, Linux 3.5 and later): its socket closes
 * before libuv sees it exit, and the scheduler asks in between. */
static int
s_proc_exit_code(int pid, int *code)
{
    char path[64], buf[2048];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    if (p == NULL) {
        return -1;
    }
    /* After ')' come fields 3, 4, ...: skip to field 52. */
    for (int field = 2; field < 52 && p; field++) {
        p = strchr(p + 1, ' ');
    }
    if (p == NULL) {
        return -1;
    }
    *code = atoi(p + 1);
    return *code == 0 ? -1 : 0;
}

static int
s_epitaph(void *ctx, const char *worker_id, char *buf, size_t size)
{
    dv_client *c = ctx;
    int index, code;
    if (sscanf(worker_id, "proc-%d", &index) != 1 || index < 0 ||
        (size_t)index >= c->nprocs || c->procs[index] == NULL) {
        return -1;
    }
    dvi_proc *p = c->procs[index];
    if (p->epitaph[0]) {
        snprintf(buf, size, "%s", p->epitaph);
        p->epitaph[0] = '\0';
        return 0;
    }
    if (s_proc_exit_code(p->handle.pid, &code) < 0) {
        return -1;
    }
    s_describe_exit(buf, size, (code >> 8) & 0xff, code & 0x7f);
    return 0;
}

static void
s_proc_exit(uv_process_t *h, int64_t status, int signum)
{
    dvi_proc *p = h->data;
    s_describe_exit(p->epitaph, sizeof(p->epitaph), status, signum);
    if (!p->c->stopping) {
        DVI_LOG(DVI_LOG_WARN, "CLIENT",
                "worker proc-%d exited (status %d, "
                "signal %d: %s); starting another",
                p->index, (int)status, signum,
                signum ? strsignal(signum) : "none");
        p->respawns++;
    }
    uv_close((uv_handle_t *)h, s_proc_closed);
}

static int
s_spawn(dv_client *c, dvi_proc *p)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        return dvi_seterr(DV_ESYS, "socketpair: %s", strerror(errno));
    }
    size_t n = 0;
    while (environ[n]) {
        n++;
    }
    char **env = dvi_calloc(n + 4, sizeof(char *));
    char fdvar[64], idvar[64];
    snprintf(fdvar, sizeof(fdvar), DVI_ENV_WORKER_FD "=3");
    snprintf(idvar, sizeof(idvar), DVI_ENV_WORKER_ID "=proc-%d", p->index);
    size_t k = 0;
    env[k++] = fdvar;
    env[k++] = idvar;
    env[k++] = DVI_ENV_WORKER_THREADS "=1";
    for (size_t i = 0; i < n; i++) {
        if (strncmp(environ[i], "DROVE_WORKER_", 13) != 0) {
            env[k++] = environ[i];
        }
    }
    char *args[] = {"drove-worker", NULL};
    uv_stdio_container_t stdio[4];
    stdio[0].flags = UV_IGNORE;
    stdio[1].flags = UV_INHERIT_FD;
    stdio[1].data.fd = 1;
    stdio[2].flags = UV_INHERIT_FD;
    stdio[2].data.fd = 2;
    stdio[3].flags = UV_INHERIT_FD;
    stdio[3].data.fd = sv[1];
    uv_process_options_t o;
    memset(&o, 0, sizeof(o));
    o.file = "/proc/self/exe";
    o.args = args;
    o.env = env;
    o.stdio = stdio;
    o.stdio_count = 4;
    o.exit_cb = s_proc_exit;
    p->handle.data = p;
    int rc = uv_spawn(c->loop, &p->handle, &o);
    free(env);
    close(sv[1]);
    if (rc < 0) {
        close(sv[0]);
        return dvi_seterr_uv(rc, "starting a worker process");
    }
    if (dvi_sched_adopt_fd(c->sched, sv[0]) < 0) {
        /* The child runs but cannot reach us: end it, and let its exit
         * callback free it (without starting another). */
        close(sv[0]);
        p->respawns = S_MAX_RESPAWNS_PER_WORKER;
        uv_process_kill(&p->handle, SIGKILL);
    }
    return 0;
}

static int
s_parse(const char *spec, int *processes, int *n)
{
    int cores = (int)uv_available_parallelism();
    *processes = 0;
    *n = cores > 0 ? cores : 1;
    if (strcmp(spec, "local") == 0) {
        return 0;
    }
    const char *arg = spec + 6; /* after "local:" */
    const char *eq = strchr(arg, '=');
    if (eq == NULL) {
        return dvi_seterr(DV_EINVAL,
                          "'%s': want local:threads=N or "
                          "local:processes=N",
                          spec);
    }
    if ((size_t)(eq - arg) == 7 && strncmp(arg, "threads", 7) == 0) {
        *processes = 0;
    } else if ((size_t)(eq - arg) == 9 && strncmp(arg, "processes", 9) == 0) {
        *processes = 1;
    } else {
        return dvi_seterr(DV_EINVAL,
                          "'%s': unknown scheme '%.*s' (threads "
                          "or processes)",
                          spec, (int)(eq - arg), arg);
    }
    char *end;
    long v = strtol(eq + 1, &end, 10);
    if (*end != '\0' || end == eq + 1 || v < 1 || v > S_MAX_WORKERS) {
        return dvi_seterr(DV_EINVAL, "'%s': the count must be 1 to %d", spec,
                          S_MAX_WORKERS);
    }
    *n = (int)v;
    return 0;
}

int
dvi_embedded_start(dv_client *c, const char *spec)
{
    int processes, n;
    int rc = s_parse(spec, &processes, &n);
    if (rc < 0) {
        return rc;
    }
    char name[96];
    snprintf(name, sizeof(name), "inproc://drove-%p", (void *)c);
    const char *addrs[] = {name};
    c->sched =
        dvi_sched_new(c->loop, addrs, 1, c->sched_addr, sizeof(c->sched_addr));
    if (c->sched == NULL) {
        return DV_ECONN;
    }
    c->expect_workers = n;
    dvi_sched_set_epitaph(c->sched, s_epitaph, c);
    if (!processes) {
        c->tworkers = dvi_calloc((size_t)n, sizeof(*c->tworkers));
        for (int i = 0; i < n; i++) {
            char id[32], listen[128];
            snprintf(id, sizeof(id), "thread-%d", i);
            snprintf(listen, sizeof(listen), "%s-%s", name, id);
            dvi_worker_opts o = {id, 1, listen};
            c->tworkers[i] =
                dvi_worker_new(c->loop, c->sched_addr, -1, &o, NULL, NULL);
            if (c->tworkers[i] == NULL) {
                return DV_ECONN;
            }
            c->ntworkers++;
        }
        return 0;
    }
    c->procs = dvi_calloc((size_t)n, sizeof(*c->procs));
    c->nprocs = (size_t)n;
    for (int i = 0; i < n; i++) {
        dvi_proc *p = dvi_calloc(1, sizeof(*p));
        p->c = c;
        p->index = i;
        c->procs[i] = p;
        c->nprocs_alive++;
        if (s_spawn(c, p) < 0) {
            c->procs[i] = NULL;
            c->nprocs_alive--;
            free(p);
            return DV_ESYS;
        }
    }
    return 0;
}

static void
s_stop_timeout(uv_timer_t *t)
{
    dv_client *c = t->data;
    /* Children that ignored the scheduler's going away are killed. */
    for (size_t i = 0; i < c->nprocs; i++) {
        if (c->procs[i]) {
            uv_process_kill(&c->procs[i]->handle, SIGKILL);
        }
    }
}

void
dvi_embedded_stop(dv_client *c)
{
    for (size_t i = 0; i < c->ntworkers; i++) {
        dvi_worker_destroy(&c->tworkers[i]);
    }
    c->ntworkers = 0;
    /* Closing the scheduler closes the children's sockets: they exit. */
    dvi_sched_destroy(&c->sched);
    if (c->nprocs_alive > 0) {
        uv_timer_init(c->loop, &c->stop_timer);
        c->stop_timer.data = c;
        uv_timer_start(&c->stop_timer, s_stop_timeout, S_STOP_GRACE_MS, 0);
    }
}
