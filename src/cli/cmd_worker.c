/* drove worker: the worker daemon. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "commands.h"
#include "common/log.h"
#include "common/profile.h"
#include "common/resources.h"
#include "drove.h"
#include "options.h"
#include "proto/secure.h"
#include "worker/memwatch.h"
#include "worker/nanny.h"
#include "worker/run.h"

static dvi_option s_opts[] = {
    {"scheduler", DVI_OPT_STR, NULL, 0, 0, "DROVE_SCHEDULER",
     "the scheduler's address, tcp://HOST:PORT (default: the one in the "
     "profile's connection file)",
     NULL},
    {"profile", DVI_OPT_STR, NULL, 0, 0, "DROVE_PROFILE",
     "the profile whose worker certificate to present, in "
     "$DROVE_HOME/profile_NAME (default: default)",
     NULL},
    {"threads", DVI_OPT_INT, NULL, 1, 4096, "DROVE_WORKER_THREADS",
     "threads that run tasks (default: one per core)", NULL},
    {"max-blocked", DVI_OPT_INT, "64", 1, 100000, "DROVE_MAX_BLOCKED",
     "calls that may wait for their children (dv_result in a task) at "
     "once, each lending its thread to other tasks meanwhile; past it a "
     "waiting call keeps its thread",
     NULL},
    {"name", DVI_OPT_STR, NULL, 0, 0, "DROVE_WORKER_NAME",
     "the worker's id (default HOSTNAME-PID, the pid of the process "
     "started: the same across restarts)",
     NULL},
    {"listen", DVI_OPT_STR, NULL, 0, 0, "DROVE_WORKER_LISTEN",
     "where peers fetch results from, tcp://IP:PORT (default: port 0 on the "
     "interface the scheduler is reached by; tcp://0.0.0.0:0 listens on "
     "all); peers of the same host, user and cluster fetch by a socket "
     "file beside it instead, without TLS ($XDG_RUNTIME_DIR or /tmp, "
     "drove-UID/; DROVE_SAMEHOST=0: never)",
     NULL},
    {"contact-address", DVI_OPT_STR, NULL, 0, 0, "DROVE_WORKER_CONTACT_ADDRESS",
     "the address peers are told to fetch from, tcp://HOST:PORT (port 0: "
     "the one listened on; default: where it listens, 0.0.0.0 replaced by "
     "the interface the scheduler is reached by)",
     NULL},
    {"connect-timeout", DVI_OPT_INT, "60", 0, 86400,
     "DROVE_WORKER_CONNECT_TIMEOUT",
     "seconds to keep trying to reach the scheduler (a refused connection "
     "is tried again, after 50 ms doubling to 2 s); 0: try once",
     NULL},
    {"reconnect-grace", DVI_OPT_INT, "60", 0, 86400,
     "DROVE_WORKER_RECONNECT_GRACE",
     "seconds to keep dialling a scheduler that went away (killed, "
     "restarted, silent past its heartbeat timeout, cut off) before "
     "exiting; the worker rejoins it as a fresh one, its tasks and "
     "results dropped; 0: exit at once",
     NULL},
    {"grace", DVI_OPT_INT, "30", 0, 86400, "DROVE_WORKER_GRACE",
     "seconds the running tasks have to finish after SIGTERM or SIGINT; "
     "tasks not started go to other workers at once",
     NULL},
    {"memory-limit", DVI_OPT_STR, "0.95", 0, 0, "DROVE_WORKER_MEMORY_LIMIT",
     "the memory the worker may use: bytes (512M, 2G: K, M, G, T are "
     "powers of 1024; KB, MB, GB, TB of 1000), a fraction of the machine's "
     "memory or of its cgroup's limit if lower (0.5), or none. The default "
     "keeps a worker alone on its machine from being killed for memory",
     NULL},
    {"memory-target", DVI_OPT_STR, "0.6", 0, 0, "DROVE_WORKER_MEMORY_TARGET",
     "the fraction of --memory-limit that results may take in memory: "
     "past it the least recently used results (of 4 KiB or more) spill to "
     "disk, and are read back when needed",
     NULL},
    {"memory-pause", DVI_OPT_STR, "0.8", 0, 0, "DROVE_WORKER_MEMORY_PAUSE",
     "the fraction of --memory-limit of process memory (RSS) past which "
     "the worker takes no new tasks (the scheduler places them elsewhere) "
     "until it falls below again",
     NULL},
    {"spill-dir", DVI_OPT_STR, NULL, 0, 0, "DROVE_WORKER_SPILL_DIR",
     "where the worker makes its directory for spilled results, "
     "drove-spill-PID-XXXXXX, mode 0700, removed on exit (default: "
     "$TMPDIR, else /tmp; a disk, not tmpfs)",
     NULL},
    {"cancel-grace", DVI_OPT_NUM, "0.5", 0, 86400, "DROVE_WORKER_CANCEL_GRACE",
     "seconds a running call has to return once asked to stop (cancelled, "
     "or past its dv_opts.timeout; dv_call_cancelled() tells it) before the "
     "worker process is restarted to stop it",
     NULL},
    {"resources", DVI_OPT_STR, NULL, 0, 0, "DROVE_WORKER_RESOURCES",
     "abstract resources this worker has, NAME=AMOUNT[,NAME=AMOUNT...] "
     "(GPU=1,MEM=8e9): a task that needs some (dv_opts.resources) runs "
     "only on a worker that declared enough, while they are free there",
     NULL},
    {"no-nanny", DVI_OPT_FLAG, NULL, 0, 0, NULL,
     "run the worker in this process, without the small parent process "
     "(the nanny) that restarts it when it dies of a signal; a call that "
     "must be stopped then ends the process with status 75: for a "
     "supervisor of your own (systemd: Restart=on-failure)",
     NULL},
    {"log-level", DVI_OPT_STR, "notice", 0, 0, "DROVE_LOG",
     "error, warn, notice, info or debug (to stderr and the profile's "
     "logs/worker-NAME.log)",
     NULL},
};
#define S_NOPTS (sizeof(s_opts) / sizeof(s_opts[0]))

/* Waits up to timeout_s for the profile to hold the worker's certificate
 * and, when no address was given, the connection file: started by the
 * same script as its scheduler, a worker may come first. */
