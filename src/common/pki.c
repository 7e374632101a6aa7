/* dvi_pki_cert: a profile's certificate authority, the certificates it
 * issues, and their PEM files. See pki.h for the role encoding.
 *
 * Certificates are built with OpenSSL 3's X509 and EVP APIs. Names for
 * subjectAltName are added as GENERAL_NAMEs one by one, never through
 * OpenSSL's "DNS:a,IP:b" configuration syntax, so that a host name given
 * by a user cannot smuggle in names of another kind.
 */
#include "pki.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "drove.h"
#include "err.h"

struct dvi_pki_cert {
    X509 *x;       /* owned */
    EVP_PKEY *key; /* owned; NULL when only the certificate is known */
    int role;      /* read from x's subject once */
    char name[256];
};

/* Certificates may start a little in the past: a peer whose clock lags
 * ours by less than this still accepts a certificate issued just now. */
#define S_CLOCK_SKEW_S 60

/* ---- OpenSSL's errors ------------------------------------------------- */

char *
dvi_ssl_reason(char *buf, size_t size)
{
    unsigned long e = ERR_get_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    if (e == 0) {
        snprintf(buf, size, "unknown error");
    } else if (r != NULL) {
        snprintf(buf, size, "%s", r);
    } else {
        ERR_error_string_n(e, buf, size);
    }
    ERR_clear_error();
    return buf;
}

int
dvi_seterr_ssl(int code, const char *fmt, ...)
{
    char ctx[384], reason[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx, sizeof(ctx), fmt, ap);
    va_end(ap);
    return dvi_seterr(code, "%s: %s", ctx,
                      dvi_ssl_reason(reason, sizeof(reason)));
}

/* ---- Roles -------------------------------------------------------------- */

static const char *const s_role_names[] = {
    [DVI_PKI_ROLE_SCHEDULER] = "scheduler",
    [DVI_PKI_ROLE_WORKER] = "worker",
    [DVI_PKI_ROLE_CLIENT] = "client",
};

const char *
dvi_pki_role_name(int role)
{
    if (role >= DVI_PKI_ROLE_SCHEDULER && role <= DVI_PKI_ROLE_CLIENT) {
        return s_role_names[role];
    }
    return "no role";
}

int
dvi_pki_role_parse(const char *name)
{
    for (int r = DVI_PKI_ROLE_SCHEDULER; r <= DVI_PKI_ROLE_CLIENT; r++) {
        if (strcmp(name, s_role_names[r]) == 0) {
            return r;
        }
    }
    return DVI_PKI_ROLE_NONE;
}

int
dvi_pki_x509_role(X509 *x)
{
    X509_NAME *n = X509_get_subject_name(x);
    int i = X509_NAME_get_index_by_NID(n, NID_organizationalUnitName, -1);
    if (i < 0 ||
        X509_NAME_get_index_by_NID(n, NID_organizationalUnitName, i) >= 0) {
        return DVI_PKI_ROLE_NONE; /* none, or ambiguous */
    }
    const ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i));
    const unsigned char *p = ASN1_STRING_get0_data(s);
    size_t len = (size_t)ASN1_STRING_length(s);
    for (int r = DVI_PKI_ROLE_SCHEDULER; r <= DVI_PKI_ROLE_CLIENT; r++) {
        if (len == strlen(s_role_names[r]) &&
            memcmp(p, s_role_names[r], len) == 0) {
            return r;
        }
    }
    return DVI_PKI_ROLE_NONE;
}

/* ---- The object --------------------------------------------------------- */

/* Wraps x and key (owned from now on). */
static dvi_pki_cert *
s_wrap(X509 *x, EVP_PKEY *key)
{
    dvi_pki_cert *c = dvi_calloc(1, sizeof(*c));
    c->x = x;
    c->key = key;
    c->role = dvi_pki_x509_role(x);
    if (X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName,
                                  c->name, sizeof(c->name)) < 0) {
        c->name[0] = '\0';
    }
    return c;
}

