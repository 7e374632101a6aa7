/* drove — integration: who may use a cluster of daemons, and what a wire
 * tap sees (issue 12).
 *
 * A scheduler and a worker run on 127.0.0.1 under the test's DROVE_HOME.
 * Strangers hold another DROVE_HOME with a profile of its own (another
 * CA): a client, a worker daemon, and a peer asking the worker's peer port
 * for a result are refused, saying that authentication failed. Raw TCP
 * with no certificate (a HELLO and an UPLOAD, a worker's HELLO), a client
 * certificate that says it is a worker, and junk sent to every port are
 * dropped while the daemons keep serving.
 *
 * "Nothing ran" is seen from outside: the workers run with $DVT_MARKER
 * set, and the marker library (tests/libs/marker.c) appends a line to it
 * whenever a worker loads it. Each refusal has a control that is accepted
 * — the same bytes with this profile's certificate, or in plain TCP to a
 * scheduler started with DROVE_TEST_PLAINTEXT=1 — so no check passes only
 * because the attack itself was broken.
 *
 * A relay between a client and the scheduler records every byte: under
 * TLS a task's argument never shows in it; under DROVE_TEST_PLAINTEXT=1
 * it does. Last, a scheduler restarted on its profile listens where it
 * did, with the same certificates, and a worker waiting for it joins.
 */
#define _GNU_SOURCE
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dvt_funcs.h"
#include "dvt_wire.h"
#include "dvtest.h"

#define SECRET "SECRET-ARG-7c1e9"
#define BIG_N 20000 /* make_f64s(BIG_N): 160 KB, kept on its worker */

/* A scheduler and one worker, on one profile of the test's DROVE_HOME. */
typedef struct s_cluster {
    const char *profile;
    char where[80];  /* "profile:NAME", for dv_connect */
    char worker[32]; /* the worker's id */
    dvt_proc *sched;
    dvt_proc *proc; /* the worker */
    char addr[128]; /* "tcp://127.0.0.1:PORT", as the scheduler printed */
    int peer_port;  /* where the worker serves results */
} s_cluster;

static s_cluster s_main = {.profile = "default"}; /* TLS */
static s_cluster s_plain = {.profile = "plain"};  /* DROVE_TEST_PLAINTEXT */
static char s_foreign[512]; /* another DROVE_HOME, with its own profile */
static char s_marker[512];  /* $DVT_MARKER of every worker */

/* Reads a library file into buf (cap bytes, 64 kept free); its length. */
static size_t
s_read_lib(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    DVT_TRUE(f != NULL);
    size_t n = fread(buf, 1, cap - 64, f);
    fclose(f);
    return n;
}

/* A client's HELLO, then an UPLOAD of the marker library with a few
 * bytes appended, under a hash never sent before: a worker that received
 * it would load it anew, whatever came earlier. */
static void
s_send_marker_upload(dvt_peer *p)
{
    static unsigned s_count;
    static char lib[4 << 20];
    size_t n = s_read_lib(DVT_MARKER_LIB, lib, sizeof(lib));
    n += (size_t)snprintf(lib + n, 64, "dvt-%d-%u", (int)getpid(), ++s_count);
    /* Its true hash: the scheduler checks it (forgeries below). */
    unsigned char h[16];
    char hash[40] = "U";
    crypto_generichash(h, sizeof(h), (const unsigned char *)lib, n, NULL, 0);
    sodium_bin2hex(hash + 1, sizeof(hash) - 1, h, sizeof(h));
    dvt_peer_send_hello(p, DVT_ROLE_CLIENT, "dvt-raw", 0, NULL);
    dvt_peer_send_upload(p, hash, "libdvt_marker.so", lib, n);
}

/* ---- What the daemons did ----------------------------------------------- */

/* How many times a worker loaded the marker library: lines in $DVT_MARKER. */
static int
s_marker_loads(void)
{
    char *text = dvt_read_file(s_marker);
    int n = 0;
    for (const char *c = text; c && *c; c++) {
        n += *c == '\n';
    }
    free(text);
    return n;
}

/* The length of a process's log now, and what it logged since. */
static size_t
s_log_mark(const dvt_proc *p)
{
    char *log = dvt_proc_log(p);
    size_t n = log ? strlen(log) : 0;
    free(log);
    return n;
}

