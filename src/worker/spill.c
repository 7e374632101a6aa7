/* dvi_spill: one file per spilled result in a private scratch directory,
 * written and removed on the job thread, read on the loop. */
#include "spill.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "common/runtime.h"

/* After a failed write, no new one for this long. */
#define S_BACKOFF_MS 1000

struct dvi_spill {
    uv_loop_t *loop;
    dvi_runtime *rt;       /* runs writes and removals; NULL: here */
    char parent[PATH_MAX]; /* where the directory is made */
    char dir[PATH_MAX];    /* "" until the first write makes it; then
                              read by the job thread, never changed */
    int lockfd;            /* the directory, locked while we live */
    uint64_t failed_ms;    /* loop time of the last failed write, or 0 */
    dvi_spill_stats stats;
};

/* A write (blob set) or a removal, on its way to the job thread. */
typedef struct s_job {
    dvi_spill *sp;
    uint64_t id;
    dvi_blob *blob; /* held; NULL: remove the file */
    dvi_spill_done_fn done;
    void *ctx;
    int rc;
    uint64_t ns; /* the write's time on the job thread */
    char why[PATH_MAX + 128];
} s_job;

void
dvi_spill_path(const dvi_spill *sp, uint64_t id, char *buf, size_t size)
{
    snprintf(buf, size, "%s/%" PRIx64, sp->dir, id);
}

/* The parent of spill directories: given, else $TMPDIR, else /tmp. */
static const char *
s_parent(const char *parent)
{
    if (parent != NULL && parent[0] != '\0') {
        return parent;
    }
    const char *tmp = getenv("TMPDIR");
    return tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp";
}

/* ---- On the job thread -------------------------------------------------- */

static int
s_write_file(const char *path, const char *p, size_t n, char *why, size_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(why, size, "cannot create %s: %s", path, strerror(errno));
        return DV_EIO;
    }
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k <= 0) {
            snprintf(why, size, "cannot write %zu bytes to %s: %s", n, path,
                     k < 0 ? strerror(errno) : "no progress");
            close(fd);
            unlink(path);
            return DV_EIO;
        }
        p += k;
        n -= (size_t)k;
    }
    if (close(fd) < 0) {
        snprintf(why, size, "cannot write %s: %s", path, strerror(errno));
        unlink(path);
        return DV_EIO;
    }
    return 0;
}

static void
s_work(void *ctx)
{
    s_job *j = ctx;
    char path[PATH_MAX + 32];
    dvi_spill_path(j->sp, j->id, path, sizeof(path));
    if (j->blob == NULL) {
        unlink(path); /* ENOENT: its write failed, nothing to remove */
        return;
    }
    uint64_t t0 = uv_hrtime();
    j->rc =
        s_write_file(path, j->blob->data, j->blob->len, j->why, sizeof(j->why));
    j->ns = uv_hrtime() - t0;
}

/* ---- On the loop -------------------------------------------------------- */

static void
s_done(void *ctx)
{
    s_job *j = ctx;
    dvi_spill *sp = j->sp;
    if (j->blob != NULL) {
        if (j->rc == 0) {
            sp->stats.writes++;
            sp->stats.bytes_written += j->blob->len;
            sp->stats.write_ns += j->ns;
        } else {
            sp->stats.failures++;
            sp->failed_ms = uv_now(sp->loop) + 1; /* never 0 */
        }
        dvi_blob_rele(j->blob);
    }
    if (j->done != NULL) {
        j->done(j->ctx, j->rc, j->why);
    }
    free(j);
}

static int s_make_dir(dvi_spill *sp);

static void
s_queue(dvi_spill *sp, s_job *j)
{
    if (sp->rt == NULL ||
        dvi_runtime_queue_job(sp->rt, s_work, s_done, j) < 0) {
        s_work(j); /* no job thread: here, late rather than never */
        s_done(j);
    }
}

int
dvi_spill_write(dvi_spill *sp, uint64_t id, dvi_blob *blob,
                dvi_spill_done_fn done, void *ctx)
{
    if (sp->failed_ms != 0 && uv_now(sp->loop) < sp->failed_ms + S_BACKOFF_MS) {
        return dvi_seterr(DV_EIO,
                          "not spilling to %s for a second: a write failed",
                          sp->dir[0] ? sp->dir : sp->parent);
    }
    if (sp->dir[0] == '\0' && s_make_dir(sp) < 0) {
        sp->failed_ms = uv_now(sp->loop) + 1;
        DVI_LOG(DVI_LOG_ERROR, "WORKER", "cannot spill results: %s",
                dv_last_error());
        return DV_EIO;
    }
    s_job *j = dvi_calloc(1, sizeof(*j));
    j->sp = sp;
    j->id = id;
    j->blob = dvi_blob_hold(blob);
    j->done = done;
    j->ctx = ctx;
    s_queue(sp, j);
    return 0;
}