void
dvi_pki_cert_destroy(dvi_pki_cert **p)
{
    if (p == NULL || *p == NULL) {
        return;
    }
    X509_free((*p)->x);
    EVP_PKEY_free((*p)->key);
    free(*p);
    *p = NULL;
}

int
dvi_pki_cert_role(const dvi_pki_cert *c)
{
    return c->role;
}

const char *
dvi_pki_cert_name(const dvi_pki_cert *c)
{
    return c->name;
}

X509 *
dvi_pki_cert_x509(const dvi_pki_cert *c)
{
    return c->x;
}

EVP_PKEY *
dvi_pki_cert_key(const dvi_pki_cert *c)
{
    return c->key;
}

/* ---- Building certificates ---------------------------------------------- */

/* A random positive serial of 159 bits: unique without a database. */
static int
s_set_serial(X509 *x)
{
    BIGNUM *bn = BN_new();
    int ok = bn != NULL && BN_rand(bn, 159, BN_RAND_TOP_ANY, 0) &&
             BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
    BN_free(bn);
    return ok;
}

/* O=drove[, OU=role], CN=cn. */
static int
s_set_subject(X509 *x, const char *ou, const char *cn)
{
    X509_NAME *n = X509_get_subject_name(x);
    const unsigned char *o = (const unsigned char *)"drove";
    return X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8, o, -1, -1, 0) &&
           (ou == NULL ||
            X509_NAME_add_entry_by_txt(n, "OU", MBSTRING_UTF8,
                                       (const unsigned char *)ou, -1, -1, 0)) &&
           X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
                                      (const unsigned char *)cn, -1, -1, 0);
}

/* Adds extension nid with the value in OpenSSL's configuration syntax
 * (fixed strings of ours only; never user input). */
static int
s_add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX v;
    X509V3_set_ctx_nodb(&v);
    X509V3_set_ctx(&v, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v, nid, value);
    int ok = e != NULL && X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    return ok;
}

/* A certificate with its version, serial, subject, validity and public
 * key set; NULL with OpenSSL's error queued. */
static X509 *
s_cert_new(EVP_PKEY *key, const char *ou, const char *cn, time_t from,
           time_t until)
{
    X509 *x = X509_new();
    if (x != NULL && X509_set_version(x, X509_VERSION_3) && s_set_serial(x) &&
        s_set_subject(x, ou, cn) &&
        ASN1_TIME_set(X509_getm_notBefore(x), from) != NULL &&
        ASN1_TIME_set(X509_getm_notAfter(x), until) != NULL &&
        X509_set_pubkey(x, key)) {
        return x;
    }
    X509_free(x);
    return NULL;
}

/* A fresh EC P-256 key: fast to sign and verify, and understood by every
 * TLS 1.3 implementation. */
static EVP_PKEY *
s_key_new(void)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    if (key == NULL) {
        dvi_seterr_ssl(DV_ESYS, "cannot generate an EC P-256 key");
    }
    return key;
}

dvi_pki_cert *
dvi_pki_ca_new(const char *name, int days)
{
    if (name == NULL || name[0] == '\0' || days < 0) {
        dvi_seterr(DV_EINVAL, "a CA needs a name and a validity of >= 0 days");
        return NULL;
    }
    EVP_PKEY *key = s_key_new();
    if (key == NULL) {
        return NULL;
    }
    time_t now = time(NULL) - S_CLOCK_SKEW_S;
    time_t until = now + (time_t)(days ? days : DVI_PKI_CA_DAYS) * 86400;
    X509 *x = s_cert_new(key, NULL, name, now, until);
    if (x != NULL && X509_set_issuer_name(x, X509_get_subject_name(x)) &&
        s_add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") &&
        s_add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") &&
        s_add_ext(x, x, NID_subject_key_identifier, "hash") &&
        X509_sign(x, key, EVP_sha256()) > 0) {
        return s_wrap(x, key);
    }
    dvi_seterr_ssl(DV_ESYS, "cannot make the CA certificate '%s'", name);
    X509_free(x);
    EVP_PKEY_free(key);
    return NULL;
}

