/* drove — the integration tests' task functions (libdvt_funcs.so).
 *
 * Functions, by name: inc(n), add2(a, b), sum_list(list), boom() (fails
 * with "boom 42"), boom_after(x) (the same, once x is there), sleep_ms(ms)
 * (impure), crash() (segfaults), crash_marked(path) (appends a line to path,
 * then segfaults), rand_i64() (impure), make_f64s(n), f64s_stats(array) -> [n,
 * sum], whoami() (impure: the worker's id), sleep_marked(path, ms) (impure:
 * appends the worker's id to path as it starts, sleeps, returns the worker's
 * id), echo(v), sleep_coop(path, ms) (impure: as sleep_marked, but it checks
 * dv_call_cancelled() every 5 ms and, once told to stop, appends
 * "cancelled after N ms" to path and fails),
 * pause_ms(ms) (impure: returns at once for 0, else sleeps),
 * holder_of(x) (impure: the id of the worker that ran it, where x is
 * held), make_bytes(n) (n bytes, byte i being i % 251, filled in place),
 * meet(round, ms) (impure: waits busy up to ms for a second call of the
 * same round in the process; returns [calls seen, start, end], the times
 * in CLOCK_MONOTONIC nanoseconds), span_ms(ms) (impure: sleeps; returns
 * [worker id, start, end], the times as meet's), busy_us(us) (impure:
 * spins; returns the id of the thread it ran on), sched_policy() (impure:
 * sleeps 2 ms, never short enough for a loop thread; returns the
 * scheduling policy of the thread it ran on, SCHED_RESET_ON_FORK left
 * out).
 */
#ifndef DVT_FUNCS_H
#define DVT_FUNCS_H

/* Returns 1. A test calls it so that the linker keeps libdvt_funcs.so as a
 * dependency of the test program (Debian links with --as-needed), which is
 * what registers the functions in the embedded clusters. */
int dvt_funcs_anchor(void);

#endif /* DVT_FUNCS_H */
