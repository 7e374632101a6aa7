/* What spilling results to disk costs a worker: dvi_spill and dvi_store on
 * a runtime, as `drove worker --memory-limit` uses them.
 *
 *   spill.write_throughput       results of 1 MiB written to files on the
 *                                job thread, from the first queued to the
 *                                last done
 *   spill.read_throughput        read back into memory (dvi_spill_read),
 *                                the files still in the page cache, as
 *                                right after a spill
 *   spill.read_cold_throughput   the same after the files were synced and
 *                                their pages dropped (posix_fadvise): what
 *                                the disk gives
 *   spill.store_get_1mib         median time of dvi_store_get of a spilled
 *                                1 MiB result (warm): what a peer's GET or a
 *                                task's input waits for, on the loop
 *   spill.store_get_64mib        the same for a 64 MiB result
 *
 * usage: bench_spill [--dir DIR] [--mib N]   (where to spill, default
 * $TMPDIR or /tmp; N MiB in all, default 256)
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_util.h"
#include "common/blob.h"
#include "common/runtime.h"
#include "drove.h"
#include "worker/spill.h"
#include "worker/store.h"

#define MIB ((size_t)1 << 20)
#define GETS 64

static int s_failed;

static void
s_written(void *ctx, int rc, const char *why)
{
    if (rc < 0) {
        fprintf(stderr, "bench_spill: %s\n", why);
        s_failed = 1;
    }
}

static int
s_cmp(const void *a, const void *b)
{
    double d = *(const double *)a - *(const double *)b;
    return d < 0 ? -1 : d > 0;
}

/* Writes n files of 1 MiB and reads them back, warm then cold. */
static void
s_throughput(dvi_runtime *rt, const char *dir, size_t n)
{
    dvi_spill *sp = dvi_spill_new(dvi_runtime_loop(rt), dir);
    if (sp == NULL) {
        fprintf(stderr, "bench_spill: %s\n", dv_last_error());
        exit(1);
    }
    dvi_blob *b = dvi_blob_new(MIB, 0);
    memset(b->data, 7, MIB);
    double t0 = bu_now();
    for (size_t i = 1; i <= n; i++) {
        dvi_spill_write(sp, i, b, s_written, NULL);
    }
    dvi_spill_wait(sp);
    double w = bu_now() - t0;
    t0 = bu_now();
    for (size_t i = 1; i <= n; i++) {
        dvi_blob_rele(dvi_spill_read(sp, i, MIB));
    }
    double r = bu_now() - t0;
    char path[PATH_MAX + 64];
    for (size_t i = 1; i <= n; i++) {
        dvi_spill_path(sp, i, path, sizeof(path));
        int fd = open(path, O_RDONLY);
        fdatasync(fd);
        posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        close(fd);
    }
    t0 = bu_now();
    for (size_t i = 1; i <= n; i++) {
        dvi_blob_rele(dvi_spill_read(sp, i, MIB));
    }
    double cold = bu_now() - t0;
    bu_line("spill.write_throughput", (double)n / w, 0, "MiB/s");
    bu_line("spill.read_throughput", (double)n / r, 0, "MiB/s");
    bu_line("spill.read_cold_throughput", (double)n / cold, 0, "MiB/s");
    dvi_blob_rele(b);
    dvi_spill_destroy(&sp);
}

/* The median time of reading a spilled result of len bytes back through
 * the store, in ms. */
static double
s_store_get(dvi_runtime *rt, const char *dir, size_t len)
{
    dvi_spill *sp = dvi_spill_new(dvi_runtime_loop(rt), dir);
    dvi_store *s = dvi_store_new();
    dvi_store_set_spill(s, sp);
    dvi_blob *b = dvi_blob_new(len, 0);
    memset(b->data, 9, len);
    dvi_store_put(s, "r", b);
    dvi_blob_rele(b);
    double ms[GETS];
    for (int i = 0; i < GETS; i++) {
        dvi_store_set_target(s, 0); /* to disk (a write only the first time) */
        dvi_spill_wait(sp);
        double t0 = bu_now();
        if (dvi_store_get(s, "r") == NULL) {
            fprintf(stderr, "bench_spill: %s\n", dv_last_error());
            exit(1);
        }
        ms[i] = (bu_now() - t0) * 1000;
        dvi_store_set_target(s, UINT64_MAX);
    }
    dvi_store_destroy(&s);
    dvi_spill_destroy(&sp);
    qsort(ms, GETS, sizeof(ms[0]), s_cmp);
    return ms[GETS / 2];
}

int
main(int argc, char **argv)
{
    const char *dir = NULL;
    size_t mib = 256;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--dir") == 0) {
            dir = argv[i + 1];
        } else if (strcmp(argv[i], "--mib") == 0) {
            mib = (size_t)atol(argv[i + 1]);
        }
    }
    dvi_runtime *rt = dvi_runtime_new();
    if (rt == NULL || mib == 0) {
        fprintf(stderr, "usage: bench_spill [--dir DIR] [--mib N]\n");
        return 1;
    }
    s_throughput(rt, dir, mib);
    bu_line("spill.store_get_1mib", s_store_get(rt, dir, MIB), 3, "ms");
    bu_line("spill.store_get_64mib", s_store_get(rt, dir, 64 * MIB), 2, "ms");
    dvi_runtime_destroy(&rt);
    return s_failed;
}
