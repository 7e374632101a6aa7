/* drove cluster: a cluster from one command (up, add, status, remove,
 * scale, down, cleanup), on the selected profile. */
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "cluster_status.h"
#include "commands.h"
#include "common/err.h"
#include "common/profile.h"
#include "drove.h"
#include "launch.h"
#include "options.h"

/* Seconds on a monotonic clock. */
static double
s_now(void)
{
    return (double)uv_hrtime() / 1e9;
}

/* Parses a subcommand's arguments by opts (up to maxpos that are not
 * options, into pos) and names the profile into p. Returns -1 to go on,
 * else the exit status (0 after --help, 2 for a usage error). */
static int
s_begin(dvi_option *opts, size_t n, int argc, char **argv, const char *usage,
        const char *about, const char **pos, size_t maxpos, size_t *npos,
        dvi_profile *p)
{
    int rc = dvi_options_parse_pos(opts, n, argc, argv, usage, about, pos,
                                   maxpos, npos);
    if (rc != 0) {
        return rc == 1 ? 0 : 2;
    }
    if (dvi_profile_init(p, dvi_opt_str(opts, n, "profile")) < 0) {
        fprintf(stderr, "drove cluster: %s\n", dv_last_error());
        return 2;
    }
    return -1;
}

/* When the --timeout of a subcommand's options runs out. */
static double
s_deadline(const dvi_option *opts, size_t n)
{
    return s_now() + (double)dvi_opt_int(opts, n, "timeout");
}

/* A client of the profile's running scheduler, or NULL (quiet). */
static dv_client *
s_connect(const dvi_profile *p)
{
    char where[128];
    snprintf(where, sizeof(where), "profile:%s", p->name);
    return dv_connect(where);
}

/* ---- Starting daemons ---------------------------------------------- */

/* Starts `drove ROLE --profile NAME [extra...]` here, recorded. */
static long
s_start(const dvi_profile *p, const char *role, char **extra, size_t nextra)
{
    char self[PATH_MAX], log[PATH_MAX + 64];
    dvi_launch_self(self, sizeof(self));
    char *argv[24] = {self, (char *)role, "--profile", (char *)p->name};
    size_t n = 4;
    for (size_t i = 0; i < nextra && n < 23; i++) {
        argv[n++] = extra[i];
    }
    argv[n] = NULL;
    snprintf(log, sizeof(log), "%s/logs/%s-started.out", p->dir, role);
    long pid = dvi_launch_local(argv, log);
    if (pid < 0) {
        fprintf(stderr, "drove cluster: %s\n", dv_last_error());
        return -1;
    }
    dvi_launched l = {.pid = pid};
    snprintf(l.role, sizeof(l.role), "%s", role);
    snprintf(l.launcher, sizeof(l.launcher), "local");
    snprintf(l.host, sizeof(l.host), "%s", dvi_launch_hostname());
    if (dvi_launch_record(p, &l) < 0) {
        fprintf(stderr, "drove cluster: %s\n", dv_last_error());
    }
    return pid;
}

/* Waits for the scheduler started as pid to answer. */
static dv_client *
s_wait_scheduler(const dvi_profile *p, long pid, double deadline)
{
    dvi_launched me = {.pid = pid};
    while (s_now() < deadline && dvi_launch_alive(&me)) {
        dvi_profile_conn conn;
        if (dvi_profile_read_conn(p, &conn) == 0 && conn.pid == pid) {
            dv_client *c = s_connect(p);
            if (c != NULL) {
                return c;
            }
        }
        uv_sleep(50);
    }
    fprintf(stderr,
            "drove cluster: the scheduler (pid %ld) did not come up; see "
            "%s/logs/scheduler-started.out\n",
            pid, p->dir);
    return NULL;
}

/* Waits until want workers are connected. */
static int
s_wait_workers(dv_client *c, int want, double deadline)
{
    int n;
    while ((n = dv_nworkers(c)) >= 0 && n < want && s_now() < deadline) {
        uv_sleep(50);
    }
    if (n < want) {
        fprintf(stderr,
                "drove cluster: %d of %d workers joined in time (their "
                "output is in the profile's logs/)\n",
                n < 0 ? 0 : n, want);
        return -1;
    }
    return 0;
}