void
dvi_spill_remove(dvi_spill *sp, uint64_t id)
{
    s_job *j = dvi_calloc(1, sizeof(*j));
    j->sp = sp;
    j->id = id;
    s_queue(sp, j);
}

void
dvi_spill_wait(dvi_spill *sp)
{
    if (sp->rt != NULL) {
        dvi_runtime_wait_jobs(sp->rt);
    }
}

/* Reads len bytes of fd into b. Returns 0, or the errno (EIO for a file
 * that ends early). */
static int
s_read_all(int fd, char *p, size_t len)
{
    while (len > 0) {
        ssize_t k = read(fd, p, len);
        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k <= 0) {
            return k < 0 ? errno : EIO;
        }
        p += k;
        len -= (size_t)k;
    }
    return 0;
}

dvi_blob *
dvi_spill_read(dvi_spill *sp, uint64_t id, size_t len)
{
    char path[PATH_MAX + 32];
    dvi_spill_path(sp, id, path, sizeof(path));
    uint64_t t0 = uv_hrtime();
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    int err = fd < 0 ? errno : fstat(fd, &st) < 0 ? errno : 0;
    if (err == 0 && (uint64_t)st.st_size != (uint64_t)len) {
        close(fd);
        sp->stats.failures++;
        dvi_seterr(DV_EIO, "spilled result %s has %lld bytes, not %zu", path,
                   (long long)st.st_size, len);
        return NULL;
    }
    dvi_blob *b = NULL;
    if (err == 0) {
        b = dvi_blob_new(len, 0);
        err = s_read_all(fd, b->data, len);
    }
    if (fd >= 0) {
        close(fd);
    }
    if (err != 0) {
        dvi_blob_rele(b);
        sp->stats.failures++;
        dvi_seterr(DV_EIO, "cannot read spilled result %s: %s", path,
                   strerror(err));
        return NULL;
    }
    sp->stats.reads++;
    sp->stats.bytes_read += len;
    sp->stats.read_ns += uv_hrtime() - t0;
    return b;
}

/* ---- The directory ------------------------------------------------------ */

/* Removes the files in dir, then dir. Returns 0, or -1 (errno set). */
static int
s_remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        return -1;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            unlinkat(dirfd(d), e->d_name, 0);
        }
    }
    closedir(d);
    return rmdir(dir);
}

/* Whether the spill directory at path (its name's tail after the prefix
 * in rest, "PID-XXXXXX") is a dead worker's: ours, no process holds its
 * lock, and the process it names is gone (a live one may be between
 * making it and locking it). */
static int
s_is_stale(const char *path, const char *rest)
{
    char *end;
    long pid = strtol(rest, &end, 10);
    if (end == rest || *end != '-' || pid <= 0) {
        return 0;
    }
    if (pid != (long)getpid() && (kill((pid_t)pid, 0) == 0 || errno == EPERM)) {
        return 0;
    }
    struct stat st;
    if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != getuid()) {
        return 0;
    }
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        return 0;
    }
    int unlocked = flock(fd, LOCK_EX | LOCK_NB) == 0;
    close(fd);
    return unlocked;
}

size_t
dvi_spill_clean_stale(const char *parent)
{
    const char *base = s_parent(parent);
    DIR *d = opendir(base);
    if (d == NULL) {
        return 0;
    }
    size_t n = 0, plen = strlen(DVI_SPILL_PREFIX);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char path[PATH_MAX];
        if (strncmp(e->d_name, DVI_SPILL_PREFIX, plen) != 0 ||
            (size_t)snprintf(path, sizeof(path), "%s/%s", base, e->d_name) >=
                sizeof(path)) {
            continue;
        }
        if (s_is_stale(path, e->d_name + plen) && s_remove_dir(path) == 0) {
            n++;
        }
    }
    closedir(d);
    return n;
}

