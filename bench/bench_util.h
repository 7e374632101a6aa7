/* Helpers shared by the benchmark programs: clocks, statistics, memory
 * readings, output lines, child processes, and a cluster of drove
 * daemons on 127.0.0.1. Not part of libdrove, and free of it (the
 * daemons are programs this starts): bench_pingpong links it alone. */
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

/* The median of v[0..n) (0 if n is 0), the mean of the middle two for an
 * even n. Sorts v. */
double bu_median(double *v, size_t n);

/* The 1-minute load average, or -1: how many others wanted the CPUs. */
double bu_loadavg(void);

/* Prints on stderr how n ratios named name spread (min, quartiles, max of
 * sorted[0..n), n > 0), with the load average, prog first: a ratio taken
 * in alternation cancels the machine's swings, but not others' processes
 * taking the CPUs, which this lets a reader judge. */
void bu_print_spread(const char *prog, const char *name, const double *sorted,
                     size_t n);

/* The names in list, comma-separated, as bits: (1 << i) for names[i],
 * i < n. 0 if one is none of them. */
unsigned bu_name_bits(const char *list, const char *const *names, int n);

/* VmRSS of process pid (0: this process) in KiB, or -1. */
long bu_rss_kib(pid_t pid);

/* The live children of this process (forked by any of its threads), found
 * by their parent pid in /proc/PID/stat: at most max of them into out,
 * lowest pid first. Returns how many there are. */
int bu_children(pid_t *out, int max);

/* The CPU time this process and its live children have used so far, in
 * seconds, every thread counted (nanosecond resolution): a difference of
 * two readings is what they ran between them. */
double bu_tree_cpu_s(void);

/* The fraction of the machine's CPU time (all CPUs, from /proc/stat)
 * spent busy over the next window_s seconds, which this call sleeps: what
 * other programs use while the caller's own are idle. -1 if unreadable. */
double bu_cpu_busy(double window_s);

/* The machine's CPU time counters (all CPUs, from /proc/stat): on a
 * virtual machine, steal is the time its CPUs wanted to run and the host
 * ran other guests instead, which no quiet check inside the machine can
 * see coming. */
typedef struct bu_ticks {
    unsigned long long idle, steal, total; /* idle: idle + iowait */
} bu_ticks;
/* 0, or -1 (t zero) if /proc/stat cannot be read. */
int bu_ticks_now(bu_ticks *t);
/* The share of the CPU time between t0 and t1 that was stolen, or -1 if
 * unknown. */
double bu_steal_between(const bu_ticks *t0, const bu_ticks *t1);

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

/* ---- A cluster of daemons ---------------------------------------------- */

/* The drove CLI that starts them: CMake defines its path. */
#ifndef DV_DROVE_BIN
#define DV_DROVE_BIN "drove"
#endif

#define BU_MAX_WORKERS 8

/* `drove scheduler` and `drove worker --threads 1` daemons on 127.0.0.1,
 * with mutual TLS and a profile made in a temporary DROVE_HOME that lives
 * and dies with the run (never the user's ~/.drove). */
typedef struct bu_daemons {
    const char *drove; /* path of the drove CLI; borrowed */
    const char *prog;  /* this program's name, for messages; borrowed */
    int nworkers;      /* workers to start, at most BU_MAX_WORKERS */
    char tmpdir[256];  /* the run's directory: daemons' logs, home/ */
    char addr[256];    /* the scheduler's address ("tcp://..."), started */
    pid_t sched_pid;   /* the scheduler, or 0 when not running */
    pid_t worker_pid[BU_MAX_WORKERS]; /* the workers (--no-nanny), or 0 */
    char err[512];                    /* why the last call that failed did */
} bu_daemons;

/* Fills d in, makes its directory ($TMPDIR/drove-bench-XXXXXX), sets
 * DROVE_HOME to home/ in it (inherited by the daemons), and registers the
 * directory and what the daemons put there for removal at exit and on
 * signals (bu_cleanup_on_exit() must be called too). A program adding
 * files of its own there registers them after this call. Returns 0, or -1
 * with d->err set. */
int bu_daemons_init(bu_daemons *d, const char *drove, const char *prog,
                    int nworkers);

/* Starts the scheduler on a free port (with `--state state_path` unless
 * NULL) and reads its address into d->addr, then starts the workers
 * (named bench-w0, bench-w1, ...; logs in the directory). It does not wait
 * for the workers to join: connect and wait for dv_nworkers(). Returns 0,
 * or -1 with d->err set (what started is stopped by bu_daemons_stop). */
int bu_daemons_start(bu_daemons *d, const char *state_path);

/* Stops the daemons with SIGTERM. Says on stderr if one had exited by
 * itself or did not stop cleanly, and then, or when print_logs is set,
 * prints the last lines of their logs. Returns 0, or -1 if one crashed. */
int bu_daemons_stop(bu_daemons *d, int print_logs);

/* Reads or writes exactly n bytes on fd, again on EINTR; 0, or -1 on
 * error, EOF or timeout. */
int bu_io(int fd, void *buf, size_t n, int writing);

#endif /* BENCH_UTIL_H */
