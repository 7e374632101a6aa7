/* dvi_dashboard: the scheduler's HTTP server. */
#include "dashboard.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "dash_view.h"
#include "dashboard_page.h" /* s_page: dashboard.html, made at build time */
#include "trace.h"

/* How often the loop builds a snapshot. */
#define S_SNAPSHOT_MS 250
/* How long a request waits for a fresh snapshot (a loop busier than
 * that gets the last one served). */
#define S_WAIT_MS 1000
/* Ports tried after a taken one. */
#define S_PORT_TRIES 20

/* What the server's threads serve: the latest snapshot, as text. It is
 * built only while someone asks: a request marks it wanted and waits
 * (its own thread, never the loop) for the next one, at most a snapshot
 * period away; nobody looking costs the scheduler nothing. */
typedef struct s_snapshot {
    uv_mutex_t lock;
    uv_cond_t fresh;
    uint64_t gen; /* snapshots published */
    int wanted;   /* a request waits for the next one */
    char *status, *workers, *errors, *metrics;
} s_snapshot;

struct dvi_dashboard {
    dvi_sched *sched;
    dvi_trace *trace;
    dvi_dash_rate rate;
    uv_timer_t *timer; /* malloc'ed: it closes after the dashboard goes */
    struct MHD_Daemon *mhd;
    s_snapshot snap;
    char token[128];
    char address[256];
    int metrics_open;
};

static void
s_publish(s_snapshot *s, char *status, char *workers, char *errors,
          char *metrics)
{
    uv_mutex_lock(&s->lock);
    free(s->status);
    free(s->workers);
    free(s->errors);
    free(s->metrics);
    s->status = status;
    s->workers = workers;
    s->errors = errors;
    s->metrics = metrics;
    s->gen++;
    uv_cond_broadcast(&s->fresh);
    uv_mutex_unlock(&s->lock);
}

static void
s_snapshot_cb(uv_timer_t *t)
{
    dvi_dashboard *d = t->data;
    const dvi_core *c = dvi_sched_core(d->sched);
    dvi_dash_rate_sample(&d->rate, c, dvi_trace_now());
    uv_mutex_lock(&d->snap.lock);
    int wanted = d->snap.wanted;
    d->snap.wanted = 0;
    uv_mutex_unlock(&d->snap.lock);
    if (!wanted) {
        return;
    }
    json_t *o = dvi_dash_status(c, d->trace, &d->rate, d->address);
    char *status = json_dumps(o, JSON_COMPACT);
    char *workers = json_dumps(json_object_get(o, "workers"), JSON_COMPACT);
    char *errors = json_dumps(json_object_get(o, "errors"), JSON_COMPACT);
    json_decref(o);
    s_publish(&d->snap, status, workers, errors, dvi_dash_metrics(c, d->trace));
}

/* ---- Requests (on the server's threads) ----------------------------------
 */

static enum MHD_Result
s_reply(struct MHD_Connection *conn, unsigned code, const char *type,
        const char *body)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    enum MHD_Result rc = MHD_queue_response(conn, code, r);
    MHD_destroy_response(r);
    return rc;
}

/* Replies with a copy of the snapshot's text *field. */
static enum MHD_Result
s_reply_snap(dvi_dashboard *d, struct MHD_Connection *conn, char **field,
             const char *type)
{
    uv_mutex_lock(&d->snap.lock);
    uint64_t want = d->snap.gen + 1;
    d->snap.wanted = 1;
    while (d->snap.gen < want &&
           uv_cond_timedwait(&d->snap.fresh, &d->snap.lock,
                             (uint64_t)S_WAIT_MS * 1000000) == 0) {
    }
    char *text = dvi_strdup(*field ? *field : "{}");
    uv_mutex_unlock(&d->snap.lock);
    enum MHD_Result rc = s_reply(conn, MHD_HTTP_OK, type, text);
    free(text);
    return rc;
}

static int
s_token_ok(const dvi_dashboard *d, const char *given)
{
    size_t n = strlen(d->token);
    return given != NULL && strlen(given) == n &&
           sodium_memcmp(given, d->token, n) == 0;
}

static int
s_authorized(const dvi_dashboard *d, struct MHD_Connection *conn)
{
    const char *q =
        MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "token");
    const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                MHD_HTTP_HEADER_AUTHORIZATION);
    if (s_token_ok(d, q)) {
        return 1;
    }
    return h != NULL && strncmp(h, "Bearer ", 7) == 0 && s_token_ok(d, h + 7);
}

