/* The unix:// transport, and adopted socketpair ends: uv_pipe streams.
 *
 * A process worker inherits one end of a socketpair (dvi_stream_pipe_open);
 * local daemons can meet at a socket file, unix:///ABSOLUTE/PATH. A
 * listener makes its file mode 0600 (a Unix socket is guarded by its
 * file's permissions only), replaces a stale socket file (one nobody
 * answers on: what a crashed daemon leaves), refuses a live one, and
 * removes its own file when closed. Those file checks are blocking system
 * calls; like every listen, they happen at start-up, before the loop runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "drove.h"
#include "stream.h"
#include "stream_uv.h"

#define S_SCHEME "unix://"
/* The longest path a socket address holds, without its NUL. */
#define S_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

typedef struct s_dialer {
    dvi_uvstream u;
    uv_connect_t creq;
} s_dialer;

typedef struct s_listener {
    dvi_stream_listener base;
    uv_pipe_t pipe; /* bound: closing it removes the socket file */
} s_listener;

/* The send buffer a connected Unix socket asks for. The default (208
 * KiB) has a large result cross in over a thousand steps, each a wakeup of
 * the sender, a writev and a read: as many context switches, which cost
 * more than the copies on a virtual machine. The kernel holds memory only
 * for bytes queued, and caps the size at net.core.wmem_max. */
#define S_SNDBUF (4 << 20)

/* Sizes the send buffer of a connected socket (see S_SNDBUF). */
static void
s_tune(dvi_uvstream *u)
{
    int size = S_SNDBUF;
    (void)uv_send_buffer_size((uv_handle_t *)u->h, &size); /* advice */
}

/* A uvstream around a fresh uv_pipe_t, not yet connected. */
static dvi_uvstream *
s_new(uv_loop_t *loop, size_t size)
{
    dvi_uvstream *u = dvi_calloc(1, size);
    dvi_uvstream_init(u, loop);
    uv_pipe_t *p = dvi_malloc(sizeof(*p));
    uv_pipe_init(loop, p, 0);
    dvi_uvstream_set_handle(u, (uv_stream_t *)p);
    return u;
}

dvi_stream *
dvi_stream_pipe_open(uv_loop_t *loop, int fd)
{
    dvi_uvstream *u = s_new(loop, sizeof(*u));
    snprintf(u->base.peer, sizeof(u->base.peer), "fd %d", fd);
    int rc = uv_pipe_open((uv_pipe_t *)u->h, fd);
    if (rc < 0) {
        dvi_seterr_uv(rc, u->base.peer);
        dvi_stream_close(&u->base, NULL);
        return NULL;
    }
    u->open = 1;
    s_tune(u);
    return &u->base;
}

/* The path of "unix:///PATH": absolute, and short enough for a socket
 * address (libuv would silently cut a longer one). */
static int
s_path_of(const char *addr, char *path)
{
    const char *p = addr + strlen(S_SCHEME);
    if (p[0] != '/') {
        return dvi_seterr(
            DV_EINVAL, "bad address '%s' (want unix:///ABSOLUTE/PATH)", addr);
    }
    if (strlen(p) > S_PATH_MAX) {
        return dvi_seterr(DV_EINVAL, "%s: path longer than %zu bytes", addr,
                          S_PATH_MAX);
    }
    memcpy(path, p, strlen(p) + 1);
    return 0;
}

/* ---- Dialing ------------------------------------------------------------ */

static void
s_connected(uv_connect_t *req, int status)
{
    s_dialer *d = req->data;
    if (d->u.ending) {
        return;
    }
    if (status < 0) {
        char why[256];
        snprintf(why, sizeof(why), "%s: %s", d->u.base.peer,
                 uv_strerror(status));
        dvi_stream_error(&d->u.base, why);
        return;
    }
    s_tune(&d->u);
    dvi_uvstream_opened(&d->u);
}

static dvi_stream *
s_dial(uv_loop_t *loop, const char *addr)
{
    char path[S_PATH_MAX + 1];
    if (s_path_of(addr, path) < 0) {
        return NULL;
    }
    s_dialer *d = (s_dialer *)s_new(loop, sizeof(*d));
    snprintf(d->u.base.peer, sizeof(d->u.base.peer), "%s", addr);
    d->creq.data = d;
    /* Failures, even immediate ones, come through s_connected. */
    uv_pipe_connect(&d->creq, (uv_pipe_t *)d->u.h, path, s_connected);
    return &d->u.base;
}

