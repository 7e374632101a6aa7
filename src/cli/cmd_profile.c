/* drove profile: a user's handle on the profiles of common/profile.h.
 *
 * `create` makes a profile's CA and certificates ahead of the scheduler's
 * first start (and is the only way to give the scheduler's certificate
 * more names); `list` and `show` say what is there, whether a scheduler
 * holds it, and what is unsafe (a key file others can read); `export`
 * copies what a worker or a client on another machine needs, never the
 * CA's key. Everything is read from the files: nothing here talks to a
 * scheduler, so it works the same whether one runs or not.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "common/profile.h"
#include "drove.h"
#include "options.h"

#define S_MAX_HOSTS 64
#define S_OPTS(t) (sizeof(t) / sizeof((t)[0]))
/* A certificate this close to its end is worth a warning. */
#define S_EXPIRY_WARN_DAYS 30

/* The files of a profile a scheduler's machine holds, in the order they
 * are reported. */
static const char *const s_files[] = {
    "ca.pem",     "ca.key",     "scheduler.pem", "scheduler.key",
    "worker.pem", "worker.key", "client.pem",    "client.key",
};
#define S_NFILES S_OPTS(s_files)

#define S_PROFILE_OPT                                             \
    {                                                             \
        "profile", DVI_OPT_STR, "default", 0, 0, "DROVE_PROFILE", \
            "the profile, when NAME is not given", NULL           \
    }

/* ---- Shared ------------------------------------------------------------- */

/* Parses subcommand cmd's options and at most maxpos arguments into pos,
 * then names the profile: the first argument when all maxpos are given,
 * else --profile (or $DROVE_PROFILE), else "default". Returns -1 to go
 * on, or the exit status: 0 after --help, 2 for a mistake (printed). */
static int
s_parse(const char *cmd, dvi_option *opts, size_t n, int argc, char **argv,
        const char *usage, const char *about, const char **pos, size_t maxpos,
        size_t *npos, dvi_profile *p)
{
    int rc = dvi_options_parse_pos(opts, n, argc, argv, usage, about, pos,
                                   maxpos, npos);
    if (rc != 0) {
        return rc == 1 ? 0 : 2;
    }
    const char *name = *npos == maxpos && maxpos > 0
                           ? pos[0]
                           : dvi_opt_str(opts, n, "profile");
    if (dvi_profile_init(p, name) < 0) {
        fprintf(stderr, "drove profile %s: %s\n", cmd, dv_last_error());
        return 2;
    }
    return -1;
}

static int
s_missing(const dvi_profile *p, const char *cmd)
{
    fprintf(stderr,
            "drove profile %s: no profile '%s' in %s (`drove profile "
            "create %s` makes one)\n",
            cmd, p->name, p->home, p->name);
    return 1;
}

/* Whether dir/file exists. */
static int
s_in(const char *dir, const char *file)
{
    char path[PATH_MAX + 128];
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    return access(path, F_OK) == 0;
}

#define s_present(p, file) s_in((p)->dir, (file))

/* The environment that selects p, for commands the user is told to run:
 * DROVE_HOME when it is set, DROVE_PROFILE unless it is "default". */
static void
s_env(const dvi_profile *p, const char *home, char *out, size_t size)
{
    const char *set = getenv("DROVE_HOME");
    int n = 0;
    out[0] = '\0';
    if (home != NULL || (set != NULL && set[0] != '\0')) {
        n = snprintf(out, size, "DROVE_HOME=%s ", home ? home : p->home);
    }
    if (strcmp(p->name, "default") != 0 && n >= 0 && (size_t)n < size) {
        snprintf(out + n, size - (size_t)n, "DROVE_PROFILE=%s ", p->name);
    }
}

/* Prints each warning of the array on stderr. */
static void
s_print_warnings(const char *cmd, json_t *warnings)
{
    size_t i;
    json_t *w;
    json_array_foreach(warnings, i, w)
    {
        fprintf(stderr, "drove profile %s: warning: %s\n", cmd,
                json_string_value(w));
    }
}

