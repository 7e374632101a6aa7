/* Whole files: read into memory (bounded), written atomically. */
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

int
dvi_write_file(const char *path, const char *data, size_t len)
{
    char tmp[PATH_MAX + 16];
    snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        return dvi_seterr(DV_EIO, "%s: %s", tmp, strerror(errno));
    }
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w < 0) {
            int e = errno;
            close(fd);
            unlink(tmp);
            return dvi_seterr(DV_EIO, "%s: %s", tmp, strerror(e));
        }
        off += (size_t)w;
    }
    if (fsync(fd) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        return dvi_seterr(DV_EIO, "%s: %s", path, strerror(e));
    }
    return 0;
}
