/* dvi_ptransform: a pipeline's transform, as an identity and as commands.
 *
 * The identity hashes what decides a datum's outputs besides its files:
 * the command's argv, the stdin lines, transform.env (never the caller's
 * environment) and each code file's path and contents. When it changes,
 * every datum runs again. A datum becomes one command task: each of its
 * files is an input at in/<input name>/<relative path>, each code file
 * at its path relative to the spec, the stdin lines on its standard
 * input, transform.env in its environment, and "out/" kept.
 */
#ifndef DVI_PIPELINE_TRANSFORM_H
#define DVI_PIPELINE_TRANSFORM_H

#include "drove.h"
#include "pipeline/datums.h"
#include "pipeline/spec.h"

/* The transform's identity, 64 hex digits and a NUL, into out. Returns 0,
 * or DV_EIO naming a code file that cannot be read. */
int dvi_ptransform_id(const dvi_pspec *s, char *out);

/* The command task of datum d. Caller owns; free with dv_cmd_free. NULL
 * with the reason set (a file that cannot be read, naming it). */
dv_cmd *dvi_ptransform_cmd(const dvi_pspec *s, const dvi_datum *d);

#endif