static void s_warn(json_t *warnings, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
s_warn(json_t *warnings, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    json_array_append_new(warnings, json_string(text));
}

/* name, dir, running, pid (null when none runs), client_address and
 * worker_address (null without a connection file). Problems reading them
 * go to warnings. Caller owns. */
static json_t *
s_summary(const dvi_profile *p, json_t *warnings)
{
    int pid = 0;
    int running = dvi_profile_running(p, &pid);
    if (running < 0) {
        s_warn(warnings, "%s", dv_last_error());
        running = 0;
    }
    dvi_profile_conn c;
    int rc = dvi_profile_read_conn(p, &c);
    if (rc < 0 && rc != DV_ENOTFOUND) {
        s_warn(warnings, "%s", dv_last_error());
    }
    return json_pack(
        "{s:s, s:s, s:b, s:o, s:o, s:o}", "name", p->name, "dir", p->dir,
        "running", running == 1, "pid",
        running == 1 && pid > 0 ? json_integer(pid) : json_null(),
        "client_address", rc == 0 ? json_string(c.client_addr) : json_null(),
        "worker_address", rc == 0 ? json_string(c.worker_addr) : json_null());
}

static const char *
s_str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static void
s_print_json(json_t *o)
{
    json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    printf("\n");
}

/* ---- create ------------------------------------------------------------- */

static dvi_option s_create_opts[] = {
    S_PROFILE_OPT,
    {"host", DVI_OPT_LIST, NULL, 0, 0, NULL,
     "a host name or address the scheduler's certificate carries besides "
     "127.0.0.1 and localhost: what workers and clients on other machines "
     "dial",
     NULL},
};

/* Whether the scheduler's certificate, kept from before, names every
 * host; prints those it does not. */
static int
s_names_hosts(const dvi_profile *p, const char *const *hosts, size_t n)
{
    int all = 1;
    for (size_t i = 0; i < n; i++) {
        int rc = dvi_profile_names_host(p, hosts[i]);
        if (rc != 1) {
            fprintf(stderr,
                    "drove profile create: %s '%s': remove scheduler.pem and "
                    "scheduler.key and run create again to issue it anew\n",
                    rc < 0 ? dv_last_error()
                           : "the scheduler's certificate was kept; it does "
                             "not name",
                    hosts[i]);
            all = 0;
        }
    }
    return all;
}

/* What create made and kept, and what to do next. */
static void
s_create_report(const dvi_profile *p, int existed, const int *had)
{
    if (existed) {
        printf("profile '%s' exists in %s: kept what it holds\n", p->name,
               p->dir);
    } else {
        printf("created profile '%s' in %s\n", p->name, p->dir);
    }
    for (size_t i = 0; i < S_NFILES; i++) {
        printf("  %s  %s\n", had[i] ? "kept" : "made", s_files[i]);
    }
    char env[1400];
    s_env(p, NULL, env, sizeof(env));
    printf("ca.key is the certificate authority's key: it stays on this "
           "machine.\n"
           "`%sdrove scheduler` uses the profile;\n"
           "`drove profile export %s DIR` copies what a worker or a client on "
           "another\nmachine needs.\n",
           env, p->name);
}

static int
s_create(int argc, char **argv)
{
    const char *pos[1];
    size_t npos = 0;
    dvi_profile p;
    int rc = s_parse(
        "create", s_create_opts, S_OPTS(s_create_opts), argc, argv,
        "drove profile create [NAME] [--host HOST]...",
        "Makes the profile's directory ($DROVE_HOME/profile_NAME, mode 0700),\n"
        "its certificate authority and the certificates and keys of the\n"
        "scheduler, workers and clients (mode 0600), as `drove scheduler`\n"
        "does on its first start. A profile that exists keeps every file it\n"
        "holds; only what is missing is made.",
        pos, 1, &npos, &p);
    if (rc >= 0) {
        return rc;
    }
    const char *hosts[S_MAX_HOSTS];
    size_t nh = dvi_opt_list(s_create_opts, S_OPTS(s_create_opts), argc, argv,
                             "host", hosts, S_MAX_HOSTS);
    if (nh > S_MAX_HOSTS) {
        fprintf(stderr, "drove profile create: at most %d --host\n",
                S_MAX_HOSTS);
        return 2;
    }
    for (size_t i = 0; i < nh; i++) {
        if (!dvi_profile_host_ok(hosts[i])) {
            fprintf(stderr,
                    "drove profile create: bad --host '%s' (an IPv4 or IPv6 "
                    "address, or a DNS name of letters, digits, '-', '.' "
                    "and '_')\n",
                    hosts[i]);
            return 2;
        }
    }
    int existed = dvi_profile_exists(&p), had[S_NFILES];
    int had_sched = s_present(&p, "scheduler.pem");
    for (size_t i = 0; i < S_NFILES; i++) {
        had[i] = s_present(&p, s_files[i]);
    }
    if (dvi_profile_ensure(&p, hosts, nh) < 0) {
        fprintf(stderr, "drove profile create: %s\n", dv_last_error());
        return 1;
    }
    s_create_report(&p, existed, had);
    /* A kept scheduler certificate was not issued with these hosts. */
    return had_sched && nh > 0 && !s_names_hosts(&p, hosts, nh) ? 1 : 0;
}

/* ---- list --------------------------------------------------------------- */

static dvi_option s_list_opts[] = {
    {"json", DVI_OPT_FLAG, NULL, 0, 0, NULL,
     "print a JSON array: per profile name, dir, running, pid, "
     "client_address, worker_address",
     NULL},
};

static int
s_is_profile(const struct dirent *e)
{
    return strncmp(e->d_name, "profile_", 8) == 0 && e->d_name[8] != '\0';
}

static void
s_list_print(json_t *all)
{
    size_t i;
    json_t *o;
    json_array_foreach(all, i, o)
    {
        char state[64] = "no scheduler running";
        if (json_is_true(json_object_get(o, "running"))) {
            snprintf(state, sizeof(state), "scheduler running (pid %lld)",
                     (long long)json_integer_value(json_object_get(o, "pid")));
        }
        const char *addr = s_str(o, "client_address");
        printf("%-20s %-32s %s\n", s_str(o, "name"), state, addr ? addr : "-");
    }
}

static int
s_list(int argc, char **argv)
{
    int rc = dvi_options_parse(
        s_list_opts, S_OPTS(s_list_opts), argc, argv,
        "drove profile list [--json]",
        "Lists the profiles in $DROVE_HOME (~/.drove by default), one per\n"
        "line: its name, whether its scheduler is running (and its pid), and\n"
        "the address clients dial (from its connection file; - if none).");
    if (rc != 0) {
        return rc == 1 ? 0 : 2;
    }
    char home[1024];
    if (dvi_profile_home(home, sizeof(home)) < 0) {
        fprintf(stderr, "drove profile list: %s\n", dv_last_error());
        return 2;
    }
    struct dirent **ents = NULL;
    int n = scandir(home, &ents, s_is_profile, alphasort);
    if (n < 0 && errno != ENOENT) {
        fprintf(stderr, "drove profile list: %s: %s\n", home, strerror(errno));
        return 1;
    }
    json_t *all = json_array(), *warnings = json_array();
    for (int i = 0; i < n; i++) {
        dvi_profile p;
        if (dvi_profile_init(&p, ents[i]->d_name + 8) < 0) {
            s_warn(warnings, "%s: skipped: %s", ents[i]->d_name,
                   dv_last_error());
        } else if (dvi_profile_exists(&p)) { /* not a file so named */
            json_array_append_new(all, s_summary(&p, warnings));
        }
        free(ents[i]);
    }
    free(ents);
    if (dvi_opt_str(s_list_opts, S_OPTS(s_list_opts), "json")) {
        s_print_json(all);
    } else {
        s_list_print(all);
    }
    if (json_array_size(all) == 0) {
        fprintf(stderr,
                "drove profile list: no profiles in %s (`drove profile "
                "create` makes one)\n",
                home);
    }
    s_print_warnings("list", warnings);
    json_decref(all);
    json_decref(warnings);
    return 0;
}

/* ---- show --------------------------------------------------------------- */

static dvi_option s_show_opts[] = {
    S_PROFILE_OPT,
    {"json", DVI_OPT_FLAG, NULL, 0, 0, NULL,
     "print one JSON object: name, dir, running, pid, client_address, "
     "worker_address, roles, files, certificates, warnings",
     NULL},
};

/* files: each entry of the profile's directory with its type and mode;
 * a file not 0600 or a directory not 0700 is warned about. */
static json_t *
s_files_of(const dvi_profile *p, json_t *warnings)
{
    json_t *files = json_array();
    struct stat st;
    if (stat(p->dir, &st) == 0 && (st.st_mode & 07777) != 0700) {
        s_warn(warnings, "%s is mode %04o, not 0700 (chmod 700 %s)", p->dir,
               (unsigned)(st.st_mode & 07777), p->dir);
    }
    struct dirent **ents = NULL;
    int n = scandir(p->dir, &ents, NULL, alphasort);
    for (int i = 0; i < n; i++) {
        const char *name = ents[i]->d_name;
        char path[PATH_MAX], mode[8];
        dvi_profile_path(p, name, path, sizeof(path));
        if (strcmp(name, ".") != 0 && strcmp(name, "..") != 0 &&
            stat(path, &st) == 0) {
            int dir = S_ISDIR(st.st_mode), reg = S_ISREG(st.st_mode);
            unsigned m = st.st_mode & 07777, want = dir ? 0700 : 0600;
            const char *type = dir ? "directory" : reg ? "file" : "other";
            snprintf(mode, sizeof(mode), "%04o", m);
            json_array_append_new(files,
                                  json_pack("{s:s, s:s, s:s}", "name", name,
                                            "type", type, "mode", mode));
            if ((dir || reg) && m != want) {
                s_warn(warnings, "%s is mode %04o, not %04o (chmod %o %s)",
                       path, m, want, want, path);
            }
        }
        free(ents[i]);
    }
    free(ents);
    return files;
}

/* The names in x's subjectAltName, as text. Caller owns. */
static json_t *
s_cert_names(X509 *x)
{
    json_t *names = json_array();
    GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
        GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        char text[INET6_ADDRSTRLEN + 1] = "";
        if (g->type == GEN_DNS) {
            ASN1_IA5STRING *s = g->d.dNSName;
            snprintf(text, sizeof(text), "%.*s", ASN1_STRING_length(s),
                     (const char *)ASN1_STRING_get0_data(s));
        } else if (g->type == GEN_IPADD) {
            int len = ASN1_STRING_length(g->d.iPAddress);
            const unsigned char *b = ASN1_STRING_get0_data(g->d.iPAddress);
            inet_ntop(len == 4 ? AF_INET : AF_INET6, b, text, sizeof(text));
        }
        if (text[0] != '\0') {
            json_array_append_new(names, json_string(text));
        }
    }
    GENERAL_NAMES_free(gens);
    return names;
}

