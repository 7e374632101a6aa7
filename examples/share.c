/* What the examples' clients share (share.h). */
#include "share.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
example_share_functions(dv_client *c, const char *where, const char *name)
{
    const char *env = getenv("DROVE_SCHEDULER");
    bool daemons = where != NULL ? strncmp(where, "local", 5) != 0
                                 : env != NULL && env[0] != '\0';
    char path[4096];

    if (!daemons) {
        return 0;
    }
    ssize_t len = readlink("/proc/self/exe", path, sizeof(path) - 64);
    char *slash = NULL;
    if (len > 0) {
        path[len] = '\0';
        slash = strrchr(path, '/');
    }
    if (slash == NULL) {
        fprintf(stderr, "%s: FAILED: cannot locate this executable\n", name);
        return -1;
    }
    snprintf(slash + 1, 64, "lib%s_functions.so", name);
    if (dv_upload_library(c, path) < 0) {
        fprintf(stderr, "%s: FAILED: cannot upload %s: %s\n", name, path,
                dv_last_error());
        return -1;
    }
    return 0;
}

const dv_value *
example_result(dv_future *f, double timeout_s, const char *name,
               const char *what)
{
    const dv_value *v = dv_result(f, timeout_s);
    if (v == NULL) {
        const char *why = dv_future_error(f);
        fprintf(stderr, "%s: FAILED: %s: %s\n", name, what,
                why != NULL ? why : dv_last_error());
    }
    return v;
}

const char *
example_opt_value(const char *name, int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        fprintf(stderr, "%s: %s needs a value (--help)\n", name, argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

int
example_int_opt(const char *name, const char *opt, const char *val,
                long long lo, long long hi, long long step, long long *out)
{
    char *end = NULL;
    if (val == NULL) {
        return -1; /* example_opt_value said so */
    }
    errno = 0;
    long long n = strtoll(val, &end, 10);
    if (end == val || *end != '\0' || errno != 0 || n < lo || n > hi ||
        n % step != 0) {
        fprintf(stderr, "%s: %s: '%s' is not an integer between %lld and %lld",
                name, opt, val, lo, hi);
        if (step > 1) {
            fprintf(stderr, ", a multiple of %lld", step);
        }
        fprintf(stderr, "\n");
        return -1;
    }
    *out = n;
    return 0;
}
