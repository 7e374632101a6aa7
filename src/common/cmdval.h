/* The command task's values on the wire: its description (the first
 * argument of the built-in function "drove_cmd") and its result.
 *
 * Description: a list
 *   [DVI_CMD_MAGIC, argv (list of str), env (list of "NAME=VALUE"),
 *    flags (DV_CMD_*), timeout (seconds, 0: none),
 *    outputs (list of str: paths, a '/' at the end for a directory),
 *    inputs (list of [path, output]: argument 1 + i is input i; path ""
 *    is stdin; output "" takes a command result's stdout)]
 * Result: a list
 *   [DVI_CMD_MAGIC, exit status, signal, timed out (bool), stdout,
 *    stderr, outputs (flat list: path, bytes, path, bytes...), started
 *    (seconds since the epoch), runtime (seconds), host]
 * The public accessors (dv_cmd_exit_status...) read the result.
 */
#ifndef DVI_CMDVAL_H
#define DVI_CMDVAL_H

#include <stdbool.h>

#include "drove.h"

#define DVI_CMD_FN "drove_cmd"
#define DVI_CMD_MAGIC "drove-cmd/1"

enum {
    DVI_CMD_SPEC_ARGV = 1,
    DVI_CMD_SPEC_ENV,
    DVI_CMD_SPEC_FLAGS,
    DVI_CMD_SPEC_TIMEOUT,
    DVI_CMD_SPEC_OUTPUTS,
    DVI_CMD_SPEC_INPUTS,
    DVI_CMD_SPEC_LEN
};

enum {
    DVI_CMD_RES_STATUS = 1,
    DVI_CMD_RES_SIGNAL,
    DVI_CMD_RES_TIMED_OUT,
    DVI_CMD_RES_STDOUT,
    DVI_CMD_RES_STDERR,
    DVI_CMD_RES_OUTPUTS,
    DVI_CMD_RES_STARTED,
    DVI_CMD_RES_RUNTIME,
    DVI_CMD_RES_HOST,
    DVI_CMD_RES_LEN
};

/* Whether path is relative, not empty, and stays below the directory it
 * is relative to (no ".." component, no empty one). */
bool dvi_cmdval_path_ok(const char *path);

/* Whether v is a list of at least n items starting with DVI_CMD_MAGIC. */
bool dvi_cmdval_is(const dv_value *v, size_t n);

#endif
