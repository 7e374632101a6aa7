/* Directory trees, walked with openat/fdopendir: no shared state. */
#define _GNU_SOURCE
#include "tree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"

int
dvi_tree_make_parents(const char *path)
{
    char dir[PATH_MAX];
    if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir)) {
        return dvi_seterr(DV_EIO, "%s: path too long", path);
    }
    for (char *p = dir + 1; (p = strchr(p, '/')) != NULL; p++) {
        *p = '\0';
        if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
            return dvi_seterr(DV_EIO, "%s: %s", dir, strerror(errno));
        }
        *p = '/';
    }
    return 0;
}

/* Walks the directory open as fd, whose path relative to the root is
 * rel (len bytes, "" at the root). */
static int
s_walk(int fd, char *rel, size_t len, dvi_tree_fn fn, void *ctx)
{
    DIR *d = fdopendir(fd);
    if (d == NULL) {
        close(fd);
        return dvi_seterr(DV_EIO, "%s: %s", rel, strerror(errno));
    }
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        int n = snprintf(rel + len, PATH_MAX - len, "%s%s", len ? "/" : "",
                         e->d_name);
        struct stat st;
        if (n < 0 || (size_t)n >= PATH_MAX - len ||
            fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            continue;
        }
        if (S_ISREG(st.st_mode)) {
            rc = fn(ctx, rel);
        } else if (S_ISDIR(st.st_mode)) {
            int sub = openat(dirfd(d), e->d_name,
                             O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub >= 0) {
                rc = s_walk(sub, rel, len + (size_t)n, fn, ctx);
            }
        }
        rel[len] = '\0';
    }
    closedir(d);
    return rc;
}

int
dvi_tree_walk(const char *dir, dvi_tree_fn fn, void *ctx)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return errno == ENOENT
                   ? 0
                   : dvi_seterr(DV_EIO, "%s: %s", dir, strerror(errno));
    }
    char rel[PATH_MAX] = "";
    return s_walk(fd, rel, 0, fn, ctx);
}

/* Empties the directory open as fd (closed here). */
static int
s_empty(int fd)
{
    DIR *d = fdopendir(fd);
    if (d == NULL) {
        close(fd);
        return -1;
    }
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        if (unlinkat(dirfd(d), e->d_name, 0) == 0) {
            continue;
        }
        int sub = openat(dirfd(d), e->d_name,
                         O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0 || s_empty(sub) < 0 ||
            unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR) < 0) {
            rc = -1;
        }
    }
    closedir(d);
    return rc;
}

int
dvi_tree_remove(const char *path)
{
    if (unlink(path) == 0 || errno == ENOENT) {
        return 0;
    }
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || s_empty(fd) < 0 || rmdir(path) < 0) {
        return dvi_seterr(DV_EIO, "removing %s: %s", path, strerror(errno));
    }
    return 0;
}
