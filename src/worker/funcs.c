/* dvi_funcs: the registry of the program's functions, and uploaded
 * libraries loaded from memory. */
#define _GNU_SOURCE
#include "funcs.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <uv.h>

#include "common/err.h"
#include "common/map.h"

#define S_SYM_PREFIX "dv__fn_"

/* An uploaded library: loaded, or the reason it could not be. */
typedef struct s_lib {
    char hash[DVI_CODE_MAX];
    void *handle; /* NULL if it failed to load */
    int fd;       /* its memfd, kept open: see s_dlopen */
    char *error;
} s_lib;

struct dvi_funcs {
    uv_mutex_t lock; /* the loop finds and loads; tasks find (children) */
    dvi_map cache;   /* "code/name" -> const dv_function*, looked up before */
    /* The last one found, looked at first: calls come in runs. */
    char last_code[DVI_CODE_MAX], last_name[256];
    const dv_function *last;
    s_lib **libs;
    size_t nlibs;
};

static uv_once_t s_once = UV_ONCE_INIT;
static uv_mutex_t s_lock;
static dvi_map s_registry; /* name -> const dv_function* */
/* Set while a worker loads an uploaded library: its constructors must
 * not register into the program's registry (calls name the library's
 * functions by its hash, never by the registry). */
static _Thread_local int s_loading;

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
    if (strcmp(name, dvi_cmd_function.name) == 0) {
        return &dvi_cmd_function; /* built in */
    }
    uv_once(&s_once, s_init);
    uv_mutex_lock(&s_lock);
    const dv_function *f = dvi_map_get(&s_registry, name);
    uv_mutex_unlock(&s_lock);
    return f;
}

int
dvi_funcs_exported(void)
{
    uv_once(&s_once, s_init);
    uv_mutex_lock(&s_lock);
    int all = s_registry.len > 0;
    dvi_map_entry *e;
    for (size_t i = 0; all && dvi_map_next(&s_registry, &i, &e);) {
        const dv_function *f = e->val;
        char sym[300];
        snprintf(sym, sizeof(sym), "dv__fn_%s", f->name);
        all = dlsym(RTLD_DEFAULT, sym) == f;
    }
    uv_mutex_unlock(&s_lock);
    return all;
}

/* ---- The program's code identity ---------------------------------------- */

typedef struct s_find_obj {
    uintptr_t addr; /* an address inside the object */
    char *out;      /* receives "B<build-id>" */
} s_find_obj;

/* The build-id note among the notes at p (n bytes), into out. */
static int
s_build_id(const char *p, size_t n, char *out)
{
    size_t off = 0;
    while (off + sizeof(ElfW(Nhdr)) <= n) {
        const ElfW(Nhdr) *h = (const ElfW(Nhdr) *)(p + off);
        size_t name = (h->n_namesz + 3) & ~(size_t)3;
        size_t desc = (h->n_descsz + 3) & ~(size_t)3;
        const char *d = p + off + sizeof(*h) + name;
        if (h->n_type == NT_GNU_BUILD_ID && h->n_namesz == 4 &&
            memcmp(p + off + sizeof(*h), "GNU", 4) == 0 &&
            h->n_descsz <= (DVI_CODE_MAX - 2) / 2) {
            out[0] = 'B';
            sodium_bin2hex(out + 1, DVI_CODE_MAX - 1, (const unsigned char *)d,
                           h->n_descsz);
            return 1;
        }
        off += sizeof(*h) + name + desc;
    }
    return 0;
}

static int
s_find_obj_cb(struct dl_phdr_info *info, size_t size, void *ctx)
{
    s_find_obj *q = ctx;
    int inside = 0;
    for (int i = 0; i < info->dlpi_phnum && !inside; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        inside = ph->p_type == PT_LOAD && q->addr >= lo &&
                 q->addr < lo + ph->p_memsz;
    }
    if (!inside) {
        return 0;
    }
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_NOTE &&
            s_build_id((const char *)(info->dlpi_addr + ph->p_vaddr),
                       ph->p_memsz, q->out)) {
            break;
        }
    }
    return 1; /* found the object: stop */
}

void
dvi_funcs_program_code(const dv_function *fn, char *out)
{
    s_find_obj q = {(uintptr_t)fn, out};
    out[0] = '\0';
    if (fn->flags & DVI_FN_BUILTIN) {
        return; /* the same everywhere, whichever object holds it */
    }
    dl_iterate_phdr(s_find_obj_cb, &q);
}

/* ---- A worker's functions ----------------------------------------------- */

dvi_funcs *
dvi_funcs_new(void)
{
    dvi_funcs *f = dvi_calloc(1, sizeof(*f));
    uv_mutex_init(&f->lock);
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
        free(f->libs[i]->error);
        free(f->libs[i]);
    }
    free(f->libs);
    uv_mutex_destroy(&f->lock);
    free(f);
}

static s_lib *
s_lib_find(const dvi_funcs *f, const char *hash)
{
    for (size_t i = 0; i < f->nlibs; i++) {
        if (strcmp(f->libs[i]->hash, hash) == 0) {
            return f->libs[i];
        }
    }
    return NULL;
}

