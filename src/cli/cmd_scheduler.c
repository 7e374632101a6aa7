/* drove scheduler: the scheduler daemon, on a runtime of its own. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "commands.h"
#include "common/log.h"
#include "common/runtime.h"
#include "common/trim.h"
#include "drove.h"
#include "options.h"
#include "proto/addr.h"
#include "scheduler/sched.h"

static dvi_option s_opts[] = {
    {"address", DVI_OPT_STR, "tcp://127.0.0.1:0", 0, 0,
     "DROVE_SCHEDULER_ADDRESS",
     "where to listen, tcp://HOST:PORT; port 0 picks a free one; "
     "tcp://0.0.0.0:PORT listens on every interface",
     NULL},
    {"log-level", DVI_OPT_STR, "notice", 0, 0, "DROVE_LOG",
     "error, warn, notice, info or debug (to stderr)", NULL},
};
#define S_NOPTS (sizeof(s_opts) / sizeof(s_opts[0]))

static void
s_on_signal(void *ctx, int signum, int count)
{
    DVI_LOG(DVI_LOG_NOTICE, "SCHED", "stopping on signal %d", signum);
    dvi_runtime_stop(ctx);
}

/* Prints the address clients and workers should use: on a wildcard
 * (0.0.0.0, ::), that of the first interface that is not loopback; and
 * logs every address it can be reached at. */
static void
s_announce(const char *bound)
{
    char use[256];
    dvi_addr_reachable(bound, use, sizeof(use));
    printf("%s\n", use);
    fflush(stdout);
    if (!dvi_addr_is_wildcard(bound)) {
        DVI_LOG(DVI_LOG_NOTICE, "SCHED", "listening on %s", bound);
        return;
    }
    char host[128], ips[16][64], all[1024] = "";
    int port = 0;
    dvi_addr_split(bound, host, sizeof(host), &port);
    size_t n = dvi_addr_interfaces(strcmp(host, "::") == 0, ips, 16);
    for (size_t i = 0; i < n; i++) {
        char a[128];
        dvi_addr_join(ips[i], port, a, sizeof(a));
        snprintf(all + strlen(all), sizeof(all) - strlen(all), "%s%s",
                 i ? ", " : "", a);
    }
    DVI_LOG(DVI_LOG_NOTICE, "SCHED", "listening on %s: reachable at %s", bound,
            n ? all : use);
}

int
dvi_cmd_scheduler(int argc, char **argv)
{
    int rc = dvi_options_parse(
        s_opts, S_NOPTS, argc, argv, "drove scheduler [OPTIONS]",
        "Runs the scheduler: clients submit tasks to it, workers connect to\n"
        "it, and it decides what runs where. Prints the address to give\n"
        "clients and workers as the first line of standard output (on\n"
        "0.0.0.0, the first interface that is not loopback; the log lists\n"
        "them all), then runs until SIGTERM or SIGINT. Logs go to standard\n"
        "error.");
    if (rc != 0) {
        return rc == 1 ? 0 : 2;
    }
    if (dvi_cli_log("scheduler", dvi_opt_str(s_opts, S_NOPTS, "log-level"))) {
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    dvi_trim_tune_process();

    dvi_runtime *rt = dvi_runtime_new();
    if (rt == NULL) {
        fprintf(stderr, "drove scheduler: %s\n", dv_last_error());
        return 1;
    }
    const char *addr = dvi_opt_str(s_opts, S_NOPTS, "address");
    char bound[256];
    dvi_sched *s =
        dvi_sched_new(dvi_runtime_loop(rt), &addr, 1, bound, sizeof(bound));
    if (s == NULL) {
        fprintf(stderr, "drove scheduler: cannot listen on %s: %s\n", addr,
                dv_last_error());
        dvi_runtime_destroy(&rt);
        return 1;
    }
    s_announce(bound);
    if (dvi_runtime_catch_signals(rt, s_on_signal, rt) < 0) {
        DVI_LOG(DVI_LOG_WARN, "SCHED", "%s", dv_last_error());
    }
    dvi_runtime_run(rt);
    dvi_sched_destroy(&s);
    /* Connections finish their last writes and close first. */
    dvi_runtime_destroy(&rt);
    return 0;
}
