/* dvi_trimmer: gives the memory a role has freed back to the system.
 *
 * free() keeps what it frees for the process to use again. glibc returns
 * only the top of each heap by itself, and a worker's million freed
 * results lie all through its heaps (the loop's and each executor
 * thread's arena), small chunks in bins: its RSS would stay at its peak
 * after every result was released, and grow over repeated runs. After a
 * role has dropped much of what it held, the trimmer has malloc_trim(0)
 * run, which consolidates every arena and hands each free page back,
 * after freeing the large buffers kept for reuse that have been idle
 * DVI_HUGEPAGE_IDLE_MS (hugepage.h; all of them when urged), and comes
 * back for the others then.
 *
 * A trim walks the heaps under their locks, taking milliseconds for a big
 * one: it runs on the runtime's job thread, never on the loop, and starts
 * at most once per DVI_TRIM_INTERVAL_MS; a drop noted meanwhile is
 * trimmed when the interval is over (a timer that keeps no loop alive).
 *
 * The role notes what it holds now, in bytes as it estimates them (a
 * worker its results, the scheduler its task records). A trim is due when
 * that has fallen, since the last trim, from its highest by at least
 * DVI_TRIM_MIN_DROP bytes and a quarter: small churn costs nothing.
 *
 * Not thread-safe: every function runs on the loop's thread.
 */
#ifndef DVI_TRIM_H
#define DVI_TRIM_H

#include <stdint.h>
#include <uv.h>

#define DVI_TRIM_INTERVAL_MS 1000
#define DVI_TRIM_MIN_DROP ((uint64_t)1 << 20)

typedef struct dvi_trimmer dvi_trimmer;

/* A trimmer for a role on loop; the loop's runtime (dvi_runtime_of) runs
 * the trims. On a loop no runtime made (data NULL) it never trims. Caller
 * owns; free with dvi_trimmer_destroy. */
dvi_trimmer *dvi_trimmer_new(uv_loop_t *loop);
/* Frees the trimmer once its timer has closed and a trim under way has
 * ended (the loop must run on for that, as the runtime's teardown does).
 * Accepts NULL; sets *t to NULL. */
void dvi_trimmer_destroy(dvi_trimmer **t);
/* Tells the trimmer the role holds `held` bytes now; starts a trim, or
 * arms the timer for one, if one is due. O(1): call it as often as
 * convenient (once per frame read, say). */
void dvi_trimmer_note(dvi_trimmer *t, uint64_t held);
/* Starts a trim now, due or not, unless one is under way: for a worker
 * over its memory limit, whose RSS must fall as soon as what it spilled
 * is freed, not within a second. */
void dvi_trimmer_urge(dvi_trimmer *t);
/* After each trim, fn(ctx) on the loop: for the role's other threads,
 * whose heaps (mimalloc's, alloc.c) only they can collect. */
void dvi_trimmer_on_done(dvi_trimmer *t, void (*fn)(void *), void *ctx);
/* Trims started so far. */
uint64_t dvi_trimmer_trims(const dvi_trimmer *t);

/* Tunes malloc for a process that is a drove daemon or worker, not a
 * user's program: large results (up to 32 MiB) come from the heap and
 * are reused, instead of being mapped and faulted in afresh each time
 * (glibc's own threshold moves, and a workload of tiny results keeps it
 * low); the heap is given back by the trimmer, not by every free. The
 * heap then does what hugepage.h keeps large buffers aside for in a
 * user's program: only larger ones are kept aside. */
void dvi_trim_tune_process(void);

/* For a process under a memory limit of `limit` bytes: a heap's free top
 * over a sixteenth of it (at most the 256 MiB above) goes back to the
 * system when it is freed, the top of an executor thread's heap
 * included, which malloc_trim does not shrink; and no more than that is
 * kept aside in large buffers for reuse (hugepage.h). */
void dvi_trim_tune_limit(uint64_t limit);

#endif
