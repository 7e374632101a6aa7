/* dvi_tls_ctx: drove's TLS 1.3 settings, the check of a peer's
 * certificate (CA, validity, host, role), and the words for a handshake
 * that failed.
 *
 * Why the dialing side waits for a session ticket: in TLS 1.3 the client
 * finishes its handshake before the server has checked the client's
 * certificate, so a client the server refuses would believe it is
 * connected, and learn otherwise only from an alert on its first read.
 * The server sends one session ticket right after it accepts the client's
 * certificate; the client's stream opens when it arrives. So "open" means
 * that both sides accepted each other, on both sides, and a refused
 * client fails its handshake with the server's reason. The ticket is
 * never used: clients keep no sessions, and a server ignores any ticket
 * offered, so every connection checks certificates afresh.
 */
#include "tls_ctx.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/err.h"
#include "drove.h"

struct dvi_tls_ctx {
    atomic_int refs;
    SSL_CTX *ssl;        /* owned */
    int role;            /* this side's, from its certificate */
    uint64_t timeout_ms; /* handshake deadline of new streams; 0: none */
    char ca_id[DVI_TLS_CA_ID_LEN + 1];
};

/* ---- Checking the peer -------------------------------------------------- */

static const char *
s_peer_word(const dvi_tls_auth *a)
{
    return a->server ? "client" : "server";
}

/* "2024-05-01 12:00:00 UTC" */
static void
s_date(const ASN1_TIME *t, char *buf, size_t size)
{
    struct tm tm;
    if (t == NULL || !ASN1_TIME_to_tm(t, &tm) ||
        strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0) {
        snprintf(buf, size, "an unreadable date");
    }
}

/* Words for a verification error err about cert (at depth in the chain). */
static void
s_why_verify(dvi_tls_auth *a, int err, X509 *cert, int depth)
{
    const char *peer = s_peer_word(a);
    char whose[64], date[64];
    snprintf(whose, sizeof(whose), depth == 0 ? "the %s's" : "the CA's", peer);
    switch (err) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_CERT_UNTRUSTED:
    case X509_V_ERR_CERT_CHAIN_TOO_LONG:
        snprintf(a->why, sizeof(a->why),
                 "the %s's certificate is not signed by this profile's CA",
                 peer);
        break;
    case X509_V_ERR_CERT_HAS_EXPIRED:
        s_date(cert ? X509_get0_notAfter(cert) : NULL, date, sizeof(date));
        snprintf(a->why, sizeof(a->why), "%s certificate expired on %s", whose,
                 date);
        break;
    case X509_V_ERR_CERT_NOT_YET_VALID:
        s_date(cert ? X509_get0_notBefore(cert) : NULL, date, sizeof(date));
        snprintf(a->why, sizeof(a->why),
                 "%s certificate is not valid yet (not before %s)", whose,
                 date);
        break;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
        snprintf(a->why, sizeof(a->why),
                 "the %s's certificate does not name the host dialed (%.*s)",
                 peer, 128, a->host);
        break;
    case X509_V_ERR_INVALID_PURPOSE:
        snprintf(a->why, sizeof(a->why),
                 "the %s's certificate is not meant for a TLS %s", peer, peer);
        break;
    default:
        snprintf(a->why, sizeof(a->why), "%s certificate was refused: %s",
                 whose, X509_verify_cert_error_string(err));
    }
}

/* "scheduler", "worker or client", ... */
static void
s_roles_text(unsigned roles, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int r = DVI_PKI_ROLE_SCHEDULER; r <= DVI_PKI_ROLE_CLIENT; r++) {
        if (roles & DVI_PKI_ROLE_BIT(r)) {
            n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? " or " : "",
                                  dvi_pki_role_name(r));
            if (n >= size) {
                return;
            }
        }
    }
}