static void
s_wait_profile(const dvi_profile *p, const char *given, long timeout_s)
{
    dvi_profile_conn c;
    int need_tls = given == NULL || dvi_secure_needs_tls(given);
    uint64_t deadline = uv_hrtime() + (uint64_t)timeout_s * 1000000000u;
    for (int said = 0;; said = 1) {
        if ((!need_tls || dvi_profile_has(p, DVI_PKI_ROLE_WORKER)) &&
            (given != NULL || dvi_profile_read_conn(p, &c) == 0)) {
            return;
        }
        if (uv_hrtime() >= deadline) {
            return; /* what is missing is told next */
        }
        if (!said) {
            DVI_LOG(DVI_LOG_NOTICE, "WORKER",
                    "waiting up to %ld s for profile '%s' (%s) to have %s: "
                    "start `drove scheduler` with this DROVE_HOME",
                    timeout_s, p->name, p->dir,
                    given ? "a worker certificate"
                          : "a connection file and a worker certificate");
        }
        uv_sleep(100);
    }
}

/* The scheduler's address: given, or from the profile's connection
 * file. NULL with the reason printed. */
static const char *
s_scheduler(const dvi_profile *p, const char *given, char *buf, size_t size)
{
    if (given != NULL) {
        return given;
    }
    dvi_profile_conn c;
    int rc = dvi_profile_read_conn(p, &c);
    if (rc == DV_ENOTFOUND) {
        fprintf(stderr,
                "drove worker: no --scheduler given (nor $DROVE_SCHEDULER), "
                "and profile '%s' (%s) has no connection file: start `drove "
                "scheduler` with this DROVE_HOME first, or copy the files of "
                "`drove profile export`\n",
                p->name, p->dir);
        return NULL;
    }
    if (rc < 0) {
        fprintf(stderr, "drove worker: %s\n", dv_last_error());
        return NULL;
    }
    snprintf(buf, size, "%s", c.worker_addr);
    return buf;
}

/* The worker's identity, when the profile has one: needed for tcp://,
 * whether the scheduler's address or where peers fetch from. Returns 0,
 * or -1 with the reason printed when tcp needs one and there is none. */
static int
s_identity(const dvi_profile *p, const char *sched, dvi_tls_ctx **tls)
{
    *tls = dvi_secure_identity(p, DVI_PKI_ROLE_WORKER);
    if (*tls == NULL && dvi_secure_needs_tls(sched)) {
        fprintf(stderr, "drove worker: cannot reach %s: %s\n", sched,
                dv_last_error());
        return -1;
    }
    return 0;
}

/* A fraction of the memory limit, in (0, 1]. Returns 0, or -1 with the
 * error printed. */