/* Makes and locks a fresh directory in sp->dir. Returns 0, or a DV_E*
 * code with the reason set. */
static int
s_make_dir(dvi_spill *sp)
{
    /* A cleaner that took our directory for a dead worker's (another pid
     * namespace) before we locked it has removed it: make another. */
    for (int attempt = 0; attempt < 3; attempt++) {
        if ((size_t)snprintf(sp->dir, sizeof(sp->dir), "%s/%s%d-XXXXXX",
                             sp->parent, DVI_SPILL_PREFIX,
                             (int)getpid()) >= sizeof(sp->dir)) {
            sp->dir[0] = '\0';
            return dvi_seterr(DV_EINVAL, "spill directory path too long: %s",
                              sp->parent);
        }
        if (mkdtemp(sp->dir) == NULL) {
            sp->dir[0] = '\0';
            return dvi_seterr(DV_EIO, "cannot make a spill directory in %s: %s",
                              sp->parent, strerror(errno));
        }
        sp->lockfd = open(sp->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct stat st;
        if (sp->lockfd < 0 || flock(sp->lockfd, LOCK_EX) < 0 ||
            fstat(sp->lockfd, &st) < 0) {
            int err = errno;
            if (sp->lockfd >= 0) {
                close(sp->lockfd);
            }
            rmdir(sp->dir);
            dvi_seterr(DV_EIO, "cannot lock spill directory %s: %s", sp->dir,
                       strerror(err));
            sp->dir[0] = '\0';
            return DV_EIO;
        }
        if (st.st_nlink > 0) {
            DVI_LOG(DVI_LOG_NOTICE, "WORKER", "spilling results to %s",
                    sp->dir);
            return 0;
        }
        close(sp->lockfd);
    }
    sp->dir[0] = '\0';
    return dvi_seterr(DV_EIO, "spill directories in %s vanish as they are made",
                      sp->parent);
}

/* Whether the directory at path is usable as a parent; warns when it is
 * in memory (tmpfs), where spilling frees nothing. Returns 0, or DV_EIO
 * with the reason set. */
static int
s_check_parent(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode) ||
        access(path, W_OK | X_OK) < 0) {
        return dvi_seterr(DV_EIO, "cannot spill results to %s: %s", path,
                          errno ? strerror(errno) : "not a directory");
    }
    struct statfs fs;
    if (statfs(path, &fs) == 0 && fs.f_type == TMPFS_MAGIC) {
        DVI_LOG(DVI_LOG_WARN, "WORKER",
                "%s is in memory (tmpfs): results spilled there free no "
                "memory; give --spill-dir a directory on a disk",
                path);
    }
    return 0;
}

dvi_spill *
dvi_spill_new(uv_loop_t *loop, const char *parent)
{
    const char *base = s_parent(parent);
    if ((size_t)snprintf(NULL, 0, "%s", base) >= PATH_MAX - 64) {
        dvi_seterr(DV_EINVAL, "spill directory path too long: %s", base);
        return NULL;
    }
    errno = 0;
    if (s_check_parent(base) < 0) {
        return NULL;
    }
    size_t stale = dvi_spill_clean_stale(base);
    if (stale > 0) {
        DVI_LOG(DVI_LOG_NOTICE, "WORKER",
                "removed %zu spill directories that workers which died left "
                "in %s",
                stale, base);
    }
    dvi_spill *sp = dvi_calloc(1, sizeof(*sp));
    sp->loop = loop;
    sp->rt = dvi_runtime_of(loop);
    sp->lockfd = -1;
    snprintf(sp->parent, sizeof(sp->parent), "%s", base);
    return sp;
}

void
dvi_spill_destroy(dvi_spill **spp)
{
    dvi_spill *sp = *spp;
    if (sp == NULL) {
        return;
    }
    *spp = NULL;
    dvi_spill_wait(sp);
    if (sp->dir[0] != '\0' && s_remove_dir(sp->dir) < 0) {
        DVI_LOG(DVI_LOG_WARN, "WORKER", "cannot remove spill directory %s: %s",
                sp->dir, strerror(errno));
    }
    if (sp->lockfd >= 0) {
        close(sp->lockfd);
    }
    free(sp);
}

const char *
dvi_spill_dir(const dvi_spill *sp)
{
    return sp->dir;
}

void
dvi_spill_stats_get(const dvi_spill *sp, dvi_spill_stats *out)
{
    *out = sp->stats;
}
