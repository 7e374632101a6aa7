/* dvi_map_joblog: `drove map --joblog`, a line per finished job in GNU
 * parallel's format, and its reading back for --resume and
 * --resume-failed.
 *
 *   Seq Host Starttime JobRuntime Send Receive Exitval Signal Command
 *
 * TAB-separated; Starttime in epoch seconds with 3 decimals, JobRuntime
 * as "%10.3f" (parallel's sprintf), Send and Receive 0 (no files are
 * transferred), Exitval -1 for a job killed by --timeout, newlines of the
 * command written as NUL bytes. Not thread-safe.
 */
#ifndef DVI_CLI_MAP_JOBLOG_H
#define DVI_CLI_MAP_JOBLOG_H

#include <stddef.h>

typedef struct dvi_map_joblog dvi_map_joblog;

/* One job's line. */
typedef struct dvi_map_joblog_entry {
    size_t seq;       /* from 1 */
    const char *host; /* "" or NULL: ":" as parallel's local jobs */
    double start;     /* epoch seconds */
    double runtime;   /* seconds */
    int exitval;      /* 0-255, -1 for a timeout */
    int signal;       /* that ended it, or 0 */
    const char *cmd;  /* the command line */
} dvi_map_joblog_entry;

/* Opens the joblog at path: truncated with a new header, or (append)
 * kept and added to, with a header if it is new or empty. Caller owns;
 * free with dvi_map_joblog_close(). NULL with errno set on failure. */
dvi_map_joblog *dvi_map_joblog_open(const char *path, int append);
/* Writes and flushes the line of a finished job. Returns 0, or -1 with
 * errno set. */
int dvi_map_joblog_write(dvi_map_joblog *j, const dvi_map_joblog_entry *e);
/* Closes the joblog and sets *p to NULL. Accepts NULL and *p NULL. */
void dvi_map_joblog_close(dvi_map_joblog **p);

/* What an existing joblog says of job seq (the last line for it wins). */
enum { DVI_JOBLOG_NONE = 0, DVI_JOBLOG_OK = 1, DVI_JOBLOG_FAILED = 2 };

/* Reads the joblog at path into *states: (*states)[seq] for seq <
 * *n is a DVI_JOBLOG_* (malloc'ed, caller frees). A missing file reads
 * as empty (0 with *states NULL, *n 0). Returns 0, or -1 with errno set
 * (a file that cannot be read; ENOMEM). Lines that are not a job's
 * (the header, a torn last line) are skipped. */
int dvi_map_joblog_read(const char *path, unsigned char **states, size_t *n);

#endif