static int
s_fraction(const char *name, double *out)
{
    const char *text = dvi_opt_str(s_opts, S_NOPTS, name);
    char *end;
    double x = strtod(text, &end);
    if (end == text || *end != '\0' || !(x > 0 && x <= 1)) {
        fprintf(stderr,
                "drove worker: --%s must be a fraction above 0 and at most "
                "1, not '%s'\n",
                name, text);
        return -1;
    }
    *out = x;
    return 0;
}

/* The worker's memory limit from the options. Returns 0, or -1 with the
 * error printed. */
static int
s_memory(dvi_worker_memory *mem)
{
    memset(mem, 0, sizeof(*mem));
    const char *limit = dvi_opt_str(s_opts, S_NOPTS, "memory-limit");
    if (dvi_memory_parse(limit, dvi_memory_total(), &mem->limit) < 0) {
        fprintf(stderr, "drove worker: --%s\n", dv_last_error());
        return -1;
    }
    mem->spill_dir = dvi_opt_str(s_opts, S_NOPTS, "spill-dir");
    return s_fraction("memory-target", &mem->target) < 0 ||
                   s_fraction("memory-pause", &mem->pause) < 0
               ? -1
               : 0;
}

/* Whether --resources is a spec the scheduler will take. Returns 0, or
 * -1 with the error printed. */
static int
s_resources(void)
{
    const char *spec = dvi_opt_str(s_opts, S_NOPTS, "resources");
    dvi_resources r;
    if (spec != NULL && dvi_resources_parse(spec, strlen(spec), &r) < 0) {
        fprintf(stderr, "drove worker: --%s\n", dv_last_error());
        return -1;
    }
    return 0;
}

/* The worker's id: given, or HOSTNAME-PID with the nanny's pid if there
 * is one, so that it stays the same across restarts. */
static void
s_name(const char *given, int nanny, char *name, size_t size)
{
    if (given) {
        snprintf(name, size, "%s", given);
        return;
    }
    char host[64] = "host";
    gethostname(host, sizeof(host));
    host[sizeof(host) - 1] = '\0';
    snprintf(name, size, "%s-%d", host, nanny ? nanny : (int)getpid());
}

/* Logs to the profile's logs/worker-NAME.log too, if the profile is
 * there yet. */
static void
s_log_file(const dvi_profile *p, const char *name)
{
    char log[PATH_MAX + 160];
    snprintf(log, sizeof(log), "%s/logs/worker-%s.log", p->dir, name);
    if (dvi_profile_exists(p) && dvi_log_to_file(log) < 0) {
        DVI_LOG(DVI_LOG_WARN, "WORKER", "%s", dv_last_error());
    }
}

/* Where the scheduler is now, for a worker dialling it again: a
 * restarted scheduler that could not take its old port records the new
 * one in the profile's connection file. */
static int
s_sched_addr(void *ctx, char *buf, size_t size)
{
    dvi_profile_conn c;
    if (dvi_profile_read_conn(ctx, &c) < 0) {
        return -1;
    }
    snprintf(buf, size, "%s", c.worker_addr);
    return 0;
}

/* Runs the worker in this process: the nanny's child, or --no-nanny. */
static int
s_run(const dvi_profile *p, const char *name, const dvi_worker_memory *mem)
{
    char buf[256];
    const char *given = dvi_opt_str(s_opts, S_NOPTS, "scheduler");
    s_wait_profile(p, given, dvi_opt_int(s_opts, S_NOPTS, "connect-timeout"));
    const char *sched = s_scheduler(p, given, buf, sizeof(buf));
    dvi_tls_ctx *tls = NULL;
    if (sched == NULL || s_identity(p, sched, &tls) < 0) {
        return 1;
    }
    s_log_file(p, name);
    long threads = dvi_opt_int(s_opts, S_NOPTS, "threads");
    if (threads <= 0) {
        threads = (long)uv_available_parallelism();
    }
    dvi_worker_opts o = {.id = name, .nthreads = (int)threads, .memory = mem};
    o.listen = dvi_opt_str(s_opts, S_NOPTS, "listen");
    o.max_blocked = (int)dvi_opt_int(s_opts, S_NOPTS, "max-blocked");
    o.resources = dvi_opt_str(s_opts, S_NOPTS, "resources");
    dvi_worker_net net = {0};
    net.contact = dvi_opt_str(s_opts, S_NOPTS, "contact-address");
    net.connect_timeout_ms =
        (int)dvi_opt_int(s_opts, S_NOPTS, "connect-timeout") * 1000;
    net.tls = tls;
    double grace_ms = dvi_opt_num(s_opts, S_NOPTS, "cancel-grace") * 1000;
    net.cancel_grace_ms = grace_ms <= 0 ? -1 : grace_ms < 1 ? 1 : (int)grace_ms;
    net.reconnect_grace_ms =
        (int)dvi_opt_int(s_opts, S_NOPTS, "reconnect-grace") * 1000;
    if (given == NULL) {
        net.sched_addr = s_sched_addr;
        net.sched_addr_ctx = (void *)p;
    }
    int rc = dvi_worker_run(sched, -1, &o, &net,
                            (int)dvi_opt_int(s_opts, S_NOPTS, "grace"));
    if (rc == 1) {
        /* The reason names what failed: the scheduler's address, or where
         * the worker could not listen for peers. */
        fprintf(stderr, "drove worker: %s\n", dv_last_error());
    }
    dvi_tls_ctx_destroy(&tls);
    return rc;
}