static char *
s_log_since(const dvt_proc *p, size_t mark)
{
    char *log = dvt_proc_log(p);
    DVT_TRUE(log != NULL && strlen(log) >= mark);
    memmove(log, log + mark, strlen(log + mark) + 1);
    return log;
}

/* A file of a profile of the test's DROVE_HOME; NULL if unreadable. */
static char *
s_profile_file(const char *profile, const char *file)
{
    char path[800];
    snprintf(path, sizeof(path), "%s/profile_%s/%s", dvt_home(), profile, file);
    return dvt_read_file(path);
}

/* Waits up to 10 s for the profile's connection file to be the one sched
 * wrote (its pid), and copies the client address it records into out.
 * Returns 0, or -1. A scheduler prints its address before it writes the
 * file, and profile:NAME reads the file. */
static int
s_recorded(const char *profile, const dvt_proc *sched, char *out, size_t size)
{
    const char *key = "\"client_address\": \"";
    double deadline = dvt_now() + 10.0;
    for (int ok = 0; !ok; dvt_sleep(0.01)) {
        char *json = s_profile_file(profile, "connection.json");
        char *pid = json ? strstr(json, "\"pid\": ") : NULL;
        char *at = json ? strstr(json, key) : NULL;
        ok = pid && at && atoi(pid + 7) == (int)dvt_proc_pid(sched);
        if (ok) {
            at += strlen(key);
            snprintf(out, size, "%.*s", (int)strcspn(at, "\""), at);
        }
        free(json);
        if (!ok && dvt_now() > deadline) {
            return -1;
        }
    }
    return 0;
}

/* Starts `drove ARGS...` (NULL-terminated) as name, with env ("VAR=value")
 * added to its environment. NULL on failure (printed). */
static dvt_proc *
s_spawn(const char *name, const char *env, ...)
{
    char *argv[24] = {"/usr/bin/env", (char *)env, (char *)dvt_drove_bin()};
    va_list ap;
    va_start(ap, env);
    for (int n = 3; n < 23 && (argv[n] = va_arg(ap, char *)) != NULL; n++) {
    }
    va_end(ap);
    return dvt_spawn(name, argv);
}

/* Connects to the cluster and uploads the test functions. Caller owns. */
static dv_client *
s_connect(const s_cluster *cl)
{
    dv_client *c = DVT_NOTNULL(dv_connect(cl->where));
    DVT_PASS(dv_upload_library(c, DVT_FUNCS_LIB));
    return c;
}

/* Whether the scheduler lists worker id, as a client sees it. */
static bool
s_listed(dv_client *c, const char *id)
{
    char buf[128];
    for (int i = 0; i < dv_nworkers(c); i++) {
        if (dv_worker_id(c, i, buf, sizeof(buf)) == 0 && !strcmp(buf, id)) {
            return true;
        }
    }
    return false;
}

/* Both daemons are up: a new client runs a task on the worker, and
 * fetches a large result from its peer port. */
static void
s_still_serving(const s_cluster *cl, const char *after)
{
    if (!dvt_proc_alive(cl->sched) || !dvt_proc_alive(cl->proc)) {
        DVT_FAIL("a daemon of profile %s died after %s", cl->profile, after);
    }
    dv_client *c = s_connect(cl);
    dv_opts opts = DV_OPTS_INIT;
    opts.worker = cl->worker;
    dv_future *f = DVT_NOTNULL(dv_submit(c, "whoami", 0, NULL, &opts));
    DVT_EQ_STR(dv_value_str(DVT_RESULT(f, 30.0), NULL), cl->worker);
    dv_release(f);
    f = DVT_NOTNULL(DV_SUBMIT(c, "make_f64s", dv_i64(BIG_N)));
    size_t n = 0;
    DVT_TRUE(dv_value_f64s(DVT_RESULT(f, 30.0), &n) != NULL);
    DVT_EQ_I64(n, BIG_N);
    dv_release(f);
    dv_close(c);
}

/* ---- Clusters ----------------------------------------------------------- */