/* A host name: letters, digits, '-', '.', '_'; at most 253 bytes. */
static int
s_dns_ok(const char *h)
{
    size_t n = strlen(h);
    if (n == 0 || n > 253) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        char c = h[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_')) {
            return 0;
        }
    }
    return 1;
}

/* Appends host to names: an IP address if it is one, else a DNS name. */
static int
s_push_name(GENERAL_NAMES *names, const char *host)
{
    GENERAL_NAME *g = GENERAL_NAME_new();
    ASN1_OCTET_STRING *ip = a2i_IPADDRESS(host);
    int ok = 0;
    if (g != NULL && ip != NULL) {
        GENERAL_NAME_set0_value(g, GEN_IPADD, ip);
        ip = NULL;
        ok = 1;
    } else if (g != NULL && s_dns_ok(host)) {
        ERR_clear_error(); /* a2i_IPADDRESS's complaint: it is a name */
        ASN1_IA5STRING *s = ASN1_IA5STRING_new();
        ok = s != NULL && ASN1_STRING_set(s, host, -1);
        if (ok) {
            GENERAL_NAME_set0_value(g, GEN_DNS, s);
        } else {
            ASN1_IA5STRING_free(s);
        }
    }
    ASN1_OCTET_STRING_free(ip);
    if (ok && sk_GENERAL_NAME_push(names, g) > 0) {
        return 1;
    }
    GENERAL_NAME_free(g);
    return 0;
}

/* subjectAltName: 127.0.0.1, localhost, then req's hosts. */
static int
s_add_sans(X509 *x, const dvi_pki_req *req)
{
    GENERAL_NAMES *names = sk_GENERAL_NAME_new_null();
    int ok = names != NULL && s_push_name(names, "127.0.0.1") &&
             s_push_name(names, "localhost");
    for (size_t i = 0; ok && i < req->nhosts; i++) {
        ok = s_push_name(names, req->hosts[i]);
        if (!ok) {
            ERR_clear_error();
            dvi_seterr(DV_EINVAL, "bad host name or address '%s'",
                       req->hosts[i]);
        }
    }
    if (ok && !X509_add1_ext_i2d(x, NID_subject_alt_name, names, 0,
                                 X509V3_ADD_DEFAULT)) {
        ok = 0;
        dvi_seterr_ssl(DV_ESYS, "cannot add subjectAltName");
    }
    GENERAL_NAMES_free(names);
    return ok;
}

static int
s_check_req(const dvi_pki_cert *ca, const dvi_pki_req *req)
{
    if (req->role < DVI_PKI_ROLE_SCHEDULER || req->role > DVI_PKI_ROLE_CLIENT) {
        return dvi_seterr(DV_EINVAL, "no such role: %d", req->role);
    }
    if (ca->key == NULL || X509_check_ca(ca->x) == 0) {
        return dvi_seterr(DV_EINVAL, "'%s' cannot issue certificates: %s",
                          ca->name,
                          ca->key ? "not a CA" : "its key is not loaded");
    }
    if (req->not_after != 0 && req->not_after <= req->not_before) {
        return dvi_seterr(DV_EINVAL, "the certificate would end before it "
                                     "begins");
    }
    return 0;
}

