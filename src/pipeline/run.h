/* dvi_prun: bringing a pipeline's output up to date.
 *
 * A run loads the spec, first brings up to date the pipelines whose
 * outputs it reads (found in the profile's registry), lists the datums,
 * compares them and the transform's identity with the state, removes the
 * outputs of datums that vanished or changed (all of them when the
 * transform changed), runs the new or changed datums and failed ones
 * again, records the summary, and then runs the registered pipelines that
 * read its output, so that they follow it. The cluster is dv_connect(NULL)
 * (the embedded default, or DROVE_SCHEDULER / DROVE_SCHEME), connected
 * only when some datum has to run: a no-op re-run starts no cluster.
 */
#ifndef DVI_PIPELINE_RUN_H
#define DVI_PIPELINE_RUN_H

#include <stdio.h>

typedef struct dvi_prun_opts {
    const char *profile; /* the registry's profile; NULL: $DROVE_PROFILE */
    FILE *out;           /* one summary line per pipeline run */
    FILE *err;           /* warnings and failed datums */
} dvi_prun_opts;

/* Runs the pipeline of the spec at path (and its upstreams and
 * downstreams). Returns 0, 1 when some datum failed, or a negative DV_E*
 * code with the reason set (a bad spec, a missing input directory, an
 * unknown upstream pipeline, state that cannot be written). */
int dvi_prun(const char *path, const dvi_prun_opts *o);

/* The state database of a pipeline whose output is output and name is
 * name: <dirname(output)>/.drove/<name>.sqlite, into buf. */
void dvi_prun_state_path(const char *output, const char *name, char *buf,
                         size_t size);

#endif