int
dvi_cmd_worker(int argc, char **argv)
{
    int rc = dvi_options_parse(
        s_opts, S_NOPTS, argc, argv,
        "drove worker [--scheduler ADDR] [OPTIONS]",
        "Runs a worker: it connects to the scheduler, runs tasks on a pool\n"
        "of threads, keeps their results in memory and serves them to other\n"
        "workers. It finds the scheduler, and the certificate it presents,\n"
        "in its profile (the scheduler's, with the same DROVE_HOME, or the\n"
        "files of `drove profile export`). It may start before the\n"
        "scheduler: it keeps trying for --connect-timeout seconds. It\n"
        "answers the scheduler's heartbeats and gives it up after the\n"
        "scheduler's heartbeat timeout of silence. A scheduler that went\n"
        "away is dialled again (after 50 ms, doubling to 2 s, at the\n"
        "address the profile then records) for --reconnect-grace seconds;\n"
        "the worker rejoins it as a fresh worker, with no results, or exits\n"
        "when the grace ends. On SIGTERM or SIGINT it takes no new tasks,\n"
        "gives back those not started, lets the running ones finish for up\n"
        "to --grace seconds, has the results it holds moved to the workers\n"
        "that stay (for up to 60 s), and exits; a second signal exits at\n"
        "once.\n\n"
        "The worker runs as the child of a small process, the nanny, that\n"
        "starts another when it dies of a signal (a task that segfaults or\n"
        "aborts, the OOM killer): at once, or after a delay growing to 30 s\n"
        "while it keeps dying young. The scheduler sees a fresh worker; a\n"
        "task that killed three workers errs as \"killed worker\". SIGTERM\n"
        "and SIGINT go to the worker, and the nanny exits with its status.\n"
        "A call that is cancelled, or runs past its dv_opts.timeout, and\n"
        "does not return within --cancel-grace seconds is stopped by ending\n"
        "the worker process (status 75): the nanny starts another at once.\n"
        "--no-nanny runs the worker alone, for a supervisor of your own.\n\n"
        "Under --memory-limit it spills the least recently used results to\n"
        "disk, and past --memory-pause takes no new tasks.\n\n"
        "--resources GPU=2 declares abstract resources: a task that asks for\n"
        "GPU=1 (dv_opts.resources) runs only on such a worker, two at once\n"
        "here, as dask's worker resources.");
    dvi_worker_memory mem;
    if (rc != 0 || s_memory(&mem) < 0 || s_resources() < 0) {
        return rc == 1 ? 0 : 2;
    }
    if (dvi_cli_log("worker", dvi_opt_str(s_opts, S_NOPTS, "log-level"))) {
        return 2;
    }
    int nanny;
    int child = dvi_nanny_child_init(&nanny);
    if (child < 0) {
        fprintf(stderr, "drove worker: %s\n", dv_last_error());
        return 1;
    }
    dvi_profile p;
    if (dvi_profile_init(&p, dvi_opt_str(s_opts, S_NOPTS, "profile")) < 0) {
        fprintf(stderr, "drove worker: %s\n", dv_last_error());
        return 2;
    }
    char name[128];
    s_name(dvi_opt_str(s_opts, S_NOPTS, "name"), nanny, name, sizeof(name));
    if (!child && !dvi_opt_flag(s_opts, S_NOPTS, "no-nanny")) {
        s_log_file(&p, name);
        return dvi_nanny_run(argc, argv, name);
    }
    return s_run(&p, name, &mem);
}
