/* dvi_tunnel: reaching a scheduler only ssh reaches.
 *
 * dv_connect("ssh://[USER@]HOST[:PORT]/profile:NAME") reads the client's
 * copy of profile NAME (drove profile export --client), starts
 * `ssh -N -L` forwarding a local port to the scheduler's address as
 * HOST sees it, and dials that port: the scheduler's certificate names
 * 127.0.0.1, so TLS checks it as ever. More ssh options come from
 * $DROVE_SSH_OPTIONS (as "-i KEY -o StrictHostKeyChecking=accept-new");
 * ~/.ssh/config applies as for any ssh. The workers are not reachable
 * from here: the client asks the scheduler to relay results.
 */
#ifndef DVI_TUNNEL_H
#define DVI_TUNNEL_H

#include <stddef.h>

typedef struct dvi_tunnel dvi_tunnel;

/* Opens the tunnel spec names; *profile receives the profile's name (""
 * for the selected one) and *addr the local address to dial. Returns 0,
 * or a DV_E* code with the reason (DV_EINVAL for a bad spec, DV_ECONN if
 * ssh failed or did not forward within 20 s). */
int dvi_tunnel_open(const char *spec, dvi_tunnel **t, char *profile,
                    size_t psize, char *addr, size_t asize);
/* Ends ssh. Accepts NULL; sets *t to NULL. */
void dvi_tunnel_close(dvi_tunnel **t);

#endif