/* Starts n local workers (threads each, 0: the default). */
static int
s_start_workers(const dvi_profile *p, long n, long threads)
{
    char t[32];
    snprintf(t, sizeof(t), "%ld", threads);
    char *extra[] = {"--threads", t};
    for (long i = 0; i < n; i++) {
        if (s_start(p, "worker", extra, threads > 0 ? 2 : 0) < 0) {
            return -1;
        }
    }
    return 0;
}

/* ---- The record's processes ------------------------------------------ */

/* The number of processes in the record. */
static size_t
s_recorded(const dvi_profile *p)
{
    dvi_launched *v;
    size_t n = 0;
    if (dvi_launch_load(p, &v, &n) == 0) {
        dvi_launched_fini(v, n);
        free(v);
    }
    return n;
}

/* Ends the recorded processes that still run, from the record's entry
 * from on: SIGTERM (unless they were asked already: term 0), then SIGKILL
 * for those left after wait_s; the record keeps the entries before from.
 * Returns how many there were. */
static size_t
s_end_recorded(const dvi_profile *p, size_t from, int term, double wait_s)
{
    dvi_launched *all, *v;
    size_t n, alive = 0;
    if (dvi_launch_load(p, &all, &n) < 0) {
        fprintf(stderr, "drove cluster: %s\n", dv_last_error());
        return 0;
    }
    size_t keep = from < n ? from : n;
    v = all + keep;
    n -= keep;
    for (size_t i = 0; i < n; i++) {
        if (dvi_launch_alive(&v[i])) {
            alive++;
            if (term) {
                dvi_launch_kill(&v[i], SIGTERM);
            }
        }
    }
    double deadline = s_now() + wait_s;
    size_t left = alive;
    while (left > 0 && s_now() < deadline) {
        uv_sleep(50);
        left = 0;
        for (size_t i = 0; i < n; i++) {
            left += dvi_launch_alive(&v[i]);
        }
    }
    for (size_t i = 0; left > 0 && i < n; i++) {
        if (dvi_launch_kill(&v[i], SIGKILL) == 0) {
            fprintf(stderr,
                    "drove cluster: %s %ld did not stop in %.0f s: "
                    "killed\n",
                    v[i].role, v[i].pid, wait_s);
        }
    }
    dvi_launch_save(p, all, keep);
    dvi_launched_fini(all, keep + n);
    free(all);
    return alive;
}

/* ---- Subcommands --------------------------------------------------- */

#define S_PROFILE_OPT                                                       \
    {                                                                       \
        "profile", DVI_OPT_STR, NULL, 0, 0, "DROVE_PROFILE",                \
            "the profile: the cluster's certificates, connection file and " \
            "logs (default: default)",                                      \
            NULL                                                            \
    }
#define S_TIMEOUT_OPT                                                      \
    {                                                                      \
        "timeout", DVI_OPT_INT, "60", 1, 86400, NULL,                      \
            "seconds to wait for the workers to join (up, add, scale) or " \
            "leave (remove, scale, down)",                                 \
            NULL                                                           \
    }
#define S_N(o) (sizeof(o) / sizeof((o)[0]))

static dvi_option s_up_opts[] = {
    {"n", DVI_OPT_INT, "1", 0, 1024, NULL, "workers to start", NULL},
    {"threads", DVI_OPT_INT, "0", 0, 4096, NULL,
     "threads of each worker (default: the worker's, one per core)", NULL},
    {"address", DVI_OPT_STR, NULL, 0, 0, NULL,
     "up: where the scheduler listens, tcp://IP:PORT, an interface the "
     "workers reach (default: 127.0.0.1; with --ssh, every interface)",
     NULL},
    {"ssh", DVI_OPT_STR, NULL, 0, 0, NULL,
     "start the workers over ssh on these hosts, [USER@]HOST[:PORT] "
     "separated by commas: -n on each",
     NULL},
    {"ssh-key", DVI_OPT_STR, NULL, 0, 0, NULL, "ssh's identity file (-i)",
     NULL},
    {"ssh-option", DVI_OPT_LIST, NULL, 0, 0, NULL,
     "an ssh option (-o), as StrictHostKeyChecking=accept-new", NULL},
    {"remote-home", DVI_OPT_STR, "~/.drove", 0, 0, NULL,
     "DROVE_HOME on the ssh hosts, where the worker's part of the profile "
     "goes",
     NULL},
    {"remote-drove", DVI_OPT_STR, "drove", 0, 0, NULL,
     "the drove program on the ssh hosts", NULL},
    {"slurm", DVI_OPT_FLAG, NULL, 0, 0, NULL,
     "submit the -n workers as one Slurm job (sbatch; the nodes must share "
     "DROVE_HOME)",
     NULL},
    {"partition", DVI_OPT_STR, NULL, 0, 0, NULL, "--slurm: the partition",
     NULL},
    {"time", DVI_OPT_STR, NULL, 0, 0, NULL,
     "--slurm: the job's time limit (as sbatch --time)", NULL},
    {"cpus-per-worker", DVI_OPT_INT, "0", 0, 4096, NULL,
     "--slurm: cores per worker, its threads (default: Slurm's)", NULL},
    {"mpi", DVI_OPT_FLAG, NULL, 0, 0, NULL,
     "start the -n workers with mpiexec (one per rank)", NULL},
    S_PROFILE_OPT,
    S_TIMEOUT_OPT,
};

