/* dv_progress: dv_wait that draws a progress bar on stderr.
 *
 * The bar is for a person at a terminal: when stderr is not one (a pipe,
 * a file, a batch job's log) this is dv_wait exactly, so logs never fill
 * with carriage returns. It is not a general progress API (no callbacks,
 * no nesting): one line, redrawn about five times a second.
 *
 * What it avoids is rescanning: counting n futures at every redraw would
 * cost O(n) five times a second for the whole wait. Futures are counted
 * from the first one not yet done (`first`, which only moves forward);
 * the prefix before it is counted once. Between redraws the thread sleeps
 * on the client's condition, woken by completions as dv_wait is, and each
 * wake-up only checks fs[first].
 */
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "client_impl.h"
#include "common/err.h"

#define S_REDRAW_NS (200 * 1000 * 1000ull) /* five times a second */
#define S_BAR_MAX 40                       /* characters of the bar */
#define S_LINE_MAX 512

typedef struct s_bar {
    const char *label; /* or NULL */
    size_t n;
    size_t first;       /* fs[0..first) are all done */
    size_t first_erred; /* of those, how many did not finish */
    size_t done, erred; /* the last count, of all n */
    size_t done0;       /* done when it began: not part of the rate */
    uint64_t start_ns;
    size_t drawn; /* characters of the line drawn last, to blank */
} s_bar;

static int
s_failed(int status)
{
    return status == DV_ERRED || status == DV_CANCELLED || status == DV_LOST;
}

/* Moves first past the futures done; O(1) while fs[first] is pending. */
static void
s_advance_locked(s_bar *b, dv_future *const *fs)
{
    while (b->first < b->n && fs[b->first]->st->status != DV_PENDING) {
        b->first_erred += s_failed(fs[b->first]->st->status);
        b->first++;
    }
}

/* Counts done and erred futures: the prefix, then what is left. */
static void
s_count_locked(s_bar *b, dv_future *const *fs)
{
    s_advance_locked(b, fs);
    b->done = b->first;
    b->erred = b->first_erred;
    for (size_t i = b->first; i < b->n; i++) {
        int status = fs[i]->st->status;
        b->done += status != DV_PENDING;
        b->erred += s_failed(status);
    }
}

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
s_figures(const s_bar *b, uint64_t now, char *buf, size_t size)
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
s_draw(s_bar *b, uint64_t now, int last)
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

/* Waits as dv_wait does, redrawing the bar every S_REDRAW_NS. Returns 0
 * once all are done, DV_ETIMEDOUT, or another DV_E* code of the wait. */
static int
s_run(dv_client *c, dv_future *const *fs, s_bar *b, uint64_t deadline)
{
    int rc = 0;
    uint64_t next = 0; /* the first draw is at once */
    uv_mutex_lock(&c->lock);
    s_count_locked(b, fs);
    b->done0 = b->done;
    for (;;) {
        s_advance_locked(b, fs);
        if (b->first == b->n) {
            break;
        }
        uint64_t now = uv_hrtime();
        if (now >= deadline) {
            rc = DV_ETIMEDOUT;
            break;
        }
        if (now >= next) {
            s_count_locked(b, fs);
            uv_mutex_unlock(&c->lock); /* no writes under the lock */
            s_draw(b, now, 0);
            next = now + S_REDRAW_NS;
            uv_mutex_lock(&c->lock);
            continue;
        }
        int w = dvi_client_wait_locked(c, next < deadline ? next : deadline);
        if (w < 0 && w != DV_ETIMEDOUT) {
            rc = w; /* a task that must not wait: the reason is set */
            break;
        }
    }
    s_count_locked(b, fs);
    uv_mutex_unlock(&c->lock);
    s_draw(b, uv_hrtime(), 1);
    dvi_client_wait_end(c);
    return rc;
}

int
dv_progress(dv_client *c, dv_future *const *fs, size_t n, double timeout_s,
            const char *label)
{
    if (n > 0 && (fs == NULL || fs[0] == NULL)) {
        return dvi_seterr(DV_EINVAL, "dv_progress: no futures");
    }
    if (n > 0 && c != NULL && fs[0]->c != c) {
        return dvi_seterr(DV_EINVAL, "dv_progress: %s is another client's",
                          dv_future_key(fs[0]));
    }
    if (n == 0 || !isatty(STDERR_FILENO)) {
        return dv_wait(fs, n, timeout_s);
    }
    s_bar b = {.label = label, .n = n, .start_ns = uv_hrtime()};
    int rc = s_run(fs[0]->c, fs, &b, dvi_deadline(timeout_s));
    if (rc == DV_ETIMEDOUT) {
        return dvi_seterr(DV_ETIMEDOUT,
                          "dv_progress: %zu of %zu futures done after %.3g s",
                          b.done, n, timeout_s);
    }
    /* All done: dv_wait says whether some were lost with the scheduler. */
    return rc < 0 ? rc : dv_wait(fs, n, 0);
}
