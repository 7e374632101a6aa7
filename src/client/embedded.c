/* dvi_embedded: the scheduler and workers of an embedded cluster, on the
 * client's loop; worker processes started, replaced and remembered. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "embedded.h"
#include "scheduler/dashboard.h"
#include "scheduler/sched.h"
#include "worker/run.h"
#include "worker/runner.h"
#include "worker/worker.h"

#define S_MAX_WORKERS 1024
#define S_MAX_RESPAWNS_PER_WORKER 100
#define S_STOP_GRACE_MS 3000

/* A worker process, and the child that plays it now. */
typedef struct s_proc {
    uv_process_t handle;
    dvi_embedded *e;
    int index;         /* its worker id is "proc-INDEX" */
    int respawns;      /* children that died while it ran */
    char epitaph[128]; /* how the last child died, until the scheduler asks */
} s_proc;

struct dvi_embedded {
    uv_loop_t *loop;
    dvi_sched *sched;
    dvi_dashboard *dash;   /* when DROVE_DASHBOARD asks for one */
    char addr[128];        /* where the scheduler listens, in-process */
    int nworkers;          /* workers asked for */
    dvi_worker **tworkers; /* threads scheme: workers on this loop */
    size_t ntworkers;
    dvi_runner_group group; /* theirs: the loop runs calls for them all */
    s_proc **procs;         /* processes scheme: by index, NULL once gone */
    size_t nprocs;
    char sockdir[96];      /* processes scheme: their peer sockets, mode 0700 */
    int nalive;            /* procs not yet freed */
    uv_timer_t stop_timer; /* kills children slow to exit after stop */
    /* Set by dvi_embedded_stop. Its own, read and written on the loop
     * thread only: never the client's flag, which user threads write. */
    int stopping;
};

extern char **environ;

static int s_spawn(dvi_embedded *e, s_proc *p);

/* Makes the private directory the worker processes listen for their
 * peers in: Unix sockets that only this user can reach, so no TCP and no
 * certificates. Under $TMPDIR when a socket path there fits, else /tmp. */
static int
s_sockdir_make(dvi_embedded *e)
{
    const char *tmp = getenv("TMPDIR");
    struct sockaddr_un sun;
    /* Room for "/drove-XXXXXX/proc-NNNN.sock". */
    if (tmp == NULL || tmp[0] != '/' ||
        strlen(tmp) + 32 >= sizeof(sun.sun_path)) {
        tmp = "/tmp";
    }
    snprintf(e->sockdir, sizeof(e->sockdir), "%s/drove-XXXXXX", tmp);
    if (mkdtemp(e->sockdir) == NULL) {
        int err = errno;
        e->sockdir[0] = '\0';
        return dvi_seterr(DV_ESYS,
                          "cannot make a directory in %s for the "
                          "workers' sockets: %s",
                          tmp, strerror(err));
    }
    return 0;
}

/* Removes the directory with whatever sockets killed workers left. */
static void
s_sockdir_remove(dvi_embedded *e)
{
    DIR *d = e->sockdir[0] ? opendir(e->sockdir) : NULL;
    if (d == NULL) {
        return;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
            char path[sizeof(e->sockdir) + 256];
            snprintf(path, sizeof(path), "%s/%s", e->sockdir, de->d_name);
            unlink(path);
        }
    }
    closedir(d);
    rmdir(e->sockdir);
}

static void
s_free(dvi_embedded *e)
{
    s_sockdir_remove(e);
    free(e->tworkers);
    free(e->procs);
    free(e);
}

static void
s_stop_timer_closed(uv_handle_t *h)
{
    s_free(h->data);
}

