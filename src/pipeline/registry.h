/* dvi_preg: the profile's list of pipelines.
 *
 * A JSON file, pipelines.json in the profile's directory
 * ($DROVE_HOME/profile_NAME/, created 0700 if missing), mapping each
 * pipeline's name to its spec file and output directory. `drove pipeline
 * run` adds to it; `list`, `status` and `inspect` read it, and a pipeline
 * whose input is another pipeline's output finds that pipeline's spec
 * there. Written atomically (a temporary file renamed over it).
 */
#ifndef DVI_PIPELINE_REGISTRY_H
#define DVI_PIPELINE_REGISTRY_H

#include <jansson.h>
#include <stddef.h>

/* The registry of profile (NULL: $DROVE_PROFILE or "default"): a JSON
 * object of name -> {"spec": path, "output": dir}. Caller owns. NULL with
 * the reason set for a bad profile name or a damaged file (naming it);
 * an empty object when there is none yet. */
json_t *dvi_preg_load(const char *profile);
/* Records (or updates) pipeline name. Returns 0, or DV_EIO / DV_EINVAL
 * with the reason set. */
int dvi_preg_put(const char *profile, const char *name, const char *spec,
                 const char *output);
/* The registry file's path, for messages and docs. */
int dvi_preg_path(const char *profile, char *out, size_t size);

#endif
