/* The joblog of `drove map`, in GNU parallel's format so that its tools
 * and habits (sort -k4n, awk '$7 != 0') work on it, and so that a
 * joblog of either can resume the other's run. */
#include "map_joblog.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dvi_map_joblog {
    FILE *f; /* the open joblog */
};

static const char s_header[] = "Seq\tHost\tStarttime\tJobRuntime\tSend\t"
                               "Receive\tExitval\tSignal\tCommand\n";

dvi_map_joblog *
dvi_map_joblog_open(const char *path, int append)
{
    dvi_map_joblog *j = calloc(1, sizeof(*j));
    if (j == NULL) {
        return NULL;
    }
    j->f = fopen(path, append ? "a" : "w");
    if (j->f == NULL) {
        free(j);
        return NULL;
    }
    /* In append mode the position is the end: 0 means a new or empty
     * file, which gets its header as a fresh one would. */
    if (ftell(j->f) == 0 && (fputs(s_header, j->f) < 0 || fflush(j->f))) {
        int saved = errno;
        fclose(j->f);
        free(j);
        errno = saved;
        return NULL;
    }
    return j;
}

int
dvi_map_joblog_write(dvi_map_joblog *j, const dvi_map_joblog_entry *e)
{
    const char *host = e->host && *e->host ? e->host : ":";
    fprintf(j->f, "%zu\t%s\t%.3f\t%10.3f\t0\t0\t%d\t%d\t", e->seq, host,
            e->start, e->runtime, e->exitval, e->signal);
    /* parallel writes a command's newlines as NULs: a line per job. */
    for (const char *p = e->cmd; *p != '\0'; p++) {
        fputc(*p == '\n' ? '\0' : *p, j->f);
    }
    fputc('\n', j->f);
    return fflush(j->f) == 0 && !ferror(j->f) ? 0 : -1;
}

void
dvi_map_joblog_close(dvi_map_joblog **p)
{
    if (p == NULL || *p == NULL) {
        return;
    }
    fclose((*p)->f);
    free(*p);
    *p = NULL;
}

/* Records state for seq, growing the array. */
static int
s_set(unsigned char **states, size_t *n, size_t seq, unsigned char state)
{
    if (seq >= *n) {
        size_t cap = *n ? *n : 64;
        while (cap <= seq) {
            cap *= 2;
        }
        unsigned char *s = realloc(*states, cap);
        if (s == NULL) {
            return -1;
        }
        memset(s + *n, 0, cap - *n);
        *states = s;
        *n = cap;
    }
    (*states)[seq] = state;
    return 0;
}

/* Parses a job's line: its seq and whether it succeeded (Exitval and
 * Signal both 0). Returns 0, or -1 for a line that is not a job's. */
static int
s_parse(const char *line, size_t *seq, int *ok)
{
    char *end;
    unsigned long long s = strtoull(line, &end, 10);
    if (end == line || *end != '\t' || s == 0) {
        return -1;
    }
    /* Fields 7 and 8 (Exitval, Signal) follow six TABs from the start. */
    const char *p = line;
    for (int tabs = 0; tabs < 6; tabs++) {
        p = strchr(p, '\t');
        if (p == NULL) {
            return -1;
        }
        p++;
    }
    long exitval = strtol(p, &end, 10);
    if (end == p || *end != '\t') {
        return -1;
    }
    p = end + 1;
    long sig = strtol(p, &end, 10);
    if (end == p || *end != '\t') {
        return -1;
    }
    *seq = (size_t)s;
    *ok = exitval == 0 && sig == 0;
    return 0;
}

int
dvi_map_joblog_read(const char *path, unsigned char **states, size_t *n)
{
    *states = NULL;
    *n = 0;
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return errno == ENOENT ? 0 : -1;
    }
    char *line = NULL;
    size_t cap = 0;
    int rc = 0;
    while (getline(&line, &cap, f) >= 0) {
        size_t seq;
        int ok;
        if (s_parse(line, &seq, &ok) == 0 &&
            s_set(states, n, seq, ok ? DVI_JOBLOG_OK : DVI_JOBLOG_FAILED) !=
                0) {
            rc = -1;
            break;
        }
    }
    if (rc == 0 && ferror(f)) {
        rc = -1;
    }
    int saved = errno;
    free(line);
    fclose(f);
    if (rc != 0) {
        free(*states);
        *states = NULL;
        *n = 0;
        errno = saved;
    }
    return rc;
}