/* Starts up's or add's workers: n here, or n on each --ssh host.
 * Returns how many, or -1 having said why not. */
static int
s_launch(const dvi_profile *p, int argc, char **argv, long n, long threads)
{
    const char *hosts = dvi_opt_str(s_up_opts, S_N(s_up_opts), "ssh");
    int slurm = dvi_opt_flag(s_up_opts, S_N(s_up_opts), "slurm");
    int mpi = dvi_opt_flag(s_up_opts, S_N(s_up_opts), "mpi");
    if ((hosts != NULL) + slurm + mpi > 1) {
        fprintf(stderr, "drove cluster: --ssh, --slurm and --mpi are "
                        "different launchers: give one\n");
        return -1;
    }
    if (slurm || mpi) {
        dvi_slurm_spec spec = {
            .partition = dvi_opt_str(s_up_opts, S_N(s_up_opts), "partition"),
            .time = dvi_opt_str(s_up_opts, S_N(s_up_opts), "time"),
            .cpus = dvi_opt_int(s_up_opts, S_N(s_up_opts), "cpus-per-worker")};
        int rc = slurm ? dvi_launch_slurm_workers(p, &spec, n)
                       : dvi_launch_mpi_workers(p, n, threads);
        if (rc < 0) {
            fprintf(stderr, "drove cluster: %s\n", dv_last_error());
        }
        return rc < 0 ? -1 : (int)n;
    }
    if (hosts == NULL) {
        return s_start_workers(p, n, threads) < 0 ? -1 : (int)n;
    }
    const char *opts[16];
    dvi_ssh_spec spec = {
        .key = dvi_opt_str(s_up_opts, S_N(s_up_opts), "ssh-key"),
        .opts = opts,
        .home = dvi_opt_str(s_up_opts, S_N(s_up_opts), "remote-home"),
        .drove = dvi_opt_str(s_up_opts, S_N(s_up_opts), "remote-drove")};
    spec.nopts = dvi_opt_list(s_up_opts, S_N(s_up_opts), argc, argv,
                              "ssh-option", opts, S_N(opts));
    spec.nopts = spec.nopts < S_N(opts) ? spec.nopts : S_N(opts);
    char list[1024], *save = NULL;
    snprintf(list, sizeof(list), "%s", hosts);
    int total = 0;
    for (char *h = strtok_r(list, ",", &save); h != NULL;
         h = strtok_r(NULL, ",", &save)) {
        if (dvi_launch_ssh_workers(p, &spec, h, n, threads) < 0) {
            fprintf(stderr, "drove cluster: %s: %s\n", h, dv_last_error());
            return -1;
        }
        total += (int)n;
    }
    return total;
}

/* A client of the running cluster, or NULL having said there is none. */
static dv_client *
s_running(const dvi_profile *p)
{
    dv_client *c = s_connect(p);
    if (c == NULL) {
        fprintf(stderr,
                "drove cluster: no cluster of profile '%s' answers: "
                "%s\n",
                p->name, dv_last_error());
    }
    return c;
}

