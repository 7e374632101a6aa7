/* dvi_datums: building a datum set from an input tree (see datums.h).
 *
 * Files are listed in a fixed order (names sorted at each level), so that
 * the same tree always gives the same ids: the id, not a comparison of
 * file lists, is what the state keeps.
 */
#include "pipeline/datums.h"

#include <dirent.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/err.h"
#include "common/map.h"
#include "pipeline/glob.h"

static void
s_add_file(dvi_datum *d, const char *input, const char *rel, const char *abs,
           const unsigned char *hash)
{
    d->files = dvi_realloc(d->files, (d->nfiles + 1) * sizeof(*d->files));
    dvi_dfile *f = &d->files[d->nfiles++];
    f->input = dvi_strdup(input);
    f->rel = dvi_strdup(rel);
    f->abs = dvi_strdup(abs);
    memcpy(f->hash, hash, DVI_HASH_BYTES);
}

static void
s_datum_fini(dvi_datum *d)
{
    for (size_t i = 0; i < d->nfiles; i++) {
        free(d->files[i].input);
        free(d->files[i].rel);
        free(d->files[i].abs);
    }
    free(d->files);
    free(d->desc);
}

static void
s_push(dvi_datums *s, dvi_datum *d)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 16;
        s->v = dvi_realloc(s->v, s->cap * sizeof(*s->v));
    }
    s->v[s->n++] = *d;
}

static int
s_cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted names in dir, without those starting with '.'. */
static size_t
s_list_dir(const char *dir, char ***out)
{
    DIR *d = opendir(dir);
    size_t n = 0, cap = 0;
    char **v = NULL;
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') {
            continue;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            v = dvi_realloc(v, cap * sizeof(*v));
        }
        v[n++] = dvi_strdup(e->d_name);
    }
    if (d != NULL) {
        closedir(d);
    }
    if (n > 1) {
        qsort(v, n, sizeof(*v), s_cmp_names);
    }
    *out = v;
    return n;
}

