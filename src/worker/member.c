/* dvi_worker as a member of its cluster: joining the scheduler through
 * the link (HELLO on each connection it opens, WELCOME, BYE, losing it),
 * rejoining as a fresh worker after losing it, and retiring (RETIRING,
 * tasks not started given back, COMPUTEs still coming refused, drained
 * once the running tasks are done). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "proto/addr.h"
#include "proto/hello.h"
#include "proto/msg.h"
#include "worker_impl.h"

/* ---- Addresses ---------------------------------------------------------- */

/* A peer's GET may wait for the result of a task here. */
static int
s_coming(void *ctx, const char *key)
{
    dvi_worker *w = ctx;
    return dvi_map_get(&w->tasks, key) != NULL;
}

/* A peer's GET waits for key: if its task is queued here, it runs first
 * (a stencil's edge whose dependent was sent ahead to the peer after it
 * was queued here). */
static void
s_wanted(void *ctx, const char *key)
{
    dvi_worker *w = ctx;
    dvi_wtask *wt = dvi_map_get(&w->tasks, key);
    if (wt != NULL && wt->job != NULL && wt->nmissing == 0 && w->run != NULL) {
        dvi_runner_hasten(w->run, wt->job);
    }
}

int
dvi_worker_listen(dvi_worker *w, const char *listen)
{
    w->server = dvi_server_new(w->loop, listen, w->tls, w->store, w->bound,
                               sizeof(w->bound));
    if (w->server == NULL) {
        char why[512];
        snprintf(why, sizeof(why), "%s", dv_last_error());
        return dvi_seterr(dvi_last_code(), "cannot listen for peers on %s: %s",
                          listen, why);
    }
    dvi_server_set_hooks(w->server, s_coming, s_wanted, w);
    return 0;
}

int
dvi_worker_set_contact(dvi_worker *w, const char *contact)
{
    char host[128];
    int port;
    if (dvi_addr_split(contact, host, sizeof(host), &port) < 0) {
        char why[384];
        snprintf(why, sizeof(why), "%s", dv_last_error());
        return dvi_seterr(DV_EINVAL, "cannot tell peers to fetch from %s: %s",
                          contact, why);
    }
    snprintf(w->contact, sizeof(w->contact), "%s", contact);
    return 0;
}

/* Decides, on the first connection to the scheduler, where peers fetch
 * results from. Peers must be able to dial it: the server listens on the
 * interface this host reaches the scheduler by (port 0) unless told where,
 * and peers are told the contact address if one was given, else the
 * server's, a wildcard host (0.0.0.0, ::) replaced by that interface. A
 * connection without an IP (a socketpair, in-process) counts as
 * 127.0.0.1. Peers on this host may also fetch by the socket file named
 * by that address (proto/samehost.h). Returns 0, or a DV_E* code with the
 * reason set. */
static int
s_decide_address(dvi_worker *w, dvi_conn *c)
{
    char host[128] = "127.0.0.1", listen[192];
    int port = 0, bport = 0;
    const char *local = dvi_conn_local(c);
    if (local[0] != '\0' &&
        dvi_addr_split(local, host, sizeof(host), &port) < 0) {
        snprintf(host, sizeof(host), "127.0.0.1");
    }
    if (w->server == NULL) {
        dvi_addr_join(host, 0, listen, sizeof(listen));
        if (dvi_worker_listen(w, listen) < 0) {
            return dvi_last_code();
        }
    }
    char bhost[128];
    int tcp = dvi_addr_split(w->bound, bhost, sizeof(bhost), &bport) == 0;
    if (w->contact[0] != '\0') {
        dvi_addr_split(w->contact, bhost, sizeof(bhost), &port);
        dvi_addr_join(bhost, port ? port : bport, w->addr, sizeof(w->addr));
    } else if (tcp && dvi_addr_is_wildcard(w->bound)) {
        dvi_addr_join(host, bport, w->addr, sizeof(w->addr));
    } else {
        snprintf(w->addr, sizeof(w->addr), "%s", w->bound);
    }
    char ahost[128];
    if (dvi_addr_split(w->addr, ahost, sizeof(ahost), &port) == 0 &&
        dvi_addr_is_loopback(ahost) && !dvi_addr_is_loopback(host)) {
        DVI_LOG(DVI_LOG_WARN, "WORKER",
                "peers are told to fetch from %s, but the scheduler is "
                "reached by %s: workers on other hosts cannot fetch from "
                "this one",
                w->addr, host);
    }
    dvi_server_listen_samehost(w->server, w->tls, w->addr);
    return 0;
}

