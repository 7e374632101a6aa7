/* dvi_read_file: a whole file into memory, bounded. */
#include "file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drove.h"
#include "err.h"

#define S_MAX_FILE ((size_t)1 << 30)

int
dvi_read_file(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return dvi_seterr(DV_EIO, "%s: %s", path, strerror(errno));
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf != NULL) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) {
            break;
        }
        if (cap >= S_MAX_FILE) {
            free(buf);
            fclose(f);
            return dvi_seterr(DV_ELIMIT, "%s: larger than %zu bytes", path,
                              S_MAX_FILE);
        }
        char *bigger = realloc(buf, cap * 2);
        if (bigger == NULL) {
            free(buf);
        }
        buf = bigger;
        cap *= 2;
    }
    int failed = buf == NULL || ferror(f);
    fclose(f);
    if (failed) {
        free(buf);
        return dvi_seterr(buf ? DV_EIO : DV_ENOMEM, "%s: cannot read", path);
    }
    *out = buf;
    *len = n;
    return 0;
}
