/* drove — test support: two hosts played by network namespaces.
 *
 * Two namespaces joined by a veth pair, each end named after its
 * namespace, with addresses SUBNET.1 (host A, dvt_netns_host(0)) and
 * SUBNET.2 (host B) and no route to anything else. The pair is made
 * inside the namespaces: it never touches the host's own network, and
 * goes with them. Needs root and `ip netns` (shared/recipes/
 * sshd-mpi-netns.md, part C). Commands' output goes to HOME/netns.log.
 */
#ifndef DVT_NETNS_H
#define DVT_NETNS_H

#include "dvtest.h"

/* The exit status of a test that cannot make its namespaces. */
#define DVT_NETNS_SKIP 77

/* Makes hosts A and B, named after tag ("dvn": dvnPIDa, dvnPIDb), on
 * subnet ("10.231.0"), deleted at exit. Returns 0, DVT_NETNS_SKIP (no
 * root, no `ip`, no namespaces here), or 1 (setup failed); the reason is
 * printed. */
int dvt_netns_make(const char *tag, const char *subnet);
/* Deletes the namespaces now (also done at exit). Idempotent. */
void dvt_netns_delete(void);
/* The namespace of host 0 (A) or 1 (B). */
const char *dvt_netns_host(int host);
/* Runs `ip ARGS` (formatted); returns its exit status. */
int dvt_netns_ip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Moves this process into host's namespace (before any thread starts).
 * 0, or -1 (printed). */
int dvt_netns_enter(int host);
/* Starts `drove ARGS...` (NULL-terminated) in host's namespace, named
 * name; NULL if it cannot be started. */
dvt_proc *dvt_netns_spawn(const char *name, int host, ...);

#endif