/* Starts the scheduler and worker of cl->profile, in plain TCP when
 * plaintext (the test switch, in their environment only), and waits for
 * the worker to join. Returns 0, or -1 with the reason printed. */
static int
s_cluster_start(s_cluster *cl, bool plaintext)
{
    char name[64], listen[64], recorded[128];
    const char *env =
        plaintext ? "DROVE_TEST_PLAINTEXT=1" : "DROVE_TEST_PLAINTEXT=0";
    snprintf(cl->where, sizeof(cl->where), "profile:%s", cl->profile);
    snprintf(cl->worker, sizeof(cl->worker), "w-%s", cl->profile);
    snprintf(name, sizeof(name), "%s-scheduler", cl->profile);
    cl->sched = s_spawn(name, env, "scheduler", "--address",
                        "tcp://127.0.0.1:0", "--profile", cl->profile, NULL);
    if (cl->sched == NULL ||
        dvt_proc_read_line(cl->sched, cl->addr, sizeof(cl->addr), 20) != 0 ||
        s_recorded(cl->profile, cl->sched, recorded, sizeof(recorded)) != 0) {
        return -1;
    }
    cl->peer_port = dvt_free_port();
    snprintf(listen, sizeof(listen), "tcp://127.0.0.1:%d", cl->peer_port);
    snprintf(name, sizeof(name), "%s-worker", cl->profile);
    cl->proc = s_spawn(name, env, "worker", "--profile", cl->profile, "--name",
                       cl->worker, "--listen", listen, NULL);
    dv_client *c = cl->proc ? dv_connect(cl->where) : NULL;
    double deadline = dvt_now() + 30.0;
    while (c != NULL && !s_listed(c, cl->worker) && dvt_now() < deadline) {
        dvt_sleep(0.02);
    }
    int ok = c != NULL && s_listed(c, cl->worker);
    if (!ok) {
        fprintf(stderr, "security_test: profile %s: no worker: %s\n",
                cl->profile, c ? "it did not join" : dv_last_error());
        dvt_proc_dump_log(cl->sched);
        if (cl->proc) {
            dvt_proc_dump_log(cl->proc);
        }
    }
    dv_close(c);
    return ok ? 0 : -1;
}

/* ---- 1. Another profile ------------------------------------------------- */

static void
test_foreign_client_refused(void **state)
{
    /* DROVE_HOME is read when connecting; no other client is open. */
    setenv("DROVE_HOME", s_foreign, 1);
    dv_client *c = dv_connect(s_main.addr);
    int code = dv_last_code();
    char why[512];
    snprintf(why, sizeof(why), "%s", dv_last_error());
    setenv("DROVE_HOME", dvt_home(), 1);
    if (c != NULL) {
        dv_close(c);
        DVT_FAIL("a client of another profile connected");
    }
    DVT_EQ_I64(code, DV_EAUTH);
    DVT_CONTAINS(why, "authentication failed");
    s_still_serving(&s_main, "a client of another profile");
}

static void
test_foreign_upload_loads_nothing(void **state)
{
    /* What the library would send, sent with the other profile's client
     * certificate and no checks of our own: the HELLO and UPLOAD follow
     * the handshake at once, before the scheduler could answer. */
    int before = s_marker_loads();
    dvt_peer *p = dvt_peer_open(dvt_port_of(s_main.addr), s_foreign, "client");
    s_send_marker_upload(p);
    DVT_EQ_I64(dvt_peer_wait_msg(p, DVT_MSG_WELCOME, 15.0), 0);
    dvt_peer_close(&p);
    /* A task on the worker after it: the scheduler's link to the worker
     * keeps order, so an UPLOAD passed on would have been loaded first. */
    s_still_serving(&s_main, "an upload from another profile");
    DVT_EQ_I64(s_marker_loads(), before);
}

