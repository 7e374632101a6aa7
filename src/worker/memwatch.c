/* dvi_memwatch: spilling and pausing a worker under its memory limit, and
 * the sizes it reads (the machine's memory, a cgroup's limit, RSS). */
#include "memwatch.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "proto/msg.h"
#include "spill.h"
#include "worker_impl.h"

/* Past the spill fraction, the memory that is not results is estimated
 * again at most this often: RSS falls only once what was spilled has been
 * freed and given back (a trim, urged at each estimate), and estimating it
 * sooner would count that memory as not results, and spill more. */
#define S_READJUST_MS 100
#define S_SAMPLE_MIN_MS 10
#define S_SAMPLE_PART 32
/* A pause this long with nothing left to spill is worth a warning. */
#define S_STUCK_MS 10000

#define S_MIB(x) ((double)(x) / (1 << 20))

struct dvi_memwatch {
    dvi_worker *w;
    dvi_spill *spill;
    uv_timer_t timer;
    int statm;                     /* /proc/self/statm, or -1 */
    uint64_t limit, target, pause; /* bytes */
    uint64_t spill_at;             /* RSS past which results spill to
                                      bring RSS back to the target */
    uint64_t rss;                  /* the last sample; 0: unknown */
    uint64_t sampled_ms;           /* loop time of the last sample */
    uint64_t sampled_bytes;        /* results in memory then */
    uint64_t readjust_ms;          /* when the target may move again */
    uint64_t store_target;         /* what the store was told */
    uint64_t paused_ms;            /* when the pause began */
    uint64_t told;                 /* the memory the scheduler last heard */
    int paused;
    int shrinking; /* RSS went past spill_at, and has not been under the
                      target since: results are kept to what leaves RSS
                      at the target */
    int warned;    /* about this pause */
};

/* ---- Sizes -------------------------------------------------------------- */

static uint64_t
s_statm_rss(int fd)
{
    char buf[128];
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    unsigned long long size, res;
    if (n <= 0) {
        return 0;
    }
    buf[n] = '\0';
    if (sscanf(buf, "%llu %llu", &size, &res) != 2) {
        return 0;
    }
    return (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE);
}

uint64_t
dvi_memory_rss(void)
{
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return 0;
    }
    uint64_t rss = s_statm_rss(fd);
    close(fd);
    return rss;
}

/* A number of bytes in a cgroup file; UINT64_MAX for "max" or none. */
static uint64_t
s_read_limit(const char *path)
{
    FILE *f = fopen(path, "re");
    if (f == NULL) {
        return UINT64_MAX;
    }
    char buf[64];
    uint64_t v = UINT64_MAX;
    if (fgets(buf, sizeof(buf), f) && isdigit((unsigned char)buf[0])) {
        v = strtoull(buf, NULL, 10);
    }
    fclose(f);
    return v;
}

/* The lowest memory.max of this process's cgroup (v2) and those above
 * it, and v1's limit, or UINT64_MAX. */
static uint64_t
s_cgroup_limit(void)
{
    uint64_t lim = s_read_limit("/sys/fs/cgroup/memory/memory.limit_in_bytes");
    FILE *f = fopen("/proc/self/cgroup", "re");
    if (f == NULL) {
        return lim;
    }
    char line[PATH_MAX], file[PATH_MAX + 64];
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "0::", 3) != 0) {
            continue;
        }
        char *path = line + 3;
        path[strcspn(path, "\n")] = '\0';
        /* "/a/b": /sys/fs/cgroup/a/b, then /a, then the root. */
        for (size_t len = strlen(path);;) {
            snprintf(file, sizeof(file), "/sys/fs/cgroup%.*s/memory.max",
                     (int)len, path);
            uint64_t v = s_read_limit(file);
            lim = v < lim ? v : lim;
            if (len == 0) {
                break;
            }
            while (len > 0 && path[len - 1] != '/') {
                len--;
            }
            len = len > 0 ? len - 1 : 0;
        }
    }
    fclose(f);
    return lim;
}

uint64_t
dvi_memory_total(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    uint64_t phys =
        pages > 0 && size > 0 ? (uint64_t)pages * (uint64_t)size : UINT64_MAX;
    uint64_t cg = s_cgroup_limit();
    return cg < phys ? cg : phys;
}

/* The multiplier of a unit suffix ("G", "GiB", "GB"), or 0. */
static double
s_unit(const char *u)
{
    static const char units[] = "KMGT";
    const char *at = *u ? strchr(units, toupper((unsigned char)*u)) : NULL;
    if (at == NULL) {
        return 0;
    }
    double base = 0;
    if (u[1] == '\0' || strcasecmp(u + 1, "iB") == 0) {
        base = 1024;
    } else if (strcasecmp(u + 1, "B") == 0) {
        base = 1000;
    }
    double mult = 1;
    for (long k = 0; k <= at - units; k++) {
        mult *= base;
    }
    return mult;
}

