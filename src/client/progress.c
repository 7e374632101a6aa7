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
#include <unistd.h>

#include "client_impl.h"
#include "common/bar.h"
#include "common/err.h"

typedef struct s_bar {
    dvi_bar line;
    size_t n;
    size_t first;       /* fs[0..first) are all done */
    size_t first_erred; /* of those, how many did not finish */
    size_t done, erred; /* the last count, of all n */
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

/* How long the wait sleeps between redraws (dvi_bar draws at most five
 * times a second). */
#define S_NAP_NS (200 * 1000 * 1000ull)

/* Waits as dv_wait does, redrawing the bar as it goes. Returns 0 once
 * all are done, DV_ETIMEDOUT, or another DV_E* code of the wait. */
static int
s_run(dv_client *c, dv_future *const *fs, s_bar *b, uint64_t deadline)
{
    int rc = 0;
    uv_mutex_lock(&c->lock);
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
        if (dvi_bar_due(&b->line)) {
            s_count_locked(b, fs);
            uv_mutex_unlock(&c->lock); /* no writes under the lock */
            dvi_bar_set(&b->line, b->done, b->erred);
            uv_mutex_lock(&c->lock);
            continue;
        }
        uint64_t next = now + S_NAP_NS;
        int w = dvi_client_wait_locked(c, next < deadline ? next : deadline);
        if (w < 0 && w != DV_ETIMEDOUT) {
            rc = w; /* a task that must not wait: the reason is set */
            break;
        }
    }
    s_count_locked(b, fs);
    uv_mutex_unlock(&c->lock);
    dvi_bar_set(&b->line, b->done, b->erred);
    dvi_bar_end(&b->line);
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
    s_bar b = {.n = n};
    dvi_bar_init(&b.line, label, n);
    int rc = s_run(fs[0]->c, fs, &b, dvi_deadline(timeout_s));
    if (rc == DV_ETIMEDOUT) {
        return dvi_seterr(DV_ETIMEDOUT,
                          "dv_progress: %zu of %zu futures done after %.3g s",
                          b.done, n, timeout_s);
    }
    /* All done: dv_wait says whether some were lost with the scheduler. */
    return rc < 0 ? rc : dv_wait(fs, n, 0);
}
