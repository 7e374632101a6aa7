/* dvi_pexec: running a pipeline's datums as command tasks.
 *
 * Each datum is one command task (dvi_ptransform_cmd); at most `par` are
 * in flight at once, the next one submitted as one completes. A datum
 * whose command exits non-zero (or whose task errs: a lost worker) runs
 * again, up to datum_tries times in all; then it is recorded as failed
 * with its stderr, and the others go on. A datum's outputs ("out/" of its
 * scratch directory) are checked against the outputs table first (two
 * datums writing one path fail the second, naming both), then written
 * into the output directory (each to a temporary file renamed into
 * place), then recorded with the datum.
 */
#ifndef DVI_PIPELINE_EXEC_H
#define DVI_PIPELINE_EXEC_H

#include <stdio.h>

#include "drove.h"
#include "pipeline/datums.h"
#include "pipeline/spec.h"
#include "pipeline/state.h"

typedef struct dvi_pexec_stats {
    size_t processed; /* datums that succeeded */
    size_t failed;    /* datums that failed every try */
} dvi_pexec_stats;

/* Runs todo[0..n) of spec s on client c, at most par at once, recording
 * each in st; failures are reported on log. Returns 0 (stats say how many
 * failed), or a negative DV_E* code with the reason set when the run
 * cannot go on (the state cannot be written, the scheduler was lost). */
int dvi_pexec_run(dv_client *c, const dvi_pspec *s,
                  const dvi_datum *const *todo, size_t n, int par,
                  dvi_pstate *st, FILE *log, dvi_pexec_stats *stats);

/* The JSON text of a datum's input files ([{input, path, hash}]), as the
 * state keeps it. Caller frees. */
char *dvi_pexec_inputs_json(const dvi_datum *d);

/* Removes the output file rel of the output directory out, and the
 * directories it leaves empty (up to out, kept). */
void dvi_pexec_remove_output(const char *out, const char *rel);

#endif
