/* drove scheduler: the scheduler daemon, on a runtime of its own. */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "commands.h"
#include "common/log.h"
#include "common/profile.h"
#include "common/runtime.h"
#include "common/trim.h"
#include "dashboard_cli.h"
#include "drove.h"
#include "options.h"
#include "proto/addr.h"
#include "proto/secure.h"
#include "scheduler/durable.h"
#include "scheduler/sched.h"

static dvi_option s_opts[] = {
    {"address", DVI_OPT_STR, NULL, 0, 0, "DROVE_SCHEDULER_ADDRESS",
     "where to listen, tcp://HOST:PORT; port 0 picks a free one; "
     "tcp://0.0.0.0:PORT listens on every interface (default: 127.0.0.1, "
     "on the port the profile recorded if it is free, else any)",
     NULL},
    {"profile", DVI_OPT_STR, NULL, 0, 0, "DROVE_PROFILE",
     "the profile: the cluster's certificates, connection file and logs, "
     "in $DROVE_HOME/profile_NAME (default: default)",
     NULL},
    {"heartbeat", DVI_OPT_INT, "2", 1, 3600, "DROVE_HEARTBEAT",
     "seconds of quiet after which a worker or client is sent a ping; "
     "workers and clients ping the scheduler likewise",
     NULL},
    {"heartbeat-timeout", DVI_OPT_INT, "10", 2, 86400,
     "DROVE_HEARTBEAT_TIMEOUT",
     "seconds of silence after which a worker (stopped, hung, cut off) "
     "is dropped and its tasks placed elsewhere; workers and clients give "
     "the scheduler up after as long. At least twice --heartbeat",
     NULL},
    {"state", DVI_OPT_STR, NULL, 0, 0, "DROVE_SCHEDULER_STATE",
     "keep the published names, the lineage of their tasks and their "
     "small results in this SQLite file (created if missing), so that "
     "they outlive a restart of the scheduler; a file that is not a drove "
     "state file, is damaged or has another version is refused",
     NULL},
    {"dashboard", DVI_OPT_STR, "127.0.0.1:8787", 0, 0, "DROVE_DASHBOARD",
     "HOST:PORT of the dashboard (the page, /api/status, /metrics; the "
     "next free port of the 20 after a taken one; port 0: any), or off. "
     "Every request needs the profile's token (dashboard.token; the "
     "logged URL carries it); off loopback it serves only HTTPS",
     NULL},
    {"metrics-open", DVI_OPT_FLAG, NULL, 0, 0, NULL,
     "serve /metrics without the token to clients on loopback "
     "(Prometheus scrapers)",
     NULL},
    {"log-level", DVI_OPT_STR, "notice", 0, 0, "DROVE_LOG",
     "error, warn, notice, info or debug (to stderr and the profile's "
     "logs/scheduler.log)",
     NULL},
};
#define S_NOPTS (sizeof(s_opts) / sizeof(s_opts[0]))

static void
s_on_shutdown(void *ctx)
{
    DVI_LOG(DVI_LOG_NOTICE, "SCHED", "stopping, as a client asked");
    dvi_runtime_stop(ctx);
}

static void
s_on_signal(void *ctx, int signum, int count)
{
    DVI_LOG(DVI_LOG_NOTICE, "SCHED", "stopping on signal %d", signum);
    dvi_runtime_stop(ctx);
}

/* Prints the address clients and workers should use (use), and logs every
 * address it can be reached at. */
static void
s_announce(const char *bound, const char *use)
{
    printf("%s\n", use);
    fflush(stdout);
    if (!dvi_addr_is_wildcard(bound)) {
        DVI_LOG(DVI_LOG_NOTICE, "SCHED", "listening on %s", bound);
        return;
    }
    char host[128], ips[16][64], all[1024] = "";
    int port = 0;
    dvi_addr_split(bound, host, sizeof(host), &port);
    size_t n = dvi_addr_interfaces(strcmp(host, "::") == 0, ips, 16);
    for (size_t i = 0; i < n; i++) {
        char a[128];
        dvi_addr_join(ips[i], port, a, sizeof(a));
        snprintf(all + strlen(all), sizeof(all) - strlen(all), "%s%s",
                 i ? ", " : "", a);
    }
    DVI_LOG(DVI_LOG_NOTICE, "SCHED", "listening on %s: reachable at %s", bound,
            n ? all : use);
}

/* The address to listen on by default: the port the profile's
 * connection file recorded (workers and clients that read it find a
 * restarted scheduler where it was), else any. */