static const dv_function *
s_lookup(dvi_funcs *f, const char *code, const char *name)
{
    char sym[300];
    snprintf(sym, sizeof(sym), S_SYM_PREFIX "%s", name);
    if (code[0] == 'U') {
        s_lib *lib = s_lib_find(f, code);
        if (lib == NULL || lib->handle == NULL) {
            dvi_seterr(DV_ENOTFOUND, "library %s is not loaded here%s%s", code,
                       lib ? ": " : "", lib ? lib->error : "");
            return NULL;
        }
        const dv_function *fn = dlsym(lib->handle, sym);
        if (fn == NULL) {
            dvi_seterr(DV_ENOTFOUND, "library %s has no function '%s'", code,
                       name);
        }
        return fn;
    }
    const dv_function *fn = dvi_funcs_registered(name);
    if (fn == NULL) {
        /* Descriptors are exported (--export-dynamic) even where the
         * program's constructors did not register them. */
        fn = dlsym(RTLD_DEFAULT, sym);
    }
    if (fn == NULL) {
        dvi_seterr(DV_ENOTFOUND, "no DV_FUNCTION '%s' in the program", name);
    }
    return fn;
}

static void
s_remember(dvi_funcs *f, const char *code, const char *name,
           const dv_function *fn)
{
    size_t nc = strlen(code), nn = strlen(name);
    f->last = NULL; /* a name or code too long is not remembered */
    if (nc < sizeof(f->last_code) && nn < sizeof(f->last_name)) {
        memcpy(f->last_code, code, nc + 1);
        memcpy(f->last_name, name, nn + 1);
        f->last = fn;
    }
}

static const dv_function *
s_find_locked(dvi_funcs *f, const char *code, const char *name)
{
    if (f->last != NULL && strcmp(f->last_name, name) == 0 &&
        strcmp(f->last_code, code) == 0) {
        return f->last;
    }
    char ck[DVI_CODE_MAX + 300];
    snprintf(ck, sizeof(ck), "%s/%s", code, name);
    const dv_function *fn = dvi_map_get(&f->cache, ck);
    if (fn != NULL) {
        s_remember(f, code, name, fn);
        return fn;
    }
    fn = s_lookup(f, code, name);
    if (fn != NULL && (fn->fn == NULL || fn->name == NULL)) {
        dvi_seterr(DV_EINVAL, "function '%s' has a broken descriptor", name);
        return NULL;
    }
    if (fn != NULL) {
        dvi_map_put(&f->cache, dvi_strdup(ck), (void *)fn);
        s_remember(f, code, name, fn);
    }
    return fn;
}

const dv_function *
dvi_funcs_find(dvi_funcs *f, const char *code, const char *name)
{
    uv_mutex_lock(&f->lock);
    const dv_function *fn = s_find_locked(f, code, name);
    uv_mutex_unlock(&f->lock);
    return fn;
}

/* Writes the library into a memfd. Returns the fd, or -1 (reason set). */
static int
s_memfd(const char *name, const void *bytes, size_t n)
{
    int fd = memfd_create(name, MFD_CLOEXEC);
    if (fd < 0) {
        dvi_seterr(DV_ESYS, "memfd_create: %s", strerror(errno));
        return -1;
    }
    const char *p = bytes;
    size_t left = n;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            int e = errno;
            close(fd);
            dvi_seterr(DV_EIO, "writing library %s: %s", name, strerror(e));
            return -1;
        }
        p += w;
        left -= (size_t)w;
    }
    return fd;
}

/* dlopen by /proc/self/fd/N. glibc returns an already loaded library
 * whose path string is the same, so the fd stays open while the process
 * lives: its number, and so the path, is never used by another library. */
static void *
s_dlopen(int fd)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    s_loading = 1;
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    s_loading = 0;
    return h;
}

static int
s_load_locked(dvi_funcs *f, const char *hash, const char *name,
              const void *bytes, size_t n)
{
    s_lib *lib = s_lib_find(f, hash);
    if (lib != NULL) {
        return lib->handle ? 0 : dvi_seterr(DV_EINVAL, "%s", lib->error);
    }
    lib = dvi_calloc(1, sizeof(*lib));
    snprintf(lib->hash, sizeof(lib->hash), "%s", hash);
    f->libs = dvi_realloc(f->libs, (f->nlibs + 1) * sizeof(*f->libs));
    f->libs[f->nlibs++] = lib;
    lib->fd = s_memfd(name, bytes, n);
    if (lib->fd >= 0) {
        lib->handle = s_dlopen(lib->fd);
        if (lib->handle == NULL) {
            dvi_seterr(DV_EINVAL, "cannot load library %s: %s", name,
                       dlerror());
            close(lib->fd);
        }
    }
    if (lib->handle == NULL) {
        lib->error = dvi_strdup(dv_last_error());
        return dvi_last_code();
    }
    return 0;
}

int
dvi_funcs_load(dvi_funcs *f, const char *hash, const char *name,
               const void *bytes, size_t n)
{
    uv_mutex_lock(&f->lock);
    int rc = s_load_locked(f, hash, name, bytes, n);
    uv_mutex_unlock(&f->lock);
    return rc;
}