static void
test_foreign_worker_refused(void **state)
{
    /* A worker daemon of another profile: it gives up saying why, and is
     * never one of the scheduler's workers, not even for a moment. */
    size_t mark = s_log_mark(s_main.sched);
    dv_client *watch = s_connect(&s_main);
    char home[600];
    snprintf(home, sizeof(home), "DROVE_HOME=%s", s_foreign);
    dvt_proc *w = DVT_NOTNULL(
        s_spawn("foreign-worker", home, "worker", "--scheduler", s_main.addr,
                "--name", "intruder", "--connect-timeout", "5", NULL));
    bool seen = false;
    double deadline = dvt_now() + 20.0;
    while (dvt_proc_alive(w) && dvt_now() < deadline) {
        seen |= s_listed(watch, "intruder");
        dvt_sleep(0.02);
    }
    int status = 0;
    DVT_PASS(dvt_proc_wait(w, 0.1, &status));
    DVT_TRUE(!seen && !s_listed(watch, "intruder"));
    DVT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0);
    char *log = dvt_proc_log(w);
    DVT_CONTAINS(log, "authentication failed");
    free(log);
    log = s_log_since(s_main.sched, mark);
    DVT_CONTAINS(log, "refused");
    DVT_TRUE(strstr(log, "worker intruder joined") == NULL);
    free(log);
    dv_close(watch);
}

/* Asks the main worker's peer port for key with the client certificate
 * of home; returns what dvt_peer_wait_msg says of a DATA answer. */
static int
s_get_from_peer_port(const char *home, const char *key)
{
    dvt_peer *p = dvt_peer_open(s_main.peer_port, home, "client");
    dvt_peer_send_hello(p, DVT_ROLE_PEER, "dvt-get", 0, NULL);
    dvt_peer_send_get(p, key);
    int rc = dvt_peer_wait_msg(p, DVT_MSG_DATA, 15.0);
    dvt_peer_close(&p);
    return rc;
}

static void
test_foreign_peer_gets_no_result(void **state)
{
    /* A result too large to travel inline stays on the worker, which
     * serves it to peers and clients on its peer port. */
    dv_client *c = s_connect(&s_main);
    dv_future *f = DVT_NOTNULL(DV_SUBMIT(c, "make_f64s", dv_i64(BIG_N + 1)));
    DVT_RESULT(f, 30.0);
    DVT_EQ_I64(s_get_from_peer_port(s_foreign, dv_future_key(f)), 0);
    /* Control: this profile's client certificate gets it. */
    DVT_EQ_I64(s_get_from_peer_port(dvt_home(), dv_future_key(f)), 1);
    dv_release(f);
    dv_close(c);
    s_still_serving(&s_main, "a GET from another profile");
}

static void
test_control_own_upload_loads(void **state)
{
    /* This profile's client loads the marker library, through the API
     * and through the hand-made peer: the attacks were refused for their
     * certificate, not for their bytes. */
    int before = s_marker_loads();
    dv_client *c = s_connect(&s_main);
    DVT_EQ_I64(dv_upload_library(c, DVT_MARKER_LIB), 1);
    DVT_EQ_I64(s_marker_loads(), before + 1);
    dv_future *f = DVT_NOTNULL(dv_submit(c, "marker_loaded", 0, NULL, NULL));
    DVT_EQ_I64(DVT_RESULT_I64(f, 30.0), 1);
    dv_release(f);
    dv_close(c);

    dvt_peer *p = dvt_peer_open(dvt_port_of(s_main.addr), dvt_home(), "client");
    s_send_marker_upload(p);
    DVT_EQ_I64(dvt_peer_wait_msg(p, DVT_MSG_UPLOADED, 30.0), 1);
    dvt_peer_close(&p);
    DVT_EQ_I64(s_marker_loads(), before + 2);
}

/* ---- 2. No certificate, or the wrong one -------------------------------- */

static void
test_plain_upload_refused(void **state)
{
    int before = s_marker_loads();
    dvt_peer *p = dvt_peer_open(dvt_port_of(s_main.addr), NULL, NULL);
    s_send_marker_upload(p);
    DVT_EQ_I64(dvt_peer_wait_msg(p, DVT_MSG_WELCOME, 15.0), 0);
    dvt_peer_close(&p);
    s_still_serving(&s_main, "a HELLO and UPLOAD in plain TCP");
    DVT_EQ_I64(s_marker_loads(), before);
}

/* Sends a worker's HELLO as id over p (and closes p); stores whether the
 * scheduler welcomed it and whether a client saw it listed, and returns
 * what the scheduler logged meanwhile (caller frees). */
