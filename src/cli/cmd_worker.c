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
    {"listen", DVI_OPT_STR, NULL, 0, 0, "DROVE_WORKER_LISTEN",
     "where peers fetch results from, tcp://IP:PORT (default: port 0 on the "
     "interface the scheduler is reached by; tcp://0.0.0.0:0 listens on "
     "all)",
     NULL},
    {"contact-address", DVI_OPT_STR, NULL, 0, 0, "DROVE_WORKER_CONTACT_ADDRESS",
     "the address peers are told to fetch from, tcp://HOST:PORT (port 0: "
     "the one listened on; default: where it listens, 0.0.0.0 replaced by "
     "the interface the scheduler is reached by)",
     NULL},
    {"connect-timeout", DVI_OPT_INT, "60", 0, 86400,
     "DROVE_WORKER_CONNECT_TIMEOUT",
     "seconds to keep trying to reach the scheduler (a refused connection "
     "is tried again, after 50 ms doubling to 2 s); 0: try once",
     NULL},
    {"grace", DVI_OPT_INT, "30", 0, 86400, "DROVE_WORKER_GRACE",
     "seconds the running tasks have to finish after SIGTERM or SIGINT; "
     "tasks not started go to other workers at once",
     NULL},
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
        "workers. It may start before the scheduler: it keeps trying for\n"
        "--connect-timeout seconds. Exits when the scheduler shuts down.\n"
        "On SIGTERM or SIGINT it takes no new tasks, gives back those not\n"
        "started, lets the running ones finish for up to --grace seconds,\n"
        "and exits; a second signal exits at once.");
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
    dvi_worker_net net = {0};
    net.contact = dvi_opt_str(s_opts, S_NOPTS, "contact-address");
    net.connect_timeout_ms =
        (int)dvi_opt_int(s_opts, S_NOPTS, "connect-timeout") * 1000;
    rc = dvi_worker_run(sched, -1, &o, &net,
                        (int)dvi_opt_int(s_opts, S_NOPTS, "grace"));
    if (rc != 0) {
        /* The reason names what failed: the scheduler's address, or where
         * the worker could not listen for peers. */
        fprintf(stderr, "drove worker: %s\n", dv_last_error());
    }
    return rc;
}
