/* dvi_map_job: one job of `drove map` as a command task: its command
 * line run without a shell when it needs none (dvi_shell_split), in the
 * working directory asked for, with DV_CMD_ANY_STATUS so that a failing
 * job is a result (status, signal, output, times, host) and not an error;
 * then that result read back as GNU parallel reports a job.
 */
#ifndef DVI_CLI_MAP_JOB_H
#define DVI_CLI_MAP_JOB_H

#include <stddef.h>

#include "drove.h"

/* How every job of a run is submitted. */
typedef struct dvi_map_runner {
    dv_client *c;        /* borrowed */
    const char *workdir; /* the jobs' directory, or NULL: the worker's
                            scratch directory for each */
    double timeout_s;    /* 0: none */
} dvi_map_runner;

typedef struct dvi_map_job {
    size_t seq;   /* from 1 */
    char *cmd;    /* the command line (owned) */
    char *tag;    /* --tag's prefix (owned), or NULL */
    dv_future *f; /* the running or finished task (owned), or NULL */
    int tries;    /* submissions so far */
    /* Read from the finished task by dvi_map_job_read: */
    int exitval;      /* 0-255; -1 for a timeout, 255 for a task error */
    int signal;       /* that ended it, or 0 */
    int timed_out;    /* ran past --timeout */
    double start;     /* epoch seconds */
    double runtime;   /* seconds */
    const char *host; /* the worker's host (borrowed from f), or "" */
    const char *out;  /* stdout (borrowed from f) */
    const char *err;  /* stderr (borrowed from f) */
    size_t outlen, errlen;
    const char *error; /* why the task erred (borrowed from f), or NULL */
} dvi_map_job;

/* Submits the job's command (again, after a failed try: the previous
 * future is released). Returns 0, or a negative DV_E* code with
 * dv_last_error() saying why. */
int dvi_map_job_submit(dvi_map_job *j, const dvi_map_runner *r);
/* Reads the outcome of the job's finished future into j. */
void dvi_map_job_read(dvi_map_job *j);
/* Whether the outcome read is a failure (parallel's: a non-zero exit, a
 * signal, a timeout; here also a task that erred). */
int dvi_map_job_failed(const dvi_map_job *j);
/* Releases the future and frees the strings; j can be reused. */
void dvi_map_job_fini(dvi_map_job *j);

#endif
