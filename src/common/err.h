/* Errors: the thread-local reason behind a failed call, and assertions.
 *
 * dvi_seterr() records a DV_E* code and a message where the failure is
 * found; callers pass the code up unchanged. dvi_assert() is only for
 * programmer errors: never for bytes from the network, disk or a user.
 */
#ifndef DVI_ERR_H
#define DVI_ERR_H

#include "drove.h"

/* Records code and a formatted reason for this thread; returns code. */
int dvi_seterr(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The code of the calling thread's last dvi_seterr (DV_EINVAL if none):
 * for callers that got NULL and must return a code. */
int dvi_last_code(void);

/* Translates a libuv error into a reason for this thread; returns the
 * matching DV_E* code. */
int dvi_seterr_uv(int uverr, const char *context);

/* Aborts with file and line: a bug in drove, never bad input. */
#define dvi_assert(cond) \
    ((cond) ? (void)0 : dvi_panic(__FILE__, __LINE__, #cond))

__attribute__((noreturn)) void dvi_panic(const char *file, int line,
                                         const char *what);

/* Out of memory in a place that cannot report it: logs and aborts. */
__attribute__((noreturn)) void dvi_oom(size_t bytes);

/* malloc/calloc/realloc/strdup that abort on failure, for the daemons'
 * internal bookkeeping where DV_ENOMEM has nowhere to go. */
void *dvi_malloc(size_t n);
void *dvi_calloc(size_t n, size_t size);
void *dvi_realloc(void *p, size_t n);
char *dvi_strdup(const char *s);

/* Memory the user frees with free(), as dv_scheduler_info's text: the
 * process's malloc even where drove's own memory is mimalloc's (alloc.c). */
void *dvi_user_malloc(size_t n);
/* Gives the free pages of the calling thread's heap back to the system
 * (alloc.c); nothing where drove uses the process's allocator. */
void dvi_alloc_collect(void);
/* 1 where alloc.c is linked (libdrove.so), so that threads' heaps need
 * collecting; 0 where drove uses the process's allocator throughout (the
 * drove binary's daemons, the static library, the sanitizers' builds). */
int dvi_alloc_is_mimalloc(void);
/* From now on, drove's memory made on the calling thread is mimalloc's
 * (alloc.c): for an embedded cluster's loop and its executors, and a
 * local:processes worker's (role.c), whose roles collect it
 * (dvi_alloc_collect) when they trim. */
void dvi_alloc_this_thread(void);

#endif