/* The peer's certificate verified: does it carry a role we accept? */
static int
s_check_role(dvi_tls_auth *a, X509_STORE_CTX *x)
{
    X509 *cert = X509_STORE_CTX_get_current_cert(x);
    int role = cert ? dvi_pki_x509_role(cert) : DVI_PKI_ROLE_NONE;
    const char *peer = s_peer_word(a);
    char want[64];
    s_roles_text(a->roles, want, sizeof(want));
    if (role == DVI_PKI_ROLE_NONE) {
        snprintf(a->why, sizeof(a->why),
                 "the %s's certificate carries no drove role (subject OU)",
                 peer);
    } else if (a->roles != 0 && !(a->roles & DVI_PKI_ROLE_BIT(role))) {
        snprintf(a->why, sizeof(a->why),
                 "the %s's certificate is for a %s, not a %s", peer,
                 dvi_pki_role_name(role), want);
    } else {
        a->peer_role = role;
        if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert),
                                      NID_commonName, a->peer_name,
                                      sizeof(a->peer_name)) < 0) {
            a->peer_name[0] = '\0';
        }
        return 1;
    }
    /* The peer hears "unsupported certificate": not for this use. */
    X509_STORE_CTX_set_error(x, X509_V_ERR_INVALID_PURPOSE);
    return 0;
}

static int
s_verify(int ok, X509_STORE_CTX *x)
{
    SSL *ssl =
        X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
    dvi_tls_auth *a = ssl ? SSL_get_app_data(ssl) : NULL;
    if (a == NULL) {
        return 0;
    }
    int depth = X509_STORE_CTX_get_error_depth(x);
    if (!ok) {
        if (a->why[0] == '\0') {
            s_why_verify(a, X509_STORE_CTX_get_error(x),
                         X509_STORE_CTX_get_current_cert(x), depth);
        }
        return 0;
    }
    return depth == 0 ? s_check_role(a, x) : 1;
}

/* The server's ticket: it accepted us (see the top of this file). The
 * session is not kept. */
static int
s_ticket(SSL *ssl, SSL_SESSION *sess)
{
    dvi_tls_auth *a = SSL_get_app_data(ssl);
    if (a != NULL) {
        a->confirmed = 1;
    }
    return 0;
}

/* A ticket offered to resume a session is ignored: full handshake. */
static SSL_TICKET_RETURN
s_no_resume(SSL *s, SSL_SESSION *ss, const unsigned char *keyname,
            size_t keyname_length, SSL_TICKET_STATUS status, void *arg)
{
    return SSL_TICKET_RETURN_IGNORE;
}

/* ---- The context -------------------------------------------------------- */

