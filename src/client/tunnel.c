/* A client's ssh tunnel to its scheduler (tunnel.h). */
#include "tunnel.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/profile.h"
#include "drove.h"
#include "proto/addr.h"

#define S_WAIT_S 20 /* for ssh to log in and forward */
#define S_MAX_ARGS 48

extern char **environ;

struct dvi_tunnel {
    pid_t pid; /* ssh */
};

/* A port on 127.0.0.1 that was free a moment ago, or -1. */
static int
s_free_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0) {
        port = ntohs(sa.sin_port);
    }
    if (fd >= 0) {
        close(fd);
    }
    return port;
}

/* Whether something accepts on 127.0.0.1:port. */
static int
s_accepts(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    if (fd >= 0) {
        close(fd);
    }
    return ok;
}

/* Splits "ssh://[USER@]HOST[:PORT]/profile[:NAME]" into dest, port ("" for
 * ssh's) and the profile's name ("" for the selected one). */
static int
s_parse(const char *spec, char *dest, size_t dsize, char *port, size_t psize,
        char *profile, size_t nsize)
{
    const char *host = spec + 6; /* after "ssh://" */
    const char *slash = strchr(host, '/');
    const char *prof = slash ? slash + 1 : "";
    if (slash == NULL || slash == host || (size_t)(slash - host) >= dsize ||
        strncmp(prof, "profile", 7) != 0 ||
        (prof[7] != '\0' && prof[7] != ':')) {
        return dvi_seterr(DV_EINVAL,
                          "'%s': want ssh://[USER@]HOST[:PORT]/profile:NAME",
                          spec);
    }
    snprintf(dest, dsize, "%.*s", (int)(slash - host), host);
    snprintf(profile, nsize, "%s", prof[7] ? prof + 8 : "");
    char *colon = strrchr(dest, ':');
    port[0] = '\0';
    if (colon != NULL) {
        snprintf(port, psize, "%s", colon + 1);
        *colon = '\0';
    }
    if (dest[0] == '\0' || dest[0] == '-' ||
        strspn(port, "0123456789") != strlen(port)) {
        return dvi_seterr(DV_EINVAL, "'%s': a bad host or port", spec);
    }
    return 0;
}

/* ssh's arguments into argv (words of $DROVE_SSH_OPTIONS into opts). */
static void
s_argv(char **argv, char *opts, const char *port, const char *forward,
       const char *dest)
{
    int n = 0;
    static char *const base[] = {"ssh", "-N",
                                 "-o",  "ExitOnForwardFailure=yes",
                                 "-o",  "BatchMode=yes",
                                 "-o",  "LogLevel=ERROR"};
    for (size_t i = 0; i < sizeof(base) / sizeof(base[0]); i++) {
        argv[n++] = base[i];
    }
    char *save = NULL;
    for (char *w = strtok_r(opts, " \t", &save); w && n < S_MAX_ARGS - 6;
         w = strtok_r(NULL, " \t", &save)) {
        argv[n++] = w;
    }
    if (port[0] != '\0') {
        argv[n++] = "-p";
        argv[n++] = (char *)port;
    }
    argv[n++] = "-L";
    argv[n++] = (char *)forward;
    argv[n++] = (char *)dest;
    argv[n] = NULL;
}

/* Waits for ssh to forward local, or to fail. */
static int
s_wait(dvi_tunnel *t, int local, const char *dest)
{
    for (int i = 0; i < S_WAIT_S * 20; i++) {
        int status;
        if (waitpid(t->pid, &status, WNOHANG) == t->pid) {
            t->pid = 0;
            return dvi_seterr(DV_ECONN,
                              "ssh to %s ended (status %d) before forwarding "
                              "(its message is above)",
                              dest,
                              WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        }
        if (s_accepts(local)) {
            return 0;
        }
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return dvi_seterr(DV_ECONN, "ssh to %s did not forward within %d s", dest,
                      S_WAIT_S);
}

int
dvi_tunnel_open(const char *spec, dvi_tunnel **out, char *profile, size_t psize,
                char *addr, size_t asize)
{
    char dest[256], port[16], host[256], forward[400];
    int rport;
    *out = NULL;
    int rc =
        s_parse(spec, dest, sizeof(dest), port, sizeof(port), profile, psize);
    dvi_profile p;
    dvi_profile_conn pc;
    if (rc == 0 && (rc = dvi_profile_init(&p, profile)) == 0 &&
        (rc = dvi_profile_read_conn(&p, &pc)) < 0) {
        rc = dvi_seterr(rc,
                        "%s: the client's copy of profile '%s' has no "
                        "connection file (drove profile export "
                        "--client on the scheduler's host makes one)",
                        spec, p.name);
    }
    if (rc < 0 ||
        (rc = dvi_addr_split(pc.client_addr, host, sizeof(host), &rport)) < 0) {
        return rc;
    }
    int local = s_free_port();
    snprintf(forward, sizeof(forward), "127.0.0.1:%d:%s:%d", local, host,
             rport);
    char *opts = dvi_strdup(
        getenv("DROVE_SSH_OPTIONS") ? getenv("DROVE_SSH_OPTIONS") : "");
    char *argv[S_MAX_ARGS];
    s_argv(argv, opts, port, forward, dest);
    dvi_tunnel *t = dvi_calloc(1, sizeof(*t));
    rc = posix_spawnp(&t->pid, "ssh", NULL, NULL, argv, environ);
    free(opts);
    if (rc != 0) {
        free(t);
        return dvi_seterr(DV_ESYS, "starting ssh: %s", strerror(rc));
    }
    if ((rc = s_wait(t, local, dest)) < 0) {
        dvi_tunnel_close(&t);
        return rc;
    }
    snprintf(addr, asize, "tcp://127.0.0.1:%d", local);
    *out = t;
    return 0;
}

void
dvi_tunnel_close(dvi_tunnel **tp)
{
    dvi_tunnel *t = *tp;
    if (t == NULL) {
        return;
    }
    *tp = NULL;
    if (t->pid > 0) {
        kill(t->pid, SIGTERM);
        while (waitpid(t->pid, NULL, 0) < 0 && errno == EINTR) {
        }
    }
    free(t);
}