int
dvi_memory_parse(const char *text, uint64_t total, uint64_t *out)
{
    if (strcmp(text, "0") == 0 || strcasecmp(text, "none") == 0) {
        *out = 0;
        return 0;
    }
    char *end;
    errno = 0;
    double x = strtod(text, &end);
    if ((!isdigit((unsigned char)text[0]) && text[0] != '.') || end == text ||
        errno != 0 || !isfinite(x) || x <= 0) {
        return dvi_seterr(DV_EINVAL,
                          "memory-limit '%s': want bytes (512M, 2G, 2GiB), a "
                          "fraction of the machine's memory (0.5) or none",
                          text);
    }
    double bytes = x;
    if (*end != '\0') {
        double mult = s_unit(end);
        if (mult == 0) {
            return dvi_seterr(DV_EINVAL,
                              "memory-limit '%s': unknown unit '%s' (K, M, "
                              "G or T, alone or with iB or B)",
                              text, end);
        }
        bytes = x * mult;
    } else if (strpbrk(text, ".eE") != NULL) {
        if (x > 1) {
            return dvi_seterr(DV_EINVAL,
                              "memory-limit '%s': a fraction of the "
                              "machine's memory is at most 1.0",
                              text);
        }
        bytes = x * (double)total;
    }
    if (bytes < (double)DVI_MEMWATCH_MIN_LIMIT || bytes > 0x1p62) {
        return dvi_seterr(DV_EINVAL,
                          "memory-limit '%s' is %.0f bytes: a worker needs "
                          "at least %llu MiB",
                          text, bytes,
                          (unsigned long long)(DVI_MEMWATCH_MIN_LIMIT >> 20));
    }
    *out = (uint64_t)bytes;
    return 0;
}

/* ---- Watching ----------------------------------------------------------- */

/* MEMORY to the scheduler, if it is there. */
static void
s_tell(dvi_memwatch *m, uint64_t used)
{
    dvi_worker *w = m->w;
    if (w->sched == NULL) {
        return;
    }
    m->told = used;
    dvi_msg_memory msg = {.paused = (uint64_t)m->paused, .bytes = used};
    msg.spilled = dvi_store_spilled_bytes(w->store);
    dvi_msg_memory_pack(dvi_worker_sched_out(w), &msg);
}

static void
s_set_paused(dvi_memwatch *m, int paused, uint64_t used, uint64_t managed)
{
    m->paused = paused;
    m->paused_ms = uv_now(m->w->loop);
    m->warned = 0;
    DVI_LOG(DVI_LOG_NOTICE, "WORKER",
            "%s: %s: %.1f MiB of memory, %s %.0f%% of the limit of %.1f MiB "
            "(results: %.1f MiB in memory, %.1f MiB spilled)%s",
            m->w->id, paused ? "paused" : "resumed", S_MIB(used),
            paused ? "over" : "under", 100.0 * (double)m->pause / m->limit,
            S_MIB(m->limit), S_MIB(managed),
            S_MIB(dvi_store_spilled_bytes(m->w->store)),
            paused ? "; taking no new tasks" : "");
    s_tell(m, used);
}

/* A pause that spilling cannot end: say why, once. */
static void
s_warn_stuck(dvi_memwatch *m, uint64_t used, uint64_t managed)
{
    uint64_t now = uv_now(m->w->loop);
    if (m->warned || now - m->paused_ms < S_STUCK_MS ||
        managed > m->store_target) {
        return;
    }
    m->warned = 1;
    DVI_LOG(DVI_LOG_WARN, "WORKER",
            "%s: paused for %.0f s with %.1f MiB of memory that is not "
            "spillable results (%.1f MiB of results under %d bytes, or in "
            "use); it resumes when results are released or tasks end",
            m->w->id, (double)(now - m->paused_ms) / 1000, S_MIB(used),
            S_MIB(managed), DVI_STORE_SPILL_MIN);
}

/* Pauses or resumes, and tells the store how much to keep in memory. */
static void
s_apply(dvi_memwatch *m)
{
    dvi_store *st = m->w->store;
    uint64_t managed = dvi_store_bytes(st);
    uint64_t used = m->rss ? m->rss : managed; /* no RSS: results only */
    uint64_t now = uv_now(m->w->loop);
    int over = used > m->pause;
    if (over != m->paused) {
        s_set_paused(m, over, used, managed);
    }
    if (over) {
        s_warn_stuck(m, used, managed);
    }
    if (used > m->spill_at) {
        m->shrinking = 1;
    } else if (used < m->target) {
        m->shrinking = 0;
    }
    uint64_t target = m->target;
    if (m->shrinking) {
        if (now < m->readjust_ms) {
            return; /* the last estimate stands */
        }
        m->readjust_ms = now + S_READJUST_MS;
        /* Keep what results leave RSS at the target; what was spilled is
         * given back by the next estimate. */
        uint64_t other = used > managed ? used - managed : 0;
        target = other < m->target ? m->target - other : 0;
        if (used > m->spill_at) {
            dvi_trimmer_urge(m->w->trim);
        }
    }
    if (target != m->store_target) {
        m->store_target = target;
        dvi_store_set_target(st, target);
    }
}