/* ---- Listening ---------------------------------------------------------- */

/* Removes a socket file nobody answers on. Refuses a live one, and any
 * other kind of file (never delete what is not ours to delete). */
static int
s_clear_stale(const char *addr, const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        return 0; /* nothing there; bind reports other problems */
    }
    if (!S_ISSOCK(st.st_mode)) {
        return dvi_seterr(DV_EINVAL, "%s: the path exists and is not a socket",
                          addr);
    }
    struct sockaddr_un sa = {0};
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0) {
        return dvi_seterr(DV_ESYS, "%s: socket: %s", addr, strerror(errno));
    }
    /* Non-blocking, so that a live listener with a full backlog answers
     * EAGAIN instead of making us wait. */
    fcntl(fd, F_SETFL, O_NONBLOCK);
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
    int err = errno;
    close(fd);
    if (rc == 0 || err == EAGAIN || err == EINPROGRESS) {
        return dvi_seterr(DV_ECONN, "%s: address in use", addr);
    }
    if (err == ECONNREFUSED && unlink(path) == 0) {
        DVI_LOG(DVI_LOG_NOTICE, "CONN", "%s: removed a stale socket file",
                addr);
    }
    return 0;
}

static void
s_listener_closed(uv_handle_t *h)
{
    free(h->data);
}

static void
s_accept_cb(uv_stream_t *server, int status)
{
    s_listener *l = server->data;
    if (status < 0) {
        DVI_LOG(DVI_LOG_WARN, "CONN", "%s: accept: %s", l->base.name,
                uv_strerror(status));
        return;
    }
    dvi_uvstream *u = s_new(l->base.loop, sizeof(*u));
    if (uv_accept(server, u->h) < 0) {
        dvi_stream_close(&u->base, NULL);
        return;
    }
    u->open = 1;
    s_tune(u);
    /* A Unix peer has no address of its own: name it by the socket. */
    snprintf(u->base.peer, sizeof(u->base.peer), "%s", l->base.name);
    l->base.on_accept(l->base.ctx, &u->base);
}

static void
s_listener_close(dvi_stream_listener *base)
{
    s_listener *l = (s_listener *)base;
    /* libuv removes the file it bound when the handle closes, and removes
     * it before closing the socket, so that a successor's new file at the
     * same path is never the one removed. conn_test checks the removal. */
    uv_close((uv_handle_t *)&l->pipe, s_listener_closed);
}

static const dvi_stream_listener_ops s_listener_ops = {
    .close = s_listener_close,
};

/* Binds and listens; on failure the reason is set and l closed (which
 * removes a file already bound). */
static int
s_bind(s_listener *l, const char *addr, const char *path)
{
    int rc = uv_pipe_bind(&l->pipe, path);
    if (rc == 0) {
        /* Only this user may connect: a Unix socket's only guard is its
         * file's mode. Nobody can connect before listen, so no window. */
        rc = chmod(path, 0600) == 0 ? 0 : uv_translate_sys_error(errno);
    }
    if (rc == 0) {
        rc = uv_listen((uv_stream_t *)&l->pipe, 511, s_accept_cb);
    }
    if (rc < 0) {
        dvi_seterr_uv(rc, addr);
        uv_close((uv_handle_t *)&l->pipe, s_listener_closed);
    }
    return rc;
}

static dvi_stream_listener *
s_listen(uv_loop_t *loop, const char *addr, dvi_stream_accept_fn on_accept,
         void *ctx)
{
    char path[S_PATH_MAX + 1];
    if (s_path_of(addr, path) < 0 || s_clear_stale(addr, path) < 0) {
        return NULL;
    }
    s_listener *l = dvi_calloc(1, sizeof(*l));
    l->base.ops = &s_listener_ops;
    l->base.loop = loop;
    l->base.on_accept = on_accept;
    l->base.ctx = ctx;
    snprintf(l->base.name, sizeof(l->base.name), "%s", addr);
    uv_pipe_init(loop, &l->pipe, 0);
    l->pipe.data = l;
    return s_bind(l, addr, path) < 0 ? NULL : &l->base;
}

const dvi_stream_transport dvi_stream_unix = {S_SCHEME, s_dial, s_listen};
