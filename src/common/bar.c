/* dvi_bar: one progress line on stderr. */
#include "bar.h"

#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <uv.h>

#define S_REDRAW_NS (200 * 1000 * 1000ull) /* five times a second */
#define S_BAR_MAX 40                       /* characters of the bar */
#define S_LINE_MAX 512

/* Seconds as M:SS, or H:MM:SS from an hour. */
static void
s_clock(char *buf, size_t size, double s)
{
    unsigned long t = s > 0 && s < 1e9 ? (unsigned long)(s + 0.5) : 0;
    if (t >= 3600) {
        snprintf(buf, size, "%lu:%02lu:%02lu", t / 3600, t / 60 % 60, t % 60);
    } else {
        snprintf(buf, size, "%lu:%02lu", t / 60, t % 60);
    }
}

/* The terminal's width in columns (80 if it does not say). */
static int
s_columns(void)
{
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20) {
        return ws.ws_col;
    }
    return 80;
}

/* The figures after the bar: counts, percent, rate, times. */
static void
s_figures(const dvi_bar *b, uint64_t now, char *buf, size_t size)
{
    double elapsed = (double)(now - b->start_ns) / 1e9;
    double pct = b->n ? 100.0 * (double)b->done / (double)b->n : 100.0;
    double rate = elapsed >= 0.2 ? (double)(b->done - b->done0) / elapsed : 0;
    char rtext[32], el[32], eta[32];
    if (rate <= 0) {
        snprintf(rtext, sizeof(rtext), "-/s");
    } else {
        snprintf(rtext, sizeof(rtext), rate < 10 ? "%.2f/s" : "%.1f/s", rate);
    }
    s_clock(el, sizeof(el), elapsed);
    if (b->done == b->n) {
        snprintf(eta, sizeof(eta), "0:00");
    } else if (rate <= 0) {
        snprintf(eta, sizeof(eta), "-:--");
    } else {
        s_clock(eta, sizeof(eta), (double)(b->n - b->done) / rate);
    }
    /* Widths fixed where figures change often, so that the bar does not
     * move as they grow; the percent is floored, so that 100% means all
     * of them. */
    int digits = snprintf(NULL, 0, "%zu", b->n);
    snprintf(buf, size, "%*zu/%zu %3d%%  %zu erred  %8s  %s elapsed  ETA %s",
             digits, b->done, b->n, (int)pct, b->erred, rtext, el, eta);
}

/* Draws the line over the last one ('\r', then spaces over what is left
 * of it: no escape codes, so a dumb terminal shows it right); last ends
 * it with a newline. One write, so that it is not split. */
static void
s_draw(dvi_bar *b, uint64_t now, int last)
{
    char figures[256], line[S_LINE_MAX];
    s_figures(b, now, figures, sizeof(figures));
    int cols = s_columns() - 1; /* the last column would wrap on some */
    int len =
        snprintf(line, sizeof(line), "\r%.30s%s", b->label ? b->label : "",
                 b->label && b->label[0] ? ": " : "");
    int width = cols - (len - 1) - (int)strlen(figures) - 3;
    width = width > S_BAR_MAX ? S_BAR_MAX : width;
    if (width >= 10) { /* else too narrow for a bar: figures only */
        int fill = b->n ? (int)((double)width * b->done / b->n) : width;
        line[len++] = '[';
        for (int i = 0; i < width; i++) {
            line[len++] = i < fill ? '#' : '.';
        }
        line[len++] = ']';
        line[len++] = ' ';
    }
    len += snprintf(line + len, sizeof(line) - (size_t)len, "%s", figures);
    len = len > cols + 1 && cols + 1 > 0 ? cols + 1 : len; /* with '\r' */
    size_t shown = (size_t)len - 1;
    while (shown < b->drawn && len < S_LINE_MAX - 2) {
        line[len++] = ' ';
        shown++;
    }
    b->drawn = (size_t)len - 1;
    if (last) {
        line[len++] = '\n';
    }
    ssize_t w = write(STDERR_FILENO, line, (size_t)len);
    (void)w; /* a bar that cannot be drawn is no reason to fail */
}

void
dvi_bar_init(dvi_bar *b, const char *label, size_t n)
{
    memset(b, 0, sizeof(*b));
    b->label = label;
    b->n = n;
    b->tty = isatty(STDERR_FILENO);
    b->start_ns = uv_hrtime();
}

int
dvi_bar_active(const dvi_bar *b)
{
    return b->tty;
}

int
dvi_bar_due(const dvi_bar *b)
{
    return b->tty && uv_hrtime() >= b->next_ns;
}

void
dvi_bar_set(dvi_bar *b, size_t done, size_t erred)
{
    if (!b->counted) {
        b->done0 = done;
        b->counted = 1;
    }
    b->done = done;
    b->erred = erred;
    uint64_t now = uv_hrtime();
    if (b->tty && now >= b->next_ns) {
        s_draw(b, now, 0);
        b->next_ns = now + S_REDRAW_NS;
    }
}

void
dvi_bar_clear(dvi_bar *b)
{
    if (!b->tty || b->drawn == 0) {
        return;
    }
    char line[S_LINE_MAX + 2];
    size_t n = b->drawn < S_LINE_MAX ? b->drawn : S_LINE_MAX;
    line[0] = '\r';
    memset(line + 1, ' ', n);
    line[n + 1] = '\r';
    ssize_t w = write(STDERR_FILENO, line, n + 2);
    (void)w;
    b->drawn = 0;
    b->next_ns = 0; /* drawn again at the next count */
}

void
dvi_bar_end(dvi_bar *b)
{
    if (b->tty && b->counted) {
        s_draw(b, uv_hrtime(), 1);
    }
}
