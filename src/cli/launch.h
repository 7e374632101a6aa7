/* The processes `drove cluster` starts, and its record of them.
 *
 * A launcher starts a scheduler or workers as daemons (`drove scheduler`,
 * `drove worker`, detached from the terminal, their output in the
 * profile's logs/): on this machine, or on others over ssh. Each one started is
 * recorded in the profile's launched.json, so that `status` marks the workers
 * started from here, `down` waits for them to exit, and `cleanup` ends (or
 * forgets) them.
 */
#ifndef DVI_CLI_LAUNCH_H
#define DVI_CLI_LAUNCH_H

#include <stddef.h>

#include "common/profile.h"

#define DVI_LAUNCH_SSH_MAX 24 /* arguments of ssh before the command */

typedef struct dvi_launched {
    char role[16];     /* "scheduler", "worker" or "workers" (a job) */
    char launcher[16]; /* "local", "ssh", "slurm" or "mpi" */
    char host[256];    /* the machine it runs on (its host name) */
    char name[128];    /* its workers' --name, or "" */
    long pid;          /* its process id there; slurm: the job's id */
    /* ssh: how to reach its machine (options and destination) */
    char *ssh[DVI_LAUNCH_SSH_MAX + 1];
    int nssh;
} dvi_launched;

/* Frees what the n entries hold (not v itself). */
void dvi_launched_fini(dvi_launched *v, size_t n);

/* The record of profile p into *out (n entries; caller frees *out): none
 * if there is no record yet. Returns 0, or DV_EIO naming a damaged file. */
int dvi_launch_load(const dvi_profile *p, dvi_launched **out, size_t *n);
/* Writes the record (replacing it; n 0 removes it). Returns 0 or DV_EIO. */
int dvi_launch_save(const dvi_profile *p, const dvi_launched *v, size_t n);

/* Adds l to the record of profile p. Returns 0 or a DV_E* code. */
int dvi_launch_record(const dvi_profile *p, const dvi_launched *l);

/* This program's path (the drove binary), into out. */
void dvi_launch_self(char *out, size_t size);
/* This machine's host name. */
const char *dvi_launch_hostname(void);

/* Starts argv (argv[0] a path) on this machine as a daemon of its own
 * session, stdin from /dev/null and stdout and stderr appended to the
 * file log. Returns its process id, or a DV_E* code with the reason. */
long dvi_launch_local(char *const argv[], const char *log);

/* Runs argv (argv[0] found on PATH) to its end, input on its stdin, its
 * stdout into out (NUL-terminated, cut at size - 1; *got: its length, if
 * got is not NULL). Returns its exit status (-1 if killed by a signal),
 * or a DV_E* code if it cannot start. */
int dvi_launch_run(char *const argv[], const char *input, size_t inlen,
                   char *out, size_t size, size_t *got);

/* ssh's arguments to reach target ("[USER@]HOST[:PORT]"), with key (or
 * NULL) and the -o options given (n of them), into l->ssh. Returns 0, or
 * DV_EINVAL naming a bad target. */
int dvi_launch_ssh_target(dvi_launched *l, const char *target, const char *key,
                          const char *const *opts, size_t n);

/* Runs the shell command cmd on l's machine over ssh (input on its
 * stdin); as dvi_launch_run. */
int dvi_launch_ssh(const dvi_launched *l, const char *cmd, const char *input,
                   size_t inlen, char *out, size_t size);

/* Whether the recorded process still runs (signal 0, over ssh if it is
 * on another machine; a Slurm job while squeue lists it). */
int dvi_launch_alive(const dvi_launched *l);
/* Sends it sig (over ssh if need be; a Slurm job: scancel). Returns 0,
 * or -1 if it is gone. */
int dvi_launch_kill(const dvi_launched *l, int sig);

/* How workers are started over ssh. */
typedef struct dvi_ssh_spec {
    const char *key;         /* ssh -i, or NULL */
    const char *const *opts; /* ssh -o options */
    size_t nopts;
    const char *home;  /* DROVE_HOME there ("~/.drove") */
    const char *drove; /* the drove program there ("drove": on PATH) */
} dvi_ssh_spec;

/* Starts n workers (threads each, 0: their default) on target
 * ("[USER@]HOST[:PORT]") over ssh, after copying there what a worker
 * needs of profile p, and records them (launch_ssh.c). Returns 0, or a
 * DV_E* code with the reason. */
int dvi_launch_ssh_workers(const dvi_profile *p, const dvi_ssh_spec *s,
                           const char *target, long n, long threads);

/* How workers are started as a Slurm job. */
typedef struct dvi_slurm_spec {
    const char *partition; /* or NULL */
    const char *time;      /* a time limit, or NULL */
    long cpus;             /* per worker (its threads), 0: Slurm's */
} dvi_slurm_spec;

/* Submits n workers as one Slurm job (sbatch, srun inside), recorded by
 * job id (launch_hpc.c). The job's nodes must see this profile (a shared
 * DROVE_HOME) and this drove program. Returns 0 or a DV_E* code. */
int dvi_launch_slurm_workers(const dvi_profile *p, const dvi_slurm_spec *s,
                             long n);
/* Starts n workers with mpiexec, in the background, recorded by
 * mpiexec's process id (launch_hpc.c). Returns 0 or a DV_E* code. */
int dvi_launch_mpi_workers(const dvi_profile *p, long n, long threads);

#endif
