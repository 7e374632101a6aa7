/* Helpers shared by the benchmark programs: clocks, statistics, memory
 * readings, output lines and child processes. Not part of libdrove. */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* CLOCK_MONOTONIC, which is one clock for every process of the machine:
 * a child's reading can be compared with its parent's. */
int64_t bu_now_ns(void);
double bu_now(void);

/* The p-th percentile (0 < p <= 100) of v[0..n), nearest rank. Sorts v. */
double bu_percentile(double *v, size_t n, double p);

/* VmRSS of process pid (0: this process) in KiB, or -1. */
long bu_rss_kib(pid_t pid);

/* The live children of this process (forked by any of its threads), found
 * by their parent pid in /proc/PID/stat: at most max of them into out,
 * lowest pid first. Returns how many there are. */
int bu_children(pid_t *out, int max);

/* Prints `name: value unit` on stdout and flushes it, so that a benchmark
 * killed by its timeout still leaves the lines it measured. */
void bu_line(const char *name, double value, int decimals, const char *unit);

/* Starts argv[0] (a path) with argv. If out_fd is not NULL the child's
 * stdout goes to a pipe whose read end is stored there; if err_path is not
 * NULL its stderr goes to that file. The child gets SIGTERM when this
 * process dies, and bu_kill_children() terminates it. Returns its pid, or
 * -1 with errno set. */
pid_t bu_spawn(char *const argv[], int *out_fd, const char *err_path);

/* Reads one line (without its newline) from fd into buf, waiting at most
 * timeout_s in all. Returns its length, or -1 on timeout, EOF or error. */
int bu_read_line(int fd, char *buf, size_t size, double timeout_s);

/* Waits at most timeout_s for pid to exit. Returns 0 and its wait status
 * in *status, or -1 on timeout. */
int bu_wait(pid_t pid, double timeout_s, int *status);

/* Whether pid, a child, has exited already (reaping it). */
int bu_exited(pid_t pid, int *status);

/* Sends SIGTERM, waits up to grace_s, then SIGKILLs. Returns the wait
 * status, or -1 if the child was already reaped. */
int bu_stop(pid_t pid, double grace_s);

/* Terminates every child bu_spawn started that was not stopped yet; safe
 * in a signal handler. Installed for SIGINT, SIGTERM and exit by
 * bu_cleanup_on_exit(). */
void bu_kill_children(void);
void bu_cleanup_on_exit(void);

/* Removes path (a file, or an empty directory) at exit and on those
 * signals too, in the reverse order of registration. Copies path. */
void bu_remove_on_exit(const char *path);

/* Removes the paths registered with bu_remove_on_exit() now. */
void bu_remove_now(void);

#endif /* BENCH_UTIL_H */
