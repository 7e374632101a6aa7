/* dvi_profile: a profile's directory, its certificates, its connection
 * file (JSON, through jansson) and the scheduler's lock.
 *
 * Two processes may make a profile at once (a scheduler and a worker
 * started together on a fresh DROVE_HOME): dvi_profile_ensure holds an
 * flock on the profile's directory while it looks and writes, so that
 * every certificate ends up signed by the one CA that stays.
 *
 * The scheduler's lock is an flock on scheduler.lock, which the kernel
 * drops when the scheduler dies however it dies; the pid written inside
 * is only for messages. dvi_profile_running tests the lock with a shared
 * flock taken for an instant, so a scheduler starting at that instant
 * tries its exclusive one again for a few milliseconds before it gives
 * up. */
#include "profile.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "drove.h"
#include "err.h"
#include "file.h"

/* The connection file holds two addresses and a CA certificate (under a
 * kilobyte): anything much bigger is not one, and is refused unread. */
#define S_CONN_MAX (64 * 1024)
/* How long a scheduler retries a lock held for an instant by a reader
 * (dvi_profile_running): S_LOCK_TRIES times S_LOCK_WAIT_US. */
#define S_LOCK_TRIES 20
#define S_LOCK_WAIT_US 5000

static const char *const s_role_files[] = {
    [DVI_PKI_ROLE_SCHEDULER] = "scheduler",
    [DVI_PKI_ROLE_WORKER] = "worker",
    [DVI_PKI_ROLE_CLIENT] = "client",
};

static int
s_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n >= DVI_PROFILE_NAME_MAX) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')) {
            return 0;
        }
    }
    return name[0] != '.';
}

int
dvi_profile_home(char *out, size_t size)
{
    const char *home = getenv("DROVE_HOME");
    int n;
    if (home != NULL && home[0] != '\0') {
        n = snprintf(out, size, "%s", home);
    } else {
        const char *h = getenv("HOME");
        n = snprintf(out, size, "%s/.drove", h && h[0] ? h : ".");
    }
    if (n < 0 || (size_t)n >= size) {
        return dvi_seterr(DV_EINVAL,
                          "DROVE_HOME '%.40s...' is longer than %zu bytes", out,
                          size - 1);
    }
    return 0;
}

int
dvi_profile_init(dvi_profile *p, const char *name)
{
    memset(p, 0, sizeof(*p));
    if (name == NULL || name[0] == '\0') {
        name = getenv("DROVE_PROFILE");
    }
    if (name == NULL || name[0] == '\0') {
        name = "default";
    }
    if (!s_name_ok(name)) {
        return dvi_seterr(DV_EINVAL,
                          "bad profile name '%s' (letters, digits, '.', '_' "
                          "and '-', not starting with '.', at most %d)",
                          name, DVI_PROFILE_NAME_MAX - 1);
    }
    int rc = dvi_profile_home(p->home, sizeof(p->home));
    if (rc < 0) {
        return rc;
    }
    snprintf(p->name, sizeof(p->name), "%s", name);
    snprintf(p->dir, sizeof(p->dir), "%s/profile_%s", p->home, name);
    return 0;
}

void
dvi_profile_path(const dvi_profile *p, const char *file, char *out, size_t size)
{
    snprintf(out, size, "%s/%s", p->dir, file);
}

int
dvi_profile_exists(const dvi_profile *p)
{
    struct stat st;
    return stat(p->dir, &st) == 0 && S_ISDIR(st.st_mode);
}

int
dvi_profile_host_ok(const char *host)
{
    unsigned char addr[16];
    if (inet_pton(AF_INET, host, addr) == 1 ||
        inet_pton(AF_INET6, host, addr) == 1) {
        return 1;
    }
    /* A DNS name as pki.c takes one. */
    size_t n = strlen(host);
    if (n == 0 || n > 253) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        char c = host[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_')) {
            return 0;
        }
    }
    return 1;
}

static int
s_exists(const dvi_profile *p, const char *file)
{
    char path[PATH_MAX];
    dvi_profile_path(p, file, path, sizeof(path));
    return access(path, R_OK) == 0;
}

void
dvi_profile_role_paths(const dvi_profile *p, int role, char *cert, char *key,
                       size_t size)
{
    char name[32];
    snprintf(name, sizeof(name), "%s.pem", s_role_files[role]);
    dvi_profile_path(p, name, cert, size);
    snprintf(name, sizeof(name), "%s.key", s_role_files[role]);
    dvi_profile_path(p, name, key, size);
}

