/* The worker role of an embedded cluster's child processes.
 *
 * `local:processes=N` starts N children running the client's own
 * executable with DROVE_WORKER_FD set to a socket connected to the
 * client's scheduler. This constructor runs as libdrove is loaded, before
 * the program's main() and its own constructors: it runs the worker and
 * exits, so the program's main never runs twice. Task functions are found
 * through the descriptors DV_FUNCTION exports (dvi_funcs).
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/log.h"
#include "run.h"

__attribute__((constructor)) static void
s_worker_role(void)
{
    const char *fd = getenv(DVI_ENV_WORKER_FD);
    if (fd == NULL) {
        return;
    }
    char id[128];
    snprintf(id, sizeof(id), "%s",
             getenv(DVI_ENV_WORKER_ID) ? getenv(DVI_ENV_WORKER_ID) : "proc");
    const char *threads = getenv(DVI_ENV_WORKER_THREADS);
    dvi_worker_opts opts = {id, threads ? atoi(threads) : 1,
                            "tcp://127.0.0.1:0"};
    int sock = atoi(fd);
    /* The program this process runs must not see the role, nor pass it on
     * to processes of its own. */
    unsetenv(DVI_ENV_WORKER_FD);
    unsetenv(DVI_ENV_WORKER_ID);
    unsetenv(DVI_ENV_WORKER_THREADS);
    dvi_log_init("worker", dvi_log_level);
    int rc = dvi_worker_run(NULL, sock, &opts, NULL, 0);
    fflush(stdout);
    fflush(stderr);
    _exit(rc);
}