static int
s_from_loopback(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    if (sa != NULL && sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const void *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa != NULL && sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const void *)sa;
        return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
    }
    return 0;
}

static enum MHD_Result
s_handle(void *cls, struct MHD_Connection *conn, const char *url,
         const char *method, const char *version, const char *upload,
         size_t *upload_size, void **req)
{
    dvi_dashboard *d = cls;
    (void)version;
    (void)upload;
    (void)req;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        return s_reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain",
                       "only GET\n");
    }
    if (*upload_size != 0) {
        return MHD_NO;
    }
    int is_metrics = strcmp(url, "/metrics") == 0;
    if (!s_authorized(d, conn) &&
        !(is_metrics && d->metrics_open && s_from_loopback(conn))) {
        return s_reply(conn, MHD_HTTP_UNAUTHORIZED, "text/plain",
                       "a token is needed: open the URL the scheduler "
                       "logged (…?token=), or send 'Authorization: Bearer "
                       "TOKEN'\n");
    }
    if (strcmp(url, "/") == 0) {
        return s_reply(conn, MHD_HTTP_OK, "text/html; charset=utf-8", s_page);
    }
    if (strcmp(url, "/api/status") == 0) {
        return s_reply_snap(d, conn, &d->snap.status, "application/json");
    }
    if (strcmp(url, "/api/workers") == 0) {
        return s_reply_snap(d, conn, &d->snap.workers, "application/json");
    }
    if (strcmp(url, "/api/tasks") == 0) {
        const char *state =
            MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "state");
        if (state == NULL || strcmp(state, "erred") != 0) {
            return s_reply(conn, MHD_HTTP_BAD_REQUEST, "text/plain",
                           "/api/tasks serves ?state=erred (the latest "
                           "errors)\n");
        }
        return s_reply_snap(d, conn, &d->snap.errors, "application/json");
    }
    if (is_metrics) {
        return s_reply_snap(d, conn, &d->snap.metrics,
                            "text/plain; version=0.0.4");
    }
    return s_reply(conn, MHD_HTTP_NOT_FOUND, "text/plain", "not found\n");
}

/* ---- Starting and stopping ------------------------------------------------
 */

void
dvi_dashboard_new_token(char *out, size_t size)
{
    unsigned char raw[16];
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2hex(out, size, raw, sizeof(raw));
}

/* Splits "HOST:PORT" into an IPv4 address. Returns 0, or DV_EINVAL with
 * the reason set. */
static int
s_parse(const char *listen, struct sockaddr_in *sa, int *loopback)
{
    char host[256];
    const char *colon = listen ? strrchr(listen, ':') : NULL;
    char *end = NULL;
    long port = colon ? strtol(colon + 1, &end, 10) : -1;
    if (colon == NULL || colon == listen || end == colon + 1 || *end != '\0' ||
        port < 0 || port > 65535 || (size_t)(colon - listen) >= sizeof(host)) {
        return dvi_seterr(DV_EINVAL,
                          "dashboard address '%s': not HOST:PORT (an IPv4 "
                          "address or localhost, and a port)",
                          listen ? listen : "(null)");
    }
    snprintf(host, sizeof(host), "%.*s", (int)(colon - listen), listen);
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    const char *ip = strcmp(host, "localhost") == 0 ? "127.0.0.1" : host;
    if (inet_pton(AF_INET, ip, &sa->sin_addr) != 1) {
        return dvi_seterr(DV_EINVAL,
                          "dashboard address '%s': '%s' is not an IPv4 "
                          "address",
                          listen, host);
    }
    *loopback = (ntohl(sa->sin_addr.s_addr) >> 24) == 127;
    return 0;
}

