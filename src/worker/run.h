/* Running a worker as a whole process: the `drove worker` daemon, and the
 * worker role of an embedded cluster's child processes. */
#ifndef DVI_WORKER_RUN_H
#define DVI_WORKER_RUN_H

#include "worker.h"

/* The exit status of a worker process that ended to stop a call that would
 * not (cancelled, or past its time limit, and still running after its
 * grace): start another at once. EX_TEMPFAIL of sysexits.h. */
#define DVI_WORKER_EXIT_RESTART 75

/* Runs a worker (net may be NULL) on a fresh loop until the scheduler goes away
 * (and does not come back within net's reconnect grace) or SIGTERM / SIGINT
 * arrives: the first signal lets the running tasks finish
 * for up to grace_s seconds (they are given back when it ends), a second stops
 * at once. Returns 0 on a clean stop, 1 if it could not start or never reached
 * its scheduler (the reason, naming the address, is in dv_last_error()). A
 * worker that stops with tasks still running ends the process (_exit) with that
 * status, as their threads cannot be joined, once its last messages are
 * written; so does one that ends to stop a call, with
 * DVI_WORKER_EXIT_RESTART. */
int dvi_worker_run(const char *sched_addr, int sched_fd,
                   const dvi_worker_opts *opts, const dvi_worker_net *net,
                   int grace_s);

/* Exits the process with a clear error if it was started as a worker of
 * an embedded cluster but runs the program instead (role.c): called by
 * dv_connect, so that such a process never starts a cluster of its own. */
void dvi_worker_role_check(void);

/* Environment variables that make a process a worker of its parent's
 * embedded cluster (see role.c). */
#define DVI_ENV_WORKER_FD "DROVE_WORKER_FD"
#define DVI_ENV_WORKER_ID "DROVE_WORKER_ID"
#define DVI_ENV_WORKER_THREADS "DROVE_WORKER_THREADS"
/* The CPU the worker binds itself to, if set (embedded.c says when). */
#define DVI_ENV_WORKER_CPU "DROVE_WORKER_CPU"
/* Where the worker listens for its peers: a Unix socket in the embedded
 * cluster's private directory. */
#define DVI_ENV_WORKER_LISTEN "DROVE_WORKER_LISTEN"

#endif
