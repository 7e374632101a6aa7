/* dvi_bar: one progress line on stderr (dv_progress's, drove map's and
 * drove pipeline run's): "label: [####....] done/n pct% E erred rate
 * elapsed ETA", redrawn at most five times a second over itself with
 * '\r' (no other escape codes), ended with a newline. Only when stderr
 * is a terminal: elsewhere (a pipe, a log) it draws nothing at all.
 */
#ifndef DVI_BAR_H
#define DVI_BAR_H

#include <stddef.h>
#include <stdint.h>

typedef struct dvi_bar {
    const char *label; /* borrowed, or NULL */
    size_t n;
    size_t done, erred; /* the last counts given */
    size_t done0;       /* done at the first count: not part of the rate */
    int counted;        /* a count was given */
    int tty;            /* stderr is a terminal: draw */
    uint64_t start_ns, next_ns;
    size_t drawn; /* characters of the line drawn last, to blank */
} dvi_bar;

/* A bar for n items; draws nothing until the first dvi_bar_set. */
void dvi_bar_init(dvi_bar *b, const char *label, size_t n);
/* Whether the bar draws (stderr is a terminal). */
int dvi_bar_active(const dvi_bar *b);
/* Whether a redraw is due now (cheap: the caller may skip counting). */
int dvi_bar_due(const dvi_bar *b);
/* The counts now (done includes erred); redraws if due. */
void dvi_bar_set(dvi_bar *b, size_t done, size_t erred);
/* Blanks the line drawn, so that other output starts on a clean line;
 * the next dvi_bar_set draws it again. */
void dvi_bar_clear(dvi_bar *b);
/* Draws the last counts and ends the line, if anything was drawn. */
void dvi_bar_end(dvi_bar *b);

#endif