/* ---- Joining ------------------------------------------------------------ */

static void
s_on_link_open(void *ctx, dvi_conn *c)
{
    dvi_worker *w = ctx;
    w->sched = c;
    if (w->addr[0] == '\0' && s_decide_address(w, c) < 0) {
        dvi_link_fail(w->link, dvi_last_code(), dv_last_error());
        return;
    }
    dvi_hello_send(c, DVI_ROLE_WORKER, w->id, w->nthreads, w->addr);
    char host[256] = "";
    size_t len = sizeof(host);
    uv_os_gethostname(host, &len);
    dvi_msg_info info = {.host = dvi_bytes_of(host), .pid = (uint64_t)getpid()};
    info.resources = dvi_bytes_of(w->resources);
    dvi_msg_info_pack(dvi_conn_outbox(c), &info);
}

static int
s_on_link_frame(void *ctx, dvi_conn *c, const char *buf, size_t len)
{
    dvi_worker *w = ctx;
    int rc = dvi_conn_each_msg(c, buf, len, dvi_worker_on_msg, w);
    /* Once per frame: results stored since the last, or freed by it. */
    dvi_memwatch_check(w->mem);
    dvi_trimmer_note(w->trim, dvi_store_footprint(w->store));
    return rc;
}

/* ---- Rejoining ---------------------------------------------------------- */

/* Drops what a lost session left: a scheduler that dropped this worker,
 * or one restarted, knows nothing of its tasks and results, so it rejoins
 * as a fresh worker with an empty store. Keeping the results would only
 * hold memory no scheduler will ever free, and what a task of the old
 * session delivers late must reach no one (s_stale in worker.c). */
static void
s_forget(dvi_worker *w)
{
    if (!w->forgetting) {
        return;
    }
    w->forgetting = 0;
    uv_timer_stop(w->forget);
    size_t tasks = dvi_worker_forget_tasks(w);
    size_t results = dvi_store_clear(w->store);
    dvi_trimmer_note(w->trim, dvi_store_footprint(w->store));
    DVI_LOG(DVI_LOG_NOTICE, "WORKER",
            "%s: dropped the lost session's %zu tasks and %zu results: "
            "rejoining as a fresh worker",
            w->id, tasks, results);
}

static void
s_forget_cb(uv_timer_t *t)
{
    s_forget(t->data);
}

static void
s_timer_closed(uv_handle_t *h)
{
    free(h);
}

/* A timer of w's (malloc'ed: it closes after w is freed). */
static uv_timer_t *
s_timer_new(dvi_worker *w)
{
    uv_timer_t *t = dvi_malloc(sizeof(*t));
    uv_timer_init(w->loop, t);
    t->data = w;
    return t;
}

static void
s_timer_close(uv_timer_t **t)
{
    if (*t != NULL) {
        uv_close((uv_handle_t *)*t, s_timer_closed);
        *t = NULL;
    }
}

void
dvi_worker_timers_init(dvi_worker *w)
{
    w->forget = s_timer_new(w);
    w->leave = s_timer_new(w);
    w->later_timer = s_timer_new(w);
    dvi_outbox_init(&w->later, NULL, NULL);
}

void
dvi_worker_timers_fini(dvi_worker *w)
{
    s_timer_close(&w->forget);
    s_timer_close(&w->leave);
    s_timer_close(&w->later_timer);
    dvi_outbox_fini(&w->later);
}

/* ---- Leaving ------------------------------------------------------------ */

static void
s_left(dvi_worker *w)
{
    uv_timer_stop(w->leave);
    dvi_worker_drained_fn fn = w->left;
    w->left = NULL;
    fn(w, w->left_ctx);
}

static void
s_leave_over(uv_timer_t *t)
{
    dvi_worker *w = t->data;
    DVI_LOG(DVI_LOG_WARN, "WORKER",
            "%s: the scheduler did not move this worker's results within "
            "%d s: leaving without it",
            w->id, DVI_WORKER_LEAVE_MS / 1000);
    s_left(w);
}

void
dvi_worker_leave(dvi_worker *w, dvi_worker_drained_fn done, void *ctx)
{
    if (w->left != NULL || w->leave == NULL) {
        return;
    }
    w->left = done;
    w->left_ctx = ctx;
    if (w->sched == NULL || !w->welcomed) {
        s_left(w);
        return;
    }
    DVI_LOG(DVI_LOG_NOTICE, "WORKER",
            "%s: leaving: the %zu results held here move to the workers "
            "that stay first",
            w->id, dvi_store_count(w->store));
    const char *why = w->retiring ? w->retiring : "leaving";
    dvi_msg_leaving m = {.reason = dvi_bytes_of(why)};
    dvi_msg_leaving_pack(dvi_worker_sched_out(w), &m);
    uv_timer_start(w->leave, s_leave_over, DVI_WORKER_LEAVE_MS, 0);
}

