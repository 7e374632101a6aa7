/* drove — unit: dvi_addr, tcp:// addresses and which of them a peer can
 * dial.
 *
 * Splitting and joining round-trip IPv4, IPv6 (in brackets) and names; a
 * bad address is refused with its text; 0.0.0.0 and :: are wildcards and
 * nothing else is, 127.x and ::1 loopback; a wildcard listener is announced with an interface of
 * this host and its own port, never as 0.0.0.0, while any other address
 * is announced as it is.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dvtest.h"
#include "proto/addr.h"

static void
test_split_and_join(void **state)
{
    char host[64], out[128];
    int port = -1;
    DVT_PASS(dvi_addr_split("tcp://10.0.0.2:5000", host, sizeof(host),
                            &port));
    DVT_EQ_STR(host, "10.0.0.2");
    DVT_EQ_I64(port, 5000);
    DVT_PASS(dvi_addr_split("tcp://[fe80::1]:0", host, sizeof(host), &port));
    DVT_EQ_STR(host, "fe80::1");
    DVT_EQ_I64(port, 0);
    dvi_addr_join("fe80::1", 7, out, sizeof(out));
    DVT_EQ_STR(out, "tcp://[fe80::1]:7");
    dvi_addr_join("node3.example", 7, out, sizeof(out));
    DVT_EQ_STR(out, "tcp://node3.example:7");
    DVT_FAILS_WITH(DV_EINVAL,
                   dvi_addr_split("bogus", host, sizeof(host), &port));
    DVT_CONTAINS(dv_last_error(), "'bogus'");
    DVT_FAILS_WITH(DV_EINVAL, dvi_addr_split("tcp://h:99999", host,
                                             sizeof(host), &port));
    DVT_FAILS_WITH(DV_EINVAL,
                   dvi_addr_split("tcp://:5", host, sizeof(host), &port));
}

static void
test_wildcards(void **state)
{
    DVT_TRUE(dvi_addr_is_wildcard("tcp://0.0.0.0:0"));
    DVT_TRUE(dvi_addr_is_wildcard("tcp://[::]:5000"));
    DVT_TRUE(!dvi_addr_is_wildcard("tcp://127.0.0.1:0"));
    DVT_TRUE(!dvi_addr_is_wildcard("inproc://0.0.0.0"));
    DVT_TRUE(!dvi_addr_is_wildcard("nonsense"));
    DVT_TRUE(dvi_addr_is_loopback("127.0.0.1"));
    DVT_TRUE(dvi_addr_is_loopback("127.1.2.3"));
    DVT_TRUE(dvi_addr_is_loopback("::1"));
    DVT_TRUE(!dvi_addr_is_loopback("10.0.0.1"));
    DVT_TRUE(!dvi_addr_is_loopback("1270.example"));
}

static void
test_reachable(void **state)
{
    char out[128], host[64];
    int port;
    dvi_addr_reachable("tcp://0.0.0.0:4321", out, sizeof(out));
    DVT_PASS(dvi_addr_split(out, host, sizeof(host), &port));
    DVT_EQ_I64(port, 4321);
    DVT_NE_STR(host, "0.0.0.0");
    /* It is one of this host's interfaces, the best first. */
    char ips[8][64];
    size_t n = dvi_addr_interfaces(0, ips, 8);
    DVT_TRUE(n >= 1); /* loopback at least */
    DVT_EQ_STR(host, ips[0]);
    for (size_t i = 0; i + 1 < n; i++) {
        /* loopback comes last */
        DVT_TRUE(strcmp(ips[i], "127.0.0.1") != 0);
    }
    dvi_addr_reachable("tcp://10.1.2.3:9", out, sizeof(out));
    DVT_EQ_STR(out, "tcp://10.1.2.3:9");
    dvi_addr_reachable("inproc://x", out, sizeof(out));
    DVT_EQ_STR(out, "inproc://x");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_and_join),
        cmocka_unit_test(test_wildcards),
        cmocka_unit_test(test_reachable),
    };
    return cmocka_run_group_tests_name("addr", tests, NULL, NULL);
}
