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

void
dvi_map_out_init(dvi_map_out *o, int bar, size_t total)
{
    memset(o, 0, sizeof(*o));
    o->bar = bar;
    o->total = total;
    dvi_bar_init(&o->line, NULL, total);
}

static void
s_erase(dvi_map_out *o)
{
    if (o->bar) {
        dvi_bar_clear(&o->line);
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
    (void)running; /* the line counts what is done, as dv_progress's */
    if (!o->bar) {
        return;
    }
    o->line.n = o->total; /* known once the arguments are read */
    if (force) {
        o->line.next_ns = 0;
    }
    dvi_bar_set(&o->line, done, failed);
}

void
dvi_map_out_fini(dvi_map_out *o)
{
    fflush(stdout);
    if (o->bar) {
        dvi_bar_end(&o->line);
    }
}
