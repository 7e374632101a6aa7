/* drove scheduler: the scheduler daemon. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "common/log.h"
#include "drove.h"
#include "options.h"
#include "scheduler/sched.h"

static dvi_option s_opts[] = {
    {"address", DVI_OPT_STR, "tcp://127.0.0.1:0", 0, 0,
     "DROVE_SCHEDULER_ADDRESS",
     "where to listen, tcp://HOST:PORT; port 0 picks a free one", NULL},
    {"log-level", DVI_OPT_STR, "notice", 0, 0, "DROVE_LOG",
     "error, warn, notice, info or debug (to stderr)", NULL},
};
#define S_NOPTS (sizeof(s_opts) / sizeof(s_opts[0]))

static void
s_on_signal(uv_signal_t *h, int signum)
{
    DVI_LOG(DVI_LOG_NOTICE, "SCHED", "stopping on signal %d", signum);
    uv_stop(h->loop);
}

static void
s_close_walk(uv_handle_t *h, void *arg)
{
    if (!uv_is_closing(h)) {
        uv_close(h, NULL);
    }
}

int
dvi_cmd_scheduler(int argc, char **argv)
{
    int rc = dvi_options_parse(
        s_opts, S_NOPTS, argc, argv, "drove scheduler [OPTIONS]",
        "Runs the scheduler: clients submit tasks to it, workers connect to\n"
        "it, and it decides what runs where. Prints the address it listens\n"
        "on as the first line of standard output, then runs until SIGTERM\n"
        "or SIGINT. Logs go to standard error.");
    if (rc != 0) {
        return rc == 1 ? 0 : 2;
    }
    if (dvi_cli_log("scheduler", dvi_opt_str(s_opts, S_NOPTS, "log-level"))) {
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);

    uv_loop_t loop;
    uv_loop_init(&loop);
    const char *addr = dvi_opt_str(s_opts, S_NOPTS, "address");
    char bound[256];
    dvi_sched *s = dvi_sched_new(&loop, &addr, 1, bound, sizeof(bound));
    if (s == NULL) {
        fprintf(stderr, "drove scheduler: cannot listen on %s: %s\n", addr,
                dv_last_error());
        uv_loop_close(&loop);
        return 1;
    }
    printf("%s\n", bound);
    fflush(stdout);
    DVI_LOG(DVI_LOG_NOTICE, "SCHED", "listening on %s", bound);
    uv_signal_t sigterm, sigint;
    uv_signal_init(&loop, &sigterm);
    uv_signal_init(&loop, &sigint);
    uv_signal_start(&sigterm, s_on_signal, SIGTERM);
    uv_signal_start(&sigint, s_on_signal, SIGINT);
    uv_run(&loop, UV_RUN_DEFAULT);
    dvi_sched_destroy(&s);
    uv_close((uv_handle_t *)&sigterm, NULL);
    uv_close((uv_handle_t *)&sigint, NULL);
    /* Let connections finish their last writes and close. */
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_walk(&loop, s_close_walk, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return 0;
}
