/* dvi_glob: matching a glob pattern one path component at a time.
 *
 * Walking the tree level by level, rather than listing every file and
 * matching whole paths, reads only the directories the pattern can reach:
 * "/California/\*" never lists the other states, and "/\*" lists the root
 * alone however many files lie below it.
 */
#include "pipeline/glob.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/err.h"

typedef struct s_list {
    char **v;
    size_t n, cap;
} s_list;

static void
s_push(s_list *l, char *s)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->v = dvi_realloc(l->v, l->cap * sizeof(*l->v));
    }
    l->v[l->n++] = s;
}

static char *
s_join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *out = dvi_malloc(n);
    snprintf(out, n, "%s%s%s", a, *a && *b ? "/" : "", b);
    return out;
}

int
dvi_glob_is_wild(const char *c)
{
    return strpbrk(c, "*?[\\") != NULL;
}

static int
s_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds to next the entries of directory root/rel that match comp. */
static void
s_step(const char *root, const char *rel, const char *comp, s_list *next)
{
    char *dir = s_join(root, rel);
    if (!dvi_glob_is_wild(comp)) {
        /* A literal component: one stat instead of listing the
         * directory. */
        char *path = s_join(dir, comp);
        struct stat st;
        if (stat(path, &st) == 0) {
            s_push(next, s_join(rel, comp));
        }
        free(path);
        free(dir);
        return;
    }
    DIR *d = opendir(dir);
    free(dir);
    if (d == NULL) {
        return; /* a file, or gone: nothing below it */
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        if (fnmatch(comp, e->d_name, FNM_PERIOD) == 0) {
            s_push(next, s_join(rel, e->d_name));
        }
    }
    closedir(d);
}

int
dvi_glob(const char *root, const char *pattern, char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (pattern == NULL || pattern[0] != '/') {
        return dvi_seterr(DV_EINVAL, "glob '%s': must start with '/'",
                          pattern ? pattern : "");
    }
    struct stat st;
    if (stat(root, &st) != 0) {
        return dvi_seterr(DV_EIO, "%s: no such directory (%s)", root,
                          strerror(errno));
    }
    if (!S_ISDIR(st.st_mode)) {
        return dvi_seterr(DV_EIO, "%s: not a directory", root);
    }
    s_list cur = {0};
    s_push(&cur, dvi_strdup(""));
    char *pat = dvi_strdup(pattern);
    char *save = NULL;
    for (char *comp = strtok_r(pat, "/", &save); comp != NULL;
         comp = strtok_r(NULL, "/", &save)) {
        s_list next = {0};
        for (size_t i = 0; i < cur.n; i++) {
            s_step(root, cur.v[i], comp, &next);
        }
        dvi_glob_free(cur.v, cur.n);
        cur = next;
    }
    free(pat);
    if (cur.n > 1) {
        qsort(cur.v, cur.n, sizeof(*cur.v), s_cmp);
    }
    *out = cur.v;
    *n = cur.n;
    return 0;
}

void
dvi_glob_free(char **v, size_t n)
{
    for (size_t i = 0; v != NULL && i < n; i++) {
        free(v[i]);
    }
    free(v);
}