/* TLS 1.3 only, mutual, trusting only ca. */
static int
s_configure(SSL_CTX *s, X509 *ca)
{
    SSL_CTX_set_options(s, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_verify(s, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                       s_verify);
    /* The peer's certificate is signed by the CA itself: no chain. */
    SSL_CTX_set_verify_depth(s, 0);
    SSL_CTX_set_num_tickets(s, 1);
    SSL_CTX_set_session_cache_mode(s, SSL_SESS_CACHE_CLIENT |
                                          SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(s, s_ticket);
    return SSL_CTX_set_min_proto_version(s, TLS1_3_VERSION) &&
           SSL_CTX_set_max_proto_version(s, TLS1_3_VERSION) &&
           SSL_CTX_set_session_ticket_cb(s, NULL, s_no_resume, NULL) &&
           X509_STORE_add_cert(SSL_CTX_get_cert_store(s), ca);
}

/* The first bytes of the CA certificate's SHA-256, in hex. */
static void
s_ca_id(X509 *ca, char *out)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (X509_digest(ca, EVP_sha256(), md, &n) != 1) {
        n = 0;
    }
    memset(md + n, 0, sizeof(md) - n);
    for (int i = 0; i < DVI_TLS_CA_ID_LEN / 2; i++) {
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    }
}

dvi_tls_ctx *
dvi_tls_ctx_new(const dvi_pki_cert *ca, const dvi_pki_cert *self)
{
    X509 *cax = dvi_pki_cert_x509(ca);
    if (X509_check_ca(cax) == 0) {
        dvi_seterr(DV_EINVAL, "'%s' is not a CA certificate",
                   dvi_pki_cert_name(ca));
        return NULL;
    }
    if (self != NULL && dvi_pki_cert_key(self) == NULL) {
        dvi_seterr(DV_EINVAL, "the certificate '%s' comes without its key",
                   dvi_pki_cert_name(self));
        return NULL;
    }
    SSL_CTX *s = SSL_CTX_new(TLS_method());
    if (s == NULL || !s_configure(s, cax)) {
        dvi_seterr_ssl(DV_ESYS, "cannot set up TLS");
        SSL_CTX_free(s);
        return NULL;
    }
    if (self != NULL &&
        (SSL_CTX_use_certificate(s, dvi_pki_cert_x509(self)) != 1 ||
         SSL_CTX_use_PrivateKey(s, dvi_pki_cert_key(self)) != 1 ||
         SSL_CTX_check_private_key(s) != 1)) {
        dvi_seterr_ssl(DV_EINVAL, "cannot use the certificate '%s'",
                       dvi_pki_cert_name(self));
        SSL_CTX_free(s);
        return NULL;
    }
    dvi_tls_ctx *c = dvi_calloc(1, sizeof(*c));
    s_ca_id(cax, c->ca_id);
    atomic_init(&c->refs, 1);
    c->ssl = s;
    c->role = self ? dvi_pki_cert_role(self) : DVI_PKI_ROLE_NONE;
    c->timeout_ms = DVI_TLS_HANDSHAKE_TIMEOUT_MS;
    return c;
}

dvi_tls_ctx *
dvi_tls_ctx_load(const char *ca_path, const char *cert_path,
                 const char *key_path)
{
    dvi_pki_cert *ca = dvi_pki_load(ca_path, NULL);
    dvi_pki_cert *self = ca ? dvi_pki_load(cert_path, key_path) : NULL;
    dvi_tls_ctx *c = self ? dvi_tls_ctx_new(ca, self) : NULL;
    dvi_pki_cert_destroy(&ca);
    dvi_pki_cert_destroy(&self);
    return c;
}

dvi_tls_ctx *
dvi_tls_ctx_hold(dvi_tls_ctx *c)
{
    atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
    return c;
}

void
dvi_tls_ctx_rele(dvi_tls_ctx *c)
{
    if (c != NULL &&
        atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1) {
        SSL_CTX_free(c->ssl);
        free(c);
    }
}

void
dvi_tls_ctx_destroy(dvi_tls_ctx **p)
{
    if (p != NULL) {
        dvi_tls_ctx_rele(*p);
        *p = NULL;
    }
}

int
dvi_tls_ctx_role(const dvi_tls_ctx *c)
{
    return c->role;
}

const char *
dvi_tls_ctx_ca_id(const dvi_tls_ctx *c)
{
    return c->ca_id;
}

void
dvi_tls_ctx_set_handshake_timeout(dvi_tls_ctx *c, uint64_t ms)
{
    c->timeout_ms = ms;
}

uint64_t
dvi_tls_ctx_handshake_timeout(const dvi_tls_ctx *c)
{
    return c->timeout_ms;
}

/* ---- One connection ----------------------------------------------------- */

/* Makes ssl check that the server's certificate names host. */
static int
s_expect_host(SSL *ssl, dvi_tls_auth *a, const char *host)
{
    snprintf(a->host, sizeof(a->host), "%s", host);
    X509_VERIFY_PARAM *p = SSL_get0_param(ssl);
    ASN1_OCTET_STRING *ip = a2i_IPADDRESS(host);
    int ok;
    if (ip != NULL) {
        ok = X509_VERIFY_PARAM_set1_ip(p, ASN1_STRING_get0_data(ip),
                                       (size_t)ASN1_STRING_length(ip));
        ASN1_OCTET_STRING_free(ip);
    } else {
        ERR_clear_error();
        ok = X509_VERIFY_PARAM_set1_host(p, host, 0) &&
             SSL_set_tlsext_host_name(ssl, host);
    }
    return ok;
}

SSL *
dvi_tls_ctx_ssl_new(dvi_tls_ctx *c, dvi_tls_auth *auth, int server,
                    const char *host)
{
    ERR_clear_error();
    SSL *ssl = SSL_new(c->ssl);
    if (ssl == NULL) {
        dvi_seterr_ssl(DV_ENOMEM, "cannot make a TLS connection");
        return NULL;
    }
    SSL_set_app_data(ssl, auth);
    auth->server = server;
    if (server) {
        SSL_set_accept_state(ssl);
    } else {
        SSL_set_connect_state(ssl);
    }
    if (host != NULL && !s_expect_host(ssl, auth, host)) {
        dvi_seterr_ssl(DV_EINVAL, "bad host name '%s'", host);
        SSL_free(ssl);
        return NULL;
    }
    return ssl;
}

/* ---- Words for a failed handshake --------------------------------------- */

/* Words for OpenSSL's reason code r, or NULL for its own text. auth is set
 * when the reason is about certificates. */
static const char *
s_words(int r, int *auth)
{
    *auth = 1;
    switch (r) {
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
        return "the %s presented no certificate";
    case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
        return "the %s requires a certificate and this side presented none";
    case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
    case SSL_R_TLSV1_ALERT_DECRYPT_ERROR:
        return "the %s refused our certificate: it is not signed by the "
               "profile's CA that the %s trusts";
    case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
        return "the %s refused our certificate: it has expired";
    case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
        return "the %s refused our certificate (not valid yet, or not for "
               "the host dialed)";
    case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
        return "the %s refused our certificate: its role is not one the %s "
               "accepts here";
    case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
        return "the %s refused our certificate";
    }
    *auth = 0;
    switch (r) {
    case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE:
        return "the %s refused the handshake";
    case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
    case SSL_R_UNSUPPORTED_PROTOCOL: return "the %s does not speak TLS 1.3";
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_HTTP_REQUEST:
    case SSL_R_UNKNOWN_PROTOCOL:
    case SSL_R_PACKET_LENGTH_TOO_LONG: return "the %s does not speak TLS";
    }
    return NULL;
}

void
dvi_tls_ctx_explain(SSL *ssl, const dvi_tls_auth *auth, int ret, char *buf,
                    size_t size)
{
    const char *peer = s_peer_word(auth);
    unsigned long e = ERR_peek_error();
    int auth_failed = 0;
    const char *words = NULL;
    if (auth->why[0] != '\0') {
        snprintf(buf, size, "authentication failed: %s", auth->why);
    } else if (e == 0) {
        int err = SSL_get_error(ssl, ret);
        snprintf(buf, size, "TLS handshake failed: %s",
                 err == SSL_ERROR_ZERO_RETURN
                     ? "the peer ended the connection during the handshake"
                     : "unexpected end of the handshake");
    } else if (ERR_GET_LIB(e) == ERR_LIB_SSL &&
               (words = s_words(ERR_GET_REASON(e), &auth_failed)) != NULL) {
        char what[200], reason[128];
        /* Each text names the peer once or twice. */
        snprintf(what, sizeof(what), words, peer, peer);
        dvi_ssl_reason(reason, sizeof(reason));
        if (auth_failed) {
            snprintf(buf, size, "authentication failed: %s", what);
        } else {
            snprintf(buf, size, "TLS handshake failed: %s (%s)", what, reason);
        }
    } else if (ERR_GET_LIB(e) == ERR_LIB_SSL &&
               ERR_GET_REASON(e) == SSL_R_CERTIFICATE_VERIFY_FAILED) {
        snprintf(buf, size,
                 "authentication failed: the %s's certificate was refused: "
                 "%s",
                 peer,
                 X509_verify_cert_error_string(SSL_get_verify_result(ssl)));
    } else {
        char reason[128];
        snprintf(buf, size, "TLS handshake failed: %s",
                 dvi_ssl_reason(reason, sizeof(reason)));
    }
    ERR_clear_error();
}
