/* dvi_pki_cert: the small public-key infrastructure of a drove profile.
 *
 * Every TCP connection is mutual TLS 1.3 with a certificate authority of
 * its own per profile (DESIGN.md, "Processes and how they talk"). This
 * module makes that CA (an EC P-256 key and a self-signed certificate),
 * issues certificates for the three roles (scheduler, worker, client)
 * signed by it, writes them as PEM files (mode 0600, in directories of mode
 * 0700, atomically: a temporary file, fsync, rename) and loads them back.
 * proto/tls_ctx.h turns them into a TLS context.
 *
 * How a certificate says its role: its subject carries exactly one
 * organizationalUnitName (OU) attribute whose value is the role's name,
 * "scheduler", "worker" or "client", under O=drove; CN names the holder
 * (a host, a worker id). Anything else (no OU, two OUs, another word) has
 * no role and is refused by every drove peer. The OU is plain to see in
 * `openssl x509 -noout -subject`, and only the profile's CA can sign it.
 * Extended key usage backs it up: a client's certificate is for TLS
 * clients only, so it can never act as a server; schedulers and workers
 * (which serve peers) get both.
 *
 * The scheduler's certificate names 127.0.0.1 and localhost in its
 * subjectAltName, plus any host names or addresses given, so that a
 * client can check it reached the scheduler it dialed. Workers and
 * clients need no names: their peers check them by CA and role only.
 *
 * Not for: profiles and their layout (the caller picks the paths),
 * revocation, renewal, keys protected by a passphrase. Thread-safe: the
 * functions share no state (OpenSSL 3 is thread-safe).
 */
#ifndef DVI_PKI_H
#define DVI_PKI_H

#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* The roles a certificate may carry. (Not proto/msg.h's enum dvi_role,
 * which HELLO announces: a certificate is the proof, HELLO a claim.) */
enum dvi_pki_role {
    DVI_PKI_ROLE_NONE = 0, /* no drove role: refused everywhere */
    DVI_PKI_ROLE_SCHEDULER = 1,
    DVI_PKI_ROLE_WORKER = 2,
    DVI_PKI_ROLE_CLIENT = 3
};

/* The bit of a role in a mask of roles, as TLS streams take the roles
 * they accept: DVI_PKI_ROLE_BIT(DVI_PKI_ROLE_WORKER) | ... */
#define DVI_PKI_ROLE_BIT(role) (1u << (role))
#define DVI_PKI_ROLES_ANY                       \
    (DVI_PKI_ROLE_BIT(DVI_PKI_ROLE_SCHEDULER) | \
     DVI_PKI_ROLE_BIT(DVI_PKI_ROLE_WORKER) |    \
     DVI_PKI_ROLE_BIT(DVI_PKI_ROLE_CLIENT))

/* Default validity, in days: the CA outlives every certificate it signs. */
#define DVI_PKI_CA_DAYS (20 * 365)
#define DVI_PKI_CERT_DAYS (10 * 365)

/* "scheduler", "worker", "client", or "no role". Static storage. */
const char *dvi_pki_role_name(int role);
/* The role named name, or DVI_PKI_ROLE_NONE. */
int dvi_pki_role_parse(const char *name);
/* The role x's subject carries (see above), or DVI_PKI_ROLE_NONE. x is
 * borrowed. */
int dvi_pki_x509_role(X509 *x);

/* A certificate and, when this side holds it, its private key. */
typedef struct dvi_pki_cert dvi_pki_cert;

/* What a certificate is issued for. Zero-initialise, then fill in. */
typedef struct dvi_pki_req {
    int role;                 /* DVI_PKI_ROLE_SCHEDULER, _WORKER or _CLIENT */
    const char *name;         /* the subject's CN; NULL: the role's name */
    const char *const *hosts; /* more names for subjectAltName: a DNS name
                                 or an IPv4/IPv6 address each (schedulers
                                 only; others get none) */
    size_t nhosts;
    time_t not_before; /* 0: now (less a minute, for clocks that lag) */
    time_t not_after;  /* 0: not_before + DVI_PKI_CERT_DAYS */
} dvi_pki_req;

/* A new certificate authority: a fresh EC P-256 key and a self-signed
 * certificate named name (its CN; O=drove), valid from now for days days
 * (0: DVI_PKI_CA_DAYS). Caller owns; dvi_pki_cert_destroy(). NULL with
 * the reason set on failure. */
dvi_pki_cert *dvi_pki_ca_new(const char *name, int days);

/* A new key and a certificate for req->role, signed by ca (which must
 * hold its key). Caller owns; dvi_pki_cert_destroy(). NULL with the
 * reason set (DV_EINVAL for a bad request or a CA without its key). */
dvi_pki_cert *dvi_pki_issue(const dvi_pki_cert *ca, const dvi_pki_req *req);

/* Writes the certificate to cert_path and, if key_path is not NULL, the
 * private key (PKCS#8 PEM, not encrypted) to key_path. Each file is
 * written to a temporary file of mode 0600 beside it, flushed to disk and
 * renamed over the old one, so a reader sees the old file or the new one,
 * whole. Missing parent directories are created with mode 0700 (existing
 * ones are left as they are). Returns 0, or DV_EIO / DV_EINVAL with the
 * reason naming the file. */
int dvi_pki_save(const dvi_pki_cert *c, const char *cert_path,
                 const char *key_path);

/* Loads a PEM certificate and, if key_path is not NULL, its private key,
 * which must match it. Caller owns; dvi_pki_cert_destroy(). NULL with the
 * reason set, naming the file: DV_EIO if it cannot be read, DV_EINVAL if
 * it holds no certificate or key, or a key of another certificate. */
dvi_pki_cert *dvi_pki_load(const char *cert_path, const char *key_path);

/* Frees *p and sets it to NULL. Accepts NULL and *p == NULL. */
void dvi_pki_cert_destroy(dvi_pki_cert **p);

/* The role the certificate carries, or DVI_PKI_ROLE_NONE (a CA has none). */
int dvi_pki_cert_role(const dvi_pki_cert *c);
/* The subject's CN. Borrowed; valid while c lives. "" if it has none. */
const char *dvi_pki_cert_name(const dvi_pki_cert *c);
/* The certificate and key, for the TLS context. Borrowed; valid while c
 * lives. The key is NULL if c holds none. */
X509 *dvi_pki_cert_x509(const dvi_pki_cert *c);
EVP_PKEY *dvi_pki_cert_key(const dvi_pki_cert *c);

/* Records code and a reason for this thread: the formatted context, then
 * ": " and OpenSSL's reason for the oldest error in this thread's queue
 * ("no start line", "key values mismatch"), which is then emptied.
 * Returns code. The one translation of OpenSSL's errors into drove's. */
int dvi_seterr_ssl(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* OpenSSL's reason for the oldest error in this thread's queue, written to
 * buf (size bytes), the queue then emptied; "unknown error" if empty.
 * Returns buf. */
char *dvi_ssl_reason(char *buf, size_t size);

#endif