static int
s_mkdirs(const dvi_profile *p)
{
    if (mkdir(p->home, 0700) < 0 && errno != EEXIST) {
        return dvi_seterr(DV_EIO, "%s: %s", p->home, strerror(errno));
    }
    if (mkdir(p->dir, 0700) < 0 && errno != EEXIST) {
        return dvi_seterr(DV_EIO, "%s: %s", p->dir, strerror(errno));
    }
    char logs[PATH_MAX];
    dvi_profile_path(p, "logs", logs, sizeof(logs));
    if (mkdir(logs, 0700) < 0 && errno != EEXIST) {
        return dvi_seterr(DV_EIO, "%s: %s", logs, strerror(errno));
    }
    return 0;
}

/* A new CA for the profile, saved. */
static dvi_pki_cert *
s_ca_new(const dvi_profile *p)
{
    char cert[PATH_MAX], key[PATH_MAX], name[128];
    dvi_profile_path(p, "ca.pem", cert, sizeof(cert));
    dvi_profile_path(p, "ca.key", key, sizeof(key));
    snprintf(name, sizeof(name), "drove profile %s", p->name);
    dvi_pki_cert *ca = dvi_pki_ca_new(name, 0);
    if (ca != NULL && dvi_pki_save(ca, cert, key) < 0) {
        dvi_pki_cert_destroy(&ca);
    }
    return ca;
}

/* The profile's CA with its key, which an exported profile lacks. */
static dvi_pki_cert *
s_ca_load(const dvi_profile *p)
{
    char cert[PATH_MAX], key[PATH_MAX];
    dvi_profile_path(p, "ca.pem", cert, sizeof(cert));
    dvi_profile_path(p, "ca.key", key, sizeof(key));
    if (access(key, F_OK) != 0) {
        dvi_seterr(DV_ENOTFOUND,
                   "profile '%s' (%s) has the CA's certificate but not its "
                   "key (ca.key): it holds what `drove profile export` "
                   "copies for a worker or a client, and cannot issue "
                   "certificates; make them where ca.key is",
                   p->name, p->dir);
        return NULL;
    }
    return dvi_pki_load(cert, key);
}

/* Takes an exclusive flock on the profile's directory, waiting for it.
 * Returns the descriptor to close, or a DV_E* code. */
static int
s_hold_dir(const dvi_profile *p)
{
    int fd = open(p->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return dvi_seterr(DV_EIO, "%s: %s", p->dir, strerror(errno));
    }
    while (flock(fd, LOCK_EX) < 0) {
        if (errno != EINTR) {
            int e = errno;
            close(fd);
            return dvi_seterr(DV_EIO, "%s: cannot lock: %s", p->dir,
                              strerror(e));
        }
    }
    return fd;
}

/* ensure's work, under the directory's lock. A CA made here replaces one
 * whose certificate was lost, so every role's certificate is issued again:
 * those that exist were signed by a CA that no longer does. */
static int
s_ensure_held(const dvi_profile *p, const char *const *hosts, size_t n)
{
    dvi_pki_cert *ca = NULL;
    int fresh = !s_exists(p, "ca.pem");
    if (fresh && (ca = s_ca_new(p)) == NULL) {
        return dvi_last_code();
    }
    int rc = 0;
    for (int role = DVI_PKI_ROLE_SCHEDULER;
         rc == 0 && role <= DVI_PKI_ROLE_CLIENT; role++) {
        char cert[PATH_MAX], key[PATH_MAX];
        dvi_profile_role_paths(p, role, cert, key, sizeof(cert));
        if (!fresh && access(cert, R_OK) == 0 && access(key, R_OK) == 0) {
            continue;
        }
        if (ca == NULL && (ca = s_ca_load(p)) == NULL) {
            return dvi_last_code();
        }
        dvi_pki_req req = {.role = role};
        if (role == DVI_PKI_ROLE_SCHEDULER) {
            req.hosts = hosts;
            req.nhosts = n;
        }
        dvi_pki_cert *c = dvi_pki_issue(ca, &req);
        rc = c ? dvi_pki_save(c, cert, key) : dvi_last_code();
        dvi_pki_cert_destroy(&c);
    }
    dvi_pki_cert_destroy(&ca);
    return rc;
}