/* Adds every regular file at or below root/rel to d. */
static int
s_walk(const char *root, const char *rel, const char *input, dvi_filecache *fc,
       dvi_datum *d)
{
    char abs[4096];
    snprintf(abs, sizeof(abs), "%s%s%s", root, *rel ? "/" : "", rel);
    struct stat st;
    /* A link to a file counts as the file; a link to a directory is not
     * followed, so that a link cycle cannot make the walk endless. */
    if (lstat(abs, &st) != 0 ||
        (S_ISLNK(st.st_mode) &&
         (stat(abs, &st) != 0 || !S_ISREG(st.st_mode)))) {
        return 0; /* removed meanwhile, dangling, or a directory's link */
    }
    if (S_ISREG(st.st_mode)) {
        unsigned char h[DVI_HASH_BYTES];
        if (dvi_filecache_hash(fc, abs, &st, h) < 0) {
            return DV_EIO;
        }
        s_add_file(d, input, rel, abs, h);
        return 0;
    }
    if (!S_ISDIR(st.st_mode)) {
        return 0;
    }
    char **names;
    size_t n = s_list_dir(abs, &names);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        char sub[4096];
        snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", names[i]);
        if (rc == 0) {
            rc = s_walk(root, sub, input, fc, d);
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

/* The id: the roots, then each file's input, path and content hash. */
static void
s_identify(dvi_datum *d)
{
    crypto_generichash_state h;
    unsigned char id[16];
    crypto_generichash_init(&h, NULL, 0, sizeof(id));
    crypto_generichash_update(&h, (const unsigned char *)d->desc,
                              strlen(d->desc) + 1);
    for (size_t i = 0; i < d->nfiles; i++) {
        const dvi_dfile *f = &d->files[i];
        crypto_generichash_update(&h, (const unsigned char *)f->input,
                                  strlen(f->input) + 1);
        crypto_generichash_update(&h, (const unsigned char *)f->rel,
                                  strlen(f->rel) + 1);
        crypto_generichash_update(&h, f->hash, DVI_HASH_BYTES);
    }
    crypto_generichash_final(&h, id, sizeof(id));
    sodium_bin2hex(d->id, sizeof(d->id), id, sizeof(id));
}

static int
s_pfs(const dvi_pinput *in, dvi_filecache *fc, dvi_datums *out)
{
    char **matches;
    size_t n;
    if (dvi_glob(in->repo, in->glob, &matches, &n) < 0) {
        return dvi_seterr(DV_EIO, "input '%s': %s", in->name, dv_last_error());
    }
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        dvi_datum d = {0};
        size_t len = strlen(in->name) + strlen(matches[i]) + 3;
        d.desc = dvi_malloc(len);
        snprintf(d.desc, len, "%s:/%s", in->name, matches[i]);
        rc = s_walk(in->repo, matches[i], in->name, fc, &d);
        if (rc < 0 || d.nfiles == 0) {
            /* A match without files (an empty directory, a link to a
             * directory) is no datum: Pachyderm's file system has no
             * empty directories. */
            s_datum_fini(&d);
            continue;
        }
        s_identify(&d);
        s_push(out, &d);
    }
    dvi_glob_free(matches, n);
    return rc;
}

/* a x b: every datum of a with every datum of b, files side by side. */
static void
s_product(const dvi_datums *a, const dvi_datums *b, dvi_datums *out)
{
    for (size_t i = 0; i < a->n; i++) {
        for (size_t j = 0; j < b->n; j++) {
            const dvi_datum *x = &a->v[i], *y = &b->v[j];
            dvi_datum d = {0};
            size_t len = strlen(x->desc) + strlen(y->desc) + 4;
            d.desc = dvi_malloc(len);
            snprintf(d.desc, len, "%s x %s", x->desc, y->desc);
            for (size_t k = 0; k < x->nfiles; k++) {
                const dvi_dfile *f = &x->files[k];
                s_add_file(&d, f->input, f->rel, f->abs, f->hash);
            }
            for (size_t k = 0; k < y->nfiles; k++) {
                const dvi_dfile *f = &y->files[k];
                s_add_file(&d, f->input, f->rel, f->abs, f->hash);
            }
            s_identify(&d);
            s_push(out, &d);
        }
    }
}

static int s_build(const dvi_pinput *in, dvi_filecache *fc, dvi_datums *out);

static int
s_cross(const dvi_pinput *in, dvi_filecache *fc, dvi_datums *out)
{
    dvi_datums acc = {0};
    int rc = s_build(in->kids[0], fc, &acc);
    for (size_t i = 1; i < in->nkids && rc == 0; i++) {
        dvi_datums kid = {0}, next = {0};
        rc = s_build(in->kids[i], fc, &kid);
        if (rc == 0) {
            s_product(&acc, &kid, &next);
        }
        dvi_datums_fini(&kid);
        dvi_datums_fini(&acc);
        acc = next;
    }
    if (rc < 0) {
        dvi_datums_fini(&acc);
        return rc;
    }
    for (size_t i = 0; i < acc.n; i++) {
        s_push(out, &acc.v[i]);
    }
    free(acc.v);
    return 0;
}

static int
s_build(const dvi_pinput *in, dvi_filecache *fc, dvi_datums *out)
{
    if (in->kind == DVI_PIN_PFS) {
        return s_pfs(in, fc, out);
    }
    if (in->kind == DVI_PIN_CROSS) {
        return s_cross(in, fc, out);
    }
    for (size_t i = 0; i < in->nkids; i++) {
        int rc = s_build(in->kids[i], fc, out);
        if (rc < 0) {
            return rc;
        }
    }
    return 0;
}

/* Keeps the first datum of each id. */
static void
s_dedupe(dvi_datums *d)
{
    dvi_map seen;
    dvi_map_init(&seen);
    size_t k = 0;
    for (size_t i = 0; i < d->n; i++) {
        if (dvi_map_get(&seen, d->v[i].id) != NULL) {
            s_datum_fini(&d->v[i]);
            continue;
        }
        d->v[k] = d->v[i];
        dvi_map_put(&seen, d->v[k].id, &d->v[k]);
        k++;
    }
    dvi_map_fini(&seen);
    d->n = k;
}

int
dvi_datums_build(const dvi_pinput *in, dvi_filecache *fc, dvi_datums *out)
{
    memset(out, 0, sizeof(*out));
    int rc = s_build(in, fc, out);
    if (rc < 0) {
        dvi_datums_fini(out);
        return rc;
    }
    s_dedupe(out);
    return 0;
}

void
dvi_datums_fini(dvi_datums *d)
{
    for (size_t i = 0; i < d->n; i++) {
        s_datum_fini(&d->v[i]);
    }
    free(d->v);
    memset(d, 0, sizeof(*d));
}

const dvi_datum *
dvi_datums_find(const dvi_datums *d, const char *id)
{
    for (size_t i = 0; i < d->n; i++) {
        if (strcmp(d->v[i].id, id) == 0) {
            return &d->v[i];
        }
    }
    return NULL;
}
