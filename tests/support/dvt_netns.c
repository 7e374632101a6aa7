/* drove — test support: two hosts played by network namespaces. */
#define _GNU_SOURCE
#include "dvt_netns.h"

#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static char s_ns[2][32]; /* the namespaces: host A, host B */
static const char *s_ip; /* the ip command */
static int s_made;       /* namespaces made, to delete */

/* Runs a shell command (formatted, va_list), its output to
 * HOME/netns.log; returns its exit status. */
static int
s_vsh(const char *fmt, va_list ap)
{
    char cmd[512], full[768];
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    snprintf(full, sizeof(full), "%s %s >>%s/netns.log 2>&1", s_ip, cmd,
             dvt_home());
    int rc = system(full);
    return rc == -1 ? -1 : WEXITSTATUS(rc);
}

int
dvt_netns_ip(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = s_vsh(fmt, ap);
    va_end(ap);
    return rc;
}

void
dvt_netns_delete(void)
{
    if (s_made) {
        dvt_netns_ip("netns del %s", s_ns[0]);
        dvt_netns_ip("netns del %s", s_ns[1]);
        s_made = 0;
    }
}

static void
s_print_log(const char *what)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/netns.log", dvt_home());
    char *log = dvt_read_file(path);
    fprintf(stderr, "dvt_netns: %s: %s\n", what, log ? log : "");
    free(log);
}

static const char *
s_find_ip(void)
{
    static const char *const paths[] = {"/usr/sbin/ip", "/sbin/ip",
                                        "/usr/bin/ip", "/bin/ip"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        if (access(paths[i], X_OK) == 0) {
            return paths[i];
        }
    }
    return NULL;
}

int
dvt_netns_make(const char *tag, const char *subnet)
{
    s_ip = s_find_ip();
    if (s_ip == NULL || geteuid() != 0) {
        fprintf(stderr, "dvt_netns: skipped: %s\n",
                s_ip ? "needs root to make network namespaces"
                     : "no `ip` command (iproute2)");
        return DVT_NETNS_SKIP;
    }
    snprintf(s_ns[0], sizeof(s_ns[0]), "%s%da", tag, (int)getpid());
    snprintf(s_ns[1], sizeof(s_ns[1]), "%s%db", tag, (int)getpid());
    if (dvt_netns_ip("netns add %s", s_ns[0]) != 0) {
        s_print_log("skipped: `ip netns add` failed");
        return DVT_NETNS_SKIP;
    }
    s_made = 1;
    atexit(dvt_netns_delete);
    const char *a = s_ns[0], *b = s_ns[1];
    int rc = dvt_netns_ip("netns add %s", b);
    rc |= dvt_netns_ip("link add %s netns %s type veth peer name %s netns %s",
                       a, a, b, b);
    for (int i = 0; i < 2; i++) {
        rc |= dvt_netns_ip("-n %s addr add %s.%d/24 dev %s", s_ns[i], subnet,
                           i + 1, s_ns[i]);
        rc |= dvt_netns_ip("-n %s link set lo up", s_ns[i]);
        rc |= dvt_netns_ip("-n %s link set %s up", s_ns[i], s_ns[i]);
    }
    if (rc != 0) {
        s_print_log("setting up the namespaces failed");
        return 1;
    }
    return 0;
}

const char *
dvt_netns_host(int host)
{
    return s_ns[host != 0];
}

int
dvt_netns_enter(int host)
{
    char path[128];
    snprintf(path, sizeof(path), "/var/run/netns/%s", dvt_netns_host(host));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) {
        perror("dvt_netns: setns");
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    close(fd);
    return 0;
}

dvt_proc *
dvt_netns_spawn(const char *name, int host, ...)
{
    char *argv[24] = {(char *)s_ip, "netns", "exec",
                      (char *)dvt_netns_host(host), (char *)dvt_drove_bin()};
    int n = 5;
    va_list ap;
    va_start(ap, host);
    for (char *arg; n < 23 && (arg = va_arg(ap, char *)) != NULL;) {
        argv[n++] = arg;
    }
    va_end(ap);
    argv[n] = NULL;
    return dvt_spawn(name, argv);
}