static void
s_proc_closed(uv_handle_t *h)
{
    s_proc *p = h->data;
    dvi_embedded *e = p->e;
    int again = !e->stopping && p->respawns < S_MAX_RESPAWNS_PER_WORKER;
    if (again && s_spawn(e, p) == 0) {
        return;
    }
    e->procs[p->index] = NULL;
    e->nalive--;
    free(p);
    if (e->stopping && e->nalive == 0) {
        /* The last child is gone: the cluster with it. */
        uv_close((uv_handle_t *)&e->stop_timer, s_stop_timer_closed);
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
    dvi_embedded *e = ctx;
    int index, code;
    if (sscanf(worker_id, "proc-%d", &index) != 1 || index < 0 ||
        (size_t)index >= e->nprocs || e->procs[index] == NULL) {
        return -1;
    }
    s_proc *p = e->procs[index];
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
    s_proc *p = h->data;
    s_describe_exit(p->epitaph, sizeof(p->epitaph), status, signum);
    if (!p->e->stopping && signum == 0 && status == DVI_WORKER_EXIT_RESTART) {
        /* It ended itself to stop a call: no failure of its own. */
        DVI_LOG(DVI_LOG_NOTICE, "CLIENT",
                "worker proc-%d ended itself to stop a call that would "
                "not; starting another",
                p->index);
    } else if (!p->e->stopping) {
        DVI_LOG(DVI_LOG_WARN, "CLIENT",
                "worker proc-%d exited (status %d, "
                "signal %d: %s); starting another",
                p->index, (int)status, signum,
                signum ? strsignal(signum) : "none");
        p->respawns++;
    }
    uv_close((uv_handle_t *)h, s_proc_closed);
}

/* The CPU worker process index is bound to, or -1. When the workers are
 * as many as the CPUs this process may use, each has one of them, the
 * index-th (as OpenMP's OMP_PROC_BIND=true binds its threads): left to
 * the kernel, two workers passing results to each other were woken onto
 * one CPU, taking turns on it while the other idled (a stencil at 0.5 ms
 * tasks kept them busy half the time). DROVE_PIN_WORKERS=0 leaves them to
 * the kernel. */
static int
s_worker_cpu(const dvi_embedded *e, int index)
{
    const char *pin = getenv("DROVE_PIN_WORKERS");
    cpu_set_t set;
    if ((pin != NULL && strcmp(pin, "0") == 0) ||
        sched_getaffinity(0, sizeof(set), &set) != 0 ||
        CPU_COUNT(&set) != e->nworkers) {
        return -1;
    }
    for (int cpu = 0, k = 0; cpu < CPU_SETSIZE; cpu++) {
        if (CPU_ISSET(cpu, &set) && k++ == index) {
            return cpu;
        }
    }
    return -1;
}

static int
s_spawn(dvi_embedded *e, s_proc *p)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        return dvi_seterr(DV_ESYS, "socketpair: %s", strerror(errno));
    }
    size_t n = 0;
    while (environ[n]) {
        n++;
    }
    char **env = dvi_calloc(n + 6, sizeof(char *));
    char fdvar[64], idvar[64], listenvar[192], cpuvar[64];
    snprintf(fdvar, sizeof(fdvar), DVI_ENV_WORKER_FD "=3");
    snprintf(idvar, sizeof(idvar), DVI_ENV_WORKER_ID "=proc-%d", p->index);
    snprintf(listenvar, sizeof(listenvar),
             DVI_ENV_WORKER_LISTEN "=unix://%s/proc-%d.sock", e->sockdir,
             p->index);
    size_t k = 0;
    env[k++] = fdvar;
    env[k++] = idvar;
    env[k++] = listenvar;
    env[k++] = DVI_ENV_WORKER_THREADS "=1";
    int cpu = s_worker_cpu(e, p->index);
    if (cpu >= 0) {
        snprintf(cpuvar, sizeof(cpuvar), DVI_ENV_WORKER_CPU "=%d", cpu);
        env[k++] = cpuvar;
    }
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
    int rc = uv_spawn(e->loop, &p->handle, &o);
    free(env);
    close(sv[1]);
    if (rc < 0) {
        close(sv[0]);
        return dvi_seterr_uv(rc, "starting a worker process");
    }
    if (dvi_sched_adopt_fd(e->sched, sv[0]) < 0) {
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

/* Keeps the reason the failing part set, under the code dv_connect has
 * always given for that part. */
static int
s_recode(int code)
{
    char why[512];
    snprintf(why, sizeof(why), "%s", dv_last_error());
    return dvi_seterr(code, "%s", why);
}

static int
s_start_threads(dvi_embedded *e, const char *name)
{
    e->tworkers = dvi_calloc((size_t)e->nworkers, sizeof(*e->tworkers));
    for (int i = 0; i < e->nworkers; i++) {
        char id[32], listen[128];
        snprintf(id, sizeof(id), "thread-%d", i);
        snprintf(listen, sizeof(listen), "%s-%s", name, id);
        dvi_worker_opts o = {.id = id, .nthreads = 1, .listen = listen};
        o.group = &e->group;
        e->tworkers[i] = dvi_worker_new(e->loop, e->addr, -1, &o, NULL, NULL);
        if (e->tworkers[i] == NULL) {
            return DV_ECONN;
        }
        e->ntworkers++;
    }
    return 0;
}

/* The dashboard an embedded cluster serves only when asked: on
 * $DROVE_DASHBOARD (HOST:PORT), with $DROVE_DASHBOARD_TOKEN or a fresh
 * token; its URL goes to stderr (a client logs nothing by default).
 * Returns 0, or DV_EINVAL for a bad address. */
static int
s_dashboard(dvi_embedded *e)
{
    const char *listen = getenv("DROVE_DASHBOARD");
    if (listen == NULL || listen[0] == '\0' || strcmp(listen, "off") == 0) {
        return 0;
    }
    char token[65], url[512];
    const char *given = getenv("DROVE_DASHBOARD_TOKEN");
    if (given != NULL && given[0] != '\0') {
        snprintf(token, sizeof(token), "%s", given);
    } else {
        dvi_dashboard_new_token(token, sizeof(token));
    }
    dvi_dashboard_opts o = {
        .listen = listen, .token = token, .address = "embedded"};
    e->dash = dvi_dashboard_start(e->loop, e->sched, &o, url, sizeof(url));
    if (e->dash == NULL) {
        return dv_last_code() == DV_EINVAL ? DV_EINVAL : 0;
    }
    fprintf(stderr, "drove: dashboard at %s\n", url);
    return 0;
}

static int
s_start_procs(dvi_embedded *e)
{
    if (s_sockdir_make(e) < 0) {
        return DV_ESYS;
    }
    e->procs = dvi_calloc((size_t)e->nworkers, sizeof(*e->procs));
    e->nprocs = (size_t)e->nworkers;
    for (int i = 0; i < e->nworkers; i++) {
        s_proc *p = dvi_calloc(1, sizeof(*p));
        p->e = e;
        p->index = i;
        e->procs[i] = p;
        e->nalive++;
        if (s_spawn(e, p) < 0) {
            e->procs[i] = NULL;
            e->nalive--;
            free(p);
            return DV_ESYS;
        }
    }
    return 0;
}

dvi_embedded *
dvi_embedded_start(uv_loop_t *loop, const char *spec)
{
    int processes, n;
    if (s_parse(spec, &processes, &n) < 0) {
        return NULL;
    }
    dvi_embedded *e = dvi_calloc(1, sizeof(*e));
    e->loop = loop;
    e->nworkers = n;
    char name[96];
    snprintf(name, sizeof(name), "inproc://drove-%p", (void *)e);
    const char *addrs[] = {name};
    e->sched = dvi_sched_new(loop, addrs, 1, NULL, e->addr, sizeof(e->addr));
    if (e->sched == NULL) {
        s_recode(DV_ECONN);
        free(e);
        return NULL;
    }
    dvi_sched_set_epitaph(e->sched, s_epitaph, e);
    dvi_sched_set_control(e->sched, e->addr, NULL, NULL);
    int rc = s_dashboard(e);
    rc = rc < 0 ? rc : processes ? s_start_procs(e) : s_start_threads(e, name);
    if (rc < 0) {
        char why[512];
        snprintf(why, sizeof(why), "%s", dv_last_error());
        dvi_embedded_stop(&e);
        dvi_seterr(rc, "%s", why);
        return NULL;
    }
    return e;
}

const char *
dvi_embedded_addr(const dvi_embedded *e)
{
    return e->addr;
}

int
dvi_embedded_nworkers(const dvi_embedded *e)
{
    return e->nworkers;
}

static void
s_stop_timeout(uv_timer_t *t)
{
    dvi_embedded *e = t->data;
    /* Children that ignored the scheduler's going away are killed. */
    for (size_t i = 0; i < e->nprocs; i++) {
        if (e->procs[i]) {
            uv_process_kill(&e->procs[i]->handle, SIGKILL);
        }
    }
}

void
dvi_embedded_stop(dvi_embedded **ep)
{
    dvi_embedded *e = *ep;
    if (e == NULL) {
        return;
    }
    *ep = NULL;
    e->stopping = 1;
    for (size_t i = 0; i < e->ntworkers; i++) {
        dvi_worker_destroy(&e->tworkers[i]);
    }
    e->ntworkers = 0;
    dvi_dashboard_stop(&e->dash);
    /* Closing the scheduler closes the children's sockets: they exit. */
    dvi_sched_destroy(&e->sched);
    if (e->nalive == 0) {
        s_free(e);
        return;
    }
    uv_timer_init(e->loop, &e->stop_timer);
    e->stop_timer.data = e;
    uv_timer_start(&e->stop_timer, s_stop_timeout, S_STOP_GRACE_MS, 0);
}

void
dvi_embedded_fusion_stats(dvi_embedded *e, dvi_fusion_stats *sum)
{
    *sum = (dvi_fusion_stats){0};
    for (size_t i = 0; e != NULL && i < e->ntworkers; i++) {
        dvi_fusion_stats st;
        dvi_worker_fusion_stats(e->tworkers[i], &st);
        sum->chained += st.chained;
        sum->fused += st.fused;
        sum->stored_peak += st.stored_peak;
    }
}
