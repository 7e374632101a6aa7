/* dvi_cmd_proc: running one program to its end from a task thread, as a
 * command task does: posix_spawn (no fork of a big process, no shell),
 * its stdout and stderr captured, bounded by a time limit and by the
 * call's cancellation, its whole process group ended with it.
 */
#ifndef DVI_CMD_SPAWN_H
#define DVI_CMD_SPAWN_H

#include <stddef.h>

#include "drove.h"

typedef struct dvi_cmd_proc {
    /* In. */
    char *const *argv; /* NULL-terminated; argv[0] is looked up in PATH */
    char *const *envp; /* NULL-terminated */
    const char *cwd;
    int stdin_fd;        /* the program's stdin (not closed here) */
    double timeout_s;    /* 0: none */
    const dv_call *call; /* its cancellation stops the program; or NULL */
    size_t max_output;   /* per stream; more fails the run (DV_ELIMIT) */
    /* Out. */
    char *out, *err; /* captured (malloc'ed, caller frees), NUL-ended */
    size_t out_len, err_len;
    int status;              /* 0-255, or 128 + signal */
    int signal;              /* that ended it, or 0 */
    int timed_out;           /* past timeout_s */
    int cancelled;           /* the call was cancelled */
    double started, runtime; /* epoch seconds, seconds */
} dvi_cmd_proc;

/* Runs p->argv to its end. Returns 0 when it ran (whatever its status; a
 * program that could not be executed ran as a shell's would: status 127
 * (126 when not executable) and the reason on its stderr), or a negative
 * DV_E* code with the reason set (no pipes, output past max_output: the
 * process group is killed). */
int dvi_cmd_proc_run(dvi_cmd_proc *p);

/* Frees what a run captured. */
void dvi_cmd_proc_fini(dvi_cmd_proc *p);

#endif
