/* Workers pausing and resuming under their memory limits (MEMORY).
 *
 * A worker over its pause fraction takes no new tasks: placement (place.c)
 * passes it over, and it is never the idle worker that stolen tasks go
 * to, until it says it has resumed. What it was given before stays there
 * and runs; what it holds is still fetched from it. The next turn places
 * work on it again once it resumes.
 */
#include "common/log.h"
#include "core_impl.h"

void
dvi_core_worker_memory(dvi_core *c, dvi_sworker *w, const dvi_msg_memory *m)
{
    int paused = m->paused != 0;
    w->memory_bytes = m->bytes;
    if (paused == w->paused) {
        return;
    }
    w->paused = paused;
    DVI_LOG(DVI_LOG_NOTICE, "SCHED",
            "worker %s %s (%.1f MiB of memory, %.1f MiB spilled to disk)%s",
            w->id, paused ? "paused" : "resumed", (double)m->bytes / (1 << 20),
            (double)m->spilled / (1 << 20),
            paused ? ": nothing new goes there" : "");
}
