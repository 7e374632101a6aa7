/* dvi_profile: a profile's directory, its certificates, its connection
 * file (JSON, through jansson) and the scheduler's lock. */
#include "profile.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "drove.h"
#include "err.h"
#include "file.h"

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
                          "and '-', at most %d)",
                          name, DVI_PROFILE_NAME_MAX - 1);
    }
    const char *home = getenv("DROVE_HOME");
    if (home != NULL && home[0] != '\0') {
        snprintf(p->home, sizeof(p->home), "%s", home);
    } else {
        const char *h = getenv("HOME");
        snprintf(p->home, sizeof(p->home), "%s/.drove", h ? h : ".");
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

static int
s_exists(const dvi_profile *p, const char *file)
{
    char path[PATH_MAX];
    dvi_profile_path(p, file, path, sizeof(path));
    return access(path, R_OK) == 0;
}

/* The paths of role's certificate and key. */
static void
s_role_paths(const dvi_profile *p, int role, char *cert, char *key, size_t size)
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

/* The CA: loaded when it exists, made (and saved) when it does not. */
static dvi_pki_cert *
s_ca(const dvi_profile *p)
{
    char cert[PATH_MAX], key[PATH_MAX];
    dvi_profile_path(p, "ca.pem", cert, sizeof(cert));
    dvi_profile_path(p, "ca.key", key, sizeof(key));
    if (s_exists(p, "ca.pem")) {
        return dvi_pki_load(cert, key);
    }
    char name[128];
    snprintf(name, sizeof(name), "drove profile %s", p->name);
    dvi_pki_cert *ca = dvi_pki_ca_new(name, 0);
    if (ca != NULL && dvi_pki_save(ca, cert, key) < 0) {
        dvi_pki_cert_destroy(&ca);
    }
    return ca;
}

int
dvi_profile_ensure(const dvi_profile *p, const char *const *hosts, size_t n)
{
    int rc = s_mkdirs(p);
    if (rc < 0) {
        return rc;
    }
    dvi_pki_cert *ca = NULL;
    for (int role = DVI_PKI_ROLE_SCHEDULER; role <= DVI_PKI_ROLE_CLIENT;
         role++) {
        char cert[PATH_MAX], key[PATH_MAX];
        s_role_paths(p, role, cert, key, sizeof(cert));
        if (access(cert, R_OK) == 0 && access(key, R_OK) == 0) {
            continue;
        }
        if (ca == NULL && (ca = s_ca(p)) == NULL) {
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
        if (rc < 0) {
            dvi_pki_cert_destroy(&ca);
            return rc;
        }
    }
    dvi_pki_cert_destroy(&ca);
    return 0;
}

int
dvi_profile_has(const dvi_profile *p, int role)
{
    char cert[PATH_MAX], key[PATH_MAX];
    if (role < DVI_PKI_ROLE_SCHEDULER || role > DVI_PKI_ROLE_CLIENT) {
        return 0;
    }
    s_role_paths(p, role, cert, key, sizeof(cert));
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
    s_role_paths(p, role, cert, key, sizeof(cert));
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

/* ---- The connection file ------------------------------------------------ */

/* Writes text to path atomically (a temporary file renamed), mode 0600. */
static int
s_write_file(const char *path, const char *text)
{
    char tmp[PATH_MAX + 16];
    snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        return dvi_seterr(DV_EIO, "%s: %s", tmp, strerror(errno));
    }
    size_t len = strlen(text), off = 0;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0) {
            int e = errno;
            close(fd);
            unlink(tmp);
            return dvi_seterr(DV_EIO, "%s: %s", tmp, strerror(e));
        }
        off += (size_t)w;
    }
    if (fsync(fd) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        return dvi_seterr(DV_EIO, "%s: %s", path, strerror(e));
    }
    return 0;
}

int
dvi_profile_write_conn(const dvi_profile *p, const dvi_profile_conn *c)
{
    char path[PATH_MAX], *ca = NULL;
    size_t calen = 0;
    dvi_profile_path(p, "ca.pem", path, sizeof(path));
    int rc = dvi_read_file(path, &ca, &calen);
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
    rc = s_write_file(path, text);
    free(text);
    return rc;
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
    json_error_t err;
    json_t *o = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    const char *client = NULL, *worker = NULL;
    int pid = 0;
    if (o == NULL ||
        json_unpack(o, "{s:s, s:s, s?i}", "client_address", &client,
                    "worker_address", &worker, "pid", &pid) != 0 ||
        strlen(client) >= sizeof(c->client_addr) ||
        strlen(worker) >= sizeof(c->worker_addr)) {
        json_decref(o);
        return dvi_seterr(DV_EINVAL, "%s: not a drove connection file%s%s",
                          path, o ? "" : ": ", o ? "" : err.text);
    }
    snprintf(c->client_addr, sizeof(c->client_addr), "%s", client);
    snprintf(c->worker_addr, sizeof(c->worker_addr), "%s", worker);
    c->pid = pid;
    json_decref(o);
    return 0;
}

/* ---- The scheduler's lock ----------------------------------------------- */

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
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        char buf[32] = "";
        ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
        buf[n > 0 ? n : 0] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
        close(fd);
        dvi_profile_conn c;
        int known = dvi_profile_read_conn(p, &c) == 0;
        return dvi_seterr(DV_EINVAL,
                          "profile '%s' (%s) has a scheduler running already "
                          "(pid %s%s%s)",
                          p->name, p->dir, buf[0] ? buf : "?",
                          known ? ", at " : "", known ? c.client_addr : "");
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

/* ---- Export ------------------------------------------------------------- */

static int
s_copy(const dvi_profile *from, const dvi_profile *to, const char *file)
{
    char src[PATH_MAX], dst[PATH_MAX], *bytes;
    size_t len;
    dvi_profile_path(from, file, src, sizeof(src));
    dvi_profile_path(to, file, dst, sizeof(dst));
    int rc = dvi_read_file(src, &bytes, &len);
    if (rc < 0) {
        return rc;
    }
    char *text = dvi_malloc(len + 1);
    memcpy(text, bytes, len);
    text[len] = '\0';
    free(bytes);
    rc = s_write_file(dst, text);
    free(text);
    return rc;
}

int
dvi_profile_export(const dvi_profile *p, const char *dest_home, int client)
{
    dvi_profile to = *p;
    snprintf(to.home, sizeof(to.home), "%s", dest_home);
    snprintf(to.dir, sizeof(to.dir), "%s/profile_%s", dest_home, p->name);
    int role = client ? DVI_PKI_ROLE_CLIENT : DVI_PKI_ROLE_WORKER;
    if (!dvi_profile_has(p, role)) {
        return dvi_seterr(DV_ENOTFOUND,
                          "profile '%s' (%s) has no %s credentials to export",
                          p->name, p->dir, dvi_pki_role_name(role));
    }
    char cert[32], key[32];
    snprintf(cert, sizeof(cert), "%s.pem", s_role_files[role]);
    snprintf(key, sizeof(key), "%s.key", s_role_files[role]);
    const char *files[] = {"ca.pem", cert, key, DVI_PROFILE_CONN_FILE};
    int rc = s_mkdirs(&to);
    for (size_t i = 0; rc == 0 && i < 4; i++) {
        if (i == 3 && !s_exists(p, DVI_PROFILE_CONN_FILE)) {
            break; /* no scheduler ran yet: the address comes later */
        }
        rc = s_copy(p, &to, files[i]);
    }
    return rc;
}