/* subject, not_after, expired, and names (a scheduler's) of x. */
static json_t *
s_cert_info(X509 *x, const char *file, json_t *warnings)
{
    char subject[512] = "", until[32] = "?";
    BIO *b = BIO_new(BIO_s_mem());
    if (b != NULL) {
        X509_NAME_print_ex(b, X509_get_subject_name(x), 0,
                           XN_FLAG_ONELINE & ~XN_FLAG_SPC_EQ);
        int n = BIO_read(b, subject, sizeof(subject) - 1);
        subject[n > 0 ? n : 0] = '\0';
        BIO_free(b);
    }
    const ASN1_TIME *end = X509_get0_notAfter(x);
    struct tm tm;
    if (ASN1_TIME_to_tm(end, &tm) == 1) {
        strftime(until, sizeof(until), "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    time_t soon = time(NULL) + (time_t)S_EXPIRY_WARN_DAYS * 86400;
    int expired = X509_cmp_current_time(end) < 0;
    if (expired) {
        s_warn(warnings, "%s expired on %s", file, until);
    } else if (X509_cmp_time(end, &soon) < 0) {
        s_warn(warnings, "%s expires on %s", file, until);
    }
    json_t *o = json_pack("{s:s, s:s, s:b}", "subject", subject, "not_after",
                          until, "expired", expired);
    json_t *names = s_cert_names(x);
    if (json_array_size(names) > 0) {
        json_object_set(o, "names", names);
    }
    json_decref(names);
    return o;
}

/* certificates: the CA's and each role's that the profile holds, each
 * checked against the CA and against its key. */
static json_t *
s_certs_of(const dvi_profile *p, json_t *warnings)
{
    json_t *certs = json_object();
    dvi_pki_cert *ca = s_present(p, "ca.pem") ? dvi_profile_ca(p) : NULL;
    if (ca != NULL) {
        json_object_set_new(
            certs, "ca",
            s_cert_info(dvi_pki_cert_x509(ca), "ca.pem", warnings));
    } else if (s_present(p, "ca.pem")) {
        s_warn(warnings, "%s", dv_last_error());
    }
    for (int role = DVI_PKI_ROLE_SCHEDULER; role <= DVI_PKI_ROLE_CLIENT;
         role++) {
        const char *name = dvi_pki_role_name(role);
        char file[32], cert[PATH_MAX], key[PATH_MAX];
        snprintf(file, sizeof(file), "%s.pem", name);
        dvi_profile_role_paths(p, role, cert, key, sizeof(cert));
        if (access(cert, F_OK) != 0) {
            continue;
        }
        dvi_pki_cert *c =
            dvi_pki_load(cert, access(key, F_OK) == 0 ? key : NULL);
        if (c == NULL) {
            s_warn(warnings, "%s", dv_last_error());
            continue;
        }
        X509 *x = dvi_pki_cert_x509(c);
        if (ca != NULL &&
            X509_verify(x, X509_get0_pubkey(dvi_pki_cert_x509(ca))) != 1) {
            s_warn(warnings, "%s is not signed by this profile's ca.pem", cert);
        }
        json_object_set_new(certs, name, s_cert_info(x, file, warnings));
        dvi_pki_cert_destroy(&c);
    }
    dvi_pki_cert_destroy(&ca);
    return certs;
}

/* Everything show says about p. Caller owns. */
static json_t *
s_show_object(const dvi_profile *p)
{
    json_t *warnings = json_array();
    json_t *o = s_summary(p, warnings);
    json_t *roles = json_array();
    for (int role = DVI_PKI_ROLE_SCHEDULER; role <= DVI_PKI_ROLE_CLIENT;
         role++) {
        if (dvi_profile_has(p, role)) {
            json_array_append_new(roles, json_string(dvi_pki_role_name(role)));
        }
    }
    json_object_set_new(o, "roles", roles);
    json_object_set_new(o, "ca_key", json_boolean(s_present(p, "ca.key")));
    json_object_set_new(o, "files", s_files_of(p, warnings));
    json_object_set_new(o, "certificates", s_certs_of(p, warnings));
    json_object_set_new(o, "warnings", warnings);
    return o;
}

static void
s_show_certs(json_t *certs)
{
    const char *role;
    json_t *c;
    printf("certificates:\n");
    json_object_foreach(certs, role, c)
    {
        printf("  %-10s %s\n  %-10s expires %s%s", role, s_str(c, "subject"),
               "", s_str(c, "not_after"),
               json_is_true(json_object_get(c, "expired")) ? " (expired)" : "");
        size_t i;
        json_t *name;
        json_array_foreach(json_object_get(c, "names"), i, name)
        {
            printf("%s%s", i ? ", " : "; names ", json_string_value(name));
        }
        printf("\n");
    }
}

static void
s_show_print(json_t *o)
{
    const char *client = s_str(o, "client_address");
    const char *worker = s_str(o, "worker_address");
    printf("profile      %s\ndirectory    %s\n", s_str(o, "name"),
           s_str(o, "dir"));
    printf("scheduler    %s", json_is_true(json_object_get(o, "running"))
                                  ? "running (pid "
                                  : "not running\n");
    if (json_is_true(json_object_get(o, "running"))) {
        printf("%lld)\n", json_integer_value(json_object_get(o, "pid")));
    }
    printf("clients dial %s\nworkers dial %s\n",
           client ? client : "- (no connection file: no scheduler has run)",
           worker ? worker : "-");
    size_t i;
    json_t *v;
    printf("credentials ");
    json_array_foreach(json_object_get(o, "roles"), i, v)
    {
        printf(" %s", json_string_value(v));
    }
    printf("%s\n", json_is_true(json_object_get(o, "ca_key"))
                       ? " (and the CA's key: a scheduler's profile)"
                   : json_array_size(json_object_get(o, "roles"))
                       ? " (no CA key: an exported profile)"
                       : " none");
    printf("files:\n");
    json_array_foreach(json_object_get(o, "files"), i, v)
    {
        printf("  %s  %s%s\n", s_str(v, "mode"), s_str(v, "name"),
               strcmp(s_str(v, "type"), "directory") == 0 ? "/" : "");
    }
    s_show_certs(json_object_get(o, "certificates"));
}

static int
s_show(int argc, char **argv)
{
    const char *pos[1];
    size_t npos = 0;
    dvi_profile p;
    int rc = s_parse(
        "show", s_show_opts, S_OPTS(s_show_opts), argc, argv,
        "drove profile show [NAME] [--json]",
        "Shows a profile: its directory, the addresses its connection file\n"
        "gives clients and workers, whether its scheduler runs (its pid), the\n"
        "credentials and files it holds (with their modes), and its\n"
        "certificates' subjects, expiry dates and names. Warns on standard\n"
        "error about a file not 0600, a directory not 0700, a certificate\n"
        "near its end, not matching its key or not signed by the CA.",
        pos, 1, &npos, &p);
    if (rc >= 0) {
        return rc;
    }
    if (!dvi_profile_exists(&p)) {
        return s_missing(&p, "show");
    }
    json_t *o = s_show_object(&p);
    if (dvi_opt_str(s_show_opts, S_OPTS(s_show_opts), "json")) {
        s_print_json(o);
    } else {
        s_show_print(o);
    }
    s_print_warnings("show", json_object_get(o, "warnings"));
    json_decref(o);
    return 0;
}

/* ---- export ------------------------------------------------------------- */

static dvi_option s_export_opts[] = {
    S_PROFILE_OPT,
    {"client", DVI_OPT_FLAG, NULL, 0, 0, NULL,
     "what a client needs (client.pem, client.key) instead of a worker's",
     NULL},
};

/* Warns about what the exported files lack to be used elsewhere. */
static void
s_export_warn(const dvi_profile *p, int client, const char *dest)
{
    dvi_profile_conn c;
    int rc = dvi_profile_read_conn(p, &c);
    const char *who = client ? "client" : "worker";
    const char *addr = client ? c.client_addr : c.worker_addr;
    const char *h = strncmp(addr, "tcp://", 6) == 0 ? addr + 6 : addr;
    if (rc == DV_ENOTFOUND) {
        fprintf(stderr,
                "drove profile export: warning: no scheduler has run with "
                "profile '%s' yet, so %s has no connection file: give the %s "
                "the scheduler's address, or export again later\n",
                p->name, dest, who);
    } else if (rc == 0 && (strncmp(h, "127.", 4) == 0 ||
                           strncmp(h, "localhost:", 10) == 0 ||
                           strncmp(h, "[::1]:", 6) == 0)) {
        fprintf(stderr,
                "drove profile export: warning: the connection file gives "
                "the %s %s, which another machine cannot reach: start the "
                "scheduler on one it can (--address tcp://0.0.0.0:PORT; "
                "`drove profile create --host NAME`), and export again\n",
                who, addr);
    }
}

static void
s_export_report(const dvi_profile *p, int client, const char *dest)
{
    char abs[PATH_MAX], dir[PATH_MAX + 80], env[PATH_MAX + 128];
    if (realpath(dest, abs) == NULL) {
        snprintf(abs, sizeof(abs), "%s", dest);
    }
    snprintf(dir, sizeof(dir), "%s/profile_%s", abs, p->name);
    const char *role = client ? "client" : "worker";
    printf("wrote what a %s needs to %s:\n  ca.pem %s.pem %s.key%s\n"
           "(not ca.key: the certificate authority's key stays here)\n",
           role, dir, role, role,
           s_in(dir, DVI_PROFILE_CONN_FILE) ? " " DVI_PROFILE_CONN_FILE : "");
    s_env(p, abs, env, sizeof(env));
    const char *run = client ? "./your-program" : "drove worker";
    const char *base = strrchr(abs, '/') ? strrchr(abs, '/') + 1 : abs;
    char there[PATH_MAX + 8];
    snprintf(there, sizeof(there), "~/%s", base[0] ? base : "drove");
    printf("Here:      %s%s\n", env, run);
    s_env(p, there, env, sizeof(env));
    printf("Elsewhere: copy it over (scp -r %s HOST:), then run there\n"
           "           %s%s\n",
           abs, env, run);
    if (client) {
        printf("(a program connects with dv_connect(\"profile:%s\"))\n",
               p->name);
    }
}

static int
s_export(int argc, char **argv)
{
    const char *pos[2];
    size_t npos = 0;
    dvi_profile p;
    int rc = s_parse(
        "export", s_export_opts, S_OPTS(s_export_opts), argc, argv,
        "drove profile export [NAME] DIR [--client]",
        "Copies what a worker (with --client, a client) on another machine\n"
        "needs into DIR/profile_NAME/: the CA's certificate, that role's\n"
        "certificate and key, and the connection file. Never the CA's key.\n"
        "With DROVE_HOME=DIR, drove finds them there: copy DIR to the other\n"
        "machine and set DROVE_HOME to where it lands.",
        pos, 2, &npos, &p);
    if (rc >= 0) {
        return rc;
    }
    if (npos == 0) {
        fprintf(stderr, "drove profile export: missing DIR, the directory to "
                        "write to (drove profile export [NAME] DIR)\n");
        return 2;
    }
    const char *dest = pos[npos - 1];
    if (!dvi_profile_exists(&p)) {
        return s_missing(&p, "export");
    }
    int client =
        dvi_opt_str(s_export_opts, S_OPTS(s_export_opts), "client") != NULL;
    if (dvi_profile_export(&p, dest, client) < 0) {
        fprintf(stderr, "drove profile export: %s\n", dv_last_error());
        return 1;
    }
    s_export_report(&p, client, dest);
    s_export_warn(&p, client, dest);
    return 0;
}

/* ---- Dispatch ----------------------------------------------------------- */

static const dvi_subcommand s_subs[] = {
    {"create", s_create, "make a profile's CA and certificates"},
    {"list", s_list, "list the profiles, their schedulers and addresses"},
    {"show", s_show, "show a profile's addresses, files and certificates"},
    {"export", s_export, "copy what a worker or client elsewhere needs"},
};

int
dvi_cmd_profile(int argc, char **argv)
{
    return dvi_subcommands_run(
        "drove profile",
        "A profile holds what it takes to join one cluster, in\n"
        "$DROVE_HOME/profile_NAME (DROVE_HOME: ~/.drove by default; NAME:\n"
        "the argument, else --profile, else $DROVE_PROFILE, else\n"
        "\"default\"): the connection file (the scheduler's addresses and\n"
        "CA certificate), the certificate authority (ca.key never leaves\n"
        "the scheduler's machine), a certificate and key per role, the\n"
        "scheduler's lock and logs/.",
        s_subs, S_OPTS(s_subs), argc, argv);
}
