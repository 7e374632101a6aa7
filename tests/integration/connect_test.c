/* drove — integration: dv_connect never hangs.
 *
 * A port that accepts connections but never answers — a silent server, a
 * stopped (SIGSTOP) scheduler — makes dv_connect fail after
 * $DROVE_CONNECT_TIMEOUT seconds with an error that names the address and
 * says nothing answered; a refused address fails at once, naming it.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dvtest.h"

/* A listening socket on 127.0.0.1 that nobody accepts from. */
static int
s_silent_server(char *addr, size_t size)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(sa);
    DVT_TRUE(fd >= 0);
    DVT_TRUE(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    DVT_TRUE(listen(fd, 16) == 0);
    DVT_TRUE(getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
    snprintf(addr, size, "tcp://127.0.0.1:%d", ntohs(sa.sin_port));
    return fd;
}

static void
s_expect_timeout(const char *addr)
{
    double t0 = dvt_now();
    dv_client *c = dv_connect(addr);
    double took = dvt_now() - t0;
    DVT_TRUE(c == NULL);
    DVT_CONTAINS(dv_last_error(), addr);
    DVT_CONTAINS(dv_last_error(), "no answer");
    DVT_TRUE(took >= 0.9 && took < 15.0);
}

static void
test_silent_server_times_out(void **state)
{
    char addr[64];
    int fd = s_silent_server(addr, sizeof(addr));
    s_expect_timeout(addr);
    close(fd);
}

static void
test_stopped_scheduler_times_out(void **state)
{
    dvt_cluster cl;
    DVT_PASS(dvt_cluster_start(&cl, 0, 1));
    pid_t pid = dvt_proc_pid(cl.sched);
    kill(pid, SIGSTOP);
    s_expect_timeout(cl.addr);
    kill(pid, SIGCONT);
    /* Running again, it answers. */
    dv_client *c = DVT_NOTNULL(dv_connect(cl.addr));
    dv_close(c);
    dvt_cluster_stop(&cl);
}

static void
test_refused_fails_at_once(void **state)
{
    char addr[64];
    int fd = s_silent_server(addr, sizeof(addr));
    close(fd); /* nothing listens there now */
    double t0 = dvt_now();
    DVT_TRUE(dv_connect(addr) == NULL);
    DVT_TRUE(dvt_now() - t0 < 5.0);
    DVT_CONTAINS(dv_last_error(), addr);
    DVT_CONTAINS(dv_last_error(), "refused");
}

int
main(void)
{
    dvt_init(100);
    setenv("DROVE_CONNECT_TIMEOUT", "1", 1);
    /* The first scheduler makes the profile whose client certificate
     * the others present: without one, tcp fails before dialing. */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stopped_scheduler_times_out),
        cmocka_unit_test(test_silent_server_times_out),
        cmocka_unit_test(test_refused_fails_at_once),
    };
    return dvt_finish(cmocka_run_group_tests(tests, NULL, NULL));
}