static char *
s_fake_worker(dvt_peer *p, const char *id, int *welcomed, bool *listed)
{
    size_t mark = s_log_mark(s_main.sched);
    dv_client *watch = s_connect(&s_main);
    dvt_peer_send_hello(p, DVT_ROLE_WORKER, id, 1, "tcp://127.0.0.1:9");
    *welcomed = dvt_peer_wait_msg(p, DVT_MSG_WELCOME, 15.0);
    *listed = false;
    double deadline = dvt_now() + (*welcomed == 1 ? 10.0 : 1.0);
    while (!*listed && dvt_now() < deadline) {
        *listed = s_listed(watch, id);
        dvt_sleep(0.02);
    }
    dvt_peer_close(&p);
    dv_close(watch);
    return s_log_since(s_main.sched, mark);
}

static void
test_plain_fake_worker_refused(void **state)
{
    int welcomed;
    bool listed;
    dvt_peer *p = dvt_peer_open(dvt_port_of(s_main.addr), NULL, NULL);
    char *log = s_fake_worker(p, "fake-plain", &welcomed, &listed);
    DVT_EQ_I64(welcomed, 0);
    DVT_TRUE(!listed && strstr(log, "worker fake-plain joined") == NULL);
    free(log);
    s_still_serving(&s_main, "a worker's HELLO in plain TCP");
}

static void
test_client_cert_as_worker_refused(void **state)
{
    /* A client's certificate may not make its holder a worker, which
     * would be sent other clients' tasks and libraries. */
    int welcomed, port = dvt_port_of(s_main.addr);
    bool listed;
    dvt_peer *p = dvt_peer_open(port, dvt_home(), "client");
    char *log = s_fake_worker(p, "fake-client", &welcomed, &listed);
    DVT_EQ_I64(welcomed, 0);
    DVT_TRUE(!listed && strstr(log, "worker fake-client joined") == NULL);
    DVT_CONTAINS(log, "has a client certificate and said it is a worker");
    free(log);
    /* Control: the same bytes with the worker's certificate join. */
    p = dvt_peer_open(port, dvt_home(), "worker");
    log = s_fake_worker(p, "fake-worker", &welcomed, &listed);
    DVT_EQ_I64(welcomed, 1);
    DVT_TRUE(listed);
    free(log);
    s_still_serving(&s_main, "a client certificate saying it is a worker");
}

/* ---- 3. A wire tap ------------------------------------------------------ */

/* Runs echo(SECRET) through a relay to the scheduler at addr; returns the
 * relay, stopped, with what it saw. Caller owns; dvt_relay_destroy(). */
static dvt_relay *
s_tap_echo(const char *addr)
{
    dvt_relay *r = dvt_relay_start(dvt_port_of(addr));
    char via[64];
    snprintf(via, sizeof(via), "tcp://127.0.0.1:%d", dvt_relay_port(r));
    dv_client *c = DVT_NOTNULL(dv_connect(via));
    DVT_PASS(dv_upload_library(c, DVT_FUNCS_LIB));
    dv_future *f = DVT_NOTNULL(DV_SUBMIT(c, "echo", dv_str(SECRET)));
    DVT_EQ_STR(dv_value_str(DVT_RESULT(f, 30.0), NULL), SECRET);
    dv_release(f);
    dv_close(c);
    dvt_relay_stop(r);
    /* The tap saw the session: the library went through it. */
    DVT_GE_I64(dvt_relay_seen(r, 0), 4096);
    DVT_GE_I64(dvt_relay_seen(r, 1), 64);
    return r;
}

static void
test_tap_sees_no_argument_under_tls(void **state)
{
    dvt_relay *r = s_tap_echo(s_main.addr);
    DVT_TRUE(!dvt_relay_saw(r, 0, SECRET) && !dvt_relay_saw(r, 1, SECRET));
    /* Nor the uploaded library's function names. */
    DVT_TRUE(!dvt_relay_saw(r, 0, "dv__fn_echo"));
    dvt_relay_destroy(&r);
}

/* The plaintext cluster, and the switch in this process for its clients
 * (read when connecting; no other client is open): undone by the
 * teardown whatever the test did. */
