/* drove — a user's program, built against an installed drove.
 *
 * Usage: client_prog [WHERE [LIBRARY.so [MIN_WORKERS]]]
 * Connects to WHERE (none or "": dv_connect(NULL)), uploads LIBRARY.so when
 * given, waits for MIN_WORKERS workers, then sums the squares of 0..99 with
 * a map and a dependent task, and checks that a failing call reports its
 * text. Prints "client_prog: ok ..." and exits 0 when all is right. Uses
 * only drove.h: it is compiled by the install test exactly as an outside
 * user would, with pkg-config.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <drove.h>

#define N 100

static int
s_wait_workers(dv_client *c, int want)
{
    struct timespec ts = {0, 20 * 1000 * 1000};
    int have = 0;
    for (int i = 0; i < 1500; i++) {
        have = dv_nworkers(c);
        if (have >= want) {
            return have;
        }
        nanosleep(&ts, NULL);
    }
    fprintf(stderr, "client_prog: %d workers after 30 s, want %d\n", have,
            want);
    return -1;
}

int
main(int argc, char **argv)
{
    const char *where = argc > 1 && argv[1][0] != '\0' ? argv[1] : NULL;
    const char *lib = argc > 2 ? argv[2] : NULL;
    int min_workers = argc > 3 ? atoi(argv[3]) : 1;
    dv_future *sq[N] = {NULL};
    dv_future *total = NULL, *bad = NULL;
    int rc = 1;

    dv_client *c = dv_connect(where);
    if (c == NULL) {
        fprintf(stderr, "client_prog: dv_connect(%s): %s\n",
                where ? where : "NULL", dv_last_error());
        return 1;
    }
    if (lib != NULL) {
        int n = dv_upload_library(c, lib);
        if (n < 0) {
            fprintf(stderr, "client_prog: dv_upload_library(%s): %s\n", lib,
                    dv_last_error());
            goto out;
        }
    }
    int nworkers = s_wait_workers(c, min_workers);
    if (nworkers < 0) {
        goto out;
    }

    dv_arg args[N];
    for (int i = 0; i < N; i++) {
        args[i] = dv_i64(i);
    }
    if (dv_map(c, "cp_square", N, args, sq, NULL) != N) {
        fprintf(stderr, "client_prog: dv_map: %s\n", dv_last_error());
        goto out;
    }
    total = DV_SUBMIT(c, "cp_sum", dv_futs(sq, N));
    bad = DV_SUBMIT(c, "cp_fail", dv_i64(7));
    if (total == NULL || bad == NULL) {
        fprintf(stderr, "client_prog: dv_submit: %s\n", dv_last_error());
        goto out;
    }
    const dv_value *v = dv_result(total, 60.0);
    if (v == NULL) {
        fprintf(stderr, "client_prog: cp_sum failed: %s\n",
                dv_future_error(total) ? dv_future_error(total)
                                       : dv_last_error());
        goto out;
    }
    long long sum = (long long)dv_value_i64(v);
    if (sum != 328350) {
        fprintf(stderr, "client_prog: sum of squares %lld, want 328350\n", sum);
        goto out;
    }
    if (dv_result(bad, 60.0) != NULL || dv_future_error(bad) == NULL ||
        strcmp(dv_future_error(bad), "cp: bad input 7") != 0) {
        fprintf(stderr,
                "client_prog: cp_fail gave error \"%s\", want "
                "\"cp: bad input 7\"\n",
                dv_future_error(bad) ? dv_future_error(bad) : "(none)");
        goto out;
    }
    printf("client_prog: ok on %s with %d workers",
           where ? where : "the default cluster", nworkers);
    for (int i = 0; i < nworkers; i++) {
        char id[128];
        if (dv_worker_id(c, i, id, sizeof(id)) == 0) {
            printf(" %s", id);
        }
    }
    printf(": sum %lld\n", sum);
    rc = 0;
out:
    for (int i = 0; i < N; i++) {
        dv_release(sq[i]);
    }
    dv_release(total);
    dv_release(bad);
    dv_close(c);
    return rc;
}