static int
s_up(int argc, char **argv, int add)
{
    const char *usage = add ? "drove cluster add [-n N] [OPTIONS]"
                            : "drove cluster up [-n N] [OPTIONS]";
    const char *about =
        add ? "Starts N more workers for the running cluster (here, or "
              "by --ssh, --slurm or --mpi), and returns once they have "
              "joined."
            : "Starts a scheduler and N workers on this machine in the "
              "background, on the selected profile (its connection file "
              "tells clients where: dv_connect(\"profile:NAME\"), or "
              "DROVE_SCHEME=cluster), and returns once all are connected. "
              "Their output goes to the profile's logs/. With --ssh the "
              "workers start on other hosts: what a worker needs of the "
              "profile (never the CA's key) is copied there first.";
    dvi_profile p;
    int rc = s_begin(s_up_opts, S_N(s_up_opts), argc, argv, usage, about, NULL,
                     0, NULL, &p);
    if (rc >= 0) {
        return rc;
    }
    long n = dvi_opt_int(s_up_opts, S_N(s_up_opts), "n");
    long threads = dvi_opt_int(s_up_opts, S_N(s_up_opts), "threads");
    const char *address = dvi_opt_str(s_up_opts, S_N(s_up_opts), "address");
    double t0 = s_now();
    double deadline = s_deadline(s_up_opts, S_N(s_up_opts));
    dv_client *c = s_connect(&p);
    if (add ? c == NULL : c != NULL) {
        fprintf(stderr,
                add ? "drove cluster: no cluster of profile '%s' runs "
                      "(drove cluster up starts one)\n"
                    : "drove cluster: a cluster of profile '%s' already "
                      "runs (drove cluster add grows it; down stops it)\n",
                p.name);
        dv_close(c);
        return 1;
    }
    size_t before = s_recorded(&p); /* what was started before this */
    if (!add) {
        if (dvi_profile_ensure(&p, NULL, 0) < 0) {
            fprintf(stderr, "drove cluster: %s\n", dv_last_error());
            return 1;
        }
        if (address == NULL &&
            dvi_opt_str(s_up_opts, S_N(s_up_opts), "ssh") != NULL) {
            address = "tcp://0.0.0.0:0"; /* where other hosts reach it */
        }
        char *extra[] = {"--address", (char *)address};
        long pid = s_start(&p, "scheduler", extra, address ? 2 : 0);
        c = pid < 0 ? NULL : s_wait_scheduler(&p, pid, deadline);
        if (c == NULL) {
            s_end_recorded(&p, before, 1, 10);
            return 1;
        }
    }
    int have = dv_nworkers(c);
    int started = s_launch(&p, argc, argv, n, threads);
    rc = started < 0 || s_wait_workers(c, have + started, deadline) < 0;
    if (rc == 0) {
        dvi_profile_conn conn;
        dvi_profile_read_conn(&p, &conn);
        printf("profile %s: scheduler at %s, %d workers (ready in %.2f s)\n",
               p.name, conn.client_addr, dv_nworkers(c), s_now() - t0);
    }
    dv_close(c);
    if (rc != 0 && !add) {
        /* A cluster half up is no use: end what this started. */
        size_t ended = s_end_recorded(&p, before, 1, 10);
        fprintf(stderr,
                "drove cluster: up failed; ended the %zu processes it "
                "started\n",
                ended);
    }
    return rc;
}

static dvi_option s_status_opts[] = {
    {"json", DVI_OPT_FLAG, NULL, 0, 0, NULL,
     "print one JSON object: address, workers (id, host, pid, threads, "
     "running, done, memory_bytes, local...) and totals",
     NULL},
    S_PROFILE_OPT,
};

static int
s_status_cmd(int argc, char **argv)
{
    dvi_profile p;
    int rc = s_begin(
        s_status_opts, S_N(s_status_opts), argc, argv,
        "drove cluster status [--json]",
        "Shows the scheduler's address, every worker (host, process id, "
        "threads, tasks running and done, memory, started from here or "
        "not) and the totals. Exits 1 when no cluster answers.",
        NULL, 0, NULL, &p);
    if (rc >= 0) {
        return rc;
    }
    dv_client *c = s_running(&p);
    json_t *o = c ? dvi_cluster_status(&p, c) : NULL;
    dv_close(c);
    if (o == NULL) {
        return 1;
    }
    if (dvi_opt_flag(s_status_opts, S_N(s_status_opts), "json")) {
        char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("%s\n", text ? text : "{}");
        free(text);
    } else {
        dvi_cluster_print_status(&p, o);
    }
    json_decref(o);
    return 0;
}

