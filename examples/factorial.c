/* factorial: the load-balanced map of the IPython parallel chapter, in C.
 *
 *     view = cluster.load_balanced_view()
 *     view.map_sync(factorial, ns)
 *     [2, 720, 3628800, 2432902008176640000,
 *      265252859812191058636308480000000L,
 *      815915283247897734345611269596115894272000000000L]
 *
 * dv_map submits one call per n, with no worker named, so each goes to
 * whichever worker is free (the load-balanced view); waiting for all of them
 * and reading the results in order is map_sync. Python's integers grow as
 * needed, C's do not: 21! already overflows 64 bits, so the function returns
 * n! as an exact decimal string, computed with a small bignum.
 *
 * Every result is checked: two against the literal values above, and each
 * one against three properties that do not use the bignum code: its number
 * of digits and its leading digits (from lgamma), and its number of trailing
 * zeros (Legendre's formula).
 *
 * Usage: factorial [WHERE [N...]]   WHERE as for dv_connect() ("" or
 *                                   "default" for the default cluster);
 *                                   N: more values of n, 0 <= N <= 3000.
 * Exits 0 when every result is right, 1 with a message otherwise.
 *
 * On a cluster of daemons (a tcp:// WHERE, or $DROVE_SCHEDULER) the workers
 * cannot run this program's code, so it first uploads its task functions as
 * a shared library. For that the build compiles this file twice: the task
 * functions alone (-DDV_EXAMPLE_FUNCTIONS) into
 * libfactorial_functions.so, next to the program, and the client alone
 * (-DDV_EXAMPLE_CLIENT) into the program, which links that library.
 * Compiled once with neither, the file is a complete program for the
 * embedded clusters.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <drove.h>

#define MAX_N 3000      /* 3000! has 9131 digits: still instant */
#define TIMEOUT_S 60.0  /* only turns a hang into a failure */

#ifndef DV_EXAMPLE_CLIENT /* the task functions, see the top */
/* ---- The task function ------------------------------------------------- */

/* factorial(n): n! as a decimal string. The number is an array of decimal
 * digits, least significant first, multiplied by 2, 3, ..., n in turn; the
 * schoolbook multiply by a small integer is all that is needed. Pure: the
 * same n always gives the same string. */
DV_FUNCTION(factorial)
{
    const dv_value *n_arg = dv_arg_at(call, 0);

    if (dv_nargs(call) != 1 || dv_value_type(n_arg) != DV_I64) {
        return dv_fail(call, "factorial: expected one integer argument");
    }
    int64_t n = dv_value_i64(n_arg);
    if (n < 0 || n > MAX_N) {
        return dv_fail(call, "factorial: n = %lld is outside [0, %d]",
                       (long long)n, MAX_N);
    }

    /* log10(n!) <= n log10(n) + 1: room for every digit, and the NUL. */
    size_t cap = (size_t)((double)n * log10((double)n + 1.0)) + 2;
    unsigned char *digits = malloc(cap);
    char *text = malloc(cap + 1);
    if (digits == NULL || text == NULL) {
        free(digits);
        free(text);
        return dv_fail(call, "factorial: out of memory for %zu digits", cap);
    }
    size_t len = 1;
    digits[0] = 1;
    for (int64_t m = 2; m <= n; m++) {
        unsigned long carry = 0;
        for (size_t i = 0; i < len; i++) {
            unsigned long d = (unsigned long)digits[i] * (unsigned long)m
                              + carry;
            digits[i] = (unsigned char)(d % 10);
            carry = d / 10;
        }
        while (carry > 0 && len < cap) {
            digits[len++] = (unsigned char)(carry % 10);
            carry /= 10;
        }
    }
    for (size_t i = 0; i < len; i++) {
        text[i] = (char)('0' + digits[len - 1 - i]);
    }
    text[len] = '\0';
    int rc = dv_return(call, dv_str(text));
    free(digits);
    free(text);
    return rc;
}
#endif /* DV_EXAMPLE_CLIENT */

#ifndef DV_EXAMPLE_FUNCTIONS /* the client, see the top */
#include "share.h"

/* ---- Independent checks of a result ------------------------------------ */

/* The number of factors 5 in n!, which is its number of trailing zeros in
 * decimal (there are always more factors 2). */
static size_t
s_trailing_zeros_of_factorial(long n)
{
    size_t z = 0;
    for (long p = 5; p <= n; p *= 5) {
        z += (size_t)(n / p);
    }
    return z;
}

/* Checks s against what analysis says n! looks like. Returns NULL if it
 * fits, else a description of the first mismatch (static storage). */
static const char *
s_check_factorial(long n, const char *s, size_t len)
{
    static char why[160];

    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9' || (i == 0 && s[i] == '0' && len > 1)) {
            return "not a decimal number";
        }
    }

    size_t zeros = 0;
    while (zeros < len && s[len - 1 - zeros] == '0') {
        zeros++;
    }
    size_t want_zeros = s_trailing_zeros_of_factorial(n);
    if (zeros != want_zeros) {
        snprintf(why, sizeof(why), "%zu trailing zeros, expected %zu", zeros,
                 want_zeros);
        return why;
    }

    /* log10(n!) = lgamma(n + 1) / ln 10: its integer part gives the number
     * of digits, its fraction the leading digits. lgamma is good to about
     * 1e-15 relative, ample for 6 leading digits up to MAX_N. A fraction
     * within 1e-9 of a digit boundary would be ambiguous; skip those. */
    double lg = lgamma((double)n + 1.0) / log(10.0);
    double ip = floor(lg);
    double frac = lg - ip;
    if (frac > 1e-9 && frac < 1.0 - 1e-9) {
        size_t want_len = (size_t)ip + 1;
        if (len != want_len) {
            snprintf(why, sizeof(why), "%zu digits, expected %zu", len,
                     want_len);
            return why;
        }
        if (len >= 7) {
            double lead = pow(10.0, frac + 5.0); /* six leading digits */
            char head[7];
            memcpy(head, s, 6);
            head[6] = '\0';
            long got = strtol(head, NULL, 10);
            if (labs(got - (long)floor(lead)) > 1) {
                snprintf(why, sizeof(why),
                         "leading digits %ld, expected about %.0f", got,
                         floor(lead));
                return why;
            }
        }
    }
    return NULL;
}

