/* What a client's calls of a function name mean: which code (funcs.h: an
 * uploaded library's hash, or the program's own build-id) and whether the
 * function is impure. The newest library this client uploaded that
 * defines the name wins; else the program's own function. Submitting
 * threads read it through a per-thread copy that a generation counter
 * invalidates when an upload changes the map, so a submission of a known
 * function takes no extra lock. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_impl.h"
#include "common/err.h"
#include "proto/msg.h"
#include "worker/funcs.h"

/* One thread's copy of one function's info. */
typedef struct s_cached {
    const dv_client *c;
    uint64_t gen;
    char name[DVI_MAX_KEY + 1];
    dvi_fninfo info;
} s_cached;

static _Thread_local s_cached s_last;

static dvi_fninfo *
s_get_locked(dv_client *c, const char *fn)
{
    dvi_fninfo *fi = dvi_map_get(&c->fninfo, fn);
    if (fi != NULL) {
        return fi;
    }
    fi = dvi_calloc(1, sizeof(*fi));
    fi->name = dvi_strdup(fn);
    const dv_function *d = dvi_funcs_registered(fn);
    if (d != NULL) {
        fi->flags = d->flags;
        dvi_funcs_program_code(d, fi->code);
    }
    dvi_map_put(&c->fninfo, fi->name, fi);
    return fi;
}

void
dvi_fninfo_get(dv_client *c, const char *fn, dvi_fninfo *out)
{
    s_cached *k = &s_last;
    uint64_t gen = atomic_load_explicit(&c->fninfo_gen, memory_order_acquire);
    if (k->c == c && k->gen == gen && strcmp(k->name, fn) == 0) {
        *out = k->info;
        return;
    }
    uv_mutex_lock(&c->lock);
    *out = *s_get_locked(c, fn);
    uv_mutex_unlock(&c->lock);
    out->name = NULL; /* the copy does not own it */
    k->c = c;
    k->gen = gen;
    snprintf(k->name, sizeof(k->name), "%s", fn);
    k->info = *out;
}

void
dvi_fninfo_note_library(dv_client *c, const char *hash, const dvi_elf_fn *fns,
                        int n)
{
    uv_mutex_lock(&c->lock);
    for (int i = 0; i < n; i++) {
        dvi_fninfo *fi = s_get_locked(c, fns[i].name);
        fi->flags = fns[i].flags;
        snprintf(fi->code, sizeof(fi->code), "%s", hash);
    }
    atomic_fetch_add_explicit(&c->fninfo_gen, 1, memory_order_release);
    uv_mutex_unlock(&c->lock);
}

void
dvi_fninfo_free_all(dv_client *c)
{
    dvi_map_entry *e;
    for (size_t i = 0; dvi_map_next(&c->fninfo, &i, &e);) {
        dvi_fninfo *fi = e->val;
        free(fi->name);
        free(fi);
    }
    dvi_map_fini(&c->fninfo);
}
