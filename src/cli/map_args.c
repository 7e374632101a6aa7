/* dvi_map_args: `drove map`'s argument sources and their combinations.
 *
 * A source is an array of strings. The combinations are not stored: a
 * million-job product of three sources costs the sources, not a million
 * rows, and job j's arguments are its digits in the mixed radix of the
 * sources' sizes, the last source the fastest digit.
 */
#include "map_args.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct s_source {
    char **items; /* owned strings */
    size_t n, cap;
} s_source;

struct dvi_map_args {
    s_source *src; /* the sources, in command-line order */
    size_t n, cap;
};

dvi_map_args *
dvi_map_args_new(void)
{
    return calloc(1, sizeof(dvi_map_args));
}

void
dvi_map_args_destroy(dvi_map_args **p)
{
    if (p == NULL || *p == NULL) {
        return;
    }
    dvi_map_args *a = *p;
    for (size_t i = 0; i < a->n; i++) {
        for (size_t j = 0; j < a->src[i].n; j++) {
            free(a->src[i].items[j]);
        }
        free(a->src[i].items);
    }
    free(a->src);
    free(a);
    *p = NULL;
}

/* Starts a new, empty source. */
static s_source *
s_add_source(dvi_map_args *a)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 4;
        s_source *s = realloc(a->src, cap * sizeof(*s));
        if (s == NULL) {
            return NULL;
        }
        a->src = s;
        a->cap = cap;
    }
    s_source *s = &a->src[a->n++];
    memset(s, 0, sizeof(*s));
    return s;
}

/* Appends a copy of the len bytes at v to the source. */
static int
s_push(s_source *s, const char *v, size_t len)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        char **items = realloc(s->items, cap * sizeof(*items));
        if (items == NULL) {
            return -1;
        }
        s->items = items;
        s->cap = cap;
    }
    char *copy = malloc(len + 1);
    if (copy == NULL) {
        return -1;
    }
    memcpy(copy, v, len);
    copy[len] = '\0';
    s->items[s->n++] = copy;
    return 0;
}

int
dvi_map_args_read(dvi_map_args *a, FILE *f)
{
    s_source *s = s_add_source(a);
    if (s == NULL) {
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    errno = 0;
    while ((len = getline(&line, &cap, f)) >= 0) {
        if (len > 0 && line[len - 1] == '\n') {
            len--;
        }
        if (s_push(s, line, (size_t)len) != 0) {
            free(line);
            return -1;
        }
    }
    free(line);
    return ferror(f) ? -1 : 0;
}

/* Adds the file at path (or stdin for "-") as a source. */
static int
s_read_path(dvi_map_args *a, const char *path, FILE *err)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (f == NULL) {
        fprintf(err, "drove map: :::: %s: %s\n", path, strerror(errno));
        return -1;
    }
    int rc = dvi_map_args_read(a, f);
    int saved = errno;
    if (f != stdin) {
        fclose(f);
    }
    if (rc != 0) {
        fprintf(err, "drove map: :::: %s: %s\n", path, strerror(saved));
    }
    return rc;
}

int
dvi_map_args_parse(dvi_map_args *a, int argc, char **argv, FILE *err)
{
    int i = 0;
    while (i < argc) {
        int files = strcmp(argv[i], "::::") == 0;
        if (!files && strcmp(argv[i], ":::") != 0) {
            /* Only the words after a separator reach here. */
            fprintf(err, "drove map: unexpected '%s'\n", argv[i]);
            return -1;
        }
        i++;
        s_source *s = files ? NULL : s_add_source(a);
        if (!files && s == NULL) {
            fprintf(err, "drove map: out of memory\n");
            return -1;
        }
        int start = i;
        for (; i < argc && strcmp(argv[i], ":::") != 0 &&
               strcmp(argv[i], "::::") != 0;
             i++) {
            int rc = files ? s_read_path(a, argv[i], err)
                           : s_push(s, argv[i], strlen(argv[i]));
            if (rc != 0) {
                if (!files) {
                    fprintf(err, "drove map: out of memory\n");
                }
                return -1;
            }
        }
        if (files && i == start) {
            fprintf(err, "drove map: '::::' needs at least one file\n");
            return -1;
        }
    }
    return 0;
}

size_t
dvi_map_args_nsources(const dvi_map_args *a)
{
    return a->n;
}

size_t
dvi_map_args_njobs(const dvi_map_args *a)
{
    if (a->n == 0) {
        return 0;
    }
    size_t n = 1;
    for (size_t i = 0; i < a->n; i++) {
        size_t k = a->src[i].n;
        if (k != 0 && n > SIZE_MAX / k) {
            return SIZE_MAX;
        }
        n *= k;
    }
    return n;
}

void
dvi_map_args_job(const dvi_map_args *a, size_t j, const char **out)
{
    for (size_t i = a->n; i-- > 0;) {
        const s_source *s = &a->src[i];
        out[i] = s->items[j % s->n];
        j /= s->n;
    }
}