/* ---- The client -------------------------------------------------------- */

static int
s_parse_n(const char *text, long *n)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < 0 || v > MAX_N) {
        return -1;
    }
    *n = v;
    return 0;
}

int
main(int argc, char **argv)
{
    /* The seed's ns, then any given on the command line. */
    static const long seed_ns[] = {2, 3, 10, 20, 30, 40};
    const size_t nseed = sizeof(seed_ns) / sizeof(seed_ns[0]);
    const char *where = argc > 1 ? argv[1] : NULL;
    if (where != NULL && (where[0] == '\0' || strcmp(where, "default") == 0)) {
        where = NULL;
    }

    size_t count = nseed + (argc > 2 ? (size_t)(argc - 2) : 0);
    long *ns = calloc(count, sizeof(*ns));
    dv_arg *args = calloc(count, sizeof(*args));
    dv_future **fs = calloc(count, sizeof(*fs));
    if (ns == NULL || args == NULL || fs == NULL) {
        fprintf(stderr, "factorial: FAILED: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < count; i++) {
        if (i < nseed) {
            ns[i] = seed_ns[i];
        } else if (s_parse_n(argv[2 + i - nseed], &ns[i]) != 0) {
            fprintf(stderr,
                    "usage: factorial [WHERE [N...]]\n"
                    "factorial: '%s' is not an integer between 0 and %d\n",
                    argv[2 + i - nseed], MAX_N);
            return 1;
        }
        args[i] = dv_i64(ns[i]);
    }

    int rc = 1;
    int mapped = 0;
    dv_client *c = dv_connect(where);
    if (c == NULL) {
        fprintf(stderr, "factorial: FAILED: cannot connect to %s: %s\n",
                where != NULL ? where : "the default cluster",
                dv_last_error());
        goto out;
    }
    if (example_share_functions(c, where, "factorial") != 0) {
        goto out;
    }

    /* view.map_sync(factorial, ns): map, then wait for every result. */
    mapped = dv_map(c, "factorial", count, args, fs, NULL);
    if (mapped != (int)count) {
        fprintf(stderr, "factorial: FAILED: map: %s\n", dv_last_error());
        mapped = 0;
        goto out;
    }
    if (dv_wait(fs, count, TIMEOUT_S) != 0) {
        fprintf(stderr, "factorial: FAILED: no results after %.0f s: %s\n",
                TIMEOUT_S, dv_last_error());
        goto out;
    }

    int nworkers = dv_nworkers(c);
    printf("view.map_sync(factorial, ns) on %s, %d worker%s:\n",
           where != NULL ? where : "the default cluster", nworkers,
           nworkers == 1 ? "" : "s");
    int bad = 0;
    for (size_t i = 0; i < count; i++) {
        const dv_value *v = dv_result(fs[i], TIMEOUT_S);
        if (v == NULL) {
            const char *why = dv_future_error(fs[i]);
            fprintf(stderr, "factorial: FAILED: %ld!: %s\n", ns[i],
                    why != NULL ? why : dv_last_error());
            bad++;
            continue;
        }
        size_t len = 0;
        const char *s = dv_value_str(v, &len);
        if (s == NULL) {
            fprintf(stderr, "factorial: FAILED: %ld!: a value of type %d, "
                            "not a string\n", ns[i], dv_value_type(v));
            bad++;
            continue;
        }
        const char *why = s_check_factorial(ns[i], s, len);
        printf("  %4ld! = %s%s\n", ns[i], s, why != NULL ? "   WRONG" : "");
        if (why != NULL) {
            fprintf(stderr, "factorial: FAILED: %ld!: %s\n", ns[i], why);
            bad++;
        }
    }

    /* The exact values, as the seed's output prints them. */
    static const struct {
        long n;
        const char *value;
    } known[] = {
        {20, "2432902008176640000"},
        {30, "265252859812191058636308480000000"},
        {40, "815915283247897734345611269596115894272000000000"},
    };
    for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++) {
        size_t i = 0;
        while (i < count && ns[i] != known[k].n) {
            i++;
        }
        const dv_value *v = i < count ? dv_result(fs[i], 0) : NULL;
        const char *s = v != NULL ? dv_value_str(v, NULL) : NULL;
        if (s == NULL) {
            continue; /* a missing result was reported above */
        }
        if (strcmp(s, known[k].value) != 0) {
            fprintf(stderr, "factorial: FAILED: %ld! should be %s\n",
                    known[k].n, known[k].value);
            bad++;
        }
    }
    if (bad > 0) {
        fprintf(stderr, "factorial: FAILED: %d wrong result%s\n", bad,
                bad == 1 ? "" : "s");
        goto out;
    }
    printf("factorial: all %zu results checked (20!, 30!, 40! exactly)\n",
           count);
    rc = 0;

out:
    for (int i = 0; i < mapped; i++) {
        dv_release(fs[i]);
    }
    dv_close(c);
    free(fs);
    free(args);
    free(ns);
    return rc;
}
#endif /* DV_EXAMPLE_FUNCTIONS */