static int
s_plain_teardown(void **state)
{
    unsetenv("DROVE_TEST_PLAINTEXT");
    dvt_proc_kill(s_plain.proc);
    dvt_proc_kill(s_plain.sched);
    return 0;
}

static int
s_plain_setup(void **state)
{
    setenv("DROVE_TEST_PLAINTEXT", "1", 1);
    if (s_cluster_start(&s_plain, true) != 0) {
        s_plain_teardown(state);
        return -1;
    }
    return 0;
}

static void
test_tap_sees_argument_in_plaintext(void **state)
{
    /* The control of the test above: the same tap on plain TCP reads the
     * argument, both ways (the result is the argument). */
    dvt_relay *r = s_tap_echo(s_plain.addr);
    DVT_TRUE(dvt_relay_saw(r, 0, SECRET) && dvt_relay_saw(r, 1, SECRET));
    dvt_relay_destroy(&r);
    /* And the plain HELLO and UPLOAD that TLS refused load here: that
     * attack was refused for its lack of a certificate alone. */
    int before = s_marker_loads();
    dvt_peer *p = dvt_peer_open(dvt_port_of(s_plain.addr), NULL, NULL);
    s_send_marker_upload(p);
    DVT_EQ_I64(dvt_peer_wait_msg(p, DVT_MSG_UPLOADED, 30.0), 1);
    dvt_peer_close(&p);
    DVT_EQ_I64(s_marker_loads(), before + 1);
}

/* ---- 4. Restart on the same profile ------------------------------------- */

static const char *const s_cert_files[] = {
    "ca.pem",     "ca.key",     "scheduler.pem", "scheduler.key",
    "worker.pem", "worker.key", "client.pem",    "client.key"};
#define S_NCERTS (sizeof(s_cert_files) / sizeof(s_cert_files[0]))

/* `drove scheduler --profile again`, with no --address: it listens where
 * the profile recorded, if anything. Its printed address into addr, which
 * its connection file must record. */
static dvt_proc *
s_again_scheduler(const char *name, char *addr, size_t size)
{
    dvt_proc *p = DVT_NOTNULL(s_spawn(name, "DROVE_TEST_PLAINTEXT=0",
                                      "scheduler", "--profile", "again", NULL));
    DVT_PASS(dvt_proc_read_line(p, addr, size, 20.0));
    char recorded[128];
    DVT_EQ_I64(s_recorded("again", p, recorded, sizeof(recorded)), 0);
    DVT_EQ_STR(recorded, addr);
    return p;
}

/* `drove worker --profile again`: it finds the scheduler in the profile. */
static dvt_proc *
s_again_worker(const char *name)
{
    return DVT_NOTNULL(s_spawn(name, "DROVE_TEST_PLAINTEXT=0", "worker",
                               "--profile", "again", "--name", name, NULL));
}

/* A client of "profile:again" sees worker id join and runs a task there. */
static void
s_again_runs_on(const char *id)
{
    dv_client *c = DVT_NOTNULL(dv_connect("profile:again"));
    double deadline = dvt_now() + 30.0;
    while (!s_listed(c, id) && dvt_now() < deadline) {
        dvt_sleep(0.02);
    }
    DVT_TRUE(s_listed(c, id));
    DVT_PASS(dv_upload_library(c, DVT_FUNCS_LIB));
    dv_opts opts = DV_OPTS_INIT;
    opts.worker = id;
    dv_future *f = DVT_NOTNULL(dv_submit(c, "whoami", 0, NULL, &opts));
    DVT_EQ_STR(dv_value_str(DVT_RESULT(f, 30.0), NULL), id);
    dv_release(f);
    dv_close(c);
}

