/* Shared by the examples: getting their task functions to the workers. */
#ifndef EXAMPLE_SHARE_H
#define EXAMPLE_SHARE_H

#include <drove.h>

/* On a cluster of daemons (tcp://, or $DROVE_SCHEDULER by default) the
 * workers are other programs, which cannot see this program's functions:
 * uploads them, as lib<name>_functions.so from the program's directory.
 * Embedded clusters ("local...") need nothing. Returns 0, or -1 after
 * saying why on stderr. */
int example_share_functions(dv_client *c, const char *where,
                            const char *name);

#endif