static void
s_listen_address(const dvi_profile *p, const char *addr, char *out, size_t size)
{
    char host[128], rhost[128];
    int port, rport;
    dvi_profile_conn c;
    snprintf(out, size, "%s", addr);
    if (dvi_addr_split(addr, host, sizeof(host), &port) == 0 &&
        dvi_profile_read_conn(p, &c) == 0 &&
        dvi_addr_split(c.worker_addr, rhost, sizeof(rhost), &rport) == 0) {
        dvi_addr_join(host, rport, out, size);
    }
}

/* Listens at addr if given, else where the profile says, or on a free
 * port if that one is taken now. NULL with the reason printed. */
static dvi_sched *
s_listen(dvi_runtime *rt, const dvi_profile *p, const char *addr, int given,
         dvi_tls_ctx *tls, char *bound, size_t size)
{
    char where[256];
    if (given) {
        snprintf(where, sizeof(where), "%s", addr);
    } else {
        s_listen_address(p, addr, where, sizeof(where));
    }
    const char *a = where;
    dvi_sched *s = dvi_sched_new(dvi_runtime_loop(rt), &a, 1, tls, bound, size);
    if (s == NULL && strcmp(where, addr) != 0) {
        DVI_LOG(DVI_LOG_WARN, "SCHED",
                "cannot listen on %s, where profile '%s' recorded its "
                "scheduler (%s): taking a free port; workers and clients "
                "must read the new connection file",
                where, p->name, dv_last_error());
        a = addr;
        s = dvi_sched_new(dvi_runtime_loop(rt), &a, 1, tls, bound, size);
    }
    if (s == NULL) {
        fprintf(stderr, "drove scheduler: cannot listen on %s: %s\n", a,
                dv_last_error());
    }
    return s;
}

/* Takes the profile's lock, makes what it lacks, logs into it and loads
 * the scheduler's identity. Returns the lock's descriptor, or -1 with the
 * reason printed. */
static int
s_open_profile(const dvi_profile *p, const char *addr, dvi_tls_ctx **tls)
{
    char host[128], log[PATH_MAX];
    int port;
    const char *hosts[1] = {host};
    size_t nhosts = dvi_addr_split(addr, host, sizeof(host), &port) == 0 &&
                    !dvi_addr_is_wildcard(addr);
    int lock = dvi_profile_lock(p);
    if (lock < 0 || dvi_profile_ensure(p, hosts, nhosts) < 0) {
        fprintf(stderr, "drove scheduler: %s\n", dv_last_error());
        dvi_profile_unlock(lock);
        return -1;
    }
    dvi_profile_path(p, "logs/scheduler.log", log, sizeof(log));
    if (dvi_log_to_file(log) < 0) {
        DVI_LOG(DVI_LOG_WARN, "SCHED", "%s", dv_last_error());
    }
    *tls = dvi_secure_identity(p, DVI_PKI_ROLE_SCHEDULER);
    if (*tls == NULL) {
        fprintf(stderr, "drove scheduler: %s\n", dv_last_error());
        dvi_profile_unlock(lock);
        return -1;
    }
    return lock;
}

/* Records where clients and workers find this scheduler. */
static void
s_write_conn(const dvi_profile *p, const char *reachable)
{
    dvi_profile_conn c = {.pid = (int)getpid()};
    snprintf(c.client_addr, sizeof(c.client_addr), "%s", reachable);
    snprintf(c.worker_addr, sizeof(c.worker_addr), "%s", reachable);
    if (dvi_profile_write_conn(p, &c) < 0) {
        DVI_LOG(DVI_LOG_WARN, "SCHED", "%s", dv_last_error());
    }
}

/* Opens and reads the state file, if one was asked for. Returns 0 (*d
 * NULL without --state), or -1 with the reason printed. */
static int
s_open_state(const char *path, dvi_durable **d)
{
    *d = NULL;
    if (path == NULL) {
        return 0;
    }
    if (path[0] == '\0') {
        fprintf(stderr, "drove scheduler: --state: empty path\n");
        return -1;
    }
    *d = dvi_durable_open(path);
    if (*d == NULL) {
        fprintf(stderr, "drove scheduler: %s\n", dv_last_error());
        return -1;
    }
    return 0;
}

static const char s_help[] =
    "Runs the scheduler: clients submit tasks to it, workers connect to\n"
    "it, and it decides what runs where. On first start it creates its\n"
    "profile: a certificate authority and a certificate for each role,\n"
    "which every TCP connection presents (mutual TLS), and a connection\n"
    "file from which workers and clients with the same DROVE_HOME find\n"
    "it. Prints the address to give clients and workers as the first\n"
    "line of standard output (on 0.0.0.0, the first interface that is\n"
    "not loopback; the log lists them all), then runs until SIGTERM or\n"
    "SIGINT, or until a client asks it to shut down (`drove cluster\n"
    "down`): then its workers exit too. Logs go to standard error and\n"
    "the profile's logs/.\n"
    "Heartbeats run both ways: a worker silent for --heartbeat-timeout\n"
    "seconds is dropped and its tasks run elsewhere; workers reconnect\n"
    "to a restarted scheduler (it listens on the port it recorded). With\n"
    "--state FILE, published results outlive a restart: a client finds\n"
    "each by name again (dv_get_published), small ones from the file,\n"
    "large ones computed again from their lineage on the workers.";

