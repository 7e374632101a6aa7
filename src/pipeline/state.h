/* dvi_pstate: a pipeline's incremental state, in SQLite.
 *
 * One database per pipeline, .drove/<name>.sqlite beside its output
 * directory, holding: meta (the transform's identity, the last run's
 * summary), datums (each datum processed or failed: its id, roots, input
 * files with their hashes, tries, stderr), outputs (each file of the
 * output directory and the datum that wrote it), and files (the stat
 * cache of dvi_filecache). A datum is skipped on the next run exactly
 * when a row says it succeeded under the same transform; the outputs
 * table is what lets a changed or vanished datum's files be removed and
 * two datums writing one path be caught. Not thread-safe.
 */
#ifndef DVI_PIPELINE_STATE_H
#define DVI_PIPELINE_STATE_H

#include <jansson.h>
#include <sqlite3.h>
#include <stddef.h>

typedef struct dvi_pstate dvi_pstate;

typedef enum {
    DVI_DATUM_NONE = 0, /* never seen */
    DVI_DATUM_OK = 1,   /* processed: its outputs are in the directory */
    DVI_DATUM_FAILED = 2
} dvi_datum_status;

/* Opens (create: creating the directory and the database, for a run)
 * the state at path. A run's open also takes <path>.lock, held until
 * dvi_pstate_destroy. Caller owns; free with dvi_pstate_destroy. NULL
 * with the reason set: DV_ENOTFOUND (no state and !create), DV_EPERM (a
 * run of the pipeline holds the lock), DV_EIO naming the file. */
dvi_pstate *dvi_pstate_open(const char *path, int create);
void dvi_pstate_destroy(dvi_pstate **p);
/* The database, for dvi_filecache. Borrowed. */
sqlite3 *dvi_pstate_db(dvi_pstate *st);

/* One transaction around a run's many small writes. 0 or DV_EIO. */
int dvi_pstate_begin(dvi_pstate *st);
int dvi_pstate_commit(dvi_pstate *st);

/* The value of a meta key, or NULL. Caller frees. */
char *dvi_pstate_meta(dvi_pstate *st, const char *key);
int dvi_pstate_set_meta(dvi_pstate *st, const char *key, const char *value);

/* The recorded status of datum id. */
dvi_datum_status dvi_pstate_status(dvi_pstate *st, const char *id);
/* Every recorded datum id: *ids (caller frees each and the array). */
int dvi_pstate_ids(dvi_pstate *st, char ***ids, size_t *n);
/* Records a datum. inputs: JSON text of its files. Returns 0 or DV_EIO. */
int dvi_pstate_put(dvi_pstate *st, const char *id, dvi_datum_status status,
                   const char *desc, const char *inputs, int tries,
                   const char *log);
/* Forgets datum id and its outputs' rows; *paths gets the output paths
 * it had (relative to the output directory; caller frees each and the
 * array), which the caller removes. */
int dvi_pstate_forget(dvi_pstate *st, const char *id, char ***paths, size_t *n);
/* Records that datum id wrote path. Returns 0; or DV_EINVAL when another
 * datum did, with its id in owner (33 bytes); or DV_EIO. */
int dvi_pstate_add_output(dvi_pstate *st, const char *path, const char *id,
                          char *owner);

/* Every datum as a JSON object (id, status, desc, inputs (array),
 * tries, log, updated, outputs (array of paths)), in id order; or with
 * prefix, those whose id starts with it. Caller owns. NULL on error. */
json_t *dvi_pstate_datums_json(dvi_pstate *st, const char *prefix);

#endif
