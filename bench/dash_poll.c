/* A client polling the dashboard's /api/status once a second. */
#include "dash_poll.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static pthread_t s_thread;
static atomic_int s_stop;
static int s_port, s_ok;
static char s_token[128];

/* One GET of /api/status; 1 if it answered 200. */
static int
s_get(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)s_port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        if (fd >= 0) {
            close(fd);
        }
        return 0;
    }
    char buf[65536];
    int n = snprintf(buf, sizeof(buf),
                     "GET /api/status?token=%s HTTP/1.0\r\n\r\n", s_token);
    int ok = write(fd, buf, (size_t)n) == n;
    ssize_t r, got = 0;
    while ((r = read(fd, buf + (got < 64 ? got : 0), sizeof(buf) - 64 - 1)) >
           0) {
        got += r;
    }
    close(fd);
    return ok && got > 12 && strncmp(buf + 9, "200", 3) == 0;
}

static void *
s_loop(void *arg)
{
    (void)arg;
    while (!atomic_load(&s_stop)) {
        s_ok += s_get();
        for (int i = 0; i < 20 && !atomic_load(&s_stop); i++) {
            usleep(50 * 1000); /* a second, in slices, to stop quickly */
        }
    }
    return NULL;
}

int
dash_poll_start(int port, const char *token_path)
{
    FILE *f = fopen(token_path, "r");
    if (f == NULL || fscanf(f, "%127s", s_token) != 1) {
        fprintf(stderr, "dash_poll: no token in %s\n", token_path);
        if (f != NULL) {
            fclose(f);
        }
        return -1;
    }
    fclose(f);
    s_port = port;
    s_ok = 0;
    atomic_store(&s_stop, 0);
    return pthread_create(&s_thread, NULL, s_loop, NULL) == 0 ? 0 : -1;
}

int
dash_poll_stop(void)
{
    atomic_store(&s_stop, 1);
    pthread_join(s_thread, NULL);
    return s_ok;
}

int
dash_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof(sa);
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
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
