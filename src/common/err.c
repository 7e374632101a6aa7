/* Errors: codes, thread-local reasons, and fatal paths. */
#include "err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "log.h"

static _Thread_local char s_reason[512] = "no error";
static _Thread_local int s_code = DV_EINVAL;

const char *
dv_version(void)
{
    return "0.1.0";
}

const char *
dv_strerror(int code)
{
    switch (code) {
#define XX(name, value, text) \
    case value: return text;
        DV_ERRNO_MAP(XX)
#undef XX
    case 0: return "success";
    default: return "unknown error";
    }
}

const char *
dv_last_error(void)
{
    return s_reason;
}

int
dvi_last_code(void)
{
    return s_code;
}

int
dv_last_code(void)
{
    return s_code;
}

int
dvi_seterr(int code, const char *fmt, ...)
{
    /* Formatted apart first: the arguments may include the reason itself
     * (dv_last_error()), as context added to it. */
    char reason[sizeof(s_reason)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    s_code = code;
    memcpy(s_reason, reason, sizeof(reason));
    return code;
}

int
dvi_seterr_uv(int uverr, const char *context)
{
    int code = DV_ESYS;
    if (uverr == UV_ENOMEM) {
        code = DV_ENOMEM;
    } else if (uverr == UV_ECONNREFUSED || uverr == UV_ECONNRESET ||
               uverr == UV_EPIPE || uverr == UV_EOF ||
               uverr == UV_EHOSTUNREACH || uverr == UV_ENETUNREACH ||
               uverr == UV_EADDRINUSE || uverr == UV_EADDRNOTAVAIL) {
        code = DV_ECONN;
    } else if (uverr == UV_ETIMEDOUT) {
        code = DV_ETIMEDOUT;
    } else if (uverr == UV_EINVAL) {
        code = DV_EINVAL;
    }
    return dvi_seterr(code, "%s: %s", context, uv_strerror(uverr));
}

void
dvi_panic(const char *file, int line, const char *what)
{
    fprintf(stderr, "drove: internal error at %s:%d: %s\n", file, line, what);
    abort();
}

void
dvi_oom(size_t bytes)
{
    fprintf(stderr, "drove: out of memory allocating %zu bytes\n", bytes);
    abort();
}

void *
dvi_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL) {
        dvi_oom(n);
    }
    return p;
}

void *
dvi_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (p == NULL) {
        dvi_oom(n * size);
    }
    return p;
}

void *
dvi_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL) {
        dvi_oom(n);
    }
    return q;
}

/* Weak: alloc.c's, where it is linked, stand instead. */
__attribute__((weak)) void *
dvi_user_malloc(size_t n)
{
    return dvi_malloc(n);
}

__attribute__((weak)) void
dvi_alloc_collect(void)
{
}

__attribute__((weak)) void
dvi_alloc_this_thread(void)
{
}

__attribute__((weak)) int
dvi_alloc_is_mimalloc(void)
{
    return 0;
}

char *
dvi_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = dvi_malloc(n);
    memcpy(p, s, n);
    return p;
}
