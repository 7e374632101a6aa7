/* dvi_samehost: a worker's socket file, for peers on its own host.
 *
 * Between two processes of one host, TLS costs as much again as the copy
 * it protects: over loopback a 256 MiB result moved at half the speed of
 * plain TCP, though nothing it crossed could be read by another host. So
 * a worker that serves peers over TLS at tcp://HOST:PORT also listens on
 * a socket file named by that address, and a peer about to dial it tries
 * the file first:
 *
 *     BASE/drove-UID/CA-NETNS/HOST-PORT.sock
 *
 * BASE is $XDG_RUNTIME_DIR (absolute), else /tmp. drove-UID is this user's
 * directory, mode 0700, used only if it is a directory of this user that
 * no one else may enter: so only this user (and root) can connect, as
 * only this user can read the credentials TLS would check. CA names the
 * cluster's CA (tls_ctx.h): members of another cluster never meet. NETNS
 * is the network namespace: HOST:PORT names one listener in a namespace,
 * so the file leads where TCP to that address would, and a host cut off by
 * a namespace stays cut off.
 *
 * A file that is missing, stale (its worker died) or busy is passed over
 * and the peer dials TLS as before; so is everything when
 * DROVE_SAMEHOST=0. Blocking calls (mkdir, lstat, connect on a socket file
 * never waits): at start-up, and once per new peer.
 */
#ifndef DVI_SAMEHOST_H
#define DVI_SAMEHOST_H

#include <stddef.h>

#include "tls_ctx.h"

#define DVI_ENV_SAMEHOST "DROVE_SAMEHOST"

/* The socket file for tcp_addr (as advertised: "tcp://HOST:PORT") of
 * tls's cluster, written to out as "unix:///PATH" (size bytes); with
 * create, its directories are made. Returns 0, or -1 when there is none:
 * switched off, not a tcp:// address, no TLS, a directory that is not
 * this user's own, or a path too long for a socket. */
int dvi_samehost_addr(const dvi_tls_ctx *tls, const char *tcp_addr, int create,
                      char *out, size_t size);
/* A socket connected to tcp_addr's socket file, non-blocking; -1 if the
 * file is not there or no one accepts on it now. */
int dvi_samehost_connect(const dvi_tls_ctx *tls, const char *tcp_addr);

#endif
