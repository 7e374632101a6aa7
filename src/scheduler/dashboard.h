/* dvi_dashboard: the scheduler's HTTP server (libmicrohttpd, on threads of
 * its own): a live page at /, a JSON API (/api/status, /api/workers,
 * /api/tasks?state=erred) and Prometheus metrics (/metrics).
 *
 * The scheduler's loop never waits for HTTP: a timer on the loop builds
 * a snapshot a few times a second (dash_view.c) and publishes it; the
 * server's threads only copy the latest one. Every request must carry
 * the token (`?token=`, or `Authorization: Bearer TOKEN`), as Jupyter
 * asks: task errors carry argument data. Off loopback it serves only
 * HTTPS, with the scheduler's certificate.
 */
#ifndef DVI_DASHBOARD_H
#define DVI_DASHBOARD_H

#include <stddef.h>
#include <uv.h>

#include "sched.h"

typedef struct dvi_dashboard dvi_dashboard;

typedef struct dvi_dashboard_opts {
    const char *listen;   /* "HOST:PORT"; PORT 0: any; a taken PORT: the next
                             free one of the 20 after it */
    const char *token;    /* what every request must carry */
    int metrics_open;     /* /metrics without the token, from loopback */
    const char *cert_pem; /* the certificate and key (PEM text) served off */
    const char *key_pem;  /* loopback; NULL there: refused */
    const char *address;  /* the scheduler's, as the page shows it */
} dvi_dashboard_opts;

/* Starts serving the scheduler s (on loop). url receives the page's URL
 * with its token. NULL with the reason set (a bad or taken address, no
 * certificate off loopback). */
dvi_dashboard *dvi_dashboard_start(uv_loop_t *loop, dvi_sched *s,
                                   const dvi_dashboard_opts *o, char *url,
                                   size_t size);
/* Stops the server and the snapshots. On the loop's thread. Accepts
 * NULL. */
void dvi_dashboard_stop(dvi_dashboard **d);

/* A fresh random token (32 hex digits) into out (at least 33 bytes). */
void dvi_dashboard_new_token(char *out, size_t size);

#endif
