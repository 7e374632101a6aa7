/* The processes `drove cluster` starts, and its record of them.
 *
 * A launcher starts a scheduler or workers as daemons (`drove scheduler`,
 * `drove worker`, detached from the terminal, their output in the
 * profile's logs/). Each one started is recorded in the profile's
 * launched.json, so that `status` marks the workers started from here,
 * `down` waits for them to exit, and `cleanup` ends (or forgets) them.
 */
#ifndef DVI_CLI_LAUNCH_H
#define DVI_CLI_LAUNCH_H

#include <stddef.h>

#include "common/profile.h"

typedef struct dvi_launched {
    char role[16];     /* "scheduler" or "worker" */
    char launcher[16]; /* "local" */
    char host[256];    /* the machine it runs on (its host name) */
    long pid;          /* its process id there */
} dvi_launched;

/* The record of profile p into *out (n entries; caller frees *out): none
 * if there is no record yet. Returns 0, or DV_EIO naming a damaged file. */
int dvi_launch_load(const dvi_profile *p, dvi_launched **out, size_t *n);
/* Writes the record (replacing it; n 0 removes it). Returns 0 or DV_EIO. */
int dvi_launch_save(const dvi_profile *p, const dvi_launched *v, size_t n);

/* This program's path (the drove binary), into out. */
void dvi_launch_self(char *out, size_t size);
/* This machine's host name. */
const char *dvi_launch_hostname(void);

/* Starts argv (argv[0] a path) on this machine as a daemon of its own
 * session, stdin from /dev/null and stdout and stderr appended to the
 * file log. Returns its process id, or a DV_E* code with the reason. */
long dvi_launch_local(char *const argv[], const char *log);

/* Whether the recorded process still runs (on this machine: signal 0). */
int dvi_launch_alive(const dvi_launched *l);
/* Sends it sig. Returns 0, or -1 if it is gone. */
int dvi_launch_kill(const dvi_launched *l, int sig);

#endif
