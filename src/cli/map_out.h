/* dvi_map_out: what `drove map` writes while its jobs run: each job's
 * output whole (its stdout, then its stderr, never interleaved with
 * another job's), optionally tagged, and a progress bar on stderr kept
 * below them (erased before output is written, drawn again after).
 * Not thread-safe: the driver's thread writes.
 */
#ifndef DVI_CLI_MAP_OUT_H
#define DVI_CLI_MAP_OUT_H

#include <stddef.h>

#include "common/bar.h"

typedef struct dvi_map_out {
    int bar;      /* draw the bar (asked for, and stderr is a terminal) */
    size_t total; /* jobs to run */
    dvi_bar line; /* the progress line dv_progress draws too */
} dvi_map_out;

void dvi_map_out_init(dvi_map_out *o, int bar, size_t total);
/* Writes one job's output: the len bytes of out to stdout, then errlen of
 * err to stderr, each line after tag when tag is not NULL. */
void dvi_map_out_job(dvi_map_out *o, const char *tag, const char *out,
                     size_t len, const char *err, size_t errlen);
/* A message of drove map's own on stderr ("drove map: " first). */
void dvi_map_out_note(dvi_map_out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Redraws the bar (at most five times a second unless force). */
void dvi_map_out_progress(dvi_map_out *o, size_t done, size_t failed,
                          size_t running, int force);
/* Draws the bar a last time, ending its line, and flushes stdout. */
void dvi_map_out_fini(dvi_map_out *o);

#endif
