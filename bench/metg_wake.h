/* The wake-up floor the METG benchmark (bench_metg.c) reads drove's
 * stencil_1d against.
 *
 * A dependency that crosses threads in drove costs thread wake-ups: an
 * executor that finished a call wakes the loop thread (uv_async_send),
 * and the loop wakes the executor that takes the dependent call. Each
 * costs what this machine takes to run a thread sleeping in a libuv loop
 * after another thread's uv_async_send. That is measured here, with no
 * other load, and with every core running the METG kernel, so that the
 * thread woken must take a core from one of them, as drove's loop thread
 * must while the calls of a graph keep every core busy. */
#ifndef METG_WAKE_H
#define METG_WAKE_H

/* The median wake-up, in us, over samples wake-ups: with the machine idle
 * (*idle_us) and with cores threads running the kernel (*busy_us). 0, or
 * -1 with the reason on stderr. */
int metg_wake_floor(int cores, int samples, double *idle_us, double *busy_us);

#endif