/* Waits until none of the n workers named is connected. */
static int
s_wait_gone(dv_client *c, const char *const *ids, size_t n, double deadline)
{
    for (;;) {
        size_t present = 0;
        int count = dv_nworkers(c);
        for (int i = 0; i < count; i++) {
            char id[128];
            for (size_t k = 0; dv_worker_id(c, i, id, sizeof(id)) == 0 && k < n;
                 k++) {
                present += strcmp(id, ids[k]) == 0;
            }
        }
        if (present == 0 || count < 0) {
            return count < 0 ? -1 : 0;
        }
        if (s_now() > deadline) {
            fprintf(stderr, "drove cluster: %zu workers still there\n",
                    present);
            return -1;
        }
        uv_sleep(50);
    }
}

/* Retires the n workers named and waits for them to go. */
static int
s_retire(dv_client *c, const char *const *ids, size_t n, double deadline)
{
    if (dv_retire_workers(c, ids, n) < 0) {
        fprintf(stderr, "drove cluster: %s\n", dv_last_error());
        return 1;
    }
    if (s_wait_gone(c, ids, n, deadline) < 0) {
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        printf("retired %s: its results moved to the workers that stay\n",
               ids[i]);
    }
    return 0;
}

static dvi_option s_remove_opts[] = {S_PROFILE_OPT, S_TIMEOUT_OPT};

static int
s_remove(int argc, char **argv)
{
    const char *ids[256];
    size_t n = 0;
    dvi_profile p;
    int rc = s_begin(
        s_remove_opts, S_N(s_remove_opts), argc, argv,
        "drove cluster remove WORKER...",
        "Retires the workers named (as status lists them) without losing "
        "data: each finishes its running tasks, moves the results only it "
        "holds to the workers that stay, and exits.",
        ids, S_N(ids), &n, &p);
    if (rc < 0 && n == 0) {
        fprintf(stderr, "drove cluster remove: name at least one worker "
                        "(see drove cluster status)\n");
        rc = 2;
    }
    if (rc >= 0) {
        return rc;
    }
    double deadline = s_deadline(s_remove_opts, S_N(s_remove_opts));
    dv_client *c = s_running(&p);
    rc = c ? s_retire(c, ids, n, deadline) : 1;
    dv_close(c);
    return rc;
}

static dvi_option s_scale_opts[] = {
    {"threads", DVI_OPT_INT, "0", 0, 4096, NULL,
     "threads of each worker started (default: one per core)", NULL},
    S_PROFILE_OPT,
    S_TIMEOUT_OPT,
};

/* Retires have - want workers, those started from here first. */
static int
s_scale_down(const dvi_profile *p, dv_client *c, long want, double deadline)
{
    json_t *o = dvi_cluster_status(p, c);
    json_t *ws = json_object_get(o, "workers");
    const char *ids[1024];
    size_t n = 0, have = json_array_size(ws);
    for (int local = 1; local >= 0; local--) {
        for (size_t i = have; i-- > 0 && (long)(have - n) > want;) {
            json_t *w = json_array_get(ws, i);
            if (json_is_true(json_object_get(w, "local")) == local &&
                n < S_N(ids)) {
                ids[n++] = json_string_value(json_object_get(w, "id"));
            }
        }
    }
    int rc = s_retire(c, ids, n, deadline);
    json_decref(o);
    return rc;
}

