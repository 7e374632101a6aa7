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

/* Writes all len bytes to fd. 0, or -1 with errno set. */
static int
s_write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w < 0) {
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int
dvi_write_file_as(const char *path, const void *data, size_t len,
                  unsigned flags)
{
    /* The temporary file is hidden beside path: a reader of the directory
     * never sees half a file under a name it looks for. */
    char tmp[PATH_MAX + 32];
    const char *slash = strrchr(path, '/');
    int dir = slash ? (int)(slash - path + 1) : 0;
    if (flags & DVI_FILE_IN_PLACE) {
        snprintf(tmp, sizeof(tmp), "%s", path);
    } else if (snprintf(tmp, sizeof(tmp), "%.*s.%s.tmp.%d", dir, path,
                        path + dir, (int)getpid()) >= (int)sizeof(tmp)) {
        return dvi_seterr(DV_EIO, "%s: path too long", path);
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                  (flags & DVI_FILE_SHARED) ? 0644 : 0600);
    if (fd < 0) {
        return dvi_seterr(DV_EIO, "%s: %s", tmp, strerror(errno));
    }
    int bad = s_write_all(fd, data, len) < 0 ||
              (!(flags & DVI_FILE_NO_SYNC) && fsync(fd) < 0);
    int e = errno;
    if (close(fd) < 0 && !bad) {
        bad = 1;
        e = errno;
    }
    if (!bad && !(flags & DVI_FILE_IN_PLACE) && rename(tmp, path) < 0) {
        bad = 1;
        e = errno;
    }
    if (bad) {
        if (!(flags & DVI_FILE_IN_PLACE)) {
            unlink(tmp);
        }
        return dvi_seterr(DV_EIO, "%s: %s", path, strerror(e));
    }
    return 0;
}

int
dvi_write_file(const char *path, const char *data, size_t len)
{
    return dvi_write_file_as(path, data, len, 0);
}