int
dvi_profile_ensure(const dvi_profile *p, const char *const *hosts, size_t n)
{
    /* Checked before anything is made, so a typo leaves no half profile. */
    for (size_t i = 0; i < n; i++) {
        if (!dvi_profile_host_ok(hosts[i])) {
            return dvi_seterr(DV_EINVAL,
                              "bad host name or address '%s' for the "
                              "scheduler's certificate of profile '%s'",
                              hosts[i], p->name);
        }
    }
    int rc = s_mkdirs(p);
    if (rc < 0) {
        return rc;
    }
    int fd = s_hold_dir(p);
    if (fd < 0) {
        return fd;
    }
    rc = s_ensure_held(p, hosts, n);
    close(fd);
    return rc;
}

int
dvi_profile_has(const dvi_profile *p, int role)
{
    char cert[PATH_MAX], key[PATH_MAX];
    if (role < DVI_PKI_ROLE_SCHEDULER || role > DVI_PKI_ROLE_CLIENT) {
        return 0;
    }
    dvi_profile_role_paths(p, role, cert, key, sizeof(cert));
    return s_exists(p, "ca.pem") && access(cert, R_OK) == 0 &&
           access(key, R_OK) == 0;
}

dvi_pki_cert *
dvi_profile_cert(const dvi_profile *p, int role)
{
    if (!dvi_profile_has(p, role)) {
        dvi_seterr(DV_EAUTH,
                   "no credentials for a %s in profile '%s' (%s): start "
                   "`drove scheduler` with this DROVE_HOME, or copy the "
                   "files `drove profile export` makes",
                   dvi_pki_role_name(role), p->name, p->dir);
        return NULL;
    }
    char cert[PATH_MAX], key[PATH_MAX];
    dvi_profile_role_paths(p, role, cert, key, sizeof(cert));
    return dvi_pki_load(cert, key);
}

dvi_pki_cert *
dvi_profile_ca(const dvi_profile *p)
{
    char cert[PATH_MAX];
    dvi_profile_path(p, "ca.pem", cert, sizeof(cert));
    if (!s_exists(p, "ca.pem")) {
        dvi_seterr(DV_EAUTH, "no certificate authority in profile '%s' (%s)",
                   p->name, p->dir);
        return NULL;
    }
    return dvi_pki_load(cert, NULL);
}

int
dvi_profile_names_host(const dvi_profile *p, const char *host)
{
    dvi_pki_cert *s = dvi_profile_cert(p, DVI_PKI_ROLE_SCHEDULER);
    if (s == NULL) {
        return dvi_last_code();
    }
    X509 *x = dvi_pki_cert_x509(s);
    int named = X509_check_ip_asc(x, host, 0) == 1 ||
                X509_check_host(x, host, 0, 0, NULL) == 1;
    dvi_pki_cert_destroy(&s);
    return named;
}

/* ---- Files -------------------------------------------------------------- */

/* Reads the file at path, at most max bytes, into *out (malloc'ed, with a
 * NUL after the *len bytes). Returns 0, DV_EIO, or DV_ELIMIT for a bigger
 * file, which is not read. */
static int
s_read_file(const char *path, size_t max, char **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        int e = errno;
        if (fd >= 0) {
            close(fd);
        }
        return dvi_seterr(DV_EIO, "%s: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
        close(fd);
        return dvi_seterr(DV_ELIMIT, "%s: not a file of at most %zu bytes",
                          path, max);
    }
    char *buf = dvi_malloc((size_t)st.st_size + 1);
    size_t n = 0;
    while (n < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            int e = r < 0 ? errno : EIO;
            free(buf);
            close(fd);
            return dvi_seterr(DV_EIO, "%s: %s", path,
                              r < 0 ? strerror(e) : "shorter than its size");
        }
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

/* ---- The connection file ------------------------------------------------ */

int
dvi_profile_write_conn(const dvi_profile *p, const dvi_profile_conn *c)
{
    char path[PATH_MAX], *ca = NULL;
    size_t calen = 0;
    dvi_profile_path(p, "ca.pem", path, sizeof(path));
    int rc = s_read_file(path, S_CONN_MAX, &ca, &calen);
    if (rc < 0) {
        return rc;
    }
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:i, s:s%}", "profile", p->name,
                  "client_address", c->client_addr, "worker_address",
                  c->worker_addr, "pid", c->pid, "ca_certificate", ca, calen);
    free(ca);
    char *text = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
    json_decref(o);
    if (text == NULL) {
        return dvi_seterr(DV_ENOMEM, "encoding %s", DVI_PROFILE_CONN_FILE);
    }
    dvi_profile_path(p, DVI_PROFILE_CONN_FILE, path, sizeof(path));
    rc = dvi_write_file(path, text, strlen(text));
    free(text);
    return rc;
}

