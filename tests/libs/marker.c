/* drove — a library that leaves a trace when it is loaded (security_test).
 *
 * Its constructor appends a line to the file named by $DVT_MARKER (when
 * set), so a test can tell, from outside the worker, whether the bytes of
 * an upload were ever loaded: one line per load, whoever sent them.
 * `marker_loaded` gives a client something to run from it. Nothing links
 * this library: it is only uploaded.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drove.h"

__attribute__((constructor)) static void
s_mark(void)
{
    const char *path = getenv("DVT_MARKER");
    if (path == NULL || path[0] == '\0') {
        return;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        return;
    }
    char line[64];
    int n = snprintf(line, sizeof(line), "loaded by pid %d\n", (int)getpid());
    if (write(fd, line, (size_t)n) < 0) {
        /* Nothing to do: the test will see no line. */
    }
    close(fd);
}

/* marker_loaded() returns 1: a call that runs this library's code. */
DV_FUNCTION(marker_loaded)
{
    return dv_return(call, dv_i64(1));
}
