/* The worker role of an embedded cluster's child processes.
 *
 * `local:processes=N` starts N children running the client's own
 * executable with DROVE_WORKER_FD set to a socket connected to the
 * client's scheduler. Such a child must run every constructor of the
 * program (C++ static initialisers, globals that task functions read) and
 * then the worker instead of main(). There is no standard hook between
 * the two, so libdrove interposes __libc_start_main, the function the
 * program's entry code calls to run its constructors and then main: ours
 * hands glibc's a main that checks for the role first. Whatever way the
 * program links libdrove (shared, or the static archive, from which the
 * entry code's reference pulls this object), the role is reachable.
 *
 * A child that reaches the program's main anyway (an unusual entry point)
 * must not start a cluster of its own, and so on without end: dv_connect
 * refuses to run in a process that was started as a worker
 * (dvi_worker_role_check).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>
#include <uv.h>

#include "common/err.h"
#include "common/log.h"
#include "run.h"

typedef int (*s_main_fn)(int, char **, char **);
typedef int (*s_start_fn)(s_main_fn, int, char **, void (*)(void),
                          void (*)(void), void (*)(void), void *);

static s_main_fn s_program_main;

/* Binds this process's thread, and so the threads it starts from now on
 * (the executor's), to CPU n, the one its parent chose (-1: none). */
static void
s_bind_cpu(int n)
{
    if (n < 0 || n >= CPU_SETSIZE) {
        return;
    }
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(n, &set);
    if (sched_setaffinity(0, sizeof(set), &set) != 0) {
        DVI_LOG(DVI_LOG_DEBUG, "WORKER", "cannot bind to CPU %d", n);
    }
}

/* The worker, on a thread of its own. */
typedef struct s_role {
    dvi_worker_opts opts;
    int sock;
    int rc;
} s_role;

static void
s_role_thread(void *arg)
{
    s_role *r = arg;
    /* A thread that can leave its heap when it trims: the process's main
     * thread cannot, so that mimalloc there would keep what the worker
     * freed (alloc.c). */
    dvi_alloc_this_thread();
    r->rc = dvi_worker_run(NULL, r->sock, &r->opts, NULL, 0);
}

/* Runs dvi_worker_run on a thread whose memory is mimalloc's, as an
 * embedded cluster's loop and executors are: on the process's main thread,
 * its loop's memory was glibc's, whose arenas cost a tiny task's loop a
 * seventh of its CPU. The thread's stack is as large as the main thread's
 * could grow (tasks run inline on the loop). */
static int
s_run_on_thread(s_role *r)
{
    struct rlimit rl;
    uv_thread_options_t o = {.flags = UV_THREAD_HAS_STACK_SIZE,
                             .stack_size = 8u << 20};
    if (getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur > o.stack_size) {
        o.stack_size = (size_t)rl.rlim_cur;
    }
    uv_thread_t t;
    if (uv_thread_create_ex(&t, &o, s_role_thread, r) != 0) {
        return dvi_worker_run(NULL, r->sock, &r->opts, NULL, 0);
    }
    uv_thread_join(&t);
    return r->rc;
}

/* Runs the worker role of this process; never returns. */
static void
s_run_worker(const char *fd)
{
    char id[128];
    snprintf(id, sizeof(id), "%s",
             getenv(DVI_ENV_WORKER_ID) ? getenv(DVI_ENV_WORKER_ID) : "proc");
    const char *threads = getenv(DVI_ENV_WORKER_THREADS);
    char listen[256] = "";
    const char *l = getenv(DVI_ENV_WORKER_LISTEN);
    snprintf(listen, sizeof(listen), "%s", l ? l : "");
    s_role r = {.opts = {.id = id, .nthreads = threads ? atoi(threads) : 1}};
    const char *cpu = getenv(DVI_ENV_WORKER_CPU);
    int ncpu = cpu != NULL ? atoi(cpu) : -1;
    r.opts.listen = listen[0] ? listen : NULL;
    r.sock = atoi(fd);
    /* The program this process runs must not see the role, nor pass it on
     * to processes of its own. */
    unsetenv(DVI_ENV_WORKER_FD);
    unsetenv(DVI_ENV_WORKER_ID);
    unsetenv(DVI_ENV_WORKER_THREADS);
    unsetenv(DVI_ENV_WORKER_LISTEN);
    unsetenv(DVI_ENV_WORKER_CPU);
    dvi_log_init("worker", dvi_log_level);
    s_bind_cpu(ncpu);
    int rc = s_run_on_thread(&r);
    /* exit, not _exit: the program's destructors and atexit handlers run,
     * as they would after its main. */
    exit(rc);
}

static int
s_main(int argc, char **argv, char **envp)
{
    const char *fd = getenv(DVI_ENV_WORKER_FD);
    if (fd != NULL) {
        s_run_worker(fd);
    }
    return s_program_main(argc, argv, envp);
}

int __libc_start_main(s_main_fn prog_main, int argc, char **argv,
                      void (*init)(void), void (*fini)(void),
                      void (*rtld_fini)(void), void *stack_end);

__attribute__((visibility("default"))) int
__libc_start_main(s_main_fn prog_main, int argc, char **argv,
                  void (*init)(void), void (*fini)(void),
                  void (*rtld_fini)(void), void *stack_end)
{
    s_start_fn next = (s_start_fn)dlsym(RTLD_NEXT, "__libc_start_main");
    if (next == NULL) {
        fprintf(stderr, "drove: cannot find the C library's "
                        "__libc_start_main (a fully static program?)\n");
        abort();
    }
    s_program_main = prog_main;
    return next(s_main, argc, argv, init, fini, rtld_fini, stack_end);
}

void
dvi_worker_role_check(void)
{
    if (getenv(DVI_ENV_WORKER_FD) == NULL) {
        return;
    }
    /* Started as a worker, yet running the program: a cluster started
     * here would start more of itself without end. */
    fprintf(stderr,
            "drove: this process was started as a worker of an embedded "
            "cluster (%s is set), but it is running the program's main "
            "instead of the worker role; not starting another cluster. "
            "Link with `pkg-config --libs drove` and do not replace the "
            "program's entry point.\n",
            DVI_ENV_WORKER_FD);
    _exit(127);
}