/* The extensions of a certificate for role, signed with the CA's key. */
static int
s_finish_leaf(X509 *x, const dvi_pki_cert *ca, const dvi_pki_req *req)
{
    const char *eku = req->role == DVI_PKI_ROLE_CLIENT
                          ? "clientAuth"
                          : "serverAuth,clientAuth";
    if (!X509_set_issuer_name(x, X509_get_subject_name(ca->x)) ||
        !s_add_ext(x, ca->x, NID_basic_constraints, "critical,CA:FALSE") ||
        !s_add_ext(x, ca->x, NID_key_usage, "critical,digitalSignature") ||
        !s_add_ext(x, ca->x, NID_ext_key_usage, eku) ||
        !s_add_ext(x, ca->x, NID_subject_key_identifier, "hash") ||
        !s_add_ext(x, ca->x, NID_authority_key_identifier, "keyid:always")) {
        return dvi_seterr_ssl(DV_ESYS, "cannot build a %s certificate",
                              dvi_pki_role_name(req->role));
    }
    if (req->role == DVI_PKI_ROLE_SCHEDULER && !s_add_sans(x, req)) {
        return dvi_last_code();
    }
    if (X509_sign(x, ca->key, EVP_sha256()) <= 0) {
        return dvi_seterr_ssl(DV_ESYS, "cannot sign a %s certificate",
                              dvi_pki_role_name(req->role));
    }
    return 0;
}

dvi_pki_cert *
dvi_pki_issue(const dvi_pki_cert *ca, const dvi_pki_req *req)
{
    if (s_check_req(ca, req) < 0) {
        return NULL;
    }
    EVP_PKEY *key = s_key_new();
    if (key == NULL) {
        return NULL;
    }
    time_t from =
        req->not_before ? req->not_before : time(NULL) - S_CLOCK_SKEW_S;
    time_t until = req->not_after ? req->not_after
                                  : from + (time_t)DVI_PKI_CERT_DAYS * 86400;
    const char *cn = req->name ? req->name : dvi_pki_role_name(req->role);
    X509 *x = s_cert_new(key, dvi_pki_role_name(req->role), cn, from, until);
    if (x == NULL) {
        dvi_seterr_ssl(DV_ESYS, "cannot make a %s certificate",
                       dvi_pki_role_name(req->role));
    } else if (s_finish_leaf(x, ca, req) == 0) {
        return s_wrap(x, key);
    }
    X509_free(x);
    EVP_PKEY_free(key);
    return NULL;
}

/* ---- Files -------------------------------------------------------------- */

/* Creates the missing directories above file, mode 0700. */
static int
s_mkdirs(const char *file)
{
    char dir[PATH_MAX];
    if (snprintf(dir, sizeof(dir), "%s", file) >= (int)sizeof(dir)) {
        return dvi_seterr(DV_EINVAL, "%s: path too long", file);
    }
    char *slash = strrchr(dir, '/');
    if (slash == NULL || slash == dir) {
        return 0; /* the current directory, or / */
    }
    *slash = '\0';
    for (char *p = dir + 1;; p++) {
        if (*p != '/' && *p != '\0') {
            continue;
        }
        char c = *p;
        *p = '\0';
        if (mkdir(dir, 0700) == 0) {
            chmod(dir, 0700); /* whatever the umask said */
        } else if (errno != EEXIST) {
            return dvi_seterr(DV_EIO, "%s: cannot create directory: %s", dir,
                              strerror(errno));
        }
        *p = c;
        if (c == '\0') {
            return 0;
        }
    }
}

/* Flushes the directory holding path, so that a rename in it lasts.
 * Best effort: some file systems cannot sync a directory. */
