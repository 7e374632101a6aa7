/* dvi_samehost: where a worker's socket file for same-host peers lives. */
#include "samehost.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "addr.h"
#include "secure.h"

#define S_SCHEME "unix://"

/* Whether dir is (made if asked) a directory of this user that no one
 * else may enter. lstat: a symbolic link planted there is refused. */
static int
s_private_dir(const char *dir, int create)
{
    if (create && mkdir(dir, 0700) == 0) {
        chmod(dir, 0700); /* whatever the umask said */
    }
    struct stat st;
    return lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) &&
           st.st_uid == geteuid() && (st.st_mode & 077) == 0;
}

/* The network namespace's inode ("net:[4026531840]"), 0 if unknown. */
static unsigned long long
s_netns(void)
{
    char link[64];
    ssize_t n = readlink("/proc/self/ns/net", link, sizeof(link) - 1);
    const char *bracket = n > 0 ? memchr(link, '[', (size_t)n) : NULL;
    if (bracket == NULL) {
        return 0;
    }
    link[n] = '\0';
    return strtoull(bracket + 1, NULL, 10);
}

int
dvi_samehost_addr(const dvi_tls_ctx *tls, const char *tcp_addr, int create,
                  char *out, size_t size)
{
    const char *off = getenv(DVI_ENV_SAMEHOST);
    char host[128];
    int port;
    if ((off != NULL && strcmp(off, "0") == 0) || tls == NULL ||
        !dvi_secure_needs_tls(tcp_addr) ||
        dvi_addr_split(tcp_addr, host, sizeof(host), &port) < 0) {
        return -1;
    }
    const char *base = getenv("XDG_RUNTIME_DIR");
    if (base == NULL || base[0] != '/') {
        base = "/tmp";
    }
    char user[256], cluster[320];
    snprintf(user, sizeof(user), "%s/drove-%u", base, (unsigned)geteuid());
    snprintf(cluster, sizeof(cluster), "%s/%s-%llu", user,
             dvi_tls_ctx_ca_id(tls), s_netns());
    if (!s_private_dir(user, create) || !s_private_dir(cluster, create)) {
        return -1;
    }
    char path[512];
    int n = snprintf(path, sizeof(path), "%s/%s-%d.sock", cluster, host, port);
    if (n < 0 || (size_t)n >= sizeof(((struct sockaddr_un *)0)->sun_path) ||
        (size_t)n + sizeof(S_SCHEME) > size) {
        return -1;
    }
    snprintf(out, size, S_SCHEME "%s", path);
    return 0;
}

int
dvi_samehost_connect(const dvi_tls_ctx *tls, const char *tcp_addr)
{
    char addr[sizeof(S_SCHEME) + sizeof(((struct sockaddr_un *)0)->sun_path)];
    if (dvi_samehost_addr(tls, tcp_addr, 0, addr, sizeof(addr)) < 0) {
        return -1;
    }
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    const char *path = addr + sizeof(S_SCHEME) - 1;
    memcpy(sa.sun_path, path, strlen(path) + 1); /* it fits: checked */
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    /* On a socket file, connect is done at once or fails at once (EAGAIN:
     * its backlog is full); it never waits for the other side. */
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}