static void
s_on_link_down(void *ctx, int joined, int code, const char *why)
{
    dvi_worker *w = ctx;
    w->sched = NULL;
    dvi_worker_later_drop(w); /* the session's, as its tasks */
    if (!joined) {
        return;
    }
    /* The session is over from now on: its jobs are stale. Their state
     * goes on the next turn (or at the next WELCOME, if sooner): this may
     * run inside the worker's own handling of a message or a job, when a
     * write fails under it. */
    w->welcomed = 0;
    w->epoch++;
    w->forgetting = 1;
    uv_timer_start(w->forget, s_forget_cb, 0, 0);
}

static void
s_on_link_lost(void *ctx, int code, const char *why)
{
    dvi_worker *w = ctx;
    w->sched = NULL;
    dvi_worker_later_drop(w);
    if (w->sessions > 0) {
        DVI_LOG(DVI_LOG_NOTICE, "WORKER", "%s: lost the scheduler: %s", w->id,
                why);
    }
    dvi_seterr(code, "%s", why);
    if (w->left != NULL) {
        s_left(w); /* its BYE once the results moved, or gone anyway */
    } else if (w->lost) {
        w->lost(w, why, w->ctx);
    }
}

const dvi_link_fns dvi_worker_link_fns = {
    .open = s_on_link_open,
    .frame = s_on_link_frame,
    .down = s_on_link_down,
    .lost = s_on_link_lost,
};

int
dvi_worker_on_welcome(dvi_worker *w, const msgpack_object *f, uint32_t n)
{
    dvi_msg_welcome m;
    if (dvi_msg_welcome_read(f, n, &m) < 0 || m.id.n >= sizeof(w->id)) {
        return dvi_seterr(DV_EPROTO, "malformed WELCOME");
    }
    s_forget(w); /* before the new session's first task */
    snprintf(w->id, sizeof(w->id), "%.*s", (int)m.id.n, m.id.p);
    /* Peers dialled from now on are told the id the scheduler gave. */
    dvi_fetcher_set_id(w->fetcher, w->id);
    w->welcomed = 1;
    w->sessions++;
    dvi_link_joined(w->link);
    dvi_memwatch_welcomed(w->mem); /* a paused worker says so again */
    DVI_LOG(DVI_LOG_NOTICE, "WORKER",
            "%s: %s, serving peers at %s (listening on %s)", w->id,
            w->sessions > 1 ? "rejoined as a fresh worker" : "joined", w->addr,
            w->bound);
    return 0;
}

int
dvi_worker_on_bye(dvi_worker *w, const msgpack_object *f, uint32_t n)
{
    dvi_msg_bye m;
    if (dvi_msg_bye_read(f, n, &m) < 0) {
        return DV_EPROTO;
    }
    int len = (int)m.reason.n;
    const char *reason = m.reason.p ? m.reason.p : "";
    if (m.final) {
        /* It shuts down: nothing to wait for. */
        dvi_link_set_rejoin(w->link, 0, NULL, NULL);
    }
    if (!w->welcomed) {
        /* Refused (another protocol version): trying again won't help. */
        return dvi_seterr(DV_EPROTO, "it refused this worker: %.*s", len,
                          reason);
    }
    return dvi_seterr(DV_ECONN, "the scheduler said goodbye: %.*s", len,
                      reason);
}

/* ---- Retiring ----------------------------------------------------------- */

/* Answers a task the worker will not start, as often as it was sent. */
void
dvi_worker_not_started(dvi_worker *w, const char *key, uint32_t times)
{
    dvi_msg_failed m = {.key = key, .blame = DVI_BLAME_WORKER};
    m.text = dvi_bytes_of(w->retiring);
    for (uint32_t k = 0; k < times && w->sched; k++) {
        dvi_msg_failed_pack(dvi_worker_sched_out(w), &m);
    }
}

/* A COMPUTE that came after the worker began to stop. */
int
dvi_worker_refuse_compute(dvi_worker *w, const msgpack_object *f, uint32_t n)
{
    dvi_msg_compute m;
    if (dvi_msg_compute_read(f, n, &m) < 0) {
        return DV_EPROTO;
    }
    dvi_worker_not_started(w, m.key, 1);
    return 0;
}

