/* dvi_watchdog: a process that has decided to exit does, within a limit.
 *
 * A daemon's shutdown closes connections, joins threads and runs its loop
 * until every handle is closed; one step that hangs (a peer that never
 * reads, a thread that never returns) would keep a stopped daemon alive
 * for ever. The watchdog is a thread that ends the process with the
 * status decided, naming the step it hung in, once the limit is past.
 */
#ifndef DVI_WATCHDOG_H
#define DVI_WATCHDOG_H

/* Starts the watchdog: after limit_s seconds the process _exits with rc,
 * logging the last step named (dvi_watchdog_step). One per process; a
 * second start only sets the step. */
void dvi_watchdog_start(double limit_s, int rc, const char *step);
/* Names the step the process is in now (a string literal). */
void dvi_watchdog_step(const char *step);

#endif