static void
test_restart_keeps_port_and_certificates(void **state)
{
    char addr1[128], addr2[128];
    dvt_proc *s1 = s_again_scheduler("again-scheduler1", addr1, 128);
    s_again_worker("again-w1");
    s_again_runs_on("again-w1");
    char *certs[S_NCERTS];
    for (size_t i = 0; i < S_NCERTS; i++) {
        certs[i] = DVT_NOTNULL(s_profile_file("again", s_cert_files[i]));
    }
    dvt_proc_kill(s1);
    /* A worker joined to a scheduler exits with it (drove worker --help);
     * one started now keeps dialling the recorded address. */
    dvt_proc *w2 = s_again_worker("again-w2");
    DVT_TRUE(dvt_wait_text(w2, NULL, "trying again", 20.0));
    dvt_proc *s2 = s_again_scheduler("again-scheduler2", addr2, 128);
    DVT_EQ_STR(addr2, addr1);
    s_again_runs_on("again-w2");
    for (size_t i = 0; i < S_NCERTS; i++) {
        /* Compared, never printed: half of them are private keys. */
        char *now = s_profile_file("again", s_cert_files[i]);
        if (now == NULL || strcmp(now, certs[i]) != 0) {
            DVT_FAIL("%s changed across the restart", s_cert_files[i]);
        }
        free(now);
        free(certs[i]);
    }
    /* cli_test shows a second scheduler on a running profile refused. */
    DVT_TRUE(dvt_proc_alive(s2));
}

/* ---- 5. Junk on every port ---------------------------------------------- */

/* Sends n bytes to port in plain TCP; returns 0 if the daemon closed the
 * connection within 20 s. */
static int
s_send_junk(int port, const void *bytes, size_t n)
{
    dvt_peer *p = dvt_peer_open(port, NULL, NULL);
    dvt_peer_write(p, bytes, n);
    int rc = dvt_peer_wait_closed(p, 20.0);
    dvt_peer_close(&p);
    return rc;
}