/* Takes the addresses and pid out of o, the parsed file at path; the
 * reason names the field that is wrong. */
static int
s_conn_unpack(json_t *o, const char *path, dvi_profile_conn *c)
{
    static const char *const names[] = {"client_address", "worker_address"};
    char *const outs[] = {c->client_addr, c->worker_addr};
    if (!json_is_object(o)) {
        return dvi_seterr(DV_EINVAL,
                          "%s: not a drove connection file: not a JSON "
                          "object",
                          path);
    }
    for (int i = 0; i < 2; i++) {
        json_t *v = json_object_get(o, names[i]);
        const char *s = json_string_value(v);
        size_t max = sizeof(c->client_addr) - 1;
        if (s != NULL && s[0] != '\0' && strlen(s) <= max) {
            snprintf(outs[i], max + 1, "%s", s);
            continue;
        }
        char why[64];
        snprintf(why, sizeof(why), "longer than %zu bytes", max);
        return dvi_seterr(DV_EINVAL,
                          "%s: not a drove connection file: %s is %s", path,
                          names[i],
                          v == NULL   ? "missing"
                          : s == NULL ? "not a string"
                          : s[0] == 0 ? "empty"
                                      : why);
    }
    json_t *pid = json_object_get(o, "pid");
    if (pid != NULL && (!json_is_integer(pid) || json_integer_value(pid) < 0 ||
                        json_integer_value(pid) > 0x7fffffff)) {
        return dvi_seterr(DV_EINVAL,
                          "%s: not a drove connection file: pid is not a "
                          "process id",
                          path);
    }
    c->pid = pid ? (int)json_integer_value(pid) : 0;
    return 0;
}

int
dvi_profile_read_conn(const dvi_profile *p, dvi_profile_conn *c)
{
    char path[PATH_MAX];
    memset(c, 0, sizeof(*c));
    dvi_profile_path(p, DVI_PROFILE_CONN_FILE, path, sizeof(path));
    if (access(path, F_OK) != 0) {
        return dvi_seterr(DV_ENOTFOUND,
                          "profile '%s' has no connection file (%s): no "
                          "scheduler ever ran with it",
                          p->name, path);
    }
    char *text;
    size_t len;
    int rc = s_read_file(path, S_CONN_MAX, &text, &len);
    if (rc < 0) {
        return rc == DV_ELIMIT ? dvi_seterr(DV_EINVAL,
                                            "%s: not a drove connection "
                                            "file: %s",
                                            path, dv_last_error())
                               : rc;
    }
    json_error_t err;
    json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
    free(text);
    if (o == NULL) {
        return dvi_seterr(DV_EINVAL,
                          "%s: not a drove connection file: %s (line %d)", path,
                          err.text, err.line);
    }
    rc = s_conn_unpack(o, path, c);
    json_decref(o);
    if (rc < 0) {
        memset(c, 0, sizeof(*c));
    }
    return rc;
}

/* ---- The scheduler's lock ----------------------------------------------- */

/* The pid written in the lock file open at fd, or 0. */
static int
s_lock_pid(int fd)
{
    char buf[32] = "";
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    char *end;
    long pid = strtol(buf, &end, 10);
    return end != buf && pid > 0 && pid <= 0x7fffffff ? (int)pid : 0;
}

int
dvi_profile_lock(const dvi_profile *p)
{
    char path[PATH_MAX];
    int rc = s_mkdirs(p);
    if (rc < 0) {
        return rc;
    }
    dvi_profile_path(p, "scheduler.lock", path, sizeof(path));
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        return dvi_seterr(DV_EIO, "%s: %s", path, strerror(errno));
    }
    for (int tries = 0; flock(fd, LOCK_EX | LOCK_NB) < 0; tries++) {
        int e = errno;
        if (e == EWOULDBLOCK && tries < S_LOCK_TRIES) {
            usleep(S_LOCK_WAIT_US); /* a reader's instant, or a scheduler */
            continue;
        }
        if (e == EINTR) {
            continue;
        }
        int pid = s_lock_pid(fd);
        close(fd);
        if (e != EWOULDBLOCK) {
            return dvi_seterr(DV_EIO, "%s: cannot lock: %s", path, strerror(e));
        }
        dvi_profile_conn c;
        int known = dvi_profile_read_conn(p, &c) == 0;
        char who[32] = "?";
        if (pid > 0) {
            snprintf(who, sizeof(who), "%d", pid);
        }
        return dvi_seterr(DV_EINVAL,
                          "profile '%s' (%s) has a scheduler running already "
                          "(pid %s%s%s)",
                          p->name, p->dir, who, known ? ", at " : "",
                          known ? c.client_addr : "");
    }
    char pid[32];
    int len = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
    if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)len, 0) < 0) {
        /* The lock is what counts; the pid is for messages. */
    }
    return fd;
}

