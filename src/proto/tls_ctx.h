/* dvi_tls_ctx: how this process speaks TLS, and whom it trusts.
 *
 * A context holds one OpenSSL SSL_CTX set up for drove's mutual TLS 1.3:
 * TLS 1.3 only; the profile's CA certificate as the only trust anchor;
 * this side's certificate and key (common/pki.h), presented whether it
 * dials or accepts; the peer's certificate required, verified against the
 * CA with no intermediate allowed, and its role (pki.h) checked against
 * what the stream accepts. Cipher suites are OpenSSL's defaults for TLS
 * 1.3 (AES-GCM, which AES-NI makes cheap, and ChaCha20-Poly1305);
 * compression and renegotiation are off, sessions are never resumed.
 *
 * When a handshake fails, the context also says why in words, from
 * either side: "authentication failed: the server's certificate is not
 * signed by this profile's CA" on the side that checked, "authentication
 * failed: the client refused our certificate: it is not signed by the
 * client's CA" on the other.
 *
 * One context serves every TLS stream of the process that uses its
 * identity, on any thread: it is reference-counted (atomically), and
 * OpenSSL lets threads share an SSL_CTX. stream_tls.h makes the streams.
 * Not for: the data path (stream_tls.c), making or storing certificates
 * (pki.c).
 */
#ifndef DVI_TLS_CTX_H
#define DVI_TLS_CTX_H

#include <openssl/ssl.h>
#include <stddef.h>
#include <stdint.h>

#include "common/pki.h"

typedef struct dvi_tls_ctx dvi_tls_ctx;

/* How long a handshake may take before the stream fails, by default: a
 * peer that connects and says nothing must not hold resources forever. */
#define DVI_TLS_HANDSHAKE_TIMEOUT_MS 15000

/* A context trusting only ca's certificate and presenting self's
 * certificate and key (self must hold its key). self may be NULL: this
 * side then presents no certificate, which every drove peer refuses
 * (tests use it to check that they do). Copies what it needs: ca and self
 * may be destroyed afterwards. Caller owns one reference;
 * dvi_tls_ctx_destroy(). NULL with the reason set (DV_EINVAL for a
 * certificate without its key, or a CA that is not one). Thread-safe. */
dvi_tls_ctx *dvi_tls_ctx_new(const dvi_pki_cert *ca, const dvi_pki_cert *self);
/* The same from PEM files (pki.h's dvi_pki_load): the CA's certificate,
 * and this side's certificate and key. NULL with the reason set, naming
 * the file. */
dvi_tls_ctx *dvi_tls_ctx_load(const char *ca_path, const char *cert_path,
                              const char *key_path);
/* Drops the caller's reference and sets *p to NULL; the context lives on
 * while streams made from it do. Accepts NULL and *p == NULL. */
void dvi_tls_ctx_destroy(dvi_tls_ctx **p);
/* Takes one more reference (for a stream), dropped with rele. */
dvi_tls_ctx *dvi_tls_ctx_hold(dvi_tls_ctx *c);
void dvi_tls_ctx_rele(dvi_tls_ctx *c);

/* The role this side's certificate carries (DVI_PKI_ROLE_NONE without one). */
int dvi_tls_ctx_role(const dvi_tls_ctx *c);
/* The trusted CA, named by the first DVI_TLS_CA_ID_LEN hex digits of its
 * certificate's SHA-256: the same for every member of one cluster. */
#define DVI_TLS_CA_ID_LEN 16
const char *dvi_tls_ctx_ca_id(const dvi_tls_ctx *c);
/* Sets how long handshakes of streams made from now on may take (0: no
 * limit). Not thread-safe: set it before the context is shared. */
void dvi_tls_ctx_set_handshake_timeout(dvi_tls_ctx *c, uint64_t ms);
uint64_t dvi_tls_ctx_handshake_timeout(const dvi_tls_ctx *c);

/* ---- For stream_tls.c --------------------------------------------------- */

/* What one connection checks of its peer, and what it found. Lives in the
 * stream, attached to its SSL by dvi_tls_ctx_ssl_new. */
typedef struct dvi_tls_auth {
    unsigned roles;      /* the peer roles accepted (DVI_PKI_ROLE_BIT mask) */
    int server;          /* this side accepted the connection */
    int peer_role;       /* the role of the peer's verified certificate */
    int confirmed;       /* dialing: the server sent its session ticket,
                            which it does only once it accepted us */
    char host[256];      /* dialing: the name the server must carry, or "" */
    char peer_name[128]; /* the peer's subject CN, once verified */
    char why[256]; /* why verification failed, in words; "" if it did not */
} dvi_tls_auth;

/* A new SSL object for one connection, on the accepting side if server,
 * checking the peer against auth->roles (0: any role) and, when host is
 * not NULL, that the peer's certificate names host (a DNS name or an IP
 * address) in its subjectAltName. auth is borrowed and must outlive the
 * SSL. NULL with the reason set. */
SSL *dvi_tls_ctx_ssl_new(dvi_tls_ctx *c, dvi_tls_auth *auth, int server,
                         const char *host);
/* Writes to buf (size bytes) why the handshake of ssl failed, in words,
 * after an SSL call returned ret <= 0; empties OpenSSL's error queue. */
void dvi_tls_ctx_explain(SSL *ssl, const dvi_tls_auth *auth, int ret, char *buf,
                         size_t size);

#endif
