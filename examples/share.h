/* Shared by the examples' clients: getting their task functions to the
 * workers, waiting for a result, reading options. */
#ifndef EXAMPLE_SHARE_H
#define EXAMPLE_SHARE_H

#include <drove.h>

/* On a cluster of daemons (tcp://, or $DROVE_SCHEDULER by default) the
 * workers are other programs, which cannot see this program's functions:
 * uploads them, as lib<name>_functions.so from the program's directory.
 * Embedded clusters ("local...") need nothing. Returns 0, or -1 after
 * saying why on stderr. */
int example_share_functions(dv_client *c, const char *where, const char *name);

/* Waits up to timeout_s for f's result. Borrowed, as dv_result's; NULL
 * if there is none, after saying "NAME: FAILED: WHAT: why" on stderr. */
const dv_value *example_result(dv_future *f, double timeout_s, const char *name,
                               const char *what);

/* The value of option argv[*i], advancing *i past it; NULL after saying
 * that the option needs one. */
const char *example_opt_value(const char *name, int argc, char **argv, int *i);

/* val, the value of option opt, as an integer in [lo, hi] that is a
 * multiple of step, into *out. Returns 0, or -1 after saying what is
 * wrong (for a NULL val, example_opt_value has said it). */
int example_int_opt(const char *name, const char *opt, const char *val,
                    long long lo, long long hi, long long step, long long *out);

#endif