static void
s_sample(dvi_memwatch *m)
{
    if (m->statm >= 0) {
        m->rss = s_statm_rss(m->statm);
    }
    m->sampled_ms = uv_now(m->w->loop);
    m->sampled_bytes = dvi_store_bytes(m->w->store);
}

static void
s_on_tick(uv_timer_t *t)
{
    dvi_memwatch *m = t->data;
    s_sample(m);
    s_apply(m);
    /* The scheduler's status shows the memory: told when it moved by an
     * eighth (and 4 MiB) since it last was. */
    uint64_t diff = m->rss > m->told ? m->rss - m->told : m->told - m->rss;
    if (m->rss > 0 && diff > m->told / 8 && diff > ((uint64_t)4 << 20)) {
        s_tell(m, m->rss);
    }
    /* Spills that ended since the last frame: give their memory back. */
    dvi_trimmer_note(m->w->trim, dvi_store_footprint(m->w->store));
}

void
dvi_memwatch_check(dvi_memwatch *m)
{
    if (m == NULL) {
        return;
    }
    /* Quick tasks with large results make memory faster than a sample
     * each S_SAMPLE_MIN_MS sees: a sample also after each S_SAMPLE_PART
     * of the limit in new results. */
    if (uv_now(m->w->loop) - m->sampled_ms >= S_SAMPLE_MIN_MS ||
        dvi_store_bytes(m->w->store) >
            m->sampled_bytes + m->limit / S_SAMPLE_PART) {
        s_sample(m);
    }
    s_apply(m);
}

void
dvi_memwatch_welcomed(dvi_memwatch *m)
{
    if (m != NULL) { /* a paused worker says so again; each, its memory */
        s_tell(m, m->rss ? m->rss : dvi_store_bytes(m->w->store));
    }
}

int
dvi_memwatch_is_paused(const dvi_memwatch *m)
{
    return m != NULL && m->paused;
}

dvi_memwatch *
dvi_memwatch_new(dvi_worker *w, const dvi_worker_memory *cfg)
{
    dvi_spill *sp = dvi_spill_new(w->loop, cfg->spill_dir);
    if (sp == NULL) {
        return NULL;
    }
    dvi_memwatch *m = dvi_calloc(1, sizeof(*m));
    m->w = w;
    m->spill = sp;
    m->limit = cfg->limit;
    double tf = cfg->target > 0 ? cfg->target : DVI_MEMWATCH_TARGET;
    double pf = cfg->pause > 0 ? cfg->pause : DVI_MEMWATCH_PAUSE;
    m->target = (uint64_t)((double)m->limit * tf);
    m->pause = (uint64_t)((double)m->limit * pf);
    /* Halfway to the pause (0.7 by default, as dask's "spill"); never if
     * results may take more than the pause leaves: it pauses first. */
    m->spill_at =
        tf < pf ? (uint64_t)((double)m->limit * (tf + pf) / 2) : UINT64_MAX;
    m->statm = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    dvi_trim_tune_limit(m->limit);
    m->store_target = m->target;
    dvi_store_set_spill(w->store, sp);
    dvi_store_set_target(w->store, m->target);
    uv_timer_init(w->loop, &m->timer);
    m->timer.data = m;
    uv_unref((uv_handle_t *)&m->timer);
    uv_timer_start(&m->timer, s_on_tick, DVI_MEMWATCH_INTERVAL_MS,
                   DVI_MEMWATCH_INTERVAL_MS);
    DVI_LOG(DVI_LOG_NOTICE, "WORKER",
            "memory limit %.1f MiB: results past %.1f MiB spill to %s, no "
            "new tasks past %.1f MiB",
            S_MIB(m->limit), S_MIB(m->target),
            cfg->spill_dir     ? cfg->spill_dir
            : getenv("TMPDIR") ? getenv("TMPDIR")
                               : "/tmp",
            S_MIB(m->pause));
    return m;
}

static void
s_closed(uv_handle_t *h)
{
    free(h->data);
}

void
dvi_memwatch_destroy(dvi_memwatch **mp)
{
    dvi_memwatch *m = *mp;
    if (m == NULL) {
        return;
    }
    *mp = NULL;
    if (m->w->store != NULL) {
        /* The store lives on (the process is ending): it must not touch
         * the spill again. Its writes' callbacks run first. */
        dvi_spill_wait(m->spill);
        dvi_store_set_spill(m->w->store, NULL);
    }
    dvi_spill_destroy(&m->spill);
    if (m->statm >= 0) {
        close(m->statm);
    }
    uv_timer_stop(&m->timer);
    uv_close((uv_handle_t *)&m->timer, s_closed);
}
