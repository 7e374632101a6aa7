/* The picture `drove top` draws (top_view.c): the scheduler's status
 * (dv_scheduler_info's JSON) as a header and a line per worker. */
#ifndef DVI_CLI_TOP_VIEW_H
#define DVI_CLI_TOP_VIEW_H

#include <jansson.h>
#include <stdio.h>

/* What one picture needs from the ones before it: the throughput is
 * computed from successive `done` totals. Zero it before the first. */
typedef struct dvi_top_view {
    double last_s;       /* when the last status was taken (monotonic s) */
    long long last_done; /* its totals.done */
    int have_last;       /* last_s and last_done are set */
    double rate;         /* tasks done per second between the last two */
    int have_rate;
} dvi_top_view;

/* Takes status (taken at now_s, monotonic seconds) into v's throughput. */
void dvi_top_view_note(dvi_top_view *v, const json_t *status, double now_s);

/* Prints the picture of status on out: at most rows lines (0: no limit;
 * workers past it are summed up in one line), each cut to cols
 * characters (0: no limit), each ending with eol ("\n", or an escape
 * that clears the rest of a terminal's line first). */
void dvi_top_view_print(const dvi_top_view *v, const json_t *status, FILE *out,
                        int rows, int cols, const char *eol);

#endif
