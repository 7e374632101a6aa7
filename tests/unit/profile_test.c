/* drove — unit: dvi_profile, a named cluster's files in
 * $DROVE_HOME/profile_NAME.
 *
 * What the daemons, clients and `drove profile` rely on: a profile's name
 * and home come from the argument, $DROVE_PROFILE and $DROVE_HOME (or
 * ~/.drove), and a bad name is refused with the reason; ensure makes every
 * file 0600 in directories 0700 and, called again, keeps them byte for
 * byte (the same CA: workers and clients keep working across restarts),
 * also when several processes make the profile at once; each role's
 * credentials are there or the error names the profile; the connection
 * file comes back as written, and a damaged one is refused naming the
 * file and what is wrong; a second scheduler is refused the lock with the
 * first one's pid, and dvi_profile_running sees the holder without taking
 * the lock; export copies what a worker or a client needs and never the
 * CA's key, and refuses to overwrite a scheduler's profile.
 */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/err.h"
#include "common/profile.h"
#include "dvtest.h"

static char s_dir[64]; /* this test's temporary directory: DROVE_HOME */

static const char *const s_files[] = {
    "ca.pem",     "ca.key",     "scheduler.pem", "scheduler.key",
    "worker.pem", "worker.key", "client.pem",    "client.key",
};
#define S_NFILES (sizeof(s_files) / sizeof(s_files[0]))

static int
s_setup(void **state)
{
    snprintf(s_dir, sizeof(s_dir), "/tmp/dvprof-XXXXXX");
    if (mkdtemp(s_dir) == NULL) {
        return -1;
    }
    setenv("DROVE_HOME", s_dir, 1);
    unsetenv("DROVE_PROFILE");
    return 0;
}

static int
s_teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s_dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* The profile name under DROVE_HOME = s_dir. */
static void
s_init(dvi_profile *p, const char *name)
{
    setenv("DROVE_HOME", s_dir, 1);
    DVT_PASS(dvi_profile_init(p, name));
}

static int
s_mode(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        DVT_FAIL("%s: %s", path, strerror(errno));
    }
    return (int)(st.st_mode & 07777);
}

static int
s_present(const dvi_profile *p, const char *file)
{
    char path[PATH_MAX];
    dvi_profile_path(p, file, path, sizeof(path));
    return access(path, F_OK) == 0;
}

/* The bytes of a file of the profile (NUL-terminated). Caller frees. */
static char *
s_slurp(const dvi_profile *p, const char *file)
{
    char path[PATH_MAX];
    dvi_profile_path(p, file, path, sizeof(path));
    char *text = dvt_read_file(path);
    if (text == NULL) {
        DVT_FAIL("cannot read %s", path);
    }
    return text;
}

static void
s_write(const dvi_profile *p, const char *file, const char *text)
{
    char path[PATH_MAX];
    dvi_profile_path(p, file, path, sizeof(path));
    FILE *f = fopen(path, "w");
    DVT_TRUE(f != NULL);
    fputs(text, f);
    fclose(f);
}

/* Asserts that role's certificate in p is signed by p's CA. */
static void
s_signed_by_ca(const dvi_profile *p, int role)
{
    dvi_pki_cert *ca = DVT_NOTNULL(dvi_profile_ca(p));
    dvi_pki_cert *c = DVT_NOTNULL(dvi_profile_cert(p, role));
    EVP_PKEY *pub = X509_get0_pubkey(dvi_pki_cert_x509(ca));
    DVT_EQ_I64(X509_verify(dvi_pki_cert_x509(c), pub), 1);
    dvi_pki_cert_destroy(&c);
    dvi_pki_cert_destroy(&ca);
}

/* ---- Names -------------------------------------------------------------- */

