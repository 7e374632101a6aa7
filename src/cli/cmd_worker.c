/* drove worker: the worker daemon. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "commands.h"
#include "common/log.h"
#include "drove.h"
#include "options.h"
#include "worker/run.h"

static dvi_option s_opts[] = {
    {"scheduler", DVI_OPT_STR, NULL, 0, 0, "DROVE_SCHEDULER",
     "the scheduler's address, tcp://HOST:PORT (required)", NULL},
    {"threads", DVI_OPT_INT, NULL, 1, 4096, "DROVE_WORKER_THREADS",
     "threads that run tasks (default: one per core)", NULL},
    {"name", DVI_OPT_STR, NULL, 0, 0, "DROVE_WORKER_NAME",
     "the worker's id (default HOSTNAME-PID)", NULL},
    {"listen", DVI_OPT_STR, "tcp://127.0.0.1:0", 0, 0, "DROVE_WORKER_LISTEN",
     "where peers fetch results from, tcp://IP:PORT", NULL},
    {"log-level", DVI_OPT_STR, "notice", 0, 0, "DROVE_LOG",
     "error, warn, notice, info or debug (to stderr)", NULL},
};
#define S_NOPTS (sizeof(s_opts) / sizeof(s_opts[0]))

int
dvi_cmd_worker(int argc, char **argv)
{
    int rc = dvi_options_parse(
        s_opts, S_NOPTS, argc, argv, "drove worker --scheduler ADDR [OPTIONS]",
        "Runs a worker: it connects to the scheduler, runs tasks on a pool\n"
        "of threads, keeps their results in memory and serves them to other\n"
        "workers. Exits when the scheduler shuts down, or on SIGTERM.");
    if (rc != 0) {
        return rc == 1 ? 0 : 2;
    }
    const char *sched = dvi_opt_str(s_opts, S_NOPTS, "scheduler");
    if (sched == NULL) {
        fprintf(stderr, "drove worker: --scheduler is required (or set "
                        "$DROVE_SCHEDULER)\n");
        return 2;
    }
    if (dvi_cli_log("worker", dvi_opt_str(s_opts, S_NOPTS, "log-level"))) {
        return 2;
    }
    char name[128];
    const char *given = dvi_opt_str(s_opts, S_NOPTS, "name");
    if (given) {
        snprintf(name, sizeof(name), "%s", given);
    } else {
        char host[64] = "host";
        gethostname(host, sizeof(host));
        host[sizeof(host) - 1] = '\0';
        snprintf(name, sizeof(name), "%s-%d", host, (int)getpid());
    }
    long threads = dvi_opt_int(s_opts, S_NOPTS, "threads");
    if (threads <= 0) {
        threads = (long)uv_available_parallelism();
    }
    dvi_worker_opts o = {name, (int)threads,
                         dvi_opt_str(s_opts, S_NOPTS, "listen")};
    rc = dvi_worker_run(sched, -1, &o);
    if (rc != 0) {
        fprintf(stderr,
                "drove worker: cannot work for the scheduler at %s: "
                "%s\n",
                sched, dv_last_error());
    }
    return rc;
}
