/* The dashboard of `drove scheduler`: its token, kept in the profile, and
 * its certificate off loopback (the scheduler's own). */
#ifndef DVI_DASHBOARD_CLI_H
#define DVI_DASHBOARD_CLI_H

#include "common/profile.h"
#include "scheduler/dashboard.h"

/* Starts the dashboard on listen ("off": none) for the scheduler s, its
 * token read from (or made into) the profile's dashboard.token, and logs
 * its URL. Returns 0 (*d NULL when off, or when no port was free: logged
 * as a warning), or 2 for a bad address (printed). */
int dvi_cli_dashboard(const dvi_profile *p, uv_loop_t *loop, dvi_sched *s,
                      const char *listen, int metrics_open, const char *address,
                      dvi_dashboard **d);

#endif
