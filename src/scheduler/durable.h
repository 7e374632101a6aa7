/* dvi_durable: what a scheduler with `--state FILE` saves, and when.
 *
 * Publishing a name saves it, with the hash of its publisher's secret,
 * and the lineage of its task: the task and every input it needs,
 * recursively, each once (a saved task is counted by the names and the
 * saved tasks that need it, and deleted when none do), and the library
 * its code names. The small result (at most DVI_INLINE_MAX bytes) of a
 * published task is saved when the scheduler gets it: inline in DONE when
 * a client wanted it, else fetched from a worker that holds it (GET, as
 * clients do). Nothing else is saved: a task that no name wants costs a
 * few tests when it completes, never a lookup or a write.
 *
 * Changes are queued on the loop and written by the runtime's job thread
 * in one transaction: 50 ms after the first of a batch, or as soon as the
 * last write ends when a PUBLISH or UNPUBLISH waits for its answer, which
 * is sent only once its change is on disk (a name acknowledged survives a
 * SIGKILL of the scheduler). A failed write is tried again a second
 * later, and the waiting requests are told.
 *
 * On start the file's names become published names again, their tasks
 * released records (lineage: a lookup computes a large result again on the
 * workers that join), and their small results are answered from memory
 * (FINISHED with the value) without any worker.
 *
 * Runs on the scheduler's loop thread; the loop must be a runtime's.
 */
#ifndef DVI_DURABLE_H
#define DVI_DURABLE_H

#include <stdint.h>
#include <uv.h>

#include "proto/msg.h"
#include "proto/tls_ctx.h"
#include "task.h"

typedef struct dvi_durable dvi_durable;
typedef struct dvi_core dvi_core;

/* Opens the state file at path (creating it if need be), checks it and
 * reads it. Caller owns; free with dvi_durable_destroy, or hand it to
 * dvi_sched_set_durable. NULL with the reason set, naming the file. */
dvi_durable *dvi_durable_open(const char *path);
/* Puts what the file held into c (which must hold no tasks yet) and
 * saves c's changes from now on, on loop; small results are fetched from
 * workers with identity tls (held; NULL for none). Once. */
void dvi_durable_start(dvi_durable *d, dvi_core *c, uv_loop_t *loop,
                       dvi_tls_ctx *tls);
/* Writes what is queued, answers the requests waiting for it, detaches
 * from the core and closes the file; the core must still exist. Accepts
 * NULL; sets *d to NULL. */
void dvi_durable_destroy(dvi_durable **d);
/* The file's path. Borrowed. */
const char *dvi_durable_path(const dvi_durable *d);

/* ---- Hooks of the core (publish.c, graph.c) ----------------------------- */

/* name (owner: the hash of its publisher's secret) now names t, instead
 * of old (NULL: a new name). Returns 0, or DV_EINVAL with the reason set
 * if t's lineage cannot be saved; then nothing changed. */
int dvi_durable_publish(dvi_durable *d, const char *name,
                        const unsigned char owner[16], dvi_task *t,
                        dvi_task *old);
/* name, which named t, is removed. */
void dvi_durable_unpublish(dvi_durable *d, const char *name, dvi_task *t);
/* The request req of client (dvi_sclient id) is answered once what was
 * queued so far is on disk (dvi_core_publish_saved). */
void dvi_durable_answer_later(dvi_durable *d, uint64_t client, uint64_t req);
/* t completed on w (value: its bytes if DONE carried them). */
void dvi_durable_done(dvi_durable *d, dvi_task *t, const char *holder,
                      dvi_bytes value);
/* The saved small result of t, or nil. Borrowed; valid until the end of
 * the turn. */
dvi_bytes dvi_durable_value(const dvi_durable *d, const dvi_task *t);

#endif
