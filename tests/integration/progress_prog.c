/* drove — a user's program that waits with a progress bar (dv_progress).
 *
 * Usage: progress_prog [N [TIMEOUT_S [MS]]]
 * Submits N (default 200) naps of MS milliseconds (default 5) to
 * local:threads=2, one in every 50 failing on purpose, and waits for
 * them with dv_progress(..., TIMEOUT_S (default 60), "naps"). Prints
 * "rc=<what it returned>" on stdout, then exits 0 if that was 0 or
 * DV_ETIMEDOUT (which progress_test.sh asks for), else 1; first, that
 * mistakes (no futures, another client's) give DV_EINVAL. Whether a bar
 * was drawn, on a terminal or not, is for the test to see from outside.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <drove.h>

DV_FUNCTION(nap)
{
    int64_t i = dv_value_i64(dv_arg_at(call, 0));
    int64_t ms = dv_value_i64(dv_arg_at(call, 1));
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000 * 1000};
    nanosleep(&ts, NULL);
    if (i % 50 == 49) {
        return dv_fail(call, "nap %lld fails on purpose", (long long)i);
    }
    return dv_return(call, dv_i64(i));
}

/* What a mistake gets: DV_EINVAL, at once, and nothing drawn. */
static int
s_check_misuse(dv_future **fs, size_t n)
{
    dv_client *other = dv_connect("local:threads=1");
    int rc_null = dv_progress(NULL, NULL, 3, 0, NULL);
    int rc_other = n > 0 ? dv_progress(other, fs, n, 0, NULL) : DV_EINVAL;
    int rc_none = dv_progress(NULL, NULL, 0, 0, NULL);
    dv_close(other);
    if (rc_null != DV_EINVAL || rc_other != DV_EINVAL || rc_none != 0) {
        fprintf(stderr,
                "progress_prog: misuse gave %d (no futures), %d (another "
                "client's), %d (none), want %d, %d, 0\n",
                rc_null, rc_other, rc_none, DV_EINVAL, DV_EINVAL);
        return 1;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)atol(argv[1]) : 200;
    double timeout_s = argc > 2 ? atof(argv[2]) : 60;
    int64_t ms = argc > 3 ? atol(argv[3]) : 5;
    dv_client *c = dv_connect("local:threads=2");
    if (c == NULL) {
        fprintf(stderr, "progress_prog: %s\n", dv_last_error());
        return 1;
    }
    dv_future **fs = calloc(n ? n : 1, sizeof(*fs));
    for (size_t i = 0; i < n; i++) {
        fs[i] = DV_SUBMIT(c, "nap", dv_i64((int64_t)i), dv_i64(ms));
        if (fs[i] == NULL) {
            fprintf(stderr, "progress_prog: %s\n", dv_last_error());
            return 1;
        }
    }
    if (s_check_misuse(fs, n) != 0) {
        return 1;
    }
    int rc = dv_progress(c, fs, n, timeout_s, "naps");
    printf("rc=%d\n", rc);
    fflush(stdout);
    if (rc < 0) {
        fprintf(stderr, "progress_prog: %s\n", dv_last_error());
    }
    for (size_t i = 0; i < n; i++) {
        dv_release(fs[i]);
    }
    free(fs);
    dv_close(c);
    return rc == 0 || rc == DV_ETIMEDOUT ? 0 : 1;
}