void
dvi_profile_unlock(int fd)
{
    if (fd >= 0) {
        close(fd);
    }
}

int
dvi_profile_running(const dvi_profile *p, int *pid)
{
    char path[PATH_MAX];
    if (pid != NULL) {
        *pid = 0;
    }
    dvi_profile_path(p, "scheduler.lock", path, sizeof(path));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return errno == ENOENT
                   ? 0
                   : dvi_seterr(DV_EIO, "%s: %s", path, strerror(errno));
    }
    int rc;
    while ((rc = flock(fd, LOCK_SH | LOCK_NB)) < 0 && errno == EINTR) {
    }
    if (rc == 0) {
        close(fd); /* and the shared lock with it: nobody holds it */
        return 0;
    }
    if (errno != EWOULDBLOCK) {
        int e = errno;
        close(fd);
        return dvi_seterr(DV_EIO, "%s: cannot test the lock: %s", path,
                          strerror(e));
    }
    if (pid != NULL) {
        *pid = s_lock_pid(fd);
    }
    close(fd);
    return 1;
}

/* ---- Export ------------------------------------------------------------- */

static int
s_copy(const dvi_profile *from, const dvi_profile *to, const char *file)
{
    char src[PATH_MAX], dst[PATH_MAX], *bytes;
    size_t len;
    dvi_profile_path(from, file, src, sizeof(src));
    dvi_profile_path(to, file, dst, sizeof(dst));
    int rc = s_read_file(src, S_CONN_MAX, &bytes, &len);
    if (rc == 0) {
        rc = dvi_write_file(dst, bytes, len);
        free(bytes);
    }
    return rc;
}

/* Refuses a destination that is the profile itself, or a profile of
 * another CA's holder (a scheduler's, whose ca.pem it would replace). */
static int
s_export_dest_ok(const dvi_profile *p, const dvi_profile *to)
{
    char a[PATH_MAX], b[PATH_MAX];
    if (realpath(p->dir, a) != NULL && realpath(to->dir, b) != NULL &&
        strcmp(a, b) == 0) {
        return dvi_seterr(DV_EINVAL,
                          "cannot export profile '%s' into its own "
                          "DROVE_HOME (%s)",
                          p->name, p->home);
    }
    if (s_exists(to, "ca.key")) {
        return dvi_seterr(DV_EINVAL,
                          "%s holds a certificate authority's key (ca.key): "
                          "it is a scheduler's profile, left as it is",
                          to->dir);
    }
    return 0;
}

int
dvi_profile_export(const dvi_profile *p, const char *dest_home, int client)
{
    dvi_profile to = *p;
    int n = snprintf(to.home, sizeof(to.home), "%s", dest_home);
    if (n < 0 || (size_t)n >= sizeof(to.home)) {
        return dvi_seterr(DV_EINVAL,
                          "export: '%.40s...' is longer than %zu "
                          "bytes",
                          dest_home, sizeof(to.home) - 1);
    }
    snprintf(to.dir, sizeof(to.dir), "%s/profile_%s", dest_home, p->name);
    int role = client ? DVI_PKI_ROLE_CLIENT : DVI_PKI_ROLE_WORKER;
    if (!dvi_profile_has(p, role)) {
        return dvi_seterr(DV_ENOTFOUND,
                          "profile '%s' (%s) has no %s credentials to export",
                          p->name, p->dir, dvi_pki_role_name(role));
    }
    int rc = s_export_dest_ok(p, &to);
    if (rc < 0) {
        return rc;
    }
    char cert[32], key[32];
    snprintf(cert, sizeof(cert), "%s.pem", s_role_files[role]);
    snprintf(key, sizeof(key), "%s.key", s_role_files[role]);
    const char *files[] = {"ca.pem", cert, key, DVI_PROFILE_CONN_FILE};
    rc = s_mkdirs(&to);
    for (size_t i = 0; rc == 0 && i < 4; i++) {
        if (i == 3 && !s_exists(p, DVI_PROFILE_CONN_FILE)) {
            break; /* no scheduler ran yet: the address comes later */
        }
        rc = s_copy(p, &to, files[i]);
    }
    return rc;
}