static void
s_sync_dir(const char *path)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL) {
        snprintf(dir, sizeof(dir), ".");
    } else {
        slash[slash == dir] = '\0';
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

typedef int (*s_emit_fn)(BIO *b, const dvi_pki_cert *c);

static int
s_emit_cert(BIO *b, const dvi_pki_cert *c)
{
    return PEM_write_bio_X509(b, c->x);
}

static int
s_emit_key(BIO *b, const dvi_pki_cert *c)
{
    return PEM_write_bio_PrivateKey(b, c->key, NULL, NULL, 0, NULL, NULL);
}

/* Writes path atomically, with mode 0600: a temporary file beside it,
 * written, flushed to disk, renamed over path. */
static int
s_write_atomic(const char *path, s_emit_fn emit, const dvi_pki_cert *c)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= (int)sizeof(tmp)) {
        return dvi_seterr(DV_EINVAL, "%s: path too long", path);
    }
    if (s_mkdirs(path) < 0) {
        return dvi_last_code();
    }
    int fd = mkstemp(tmp); /* mode 0600 */
    if (fd < 0) {
        return dvi_seterr(DV_EIO, "%s: %s", tmp, strerror(errno));
    }
    BIO *b = BIO_new_fd(fd, BIO_NOCLOSE);
    int ok = b != NULL && fchmod(fd, 0600) == 0 && emit(b, c) == 1;
    BIO_free(b);
    int rc = 0;
    if (!ok) {
        rc = dvi_seterr_ssl(DV_EIO, "%s: cannot write", path);
    } else if (fsync(fd) != 0) {
        rc = dvi_seterr(DV_EIO, "%s: fsync: %s", tmp, strerror(errno));
    }
    if (close(fd) != 0 && rc == 0) {
        rc = dvi_seterr(DV_EIO, "%s: close: %s", tmp, strerror(errno));
    }
    if (rc == 0 && rename(tmp, path) != 0) {
        rc = dvi_seterr(DV_EIO, "%s: rename: %s", path, strerror(errno));
    }
    if (rc < 0) {
        unlink(tmp);
        return rc;
    }
    s_sync_dir(path);
    return 0;
}

int
dvi_pki_save(const dvi_pki_cert *c, const char *cert_path, const char *key_path)
{
    if (key_path != NULL && c->key == NULL) {
        return dvi_seterr(DV_EINVAL, "%s: no private key to write", key_path);
    }
    /* The key first: a certificate on disk always has its key beside it. */
    if (key_path != NULL && s_write_atomic(key_path, s_emit_key, c) < 0) {
        return dvi_last_code();
    }
    return s_write_atomic(cert_path, s_emit_cert, c);
}

/* Never prompts for a passphrase: drove's keys have none. */
static int
s_no_passphrase(char *buf, int size, int rwflag, void *u)
{
    return -1;
}

/* Opens path for reading; NULL with DV_EIO and the reason set. */
static BIO *
s_open(const char *path)
{
    BIO *b = BIO_new_file(path, "r");
    if (b == NULL) {
        int err = errno;
        ERR_clear_error();
        dvi_seterr(DV_EIO, "%s: %s", path, strerror(err));
    }
    return b;
}

static X509 *
s_read_cert(const char *path)
{
    BIO *b = s_open(path);
    if (b == NULL) {
        return NULL;
    }
    X509 *x = PEM_read_bio_X509(b, NULL, s_no_passphrase, NULL);
    BIO_free(b);
    if (x == NULL) {
        dvi_seterr_ssl(DV_EINVAL, "%s: not a PEM certificate", path);
    }
    return x;
}

static EVP_PKEY *
s_read_key(const char *path)
{
    BIO *b = s_open(path);
    if (b == NULL) {
        return NULL;
    }
    EVP_PKEY *key = PEM_read_bio_PrivateKey(b, NULL, s_no_passphrase, NULL);
    BIO_free(b);
    if (key == NULL) {
        dvi_seterr_ssl(DV_EINVAL, "%s: not a PEM private key", path);
    }
    return key;
}

dvi_pki_cert *
dvi_pki_load(const char *cert_path, const char *key_path)
{
    X509 *x = s_read_cert(cert_path);
    if (x == NULL) {
        return NULL;
    }
    EVP_PKEY *key = NULL;
    if (key_path != NULL) {
        key = s_read_key(key_path);
        if (key == NULL) {
            X509_free(x);
            return NULL;
        }
        if (X509_check_private_key(x, key) != 1) {
            dvi_seterr_ssl(DV_EINVAL, "%s: not the key of the certificate %s",
                           key_path, cert_path);
            X509_free(x);
            EVP_PKEY_free(key);
            return NULL;
        }
    }
    return s_wrap(x, key);
}