static void
test_init_names(void **state)
{
    dvi_profile p;
    char want[PATH_MAX];
    s_init(&p, NULL);
    DVT_EQ_STR(p.name, "default");
    DVT_EQ_STR(p.home, s_dir);
    snprintf(want, sizeof(want), "%s/profile_default", s_dir);
    DVT_EQ_STR(p.dir, want);
    DVT_TRUE(!dvi_profile_exists(&p)); /* init creates nothing */

    setenv("DROVE_PROFILE", "from-env", 1);
    s_init(&p, NULL);
    DVT_EQ_STR(p.name, "from-env");
    s_init(&p, "");
    DVT_EQ_STR(p.name, "from-env");
    s_init(&p, "given_1.x"); /* the argument wins */
    DVT_EQ_STR(p.name, "given_1.x");
    unsetenv("DROVE_PROFILE");

    /* No DROVE_HOME: ~/.drove. */
    char *home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
    unsetenv("DROVE_HOME");
    setenv("HOME", "/somewhere/u", 1);
    DVT_PASS(dvi_profile_init(&p, "a"));
    DVT_EQ_STR(p.home, "/somewhere/u/.drove");
    DVT_EQ_STR(p.dir, "/somewhere/u/.drove/profile_a");
    if (home) {
        setenv("HOME", home, 1);
        free(home);
    }
    setenv("DROVE_HOME", s_dir, 1);

    char longest[DVI_PROFILE_NAME_MAX];
    memset(longest, 'n', sizeof(longest) - 1);
    longest[sizeof(longest) - 1] = '\0';
    s_init(&p, longest);
    DVT_EQ_STR(p.name, longest);
}

static void
test_init_bad_names(void **state)
{
    char toolong[DVI_PROFILE_NAME_MAX + 1];
    memset(toolong, 'n', sizeof(toolong) - 1);
    toolong[sizeof(toolong) - 1] = '\0';
    const char *bad[] = {"a/b", "..",          ".hidden", "a b", "../etc",
                         "x;y", "caf\xc3\xa9", "tab\t",   "a*",  toolong};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        dvi_profile p;
        DVT_FAILS_WITH(DV_EINVAL, dvi_profile_init(&p, bad[i]));
        DVT_CONTAINS(dv_last_error(), "bad profile name");
        DVT_CONTAINS(dv_last_error(), bad[i]);
        DVT_CONTAINS(dv_last_error(), "letters, digits");
    }
    /* A bad $DROVE_PROFILE is named the same way. */
    dvi_profile p;
    setenv("DROVE_PROFILE", "no/slash", 1);
    DVT_FAILS_WITH(DV_EINVAL, dvi_profile_init(&p, NULL));
    DVT_CONTAINS(dv_last_error(), "'no/slash'");
    unsetenv("DROVE_PROFILE");

    /* A home that does not fit is refused, not cut short. */
    char huge[2048];
    memset(huge, 'h', sizeof(huge) - 1);
    huge[0] = '/';
    huge[sizeof(huge) - 1] = '\0';
    setenv("DROVE_HOME", huge, 1);
    DVT_FAILS_WITH(DV_EINVAL, dvi_profile_init(&p, "a"));
    DVT_CONTAINS(dv_last_error(), "longer than");
    setenv("DROVE_HOME", s_dir, 1);
}

/* ---- ensure ------------------------------------------------------------- */

static void
test_ensure_modes_and_reuse(void **state)
{
    dvi_profile p;
    s_init(&p, "modes");
    mode_t old = umask(0); /* the modes must not depend on the umask */
    DVT_PASS(dvi_profile_ensure(&p, NULL, 0));
    umask(old);
    DVT_TRUE(dvi_profile_exists(&p));
    DVT_EQ_I64(s_mode(p.dir), 0700);
    char path[PATH_MAX];
    dvi_profile_path(&p, "logs", path, sizeof(path));
    DVT_EQ_I64(s_mode(path), 0700);
    char *before[S_NFILES];
    for (size_t i = 0; i < S_NFILES; i++) {
        dvi_profile_path(&p, s_files[i], path, sizeof(path));
        DVT_EQ_I64(s_mode(path), 0600);
        before[i] = s_slurp(&p, s_files[i]);
    }
    for (int role = DVI_PKI_ROLE_SCHEDULER; role <= DVI_PKI_ROLE_CLIENT;
         role++) {
        s_signed_by_ca(&p, role);
    }

    /* Again (a restarted scheduler): the same CA and certificates. */
    DVT_PASS(dvi_profile_ensure(&p, NULL, 0));
    for (size_t i = 0; i < S_NFILES; i++) {
        char *after = s_slurp(&p, s_files[i]);
        DVT_EQ_STR(after, before[i]);
        free(after);
    }

    /* A lost role certificate is issued again by the same CA. */
    dvi_profile_path(&p, "worker.pem", path, sizeof(path));
    DVT_EQ_I64(unlink(path), 0);
    DVT_PASS(dvi_profile_ensure(&p, NULL, 0));
    char *ca = s_slurp(&p, "ca.pem");
    DVT_EQ_STR(ca, before[0]);
    free(ca);
    s_signed_by_ca(&p, DVI_PKI_ROLE_WORKER);
    for (size_t i = 0; i < S_NFILES; i++) {
        free(before[i]);
    }
}