void
dvi_worker_check_drained(dvi_worker *w)
{
    if (w->drained != NULL && w->tasks.len == 0) {
        dvi_worker_drained_fn fn = w->drained;
        w->drained = NULL;
        fn(w, w->drained_ctx);
    }
}

void
dvi_worker_retire(dvi_worker *w, const char *why, dvi_worker_drained_fn fn,
                  void *ctx)
{
    if (w->retiring != NULL) {
        return;
    }
    char text[384];
    snprintf(text, sizeof(text), "not started: worker %s is stopping (%s)",
             w->id, why);
    w->retiring = dvi_strdup(text);
    w->drained = fn;
    w->drained_ctx = ctx;
    dvi_link_set_rejoin(w->link, 0, NULL, NULL); /* a loss now ends it */
    if (w->sched != NULL) {
        dvi_msg_retiring m = {.reason = dvi_bytes_of(why)};
        dvi_msg_retiring_pack(dvi_worker_sched_out(w), &m);
    }
    size_t back = dvi_worker_give_back(w);
    DVI_LOG(DVI_LOG_NOTICE, "WORKER",
            "%s: stopping (%s): %zu tasks not started given back, %zu "
            "running",
            w->id, why, back, (size_t)w->tasks.len);
    dvi_worker_check_drained(w);
}

const char *
dvi_worker_id(const dvi_worker *w)
{
    return w->id;
}

int
dvi_worker_welcomed(const dvi_worker *w)
{
    return w->welcomed;
}

unsigned
dvi_worker_sessions(const dvi_worker *w)
{
    return w->sessions;
}

const char *
dvi_worker_addr(const dvi_worker *w)
{
    return w->addr;
}

size_t
dvi_worker_ntasks(const dvi_worker *w)
{
    return w->tasks.len + w->orphans;
}

/* ---- Stopping a call ---------------------------------------------------- */

static void
s_stop_now(dvi_worker *w, void *ctx)
{
    (void)ctx;
    w->stop(w, w->stop_why, w->stop_ctx);
}

void
dvi_worker_stop_call(dvi_worker *w, const dvi_job *job)
{
    char why[384];
    double grace = (double)w->cancel_grace_ms / 1000;
    if (job->deadline.timed_out) {
        snprintf(why, sizeof(why),
                 "%s (%s) ran past its time limit of %g s and a grace of "
                 "%g s",
                 job->key, job->fn->name, (double)job->timeout_ms / 1000,
                 grace);
    } else {
        snprintf(why, sizeof(why),
                 "%s (%s) was cancelled and still ran after a grace of %g s",
                 job->key, job->fn->name, grace);
    }
    if (w->stop == NULL) {
        DVI_LOG(DVI_LOG_NOTICE, "WORKER",
                "%s: %s; a call cannot be stopped here: its thread runs "
                "on, its result discarded",
                w->id, why);
        return;
    }
    if (w->stopping) {
        return;
    }
    w->stopping = 1;
    snprintf(w->stop_why, sizeof(w->stop_why), "%s", why);
    DVI_LOG(DVI_LOG_NOTICE, "WORKER",
            "%s: %s: ending the worker process to stop it", w->id, why);
    /* Retiring first: what it gives back, and the calls it was running,
     * go elsewhere without counting as killed by their tasks; and what it
     * holds moves away, not lost with the process. */
    dvi_worker_retire(w, "to stop a call that would not", NULL, NULL);
    dvi_worker_leave(w, s_stop_now, NULL);
}

int
dvi_worker_on_retire(dvi_worker *w, const msgpack_object *f, uint32_t n)
{
    dvi_msg_retire m;
    char why[256];
    if (dvi_msg_retire_read(f, n, &m) < 0) {
        return DV_EPROTO;
    }
    snprintf(why, sizeof(why), "the scheduler asked: %.*s", (int)m.reason.n,
             m.reason.p ? m.reason.p : "");
    if (w->retire != NULL) {
        w->retire(w, why, w->retire_ctx);
    } else {
        dvi_worker_retire(w, why, NULL, NULL);
    }
    return 0;
}

void
dvi_worker_set_retire(dvi_worker *w, dvi_worker_retire_fn fn, void *ctx)
{
    w->retire = fn;
    w->retire_ctx = ctx;
}

void
dvi_worker_set_stop(dvi_worker *w, dvi_worker_stop_fn fn, void *ctx)
{
    w->stop = fn;
    w->stop_ctx = ctx;
}
