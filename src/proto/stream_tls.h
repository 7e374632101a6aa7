/* The TLS stream: mutual TLS 1.3 around any other dvi_stream, and a TLS
 * listener around any other listener.
 *
 * A TLS stream is a dvi_stream (stream.h) whose bytes are carried,
 * encrypted, by an inner stream of any transport: tcp, unix, inproc. It
 * makes itself the inner stream's user. Ciphertext comes in through the
 * inner's alloc/read (or adopt) and goes to OpenSSL through a BIO that
 * reads it in place; plaintext goes up through its own user's alloc/read,
 * decrypted straight into the user's buffer. A frame written to it is
 * encrypted part by part, its spliced blobs read where they are, into
 * ciphertext chunks written to the inner stream; a large frame is
 * encrypted a slice per loop turn while the inner stream drains, so
 * sending overlaps encrypting and memory stays bounded. It opens once
 * the handshake is over and both sides accepted each other's certificate
 * (tls_ctx.h); a failed handshake becomes its error, in words that say
 * why. Shutdown sends close_notify, then shuts the inner stream down.
 *
 * Both sides present certificates of the profile's CA; after the
 * handshake the stream knows the peer's role (common/pki.h): scheduler,
 * worker or client. Each stream can restrict the roles it accepts, and a
 * dialer can require the server's certificate to name the host dialed.
 *
 * secure.h decides which addresses get TLS (every tcp:// one) and hands
 * the stream to dvi_conn, which carries frames over it without knowing.
 *
 * Same threading as every stream: a stream and its callbacks live on its
 * loop's thread.
 */
#ifndef DVI_STREAM_TLS_H
#define DVI_STREAM_TLS_H

#include <stddef.h>
#include <uv.h>

#include "stream.h"
#include "tls_ctx.h"

/* Wraps inner (any stream, not yet started; owned from now on), as the
 * accepting side if server, else the dialing one. The peer must present a
 * certificate of tls's CA carrying one of peer_roles (DVI_PKI_ROLE_BIT mask;
 * 0: any role) and, when host is not NULL, naming host (a DNS name or an
 * IP address) in its subjectAltName. Start it as any stream: it starts
 * the inner one and opens after the handshake. tls is held until the
 * stream is freed. Caller owns; end with shutdown or close. NULL with the
 * reason set (inner is then closed). */
dvi_stream *dvi_tls_wrap(dvi_tls_ctx *tls, dvi_stream *inner, int server,
                         unsigned peer_roles, const char *host);

/* Dials addr ("tcp://HOST:PORT", "unix:///PATH", "inproc://NAME") and
 * wraps the stream as the dialing side. With check_host, the server's
 * certificate must name HOST (tcp only). Caller owns. NULL with the
 * reason set if the address is invalid. */
dvi_stream *dvi_tls_dial(dvi_tls_ctx *tls, uv_loop_t *loop, const char *addr,
                         unsigned peer_roles, int check_host);

/* Handshakes a TLS listener lets run at once, in all and from one IP;
 * connections past them are closed at once. */
#define DVI_TLS_HANDSHAKES_MAX 512
#define DVI_TLS_HANDSHAKES_PER_IP 64

/* Listens on addr (as dvi_stream_listen) and hands on_accept each
 * connection whose handshake succeeded, as an open TLS stream (set its
 * user and start it, or close it); its peer carries one of peer_roles (0:
 * any). Connections whose handshake fails or times out are closed here,
 * and told to the refused callback if one is set (else logged at warn).
 * The listener's name, and bound, are the inner address.
 * Caller owns; dvi_stream_listener_close (which also closes connections
 * still in their handshake). NULL with the reason set on failure. */
dvi_stream_listener *dvi_tls_listen(dvi_tls_ctx *tls, uv_loop_t *loop,
                                    const char *addr, unsigned peer_roles,
                                    dvi_stream_accept_fn on_accept, void *ctx,
                                    char *bound, size_t size);

/* Called with the peer ("tcp://1.2.3.4:5") and why it was refused; ctx is
 * the listener's. */
typedef void (*dvi_tls_refused_fn)(void *ctx, const char *peer,
                                   const char *why);
/* Sets the refused callback of a listener from dvi_tls_listen. */
void dvi_tls_listener_set_refused(dvi_stream_listener *l,
                                  dvi_tls_refused_fn fn);

/* True if s is a TLS stream. */
int dvi_tls_is_tls(const dvi_stream *s);
/* The role in the peer's certificate, once s is open; DVI_PKI_ROLE_NONE
 * before, or if s is not a TLS stream. */
int dvi_tls_peer_role(const dvi_stream *s);
/* The CN of the peer's certificate, once open; "" before. Borrowed; valid
 * while s lives. */
const char *dvi_tls_peer_name(const dvi_stream *s);
/* 0 if s is an open TLS stream whose peer's certificate carries one of
 * roles (DVI_PKI_ROLE_BIT mask); else DV_EPROTO with a reason that says
 * "authentication failed" and which role the peer has. */
int dvi_tls_check_peer_role(const dvi_stream *s, unsigned roles);
/* The cipher suite in use ("TLS_AES_256_GCM_SHA384"), once open; "" before.
 * Static storage. */
const char *dvi_tls_cipher(const dvi_stream *s);

/* ---- For the TLS listener ----------------------------------------------- */

/* Called once when the handshake of a stream begun with dvi_tls_begin
 * ends: why is NULL if it succeeded (s is open; hand it on), else the
 * reason (close s). */
typedef void (*dvi_tls_handed_fn)(void *owner, dvi_stream *s, const char *why);
/* Starts a wrapped stream's inner stream and handshake before any user
 * has it, telling owner how it ended. The user who gets it later sets
 * itself and calls start, which then opens at once. */
int dvi_tls_begin(dvi_stream *s, dvi_tls_handed_fn handed, void *owner);

#endif
