/* A client of the scheduler's dashboard polling /api/status at the page's
 * rate (once a second) on a thread of its own, as a browser left open on
 * the page does: what bench_drove's tcp_dash measures the cost of. */
#ifndef DASH_POLL_H
#define DASH_POLL_H

/* Starts polling http://127.0.0.1:port/api/status with the token in the
 * file token_path. Returns 0, or -1 (printed). */
int dash_poll_start(int port, const char *token_path);
/* Stops it; returns how many answers of 200 it got. */
int dash_poll_stop(void);
/* A port free now on 127.0.0.1, or -1. */
int dash_free_port(void);

#endif