/* A peer must have time for a second ping before it is dropped. */
static int
s_check_heartbeat(long beat, long timeout)
{
    if (timeout >= 2 * beat) {
        return 0;
    }
    fprintf(stderr,
            "drove scheduler: --heartbeat-timeout %ld is less than twice "
            "--heartbeat %ld: a peer would be dropped before its second "
            "ping\n",
            timeout, beat);
    return -1;
}

int
dvi_cmd_scheduler(int argc, char **argv)
{
    int rc = dvi_options_parse(s_opts, S_NOPTS, argc, argv,
                               "drove scheduler [OPTIONS]", s_help);
    if (rc != 0) {
        return rc == 1 ? 0 : 2;
    }
    if (dvi_cli_log("scheduler", dvi_opt_str(s_opts, S_NOPTS, "log-level"))) {
        return 2;
    }
    dvi_profile p;
    if (dvi_profile_init(&p, dvi_opt_str(s_opts, S_NOPTS, "profile")) < 0) {
        fprintf(stderr, "drove scheduler: %s\n", dv_last_error());
        return 2;
    }
    long beat = dvi_opt_int(s_opts, S_NOPTS, "heartbeat");
    long beat_timeout = dvi_opt_int(s_opts, S_NOPTS, "heartbeat-timeout");
    if (s_check_heartbeat(beat, beat_timeout) < 0) {
        return 2;
    }
    const char *addr = dvi_opt_str(s_opts, S_NOPTS, "address");
    int given = addr != NULL;
    addr = given ? addr : "tcp://127.0.0.1:0";
    signal(SIGPIPE, SIG_IGN);
    dvi_trim_tune_process();
    dvi_tls_ctx *tls = NULL;
    dvi_durable *state = NULL;
    int lock = s_open_profile(&p, addr, &tls);
    if (lock >= 0 &&
        s_open_state(dvi_opt_str(s_opts, S_NOPTS, "state"), &state) < 0) {
        dvi_tls_ctx_destroy(&tls);
        dvi_profile_unlock(lock);
        return 1;
    }
    dvi_runtime *rt = lock < 0 ? NULL : dvi_runtime_new();
    char bound[256];
    dvi_sched *s =
        rt ? s_listen(rt, &p, addr, given, tls, bound, sizeof(bound)) : NULL;
    if (s == NULL) {
        dvi_durable_destroy(&state);
        dvi_runtime_destroy(&rt);
        dvi_tls_ctx_destroy(&tls);
        dvi_profile_unlock(lock);
        return 1;
    }
    if (state != NULL) {
        dvi_sched_set_durable(s, &state, tls);
    }
    dvi_sched_set_heartbeat(s, (uint64_t)beat * 1000,
                            (uint64_t)beat_timeout * 1000);
    /* On a wildcard (0.0.0.0, ::), the first interface that is not
     * loopback. The connection file first: whoever reads the printed
     * address may look for the file at once. */
    char use[256];
    dvi_addr_reachable(bound, use, sizeof(use));
    s_write_conn(&p, use);
    dvi_sched_set_control(s, use, s_on_shutdown, rt);
    s_announce(bound, use);
    dvi_dashboard *dash = NULL;
    rc = dvi_cli_dashboard(
        &p, dvi_runtime_loop(rt), s, dvi_opt_str(s_opts, S_NOPTS, "dashboard"),
        dvi_opt_flag(s_opts, S_NOPTS, "metrics-open"), use, &dash);
    DVI_LOG(DVI_LOG_NOTICE, "SCHED", "profile '%s' in %s", p.name, p.dir);
    if (rc == 0 && dvi_runtime_catch_signals(rt, s_on_signal, rt) < 0) {
        DVI_LOG(DVI_LOG_WARN, "SCHED", "%s", dv_last_error());
    }
    if (rc == 0) {
        dvi_runtime_run(rt);
    }
    dvi_dashboard_stop(&dash);
    dvi_sched_destroy(&s);
    /* Connections finish their last writes and close first. */
    dvi_runtime_destroy(&rt);
    dvi_tls_ctx_destroy(&tls);
    dvi_profile_unlock(lock);
    return rc;
}