static void
test_junk_on_every_port(void **state)
{
    static const char http[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    static unsigned char noise[65536];
    uint32_t x = 0x9e3779b9u; /* xorshift32: the same noise every run */
    for (size_t i = 0; i < sizeof(noise); i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        noise[i] = (unsigned char)x;
    }
    int ports[2] = {dvt_port_of(s_main.addr), s_main.peer_port};
    for (int i = 0; i < 2; i++) {
        DVT_EQ_I64(s_send_junk(ports[i], http, sizeof(http) - 1), 0);
        DVT_EQ_I64(s_send_junk(ports[i], noise, sizeof(noise)), 0);
        s_still_serving(&s_main, "junk on its ports");
    }
}

/* ---- Forgery by an authenticated client -------------------------------- */

/* The hex BLAKE2b-128 of the n parts (p[i], len[i]), into out (33). */
static void
s_blake_hex(int n, const void *const *p, const size_t *len, char *out)
{
    crypto_generichash_state st;
    unsigned char h[16];
    crypto_generichash_init(&st, NULL, 0, sizeof(h));
    for (int i = 0; i < n; i++) {
        crypto_generichash_update(&st, p[i], len[i]);
    }
    crypto_generichash_final(&st, h, sizeof(h));
    sodium_bin2hex(out, 33, h, sizeof(h));
}

/* "U" and the hash of a library file: the code its calls name. */
static void
s_lib_code(const char *path, char *code)
{
    static char lib[4 << 20];
    const void *p[1] = {lib};
    size_t n[1] = {s_read_lib(path, lib, sizeof(lib))};
    code[0] = 'U';
    s_blake_hex(1, p, n, code + 1);
}

static void
test_forged_library_hash_refused(void **state)
{
    /* A client uploads version 1's bytes under the hash of version 2's; a
     * victim who uploads version 2 must still run version 2. */
    static char v1[4 << 20];
    char hash[40];
    s_lib_code(DVT_VERSION2_LIB, hash);
    dvt_peer *p = dvt_peer_open(dvt_port_of(s_main.addr), dvt_home(), "client");
    dvt_peer_send_hello(p, DVT_ROLE_CLIENT, "dvt-raw", 0, NULL);
    dvt_peer_send_upload(p, hash, "libdvt_version2.so", v1,
                         s_read_lib(DVT_VERSION1_LIB, v1, sizeof(v1)));
    (void)dvt_peer_wait_msg(p, DVT_MSG_UPLOADED, 30.0); /* or refused */
    dvt_peer_close(&p);
    dv_client *c = s_connect(&s_main);
    DVT_PASS(dv_upload_library(c, DVT_VERSION2_LIB));
    dv_future *f = DVT_NOTNULL(dv_submit(c, "version", 0, NULL, NULL));
    DVT_EQ_I64(DVT_RESULT_I64(f, 30.0), 2);
    dv_release(f);
    dv_close(c);
}

static void
test_forged_pure_key_refused(void **state)
{
    /* A client submits inc(41) under the key another client's inc(777001)
     * will have (docs/protocol.md says how a pure key is made); while it
     * holds that result, the victim's call must still return 777002. */
    char code[40], key[64] = "inc-";
    s_lib_code(DVT_FUNCS_LIB, code);
    const unsigned char args[] = {0x91, 0xce, 0x00, 0x0b, 0xdb, 0x29};
    const void *parts[4] = {"inc", code, "F", args};
    size_t lens[4] = {4, strlen(code) + 1, 1, sizeof(args)}; /* NULs too */
    s_blake_hex(4, parts, lens, key + 4);
    dvt_peer *p = dvt_peer_open(dvt_port_of(s_main.addr), dvt_home(), "client");
    dvt_peer_send_hello(p, DVT_ROLE_CLIENT, "dvt-raw", 0, NULL);
    const unsigned char args41[] = {0x91, 0x29}; /* [41] */
    dvt_peer_send_submit(p, key, "inc", code, args41, sizeof(args41));
    (void)dvt_peer_wait_msg(p, DVT_MSG_FINISHED, 30.0); /* or refused */
    dv_client *c = s_connect(&s_main);
    dv_future *f = DVT_NOTNULL(DV_SUBMIT(c, "inc", dv_i64(777001)));
    DVT_EQ_STR(dv_future_key(f), key); /* the attack aimed right */
    DVT_EQ_I64(DVT_RESULT_I64(f, 30.0), 777002);
    dv_release(f);
    dv_close(c);
    dvt_peer_close(&p);
}

/* The other DROVE_HOME: a profile made by `drove profile create`. */
static int
s_make_foreign(void)
{
    char home[600];
    snprintf(s_foreign, sizeof(s_foreign), "%s/foreign", dvt_home());
    snprintf(home, sizeof(home), "DROVE_HOME=%s", s_foreign);
    int status = -1;
    dvt_proc *p = NULL;
    if (mkdir(s_foreign, 0700) == 0) {
        p = s_spawn("foreign-profile", home, "profile", "create", NULL);
    }
    if (p == NULL || dvt_proc_wait(p, 30.0, &status) != 0 || status != 0) {
        fprintf(stderr, "security_test: drove profile create failed\n");
        return -1;
    }
    return 0;
}

int
main(void)
{
    dvt_init(170);
    (void)dvt_funcs_anchor(); /* keeps libdvt_funcs.so linked */
    unsetenv("DROVE_TEST_PLAINTEXT");
    unsetenv("DROVE_PROFILE");
    snprintf(s_marker, sizeof(s_marker), "%s/marker", dvt_home());
    setenv("DVT_MARKER", s_marker, 1); /* every worker started from now */
    if (s_make_foreign() != 0 || s_cluster_start(&s_main, false) != 0) {
        return dvt_finish(1);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_foreign_client_refused),
        cmocka_unit_test(test_foreign_upload_loads_nothing),
        cmocka_unit_test(test_foreign_worker_refused),
        cmocka_unit_test(test_foreign_peer_gets_no_result),
        cmocka_unit_test(test_control_own_upload_loads),
        cmocka_unit_test(test_plain_upload_refused),
        cmocka_unit_test(test_plain_fake_worker_refused),
        cmocka_unit_test(test_client_cert_as_worker_refused),
        cmocka_unit_test(test_tap_sees_no_argument_under_tls),
        cmocka_unit_test_setup_teardown(test_tap_sees_argument_in_plaintext,
                                        s_plain_setup, s_plain_teardown),
        cmocka_unit_test(test_restart_keeps_port_and_certificates),
        cmocka_unit_test(test_junk_on_every_port),
        cmocka_unit_test(test_forged_library_hash_refused),
        cmocka_unit_test(test_forged_pure_key_refused),
    };
    int failed = cmocka_run_group_tests_name("security", tests, NULL, NULL);
    return dvt_finish(failed);
}
