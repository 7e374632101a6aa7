/* dvi_addr: tcp:// addresses as text, and which of them a peer can use.
 *
 * A process that listens on a wildcard (tcp://0.0.0.0:PORT, tcp://[::]:PORT)
 * must not hand that address to others: nobody can dial 0.0.0.0. These
 * helpers split and rebuild addresses, tell a wildcard, and list this
 * host's interfaces, so that a scheduler prints an address a client can
 * use and a worker advertises one its peers can reach.
 */
#ifndef DVI_ADDR_H
#define DVI_ADDR_H

#include <stddef.h>

/* Splits "tcp://HOST:PORT" (an IPv6 literal in brackets) into host
 * (without brackets, size bytes) and port. Returns 0, or DV_EINVAL with
 * the reason set. */
int dvi_addr_split(const char *addr, char *host, size_t size, int *port);
/* Writes "tcp://HOST:PORT" (brackets around an IPv6 host) into out. */
void dvi_addr_join(const char *host, int port, char *out, size_t size);
/* Whether the bare host is a loopback address (127.x.y.z, ::1,
 * localhost): one that only this host can dial. */
int dvi_addr_is_loopback(const char *host);
/* Whether addr is a tcp:// address whose host is 0.0.0.0 or ::. */
int dvi_addr_is_wildcard(const char *addr);
/* This host's interface addresses that are up, as bare IPs, best first
 * for a peer on another host: IPv4 before IPv6 (only if ipv6), other
 * interfaces before loopback, IPv6 link-local left out. Fills up to max
 * entries of 64 bytes; returns how many. */
size_t dvi_addr_interfaces(int ipv6, char (*ips)[64], size_t max);
/* For a listener bound at bound: the address a peer should dial. For a
 * wildcard, the first of dvi_addr_interfaces (127.0.0.1 if there is
 * none) with bound's port; otherwise bound itself. */
void dvi_addr_reachable(const char *bound, char *out, size_t size);

#endif
