/* dvi_addr: splitting and joining tcp:// addresses, wildcards, and this
 * host's interfaces. */
#include "addr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "common/err.h"
#include "drove.h"

int
dvi_addr_split(const char *addr, char *host, size_t size, int *port)
{
    if (strncmp(addr, "tcp://", 6) != 0) {
        return dvi_seterr(DV_EINVAL, "bad address '%s' (want tcp://HOST:PORT)",
                          addr);
    }
    const char *hp = addr + 6;
    const char *colon = strrchr(hp, ':');
    if (colon == NULL || colon == hp || (size_t)(colon - hp) >= size) {
        return dvi_seterr(DV_EINVAL, "bad address '%s' (want tcp://HOST:PORT)",
                          addr);
    }
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (*end != '\0' || p < 0 || p > 65535 || end == colon + 1) {
        return dvi_seterr(DV_EINVAL, "bad port in '%s'", addr);
    }
    size_t n = (size_t)(colon - hp);
    if (n >= 2 && hp[0] == '[' && hp[n - 1] == ']') {
        hp++;
        n -= 2;
    }
    memcpy(host, hp, n);
    host[n] = '\0';
    *port = (int)p;
    return 0;
}

void
dvi_addr_join(const char *host, int port, char *out, size_t size)
{
    if (strchr(host, ':') != NULL) {
        snprintf(out, size, "tcp://[%s]:%d", host, port);
    } else {
        snprintf(out, size, "tcp://%s:%d", host, port);
    }
}

int
dvi_addr_is_loopback(const char *host)
{
    return strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0 ||
           strcmp(host, "localhost") == 0;
}

int
dvi_addr_is_wildcard(const char *addr)
{
    char host[256];
    int port;
    if (strncmp(addr, "tcp://", 6) != 0 ||
        dvi_addr_split(addr, host, sizeof(host), &port) < 0) {
        return 0;
    }
    return strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0;
}

/* The rank of an interface address (lower is better), or -1 to leave it
 * out. */
static int
s_rank(const uv_interface_address_t *a, int ipv6)
{
    if (a->address.address4.sin_family == AF_INET) {
        return a->is_internal ? 2 : 0;
    }
    if (!ipv6 || a->address.address6.sin6_family != AF_INET6) {
        return -1;
    }
    const unsigned char *b = a->address.address6.sin6_addr.s6_addr;
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) {
        return -1; /* link-local: useless without its interface */
    }
    return a->is_internal ? 3 : 1;
}

size_t
dvi_addr_interfaces(int ipv6, char (*ips)[64], size_t max)
{
    uv_interface_address_t *ifs = NULL;
    int count = 0;
    if (uv_interface_addresses(&ifs, &count) < 0) {
        return 0;
    }
    size_t n = 0;
    for (int rank = 0; rank <= 3; rank++) {
        for (int i = 0; i < count && n < max; i++) {
            if (s_rank(&ifs[i], ipv6) != rank) {
                continue;
            }
            if (ifs[i].address.address4.sin_family == AF_INET) {
                uv_ip4_name(&ifs[i].address.address4, ips[n], 64);
            } else {
                uv_ip6_name(&ifs[i].address.address6, ips[n], 64);
            }
            n++;
        }
    }
    uv_free_interface_addresses(ifs, count);
    return n;
}

void
dvi_addr_reachable(const char *bound, char *out, size_t size)
{
    char host[256], ips[1][64];
    int port;
    if (!dvi_addr_is_wildcard(bound) ||
        dvi_addr_split(bound, host, sizeof(host), &port) < 0) {
        snprintf(out, size, "%s", bound);
        return;
    }
    size_t n = dvi_addr_interfaces(strcmp(host, "::") == 0, ips, 1);
    dvi_addr_join(n > 0 ? ips[0] : "127.0.0.1", port, out, size);
}
