/* drove map's screen: jobs' output, its own messages and the bar.
 *
 * stdout stays buffered (thousands of small outputs through a pipe cost a
 * write each otherwise) and is flushed only before a job's stderr and at
 * the end, which is enough to keep every job's stdout before its stderr
 * when both go to one file.
 */
#include "map_out.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

static double
s_now(void)
{
    return (double)uv_hrtime() / 1e9;
}

void
dvi_map_out_init(dvi_map_out *o, int bar, size_t total)
{
    memset(o, 0, sizeof(*o));
    o->bar = bar;
    o->total = total;
    o->started = s_now();
}

static void
s_erase(dvi_map_out *o)
{
    if (o->drawn) {
        fputs("\r\033[K", stderr);
        o->drawn = 0;
    }
}

/* Writes len bytes of p to f, tag before every line. */
static void
s_write(FILE *f, const char *tag, const char *p, size_t len)
{
    if (tag == NULL) {
        fwrite(p, 1, len, f);
        return;
    }
    while (len > 0) {
        const char *nl = memchr(p, '\n', len);
        size_t n = nl ? (size_t)(nl - p) + 1 : len;
        fputs(tag, f);
        fwrite(p, 1, n, f);
        p += n;
        len -= n;
    }
}

void
dvi_map_out_job(dvi_map_out *o, const char *tag, const char *out, size_t len,
                const char *err, size_t errlen)
{
    if (len == 0 && errlen == 0) {
        return;
    }
    s_erase(o);
    s_write(stdout, tag, out, len);
    if (errlen > 0 || o->bar) {
        fflush(stdout);
    }
    s_write(stderr, tag, err, errlen);
}

void
dvi_map_out_note(dvi_map_out *o, const char *fmt, ...)
{
    s_erase(o);
    fflush(stdout);
    fputs("drove map: ", stderr);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void
dvi_map_out_progress(dvi_map_out *o, size_t done, size_t failed, size_t running,
                     int force)
{
    double now = s_now();
    if (!o->bar || (!force && now - o->last_draw < 0.1)) {
        return;
    }
    o->last_draw = now;
    size_t total = o->total ? o->total : 1;
    int width = 30, fill = (int)((double)width * (double)done / total);
    char bar[64];
    for (int i = 0; i < width; i++) {
        bar[i] = i < fill ? '#' : '.';
    }
    bar[width] = '\0';
    /* The ETA from the pace so far: none before the first job ends. */
    char eta[32] = "ETA ?";
    if (done > 0) {
        double spent = now - o->started;
        snprintf(eta, sizeof(eta), "ETA %.0fs",
                 spent / (double)done * (double)(total - done));
    }
    fprintf(stderr,
            "\r\033[K[%s] %3d%% %zu/%zu done, %zu running, %zu failed, %s", bar,
            (int)(100.0 * (double)done / total), done, o->total, running,
            failed, eta);
    o->drawn = 1;
}

void
dvi_map_out_fini(dvi_map_out *o)
{
    s_erase(o);
    fflush(stdout);
}