/* Starts the server on sa's port or one of the next free ones. */
static struct MHD_Daemon *
s_listen(dvi_dashboard *d, struct sockaddr_in *sa, int loopback,
         const dvi_dashboard_opts *o)
{
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
    if (!loopback) {
        flags |= MHD_USE_TLS;
    }
    uint16_t first = ntohs(sa->sin_port);
    int tries = first == 0 ? 1 : S_PORT_TRIES;
    for (int i = 0; i < tries && first + i <= 65535; i++) {
        sa->sin_port = htons((uint16_t)(first + i));
        struct MHD_Daemon *m =
            loopback
                ? MHD_start_daemon(flags, 0, NULL, NULL, s_handle, d,
                                   MHD_OPTION_SOCK_ADDR, sa, MHD_OPTION_END)
                : MHD_start_daemon(
                      flags, 0, NULL, NULL, s_handle, d, MHD_OPTION_SOCK_ADDR,
                      sa, MHD_OPTION_HTTPS_MEM_KEY, o->key_pem,
                      MHD_OPTION_HTTPS_MEM_CERT, o->cert_pem, MHD_OPTION_END);
        if (m != NULL) {
            const union MHD_DaemonInfo *di =
                MHD_get_daemon_info(m, MHD_DAEMON_INFO_BIND_PORT);
            sa->sin_port = htons(di ? di->port : (uint16_t)(first + i));
            return m;
        }
    }
    dvi_seterr(DV_EIO, "dashboard: cannot listen on %s:%u%s",
               inet_ntoa(sa->sin_addr), first,
               tries > 1 ? " or the 19 ports after it" : "");
    return NULL;
}

static void
s_timer_closed(uv_handle_t *h)
{
    free(h);
}

dvi_dashboard *
dvi_dashboard_start(uv_loop_t *loop, dvi_sched *s, const dvi_dashboard_opts *o,
                    char *url, size_t size)
{
    struct sockaddr_in sa;
    int loopback = 0;
    if (s_parse(o->listen, &sa, &loopback) < 0) {
        return NULL;
    }
    if (!loopback && (o->cert_pem == NULL || o->key_pem == NULL)) {
        dvi_seterr(DV_EINVAL,
                   "dashboard on %s: off loopback it serves only HTTPS, and "
                   "this scheduler has no certificate",
                   o->listen);
        return NULL;
    }
    if (sodium_init() < 0 || o->token == NULL || o->token[0] == '\0') {
        dvi_seterr(DV_EINVAL, "dashboard: no token");
        return NULL;
    }
    dvi_dashboard *d = dvi_calloc(1, sizeof(*d));
    d->sched = s;
    d->metrics_open = o->metrics_open;
    snprintf(d->token, sizeof(d->token), "%s", o->token);
    snprintf(d->address, sizeof(d->address), "%s",
             o->address ? o->address : "");
    uv_mutex_init(&d->snap.lock);
    uv_cond_init(&d->snap.fresh);
    d->mhd = s_listen(d, &sa, loopback, o);
    if (d->mhd == NULL) {
        uv_cond_destroy(&d->snap.fresh);
        uv_mutex_destroy(&d->snap.lock);
        free(d);
        return NULL;
    }
    d->trace = dvi_trace_new();
    dvi_sched_set_trace(s, d->trace);
    d->timer = dvi_malloc(sizeof(*d->timer));
    uv_timer_init(loop, d->timer);
    d->timer->data = d;
    uv_timer_start(d->timer, s_snapshot_cb, S_SNAPSHOT_MS, S_SNAPSHOT_MS);
    uv_unref((uv_handle_t *)d->timer);
    /* On every interface (0.0.0.0): the host others reach the scheduler
     * at, from its address. */
    char host[256];
    snprintf(host, sizeof(host), "%s", inet_ntoa(sa.sin_addr));
    const char *sched = o->address ? strstr(o->address, "://") : NULL;
    if (sa.sin_addr.s_addr == htonl(INADDR_ANY) && sched != NULL) {
        snprintf(host, sizeof(host), "%.*s", (int)strcspn(sched + 3, ":/"),
                 sched + 3);
    }
    snprintf(url, size, "%s://%s:%u/?token=%s", loopback ? "http" : "https",
             host, ntohs(sa.sin_port), d->token);
    return d;
}

void
dvi_dashboard_stop(dvi_dashboard **dp)
{
    dvi_dashboard *d = *dp;
    if (d == NULL) {
        return;
    }
    *dp = NULL;
    MHD_stop_daemon(d->mhd); /* joins its threads: no request runs now */
    uv_close((uv_handle_t *)d->timer, s_timer_closed);
    dvi_sched_set_trace(d->sched, NULL);
    dvi_trace_destroy(&d->trace);
    s_publish(&d->snap, NULL, NULL, NULL, NULL);
    uv_cond_destroy(&d->snap.fresh);
    uv_mutex_destroy(&d->snap.lock);
    free(d);
}
