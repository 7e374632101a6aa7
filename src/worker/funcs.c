/* dvi_funcs: the registry of the program's functions, and uploaded
 * libraries loaded from memory. */
#define _GNU_SOURCE
#include "funcs.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <uv.h>

#include "common/err.h"
#include "common/map.h"

#define S_SYM_PREFIX "dv__fn_"

struct dvi_funcs {
    dvi_map cache; /* name -> const dv_function*, looked up before */
    void **libs;   /* dlopen handles, newest last */
    char **hashes; /* content hash of each library */
    size_t nlibs;
};

static uv_once_t s_once = UV_ONCE_INIT;
static uv_mutex_t s_lock;
static dvi_map s_registry; /* name -> const dv_function* */
/* Set while a worker loads an uploaded library: its constructors must
 * not register into the program's registry; what they register is noted
 * instead, so the client can learn which functions are impure. */
static _Thread_local int s_loading;
static _Thread_local const char **s_loaded_impure;
static _Thread_local size_t s_nloaded_impure;

static void
s_init(void)
{
    uv_mutex_init(&s_lock);
    dvi_map_init(&s_registry);
}

int
dv_register(const dv_function *f)
{
    if (f == NULL || f->name == NULL || f->name[0] == '\0' || f->fn == NULL) {
        return dvi_seterr(DV_EINVAL, "dv_register: a function needs a name");
    }
    if (s_loading) {
        if (f->flags & DV_FN_IMPURE) {
            s_loaded_impure =
                dvi_realloc(s_loaded_impure,
                            (s_nloaded_impure + 1) * sizeof(*s_loaded_impure));
            s_loaded_impure[s_nloaded_impure++] = f->name;
        }
        return 0;
    }
    uv_once(&s_once, s_init);
    uv_mutex_lock(&s_lock);
    dvi_map_put(&s_registry, f->name, (void *)f);
    uv_mutex_unlock(&s_lock);
    return 0;
}

const dv_function *
dvi_funcs_registered(const char *name)
{
    uv_once(&s_once, s_init);
    uv_mutex_lock(&s_lock);
    const dv_function *f = dvi_map_get(&s_registry, name);
    uv_mutex_unlock(&s_lock);
    return f;
}

dvi_funcs *
dvi_funcs_new(void)
{
    dvi_funcs *f = dvi_calloc(1, sizeof(*f));
    dvi_map_init(&f->cache);
    return f;
}

static void
s_cache_clear(dvi_funcs *f)
{
    dvi_map_entry *e;
    for (size_t i = 0; dvi_map_next(&f->cache, &i, &e);) {
        free((char *)e->key);
    }
    dvi_map_fini(&f->cache);
}

void
dvi_funcs_destroy(dvi_funcs **fp)
{
    dvi_funcs *f = *fp;
    if (f == NULL) {
        return;
    }
    *fp = NULL;
    s_cache_clear(f);
    for (size_t i = 0; i < f->nlibs; i++) {
        /* Libraries stay loaded: a detached thread of theirs may still
         * run, and unloading code under it would crash the process. */
        free(f->hashes[i]);
    }
    free(f->libs);
    free(f->hashes);
    free(f);
}

static const dv_function *
s_lookup(dvi_funcs *f, const char *name)
{
    char sym[300];
    snprintf(sym, sizeof(sym), S_SYM_PREFIX "%s", name);
    for (size_t i = f->nlibs; i-- > 0;) {
        const dv_function *fn = dlsym(f->libs[i], sym);
        if (fn != NULL) {
            return fn;
        }
    }
    const dv_function *fn = dvi_funcs_registered(name);
    if (fn == NULL) {
        /* A worker process running the client's executable: the
         * program's constructors never ran, but its descriptors are
         * exported (--export-dynamic). */
        fn = dlsym(RTLD_DEFAULT, sym);
    }
    return fn;
}

const dv_function *
dvi_funcs_find(dvi_funcs *f, const char *name)
{
    const dv_function *fn = dvi_map_get(&f->cache, name);
    if (fn != NULL) {
        return fn;
    }
    fn = s_lookup(f, name);
    if (fn != NULL && fn->fn != NULL && fn->name != NULL) {
        dvi_map_put(&f->cache, dvi_strdup(name), (void *)fn);
        return fn;
    }
    return NULL;
}

int
dvi_funcs_load(dvi_funcs *f, const char *hash, const char *name,
               const void *bytes, size_t n, const char ***impure,
               size_t *nimpure)
{
    if (impure) {
        free(s_loaded_impure);
        s_loaded_impure = NULL;
        s_nloaded_impure = 0;
        *impure = NULL;
        *nimpure = 0;
    }
    for (size_t i = 0; i < f->nlibs; i++) {
        if (strcmp(f->hashes[i], hash) == 0) {
            return 0;
        }
    }
    int fd = memfd_create(name, MFD_CLOEXEC);
    if (fd < 0) {
        return dvi_seterr(DV_ESYS, "memfd_create: %s", strerror(errno));
    }
    const char *p = bytes;
    size_t left = n;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            int e = errno;
            close(fd);
            return dvi_seterr(DV_EIO, "writing library %s: %s", name,
                              strerror(e));
        }
        p += w;
        left -= (size_t)w;
    }
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    s_loading = 1;
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    s_loading = 0;
    close(fd);
    if (h == NULL) {
        return dvi_seterr(DV_EINVAL, "cannot load library %s: %s", name,
                          dlerror());
    }
    f->libs = dvi_realloc(f->libs, (f->nlibs + 1) * sizeof(*f->libs));
    f->hashes = dvi_realloc(f->hashes, (f->nlibs + 1) * sizeof(*f->hashes));
    f->libs[f->nlibs] = h;
    f->hashes[f->nlibs] = dvi_strdup(hash);
    f->nlibs++;
    s_cache_clear(f); /* a new library may shadow an older function */
    if (impure) {
        *impure = s_loaded_impure; /* caller frees the array */
        *nimpure = s_nloaded_impure;
        s_loaded_impure = NULL;
        s_nloaded_impure = 0;
    }
    return 0;
}
