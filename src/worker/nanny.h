/* dvi_nanny: `drove worker`'s supervisor.
 *
 * The process the user starts stays small (no task code, no connections,
 * no certificates) and runs the real worker as its child: the same
 * program and arguments, with DVI_ENV_NANNY=PID in its environment, in a
 * session of its own so that a terminal's Ctrl-C reaches it once, through
 * the nanny. The nanny
 *   - restarts a child that died of a signal (a task's segfault or abort,
 *     the OOM killer's SIGKILL): at once after a life of S_STABLE_MS or
 *     more, else after a delay that doubles while it keeps dying young;
 *   - restarts at once a child that exited with DVI_WORKER_EXIT_RESTART
 *     (it ended itself to stop a call that would not stop);
 *   - forwards SIGTERM and SIGINT to the child, which retires as it would
 *     alone (--grace), and from then on restarts nothing;
 *   - otherwise exits with the child's status: 0 when the scheduler shut
 *     down, 1 when it was never reached, 128 + N after signal N.
 * The child dies with its nanny (it is sent SIGTERM, and retires). The
 * scheduler sees each new child as a fresh worker.
 *
 * Not thread-safe: the process's main thread only.
 */
#ifndef DVI_NANNY_H
#define DVI_NANNY_H

#include <stdint.h>

/* Set in the child's environment: the nanny's pid. */
#define DVI_ENV_NANNY "DROVE_WORKER_NANNY"

/* What the nanny does when its child has ended: returns -1 to start
 * another after *delay_ms, or the status to exit with. status and signum
 * are the child's exit status and the signal that killed it (0: none);
 * stopping: the nanny was told to stop; ran_ms: how long the child lived.
 * *backoff_ms is the nanny's memory of young deaths, 0 at first. Pure. */
int dvi_nanny_decide(int64_t status, int signum, int stopping, uint64_t ran_ms,
                     uint64_t *backoff_ms, uint64_t *delay_ms);

/* Runs the nanny of `drove worker` argv[0..argc) (the arguments after
 * "worker") until it is done; name is the worker's, for logs. Returns the
 * status the process exits with. */
int dvi_nanny_run(int argc, char **argv, const char *name);

/* In a process started by a nanny: takes DVI_ENV_NANNY out of the
 * environment (so that processes of its own do not see it), makes the
 * process die with its nanny, and stores the nanny's pid in *nanny.
 * Returns 1, 0 for a process no nanny started, or -1 (reason set) if its
 * nanny is gone already. */
int dvi_nanny_child_init(int *nanny);

#endif