static int
s_scale(int argc, char **argv)
{
    const char *pos[1];
    size_t npos = 0;
    dvi_profile p;
    int rc = s_begin(
        s_scale_opts, S_N(s_scale_opts), argc, argv, "drove cluster scale N",
        "Brings the cluster to N workers: starts more on this machine, or "
        "retires some (those started from here first) as remove does.",
        pos, 1, &npos, &p);
    char *end = NULL;
    long want = npos == 1 ? strtol(pos[0], &end, 10) : -1;
    if (rc < 0 && (want < 0 || want > 1024 || *end != '\0')) {
        fprintf(stderr, "drove cluster scale: want a number of workers "
                        "from 0 to 1024\n");
        rc = 2;
    }
    if (rc >= 0) {
        return rc;
    }
    double deadline = s_deadline(s_scale_opts, S_N(s_scale_opts));
    dv_client *c = s_running(&p);
    int have = c ? dv_nworkers(c) : -1;
    rc = 0;
    if (have < 0) {
        rc = 1;
    } else if (want > have) {
        long threads = dvi_opt_int(s_scale_opts, S_N(s_scale_opts), "threads");
        rc = s_start_workers(&p, want - have, threads) < 0 ||
             s_wait_workers(c, (int)want, deadline) < 0;
    } else if (want < have) {
        rc = s_scale_down(&p, c, want, deadline);
    }
    if (rc == 0) {
        printf("profile %s: %d workers\n", p.name, dv_nworkers(c));
    }
    dv_close(c);
    return rc;
}

static dvi_option s_down_opts[] = {S_PROFILE_OPT, S_TIMEOUT_OPT};

static int
s_down(int argc, char **argv)
{
    dvi_profile p;
    int rc = s_begin(
        s_down_opts, S_N(s_down_opts), argc, argv, "drove cluster down",
        "Asks the scheduler to shut down: it tells every worker to exit, "
        "they do, and it exits. Then waits for the processes started from "
        "here to end (ending any left at --timeout).",
        NULL, 0, NULL, &p);
    if (rc >= 0) {
        return rc;
    }
    dv_client *c = s_running(&p);
    if (c == NULL) {
        return 1;
    }
    rc = dv_shutdown(c);
    if (rc < 0) {
        fprintf(stderr, "drove cluster: %s\n", dv_last_error());
    }
    dv_close(c);
    size_t n = s_end_recorded(
        &p, 0, 0,
        (double)dvi_opt_int(s_down_opts, S_N(s_down_opts), "timeout"));
    printf("profile %s: shut down (%zu processes started from here ended)\n",
           p.name, n);
    return rc < 0;
}

static dvi_option s_cleanup_opts[] = {
    {"detach", DVI_OPT_FLAG, NULL, 0, 0, NULL,
     "forget the processes started from here and leave them running", NULL},
    S_PROFILE_OPT,
};

static int
s_cleanup(int argc, char **argv)
{
    dvi_profile p;
    int rc = s_begin(
        s_cleanup_opts, S_N(s_cleanup_opts), argc, argv,
        "drove cluster cleanup [--detach]",
        "Terminates the processes started from here (SIGTERM, then SIGKILL "
        "after 30 s), the scheduler too if it was; or, with --detach, "
        "forgets them and leaves them running.",
        NULL, 0, NULL, &p);
    if (rc >= 0) {
        return rc;
    }
    if (dvi_opt_flag(s_cleanup_opts, S_N(s_cleanup_opts), "detach")) {
        dvi_launched *v;
        size_t n;
        if (dvi_launch_load(&p, &v, &n) == 0) {
            dvi_launched_fini(v, n);
            free(v);
            dvi_launch_save(&p, NULL, 0);
            printf("profile %s: forgot %zu processes; they keep running\n",
                   p.name, n);
        }
        return 0;
    }
    size_t n = s_end_recorded(&p, 0, 1, 30);
    printf("profile %s: ended %zu processes started from here\n", p.name, n);
    return 0;
}

static int
s_up_cmd(int argc, char **argv)
{
    return s_up(argc, argv, 0);
}

static int
s_add_cmd(int argc, char **argv)
{
    return s_up(argc, argv, 1);
}

static const dvi_subcommand s_subs[] = {
    {"up", s_up_cmd, "start a scheduler and N workers here, in the background"},
    {"add", s_add_cmd, "start N more workers for the running cluster"},
    {"status", s_status_cmd, "the scheduler's address and every worker"},
    {"remove", s_remove, "retire workers, their results moved first"},
    {"scale", s_scale, "start or retire workers to have N"},
    {"down", s_down, "shut the scheduler and its workers down"},
    {"cleanup", s_cleanup, "end (or --detach: forget) what was started here"},
};

int
dvi_cmd_cluster(int argc, char **argv)
{
    return dvi_subcommands_run("drove cluster",
                               "A cluster of the selected profile (--profile, "
                               "DROVE_PROFILE) from one command.",
                               s_subs, S_N(s_subs), argc, argv);
}
