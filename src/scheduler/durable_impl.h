/* What durable.c and durable_save.c share; nothing else sees it. */
#ifndef DVI_DURABLE_IMPL_H
#define DVI_DURABLE_IMPL_H

#include <stdint.h>
#include <uv.h>

#include "common/map.h"
#include "common/runtime.h"
#include "durable.h"
#include "proto/fetch.h"
#include "state.h"

/* A library the code of saved tasks names. */
typedef struct dvi_savedlib {
    char *hash;
    uint32_t refs; /* saved tasks whose code it is */
} dvi_savedlib;

/* A task the file holds. */
typedef struct dvi_saved {
    char *key;      /* the key in dvi_durable.saved */
    uint32_t refs;  /* names and saved dependents that need it */
    uint32_t names; /* names published under it */
    uint32_t ndeps; /* its inputs, each saved */
    struct dvi_saved **deps;
    dvi_savedlib *lib; /* the library its code names, or NULL */
    dvi_blob *value;   /* its small result, once known (names > 0) */
    int fetching;      /* a GET for its result is on its way */
    int scatter;       /* a scattered value: its key is its value's */
} dvi_saved;

/* A request answered once what was queued before it is on disk. */
typedef struct dvi_durable_reply {
    uint64_t client; /* dvi_sclient id */
    uint64_t req;
} dvi_durable_reply;

struct dvi_durable {
    dvi_state *file;
    dvi_state_image img; /* what the file held, until started */
    dvi_core *core;      /* NULL until started */
    uv_loop_t *loop;
    dvi_runtime *rt;        /* its job thread writes */
    uv_timer_t *timer;      /* when the queue is written */
    dvi_fetcher *fetcher;   /* small results from workers; made on first use */
    dvi_tls_ctx *tls;       /* held: the scheduler's identity, for fetching */
    dvi_map saved;          /* key -> dvi_saved */
    dvi_map libs;           /* hash -> dvi_savedlib */
    size_t nroots;          /* saved tasks with names > 0 */
    dvi_state_batch queued; /* changes not handed to the job thread */
    dvi_durable_reply *replies; /* answered when queued is on disk */
    size_t nreplies, capreplies;
    int writing; /* a batch is with the job thread */
    int failing; /* the last write failed: retried slowly */
    int closing;
};

/* A new saved record for key, in d->saved, with room for ndeps inputs
 * (the caller fills them in and counts itself in each). */
dvi_saved *dvi_durable_saved_new(dvi_durable *d, const char *key,
                                 uint32_t ndeps);
/* The library code names (none unless an uploaded one's), counted once
 * more; *fresh says whether it was not counted before. */
dvi_savedlib *dvi_durable_lib_ref(dvi_durable *d, const char *code, int *fresh);
/* A name now names sv. */
void dvi_durable_name_ref(dvi_durable *d, dvi_saved *sv);
/* Asks the worker at addr for sv's result, to save it. */
void dvi_durable_fetch(dvi_durable *d, dvi_saved *sv, const char *addr);

/* durable_save.c: saves t and what of its lineage is not saved yet
 * (each new record counted by its dependents; t itself is not counted).
 * Returns 0, or DV_EINVAL with the reason set if some task cannot be
 * saved; then nothing changed. */
int dvi_durable_save_lineage(dvi_durable *d, dvi_task *t);
/* durable_save.c: puts d->img into the core and the saved graph. */
void dvi_durable_restore(dvi_durable *d);

#endif
