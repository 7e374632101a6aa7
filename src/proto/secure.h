/* dvi_secure: which stream an address gets, so that nothing crosses TCP
 * without mutual TLS.
 *
 * Every connection drove makes or accepts goes through here. A tcp://
 * address gets a TLS stream (stream_tls.h) carrying this side's identity
 * and accepting only the peer roles given; unix:// and inproc:// stay
 * plain, as only this host's users (a directory of mode 0700) or this
 * process can reach them. Without an identity, a tcp:// address is
 * refused with DV_EAUTH: there is no way to turn TLS off for users.
 *
 * Tests and benchmarks alone may set DROVE_TEST_PLAINTEXT=1 to speak
 * plain TCP, and only on loopback addresses: so a test can show what TLS
 * hides, and a benchmark what it costs.
 */
#ifndef DVI_SECURE_H
#define DVI_SECURE_H

#include <stddef.h>
#include <uv.h>

#include "common/profile.h"
#include "conn.h"
#include "stream.h"
#include "tls_ctx.h"

#define DVI_ENV_TEST_PLAINTEXT "DROVE_TEST_PLAINTEXT"

/* Whether addr is a tcp:// address that the test switch lets go in plain
 * TCP: DROVE_TEST_PLAINTEXT=1 and a loopback host. */
int dvi_secure_plaintext(const char *addr);

/* Whether addr needs an identity to be dialled or listened on: a tcp://
 * address the test switch does not cover. */
int dvi_secure_needs_tls(const char *addr);

/* Dials addr: over TLS with tls for tcp:// (the peer must carry one of
 * peer_roles, a DVI_PKI_ROLE_BIT mask), plain otherwise. Caller owns. NULL
 * with the reason set: DV_EAUTH for tcp:// without tls, DV_EINVAL for a
 * bad address. */
dvi_stream *dvi_secure_dial(uv_loop_t *loop, const char *addr, dvi_tls_ctx *tls,
                            unsigned peer_roles);

/* Listens on addr as dvi_stream_listen does, with TLS for tcp:// (peers
 * must carry one of peer_roles; those that fail never reach on_accept).
 * bound receives the address as peers dial it ("tcp://...", never
 * "tls+..."). NULL with the reason set, as dvi_secure_dial. */
dvi_stream_listener *dvi_secure_listen(uv_loop_t *loop, const char *addr,
                                       dvi_tls_ctx *tls, unsigned peer_roles,
                                       dvi_stream_accept_fn on_accept,
                                       void *ctx, char *bound, size_t size);

/* dvi_conn_dial and dvi_listen through the above. */
dvi_conn *dvi_conn_dial_secure(uv_loop_t *loop, const char *addr,
                               dvi_tls_ctx *tls, unsigned peer_roles,
                               dvi_conn_frame_fn on_frame,
                               dvi_conn_close_fn on_close, void *data);
dvi_listener *dvi_listen_secure(uv_loop_t *loop, const char *addr,
                                dvi_tls_ctx *tls, unsigned peer_roles,
                                dvi_accept_fn on_accept,
                                dvi_conn_frame_fn on_frame,
                                dvi_conn_close_fn on_close, void *data,
                                char *bound, size_t size);

/* This process's identity as role (enum dvi_pki_role) of profile p: a
 * TLS context trusting the profile's CA and presenting the role's
 * certificate. Caller owns; dvi_tls_ctx_destroy. NULL with DV_EAUTH and a
 * reason that names the profile and what it lacks. */
dvi_tls_ctx *dvi_secure_identity(const dvi_profile *p, int role);

/* The role (enum dvi_pki_role) of c's peer as its certificate proves it,
 * or DVI_SECURE_TRUSTED for a connection that needs no certificate (Unix
 * socket, in-process, inherited socket, or the test switch). */
#define DVI_SECURE_TRUSTED (-1)
int dvi_conn_peer_role(const dvi_conn *c);

#endif