/* A lost CA certificate: a new CA, and every role issued again by it (the
 * old ones would be signed by a CA nobody has). */
static void
test_ensure_lost_ca(void **state)
{
    dvi_profile p;
    s_init(&p, "lostca");
    DVT_PASS(dvi_profile_ensure(&p, NULL, 0));
    char *old_sched = s_slurp(&p, "scheduler.pem");
    char path[PATH_MAX];
    dvi_profile_path(&p, "ca.pem", path, sizeof(path));
    DVT_EQ_I64(unlink(path), 0);
    DVT_PASS(dvi_profile_ensure(&p, NULL, 0));
    char *new_sched = s_slurp(&p, "scheduler.pem");
    DVT_NE_STR(new_sched, old_sched);
    for (int role = DVI_PKI_ROLE_SCHEDULER; role <= DVI_PKI_ROLE_CLIENT;
         role++) {
        s_signed_by_ca(&p, role);
    }
    free(old_sched);
    free(new_sched);
}

static void
test_ensure_hosts(void **state)
{
    dvi_profile p;
    s_init(&p, "hosts");
    const char *hosts[] = {"node7.example", "10.1.2.3", "fd00::7"};
    DVT_PASS(dvi_profile_ensure(&p, hosts, 3));
    dvi_pki_cert *s = DVT_NOTNULL(dvi_profile_cert(&p, DVI_PKI_ROLE_SCHEDULER));
    X509 *x = dvi_pki_cert_x509(s);
    DVT_EQ_I64(X509_check_host(x, "node7.example", 0, 0, NULL), 1);
    DVT_EQ_I64(X509_check_ip_asc(x, "10.1.2.3", 0), 1);
    DVT_EQ_I64(X509_check_ip_asc(x, "fd00::7", 0), 1);
    DVT_EQ_I64(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
    DVT_TRUE(X509_check_host(x, "other.example", 0, 0, NULL) != 1);
    dvi_pki_cert_destroy(&s);
    DVT_EQ_I64(dvi_profile_names_host(&p, "node7.example"), 1);
    DVT_EQ_I64(dvi_profile_names_host(&p, "fd00::7"), 1);
    DVT_EQ_I64(dvi_profile_names_host(&p, "localhost"), 1);
    DVT_EQ_I64(dvi_profile_names_host(&p, "other.example"), 0);
    DVT_EQ_I64(dvi_profile_names_host(&p, "10.1.2.4"), 0);
    /* Kept as it is by a later ensure with other hosts. */
    const char *more[] = {"other.example"};
    DVT_PASS(dvi_profile_ensure(&p, more, 1));
    DVT_EQ_I64(dvi_profile_names_host(&p, "other.example"), 0);
    char cert[PATH_MAX], key[PATH_MAX], want[PATH_MAX];
    dvi_profile_role_paths(&p, DVI_PKI_ROLE_WORKER, cert, key, sizeof(cert));
    snprintf(want, sizeof(want), "%s/worker.pem", p.dir);
    DVT_EQ_STR(cert, want);
    snprintf(want, sizeof(want), "%s/worker.key", p.dir);
    DVT_EQ_STR(key, want);

    /* A bad host is refused before anything is made. */
    dvi_profile q;
    s_init(&q, "badhost");
    const char *bad[] = {"fine.example", "not a host!"};
    DVT_FAILS_WITH(DV_EINVAL, dvi_profile_ensure(&q, bad, 2));
    DVT_CONTAINS(dv_last_error(), "'not a host!'");
    DVT_TRUE(!dvi_profile_exists(&q));
    DVT_FAILS_WITH(DV_EAUTH, dvi_profile_names_host(&q, "localhost"));
    DVT_CONTAINS(dv_last_error(), "profile 'badhost'");
    DVT_TRUE(dvi_profile_host_ok("localhost"));
    DVT_TRUE(dvi_profile_host_ok("::1"));
    DVT_TRUE(!dvi_profile_host_ok(""));
    DVT_TRUE(!dvi_profile_host_ok("a/b"));
}

/* Several processes making one fresh profile at once (a scheduler and
 * workers started together) end with one CA that signed every role. */
static void
test_ensure_concurrent(void **state)
{
    dvi_profile p;
    s_init(&p, "race");
    enum { N = 4 };
    pid_t kids[N];
    for (int i = 0; i < N; i++) {
        kids[i] = fork();
        DVT_TRUE(kids[i] >= 0);
        if (kids[i] == 0) {
            _exit(dvi_profile_ensure(&p, NULL, 0) == 0 ? 0 : 1);
        }
    }
    for (int i = 0; i < N; i++) {
        int st = 0;
        DVT_EQ_I64(waitpid(kids[i], &st, 0), kids[i]);
        DVT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    for (int role = DVI_PKI_ROLE_SCHEDULER; role <= DVI_PKI_ROLE_CLIENT;
         role++) {
        s_signed_by_ca(&p, role);
    }
}

static void
test_ensure_io_error(void **state)
{
    /* DROVE_HOME below a regular file: nothing can be made there. */
    char file[256], home[512];
    snprintf(file, sizeof(file), "%s/plainfile", s_dir);
    FILE *f = fopen(file, "w");
    DVT_TRUE(f != NULL);
    fclose(f);
    snprintf(home, sizeof(home), "%s/sub", file);
    setenv("DROVE_HOME", home, 1);
    dvi_profile p;
    DVT_PASS(dvi_profile_init(&p, "x"));
    DVT_FAILS_WITH(DV_EIO, dvi_profile_ensure(&p, NULL, 0));
    DVT_CONTAINS(dv_last_error(), home);
    setenv("DROVE_HOME", s_dir, 1);
}

/* ---- Credentials -------------------------------------------------------- */

static void
test_has_and_cert(void **state)
{
    dvi_profile p;
    s_init(&p, "creds");
    for (int role = DVI_PKI_ROLE_SCHEDULER; role <= DVI_PKI_ROLE_CLIENT;
         role++) {
        DVT_TRUE(!dvi_profile_has(&p, role));
        DVT_TRUE(dvi_profile_cert(&p, role) == NULL);
        DVT_EQ_I64(dvi_last_code(), DV_EAUTH);
        DVT_CONTAINS(dv_last_error(), "profile 'creds'");
        DVT_CONTAINS(dv_last_error(), p.dir);
        DVT_CONTAINS(dv_last_error(), dvi_pki_role_name(role));
    }
    DVT_TRUE(dvi_profile_ca(&p) == NULL);
    DVT_EQ_I64(dvi_last_code(), DV_EAUTH);
    DVT_CONTAINS(dv_last_error(), "profile 'creds'");

    DVT_PASS(dvi_profile_ensure(&p, NULL, 0));
    DVT_TRUE(!dvi_profile_has(&p, DVI_PKI_ROLE_NONE));
    DVT_TRUE(!dvi_profile_has(&p, 99));
    for (int role = DVI_PKI_ROLE_SCHEDULER; role <= DVI_PKI_ROLE_CLIENT;
         role++) {
        DVT_TRUE(dvi_profile_has(&p, role));
        dvi_pki_cert *c = DVT_NOTNULL(dvi_profile_cert(&p, role));
        DVT_EQ_I64(dvi_pki_cert_role(c), role);
        DVT_TRUE(dvi_pki_cert_key(c) != NULL);
        dvi_pki_cert_destroy(&c);
    }
    dvi_pki_cert *ca = DVT_NOTNULL(dvi_profile_ca(&p));
    DVT_TRUE(dvi_pki_cert_key(ca) == NULL); /* the CA's key stays unread */
    DVT_EQ_I64(dvi_pki_cert_role(ca), DVI_PKI_ROLE_NONE);
    DVT_CONTAINS(dvi_pki_cert_name(ca), "creds");
    dvi_pki_cert_destroy(&ca);

    /* A key missing: the role has no credentials. */
    char path[PATH_MAX];
    dvi_profile_path(&p, "client.key", path, sizeof(path));
    DVT_EQ_I64(unlink(path), 0);
    DVT_TRUE(!dvi_profile_has(&p, DVI_PKI_ROLE_CLIENT));
    DVT_TRUE(dvi_profile_cert(&p, DVI_PKI_ROLE_CLIENT) == NULL);
    DVT_CONTAINS(dv_last_error(), "no credentials for a client");
}

/* ---- The connection file ------------------------------------------------ */

static void
test_conn_round_trip(void **state)
{
    dvi_profile p;
    s_init(&p, "conn");
    DVT_PASS(dvi_profile_ensure(&p, NULL, 0));
    dvi_profile_conn c = {"tcp://127.0.0.1:7001", "tcp://10.0.0.5:7002", 4242};
    DVT_PASS(dvi_profile_write_conn(&p, &c));
    char path[PATH_MAX];
    dvi_profile_path(&p, DVI_PROFILE_CONN_FILE, path, sizeof(path));
    DVT_EQ_I64(s_mode(path), 0600);

    dvi_profile_conn back;
    memset(&back, 0x55, sizeof(back));
    DVT_PASS(dvi_profile_read_conn(&p, &back));
    DVT_EQ_STR(back.client_addr, c.client_addr);
    DVT_EQ_STR(back.worker_addr, c.worker_addr);
    DVT_EQ_I64(back.pid, 4242);

    /* It carries the CA's certificate, as ca.pem has it. */
    json_error_t err;
    json_t *o = json_load_file(path, 0, &err);
    DVT_TRUE(o != NULL);
    char *ca = s_slurp(&p, "ca.pem");
    DVT_EQ_STR(json_string_value(json_object_get(o, "ca_certificate")), ca);
    DVT_EQ_STR(json_string_value(json_object_get(o, "profile")), "conn");
    free(ca);
    json_decref(o);

    /* Written again: replaced whole, no temporary file left. */
    snprintf(c.client_addr, sizeof(c.client_addr), "tcp://127.0.0.1:7003");
    DVT_PASS(dvi_profile_write_conn(&p, &c));
    DVT_PASS(dvi_profile_read_conn(&p, &back));
    DVT_EQ_STR(back.client_addr, "tcp://127.0.0.1:7003");
    DIR *d = opendir(p.dir);
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        DVT_TRUE(strstr(e->d_name, ".tmp") == NULL);
    }
    closedir(d);
}

static void
test_conn_missing(void **state)
{
    dvi_profile p;
    s_init(&p, "noconn");
    DVT_PASS(dvi_profile_ensure(&p, NULL, 0));
    dvi_profile_conn c;
    DVT_FAILS_WITH(DV_ENOTFOUND, dvi_profile_read_conn(&p, &c));
    DVT_CONTAINS(dv_last_error(), "profile 'noconn'");
    DVT_CONTAINS(dv_last_error(), DVI_PROFILE_CONN_FILE);
}

static void
test_conn_damaged(void **state)
{
    dvi_profile p;
    s_init(&p, "damaged");
    DVT_PASS(dvi_profile_ensure(&p, NULL, 0));
    char path[PATH_MAX];
    dvi_profile_path(&p, DVI_PROFILE_CONN_FILE, path, sizeof(path));
    char longaddr[400];
    memset(longaddr, 'a', sizeof(longaddr) - 1);
    longaddr[sizeof(longaddr) - 1] = '\0';
    char longtext[600];
    snprintf(longtext, sizeof(longtext),
             "{\"client_address\": \"%s\", \"worker_address\": \"w\"}",
             longaddr);
    const struct {
        const char *text, *says;
    } cases[] = {
        {"", "not a drove connection file"},
        {"not json {", "not a drove connection file"},
        {"{\"client_address\": \"tcp://127.0.0.1:1\", \"worker_addr",
         "not a drove connection file"},
        {"[1, 2]", "not a JSON object"},
        {"{}", "client_address is missing"},
        {"{\"client_address\": \"tcp://127.0.0.1:1\"}",
         "worker_address is missing"},
        {"{\"client_address\": 7, \"worker_address\": \"w\"}",
         "client_address is not a string"},
        {"{\"client_address\": \"\", \"worker_address\": \"w\"}", "empty"},
        {longtext, "client_address is longer than 255"},
        {"{\"client_address\": \"c\", \"worker_address\": \"w\", \"pid\": "
         "\"x\"}",
         "pid is not"},
        {"{\"client_address\": \"c\", \"client_address\": \"d\", "
         "\"worker_address\": \"w\"}",
         "duplicate"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        s_write(&p, DVI_PROFILE_CONN_FILE, cases[i].text);
        dvi_profile_conn c;
        memset(&c, 0x55, sizeof(c));
        int rc = dvi_profile_read_conn(&p, &c);
        if (rc != DV_EINVAL) {
            DVT_FAIL("case %zu: rc %d, want DV_EINVAL (%s)", i, rc,
                     dv_last_error());
        }
        DVT_CONTAINS(dv_last_error(), path);
        DVT_CONTAINS(dv_last_error(), cases[i].says);
        DVT_EQ_I64(c.client_addr[0], 0);
        DVT_EQ_I64(c.pid, 0);
    }

    /* Far too big to be one: refused without being parsed. */
    size_t big = 1 << 20;
    char *text = malloc(big + 1);
    memset(text, ' ', big);
    text[big] = '\0';
    s_write(&p, DVI_PROFILE_CONN_FILE, text);
    free(text);
    dvi_profile_conn c;
    DVT_FAILS_WITH(DV_EINVAL, dvi_profile_read_conn(&p, &c));
    DVT_CONTAINS(dv_last_error(), path);
    DVT_CONTAINS(dv_last_error(), "at most");

    /* A directory in its place. */
    DVT_EQ_I64(unlink(path), 0);
    DVT_EQ_I64(mkdir(path, 0700), 0);
    DVT_FAILS_WITH(DV_EINVAL, dvi_profile_read_conn(&p, &c));
    DVT_CONTAINS(dv_last_error(), path);
    DVT_EQ_I64(rmdir(path), 0);
}

/* ---- The scheduler's lock ----------------------------------------------- */

/* A child that takes p's lock, says so on ready[1], and holds it until
 * hold[0] reads end of file. */
static pid_t
s_lock_holder(const dvi_profile *p, int ready[2], int hold[2])
{
    DVT_EQ_I64(pipe(ready), 0);
    DVT_EQ_I64(pipe(hold), 0);
    pid_t pid = fork();
    DVT_TRUE(pid >= 0);
    if (pid == 0) {
        close(ready[0]);
        close(hold[1]);
        int fd = dvi_profile_lock(p);
        char ok = fd >= 0 ? 'y' : 'n';
        if (write(ready[1], &ok, 1) != 1) {
            _exit(2);
        }
        char b;
        while (read(hold[0], &b, 1) > 0) {
        }
        _exit(fd >= 0 ? 0 : 1);
    }
    close(ready[1]);
    close(hold[0]);
    char ok = 0;
    DVT_EQ_I64(read(ready[0], &ok, 1), 1);
    DVT_EQ_I64(ok, 'y');
    close(ready[0]);
    return pid;
}

static void
test_lock(void **state)
{
    dvi_profile p;
    s_init(&p, "locked");
    int pid = -1;
    DVT_EQ_I64(dvi_profile_running(&p, &pid), 0); /* no lock file at all */
    DVT_EQ_I64(pid, 0);
    DVT_PASS(dvi_profile_ensure(&p, NULL, 0));
    dvi_profile_conn c = {"tcp://127.0.0.1:7010", "tcp://127.0.0.1:7010", 0};
    DVT_PASS(dvi_profile_write_conn(&p, &c));

    int ready[2], hold[2];
    pid_t kid = s_lock_holder(&p, ready, hold);
    DVT_EQ_I64(dvi_profile_running(&p, &pid), 1);
    DVT_EQ_I64(pid, kid);
    DVT_EQ_I64(dvi_profile_running(&p, NULL), 1);
    DVT_FAILS_WITH(DV_EINVAL, dvi_profile_lock(&p));
    char want[64];
    snprintf(want, sizeof(want), "(pid %d, at tcp://127.0.0.1:7010)", (int)kid);
    DVT_CONTAINS(dv_last_error(), want);
    DVT_CONTAINS(dv_last_error(), "profile 'locked'");
    DVT_CONTAINS(dv_last_error(), "running already");
    /* Testing did not take the lock from the holder. */
    DVT_EQ_I64(dvi_profile_running(&p, &pid), 1);

    close(hold[1]); /* the holder exits, and the kernel drops its lock */
    int st = 0;
    DVT_EQ_I64(waitpid(kid, &st, 0), kid);
    DVT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    DVT_EQ_I64(dvi_profile_running(&p, &pid), 0); /* its pid is stale */
    DVT_EQ_I64(pid, 0);

    int fd = dvi_profile_lock(&p);
    DVT_PASS(fd);
    DVT_EQ_I64(dvi_profile_running(&p, &pid), 1);
    DVT_EQ_I64(pid, getpid());
    char path[PATH_MAX];
    dvi_profile_path(&p, "scheduler.lock", path, sizeof(path));
    DVT_EQ_I64(s_mode(path), 0600);
    dvi_profile_unlock(fd);
    DVT_EQ_I64(dvi_profile_running(&p, &pid), 0);
    dvi_profile_unlock(-1); /* accepted */
}

/* ---- Export ------------------------------------------------------------- */

/* Exports p for role (client or not) to a fresh directory under s_dir
 * and checks what is there: the role's files, the CA's certificate, the
 * connection file, and nothing else. */
static void
s_check_export(const dvi_profile *p, int client, const char *dest)
{
    DVT_PASS(dvi_profile_export(p, dest, client));
    setenv("DROVE_HOME", dest, 1);
    dvi_profile e;
    DVT_PASS(dvi_profile_init(&e, p->name));
    setenv("DROVE_HOME", s_dir, 1);
    DVT_EQ_I64(s_mode(e.dir), 0700);
    const char *role = client ? "client" : "worker";
    const char *other = client ? "worker" : "client";
    for (size_t i = 0; i < S_NFILES; i++) {
        const char *f = s_files[i];
        int want = strcmp(f, "ca.pem") == 0 || strncmp(f, role, 6) == 0;
        if (s_present(&e, f) != want) {
            DVT_FAIL("export for a %s: %s is %s", role, f,
                     want ? "missing" : "there");
        }
        if (want) {
            char path[PATH_MAX];
            dvi_profile_path(&e, f, path, sizeof(path));
            DVT_EQ_I64(s_mode(path), 0600);
            char *a = s_slurp(p, f), *b = s_slurp(&e, f);
            DVT_EQ_STR(b, a);
            free(a);
            free(b);
        }
    }
    DVT_TRUE(!s_present(&e, "ca.key")); /* never */
    int r = client ? DVI_PKI_ROLE_CLIENT : DVI_PKI_ROLE_WORKER;
    int o = client ? DVI_PKI_ROLE_WORKER : DVI_PKI_ROLE_CLIENT;
    DVT_TRUE(dvi_profile_has(&e, r));
    DVT_TRUE(!dvi_profile_has(&e, o));
    DVT_TRUE(!dvi_profile_has(&e, DVI_PKI_ROLE_SCHEDULER));
    dvi_pki_cert *c = DVT_NOTNULL(dvi_profile_cert(&e, r));
    dvi_pki_cert_destroy(&c);
    DVT_TRUE(dvi_profile_cert(&e, o) == NULL);
    DVT_CONTAINS(dv_last_error(), other);
    dvi_profile_conn conn;
    DVT_PASS(dvi_profile_read_conn(&e, &conn));
    DVT_EQ_STR(conn.worker_addr, "tcp://10.0.0.9:7020");

    /* It cannot be made a scheduler's: no CA key to issue with. */
    DVT_FAILS_WITH(DV_ENOTFOUND, dvi_profile_ensure(&e, NULL, 0));
    DVT_CONTAINS(dv_last_error(), "ca.key");
    DVT_TRUE(!s_present(&e, "ca.key"));
    DVT_TRUE(!s_present(&e, "scheduler.pem"));
}

static void
test_export(void **state)
{
    dvi_profile p;
    s_init(&p, "exp");
    DVT_PASS(dvi_profile_ensure(&p, NULL, 0));
    dvi_profile_conn c = {"tcp://10.0.0.9:7020", "tcp://10.0.0.9:7020", 0};
    DVT_PASS(dvi_profile_write_conn(&p, &c));
    char dest[PATH_MAX];
    snprintf(dest, sizeof(dest), "%s/for-worker", s_dir);
    s_check_export(&p, 0, dest);
    snprintf(dest, sizeof(dest), "%s/for-client", s_dir);
    s_check_export(&p, 1, dest);
    /* Exported again over the first: replaced, still without ca.key. */
    snprintf(dest, sizeof(dest), "%s/for-worker", s_dir);
    s_check_export(&p, 0, dest);
}

static void
test_export_refused(void **state)
{
    dvi_profile p;
    s_init(&p, "refuse");
    char dest[PATH_MAX];
    snprintf(dest, sizeof(dest), "%s/out", s_dir);
    /* Nothing to export yet. */
    DVT_FAILS_WITH(DV_ENOTFOUND, dvi_profile_export(&p, dest, 0));
    DVT_CONTAINS(dv_last_error(), "no worker credentials");
    DVT_CONTAINS(dv_last_error(), "profile 'refuse'");

    /* No connection file yet: the rest goes, the address comes later. */
    DVT_PASS(dvi_profile_ensure(&p, NULL, 0));
    DVT_PASS(dvi_profile_export(&p, dest, 1));
    setenv("DROVE_HOME", dest, 1);
    dvi_profile e;
    DVT_PASS(dvi_profile_init(&e, "refuse"));
    setenv("DROVE_HOME", s_dir, 1);
    DVT_TRUE(dvi_profile_has(&e, DVI_PKI_ROLE_CLIENT));
    DVT_TRUE(!s_present(&e, DVI_PROFILE_CONN_FILE));

    /* Into its own home. */
    DVT_FAILS_WITH(DV_EINVAL, dvi_profile_export(&p, s_dir, 0));
    DVT_CONTAINS(dv_last_error(), "its own");

    /* Over another scheduler's profile of the same name. */
    char other[PATH_MAX];
    snprintf(other, sizeof(other), "%s/other", s_dir);
    setenv("DROVE_HOME", other, 1);
    dvi_profile q;
    DVT_PASS(dvi_profile_init(&q, "refuse"));
    DVT_PASS(dvi_profile_ensure(&q, NULL, 0));
    setenv("DROVE_HOME", s_dir, 1);
    char *ca = s_slurp(&q, "ca.pem");
    DVT_FAILS_WITH(DV_EINVAL, dvi_profile_export(&p, other, 0));
    DVT_CONTAINS(dv_last_error(), "ca.key");
    DVT_CONTAINS(dv_last_error(), q.dir);
    char *still = s_slurp(&q, "ca.pem");
    DVT_EQ_STR(still, ca);
    free(ca);
    free(still);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_names),
        cmocka_unit_test(test_init_bad_names),
        cmocka_unit_test(test_ensure_modes_and_reuse),
        cmocka_unit_test(test_ensure_lost_ca),
        cmocka_unit_test(test_ensure_hosts),
        cmocka_unit_test(test_ensure_concurrent),
        cmocka_unit_test(test_ensure_io_error),
        cmocka_unit_test(test_has_and_cert),
        cmocka_unit_test(test_conn_round_trip),
        cmocka_unit_test(test_conn_missing),
        cmocka_unit_test(test_conn_damaged),
        cmocka_unit_test(test_lock),
        cmocka_unit_test(test_export),
        cmocka_unit_test(test_export_refused),
    };
    return cmocka_run_group_tests_name("profile", tests, s_setup, s_teardown);
}
