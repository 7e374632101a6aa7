/* drove — test support: cmocka helpers, child processes, clusters.
 *
 * Unit and integration tests include this header instead of cmocka.h. It
 * gives typed asserts that print both sides, DVT_PASS() for calls that
 * return DV_E* codes, and helpers that wait for futures with deadlines.
 * Integration tests also get a launcher for `drove scheduler` and `drove
 * worker` processes (stdout and stderr go to files in a temporary
 * DROVE_HOME; everything started is killed at exit, also when a watchdog
 * fires), and a runner that repeats a cmocka group on each kind of cluster.
 *
 * Not thread-safe: call from the test's main thread only.
 */
#ifndef DVTEST_H
#define DVTEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cmocka.h>

#include "drove.h"

/* ---- Asserts ------------------------------------------------------------ */

/* Fails the running test with a formatted message and its location. */
void dvt_fail_at(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define DVT_FAIL(...) dvt_fail_at(__FILE__, __LINE__, __VA_ARGS__)

/* Asserts that expr (a DV_E* code or a count) is not negative; prints the
 * code's name and dv_last_error() otherwise. */
#define DVT_PASS(expr)                                                        \
    do {                                                                      \
        int dvt_rc_ = (int)(expr);                                            \
        if (dvt_rc_ < 0) {                                                    \
            dvt_fail_at(__FILE__, __LINE__, "%s returned %d (%s): %s", #expr, \
                        dvt_rc_, dv_strerror(dvt_rc_), dv_last_error());      \
        }                                                                     \
    } while (0)

/* Asserts that expr returns exactly the DV_E* code want. */
#define DVT_FAILS_WITH(want, expr)                                           \
    do {                                                                     \
        int dvt_rc_ = (int)(expr);                                           \
        if (dvt_rc_ != (want)) {                                             \
            dvt_fail_at(__FILE__, __LINE__,                                  \
                        "%s returned %d (%s), want %d (%s); last error: %s", \
                        #expr, dvt_rc_, dv_strerror(dvt_rc_), (int)(want),   \
                        dv_strerror(want), dv_last_error());                 \
        }                                                                    \
    } while (0)

/* Evaluates a pointer-returning call; fails with dv_last_error() if it
 * returned NULL. Yields the pointer. */
#define DVT_NOTNULL(expr) \
    ((__typeof__(expr))dvt_notnull_at(__FILE__, __LINE__, #expr, (expr)))
void *dvt_notnull_at(const char *file, int line, const char *what,
                     const void *p);

#define DVT_TRUE(cond)                                              \
    do {                                                            \
        if (!(cond)) {                                              \
            dvt_fail_at(__FILE__, __LINE__, "expected: %s", #cond); \
        }                                                           \
    } while (0)

#define DVT_EQ_I64(a, b)                                                      \
    do {                                                                      \
        int64_t dvt_a_ = (int64_t)(a), dvt_b_ = (int64_t)(b);                 \
        if (dvt_a_ != dvt_b_) {                                               \
            dvt_fail_at(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, \
                        (long long)dvt_a_, (long long)dvt_b_);                \
        }                                                                     \
    } while (0)

#define DVT_NE_I64(a, b)                                                   \
    do {                                                                   \
        int64_t dvt_a_ = (int64_t)(a), dvt_b_ = (int64_t)(b);              \
        if (dvt_a_ == dvt_b_) {                                            \
            dvt_fail_at(__FILE__, __LINE__, "%s != %s: both %lld", #a, #b, \
                        (long long)dvt_a_);                                \
        }                                                                  \
    } while (0)

/* a >= b, and a < b, for sizes and counters. */
#define DVT_GE_I64(a, b)                                                     \
    do {                                                                     \
        int64_t dvt_a_ = (int64_t)(a), dvt_b_ = (int64_t)(b);                \
        if (dvt_a_ < dvt_b_) {                                               \
            dvt_fail_at(__FILE__, __LINE__, "%s >= %s: %lld < %lld", #a, #b, \
                        (long long)dvt_a_, (long long)dvt_b_);               \
        }                                                                    \
    } while (0)

#define DVT_LT_I64(a, b)                                                     \
    do {                                                                     \
        int64_t dvt_a_ = (int64_t)(a), dvt_b_ = (int64_t)(b);                \
        if (dvt_a_ >= dvt_b_) {                                              \
            dvt_fail_at(__FILE__, __LINE__, "%s < %s: %lld >= %lld", #a, #b, \
                        (long long)dvt_a_, (long long)dvt_b_);               \
        }                                                                    \
    } while (0)

#define DVT_EQ_F64(a, b, eps)                                                \
    do {                                                                     \
        double dvt_a_ = (double)(a), dvt_b_ = (double)(b);                   \
        double dvt_d_ = dvt_a_ > dvt_b_ ? dvt_a_ - dvt_b_ : dvt_b_ - dvt_a_; \
        if (!(dvt_d_ <= (eps))) {                                            \
            dvt_fail_at(__FILE__, __LINE__, "%s == %s: %.17g != %.17g", #a,  \
                        #b, dvt_a_, dvt_b_);                                 \
        }                                                                    \
    } while (0)

/* Strings; NULL is printed as (null) and equals only NULL. */
#define DVT_EQ_STR(a, b) dvt_eq_str_at(__FILE__, __LINE__, #a, #b, (a), (b))
#define DVT_NE_STR(a, b) dvt_ne_str_at(__FILE__, __LINE__, #a, #b, (a), (b))
/* hay contains needle (hay NULL fails). */
#define DVT_CONTAINS(hay, needle) \
    dvt_contains_at(__FILE__, __LINE__, #hay, (hay), (needle))
void dvt_eq_str_at(const char *file, int line, const char *ea, const char *eb,
                   const char *a, const char *b);
void dvt_ne_str_at(const char *file, int line, const char *ea, const char *eb,
                   const char *a, const char *b);
void dvt_contains_at(const char *file, int line, const char *ehay,
                     const char *hay, const char *needle);

/* ---- Futures ------------------------------------------------------------ */

/* Waits up to timeout_s for f's result; fails the test with the future's
 * error (or dv_last_error) if there is none. Borrowed from f. */
#define DVT_RESULT(f, timeout_s) \
    dvt_result_at(__FILE__, __LINE__, #f, (f), (timeout_s))
const dv_value *dvt_result_at(const char *file, int line, const char *what,
                              dv_future *f, double timeout_s);

/* As DVT_RESULT, and asserts the result is a DV_I64; yields it. */
#define DVT_RESULT_I64(f, timeout_s) \
    dvt_result_i64_at(__FILE__, __LINE__, #f, (f), (timeout_s))
int64_t dvt_result_i64_at(const char *file, int line, const char *what,
                          dv_future *f, double timeout_s);

/* Waits up to timeout_s for f to complete and asserts that it erred;
 * yields its error text (borrowed from f, never NULL). */
#define DVT_ERROR(f, timeout_s) \
    dvt_error_at(__FILE__, __LINE__, #f, (f), (timeout_s))
const char *dvt_error_at(const char *file, int line, const char *what,
                         dv_future *f, double timeout_s);

/* Releases the n futures of fs (NULL entries are skipped). */
void dvt_release_all(dv_future **fs, size_t n);

/* ---- Time --------------------------------------------------------------- */

/* Seconds on the monotonic clock. */
double dvt_now(void);
void dvt_sleep(double seconds);

/* ---- Process setup ------------------------------------------------------ */

/* Call first in main. Creates a temporary DROVE_HOME (mkdtemp) and exports
 * it, as XDG_RUNTIME_DIR too (where workers put their socket files), unsets DROVE_SCHEDULER, ignores SIGPIPE, arms a watchdog that kills
 * everything started and exits 1 after watchdog_s seconds, and registers
 * the cleanup (kill children, print their logs if the test failed, remove
 * the home) with atexit. */
void dvt_init(unsigned watchdog_s);

/* The temporary DROVE_HOME. Static storage. */
const char *dvt_home(void);

/* Records the test's outcome (cmocka's return value): a non-zero value makes
 * the exit cleanup print the logs of every process started. Returns it. */
int dvt_finish(int failed);

/* Path of the drove CLI under test (DV_DROVE_BIN, or $DVT_DROVE_BIN). */
const char *dvt_drove_bin(void);

/* ---- Child processes ---------------------------------------------------- */

typedef struct dvt_proc dvt_proc;

/* Starts argv[0] with argv (NULL-terminated); its stdout goes to
 * HOME/<name>.out and its stderr to HOME/<name>.log. The child dies with
 * the test (PR_SET_PDEATHSIG). Owned by the support library: killed and
 * freed at exit, or earlier by dvt_proc_kill(). NULL on failure (printed). */
dvt_proc *dvt_spawn(const char *name, char *const argv[]);

pid_t dvt_proc_pid(const dvt_proc *p);
const char *dvt_proc_name(const dvt_proc *p);

/* Waits up to timeout_s for the first complete line on the process's stdout
 * and copies it, without the newline, into buf. Returns 0, DV_ETIMEDOUT, or
 * DV_ECONN if the process exited first (its log is printed). */
int dvt_proc_read_line(dvt_proc *p, char *buf, size_t size, double timeout_s);

/* Waits up to timeout_s for the process to exit. Returns 0 and stores the
 * wait status in *status, or DV_ETIMEDOUT. */
int dvt_proc_wait(dvt_proc *p, double timeout_s, int *status);

/* True while the process has not exited. */
bool dvt_proc_alive(dvt_proc *p);

/* Sends SIGTERM, waits up to 5 s, then SIGKILL, and reaps. Idempotent. */
void dvt_proc_kill(dvt_proc *p);

/* Reads a file (HOME/<name>.log for the process's stderr) into a
 * NUL-terminated heap buffer. Caller owns; free(). NULL if unreadable. */
char *dvt_read_file(const char *path);
char *dvt_proc_log(const dvt_proc *p);
/* Waits up to timeout_s for the file at path (NULL: p's stderr log) to
 * contain needle. Returns whether it did; says on stderr when not. */
bool dvt_wait_text(const dvt_proc *p, const char *path, const char *needle,
                   double timeout_s);
/* Submits sleep_marked(path, ms) (libdvt_funcs), pinned to worker pin
 * (NULL: any); the test fails if it cannot. */
dv_future *dvt_sleep_marked(dv_client *c, const char *path, int64_t ms,
                            const char *pin);
/* The number of lines in the file at path (0 if there is none). */
int dvt_count_lines(const char *path);

/* Prints the process's stderr log on stderr. */
void dvt_proc_dump_log(const dvt_proc *p);

/* The `wchar` counter of /proc/PID/io (bytes passed to write-like system
 * calls, sockets included); pid 0 means this process. -1 if unreadable. */
int64_t dvt_proc_wchar(pid_t pid);

/* The resident set size (VmRSS of /proc/PID/status) of pid in KiB; pid 0
 * means this process. -1 if unreadable (the process is gone). */
int64_t dvt_proc_rss_kib(pid_t pid);

/* The live child processes of this process (forked by any of its
 * threads: the workers of a local:processes cluster, and whatever
 * dvt_spawn started), found by their parent pid in /proc/PID/stat. Stores
 * at most max of them in out, lowest pid first; returns how many there
 * are (possibly more than max). */
int dvt_children(pid_t *out, int max);

/* ---- Clusters ----------------------------------------------------------- */

#define DVT_MAX_WORKERS 4

/* A `drove scheduler` with workers named w0, w1, ... on 127.0.0.1. */
typedef struct dvt_cluster {
    dvt_proc *sched;
    dvt_proc *workers[DVT_MAX_WORKERS];
    int nworkers;
    char addr[128]; /* "tcp://127.0.0.1:PORT", as the scheduler printed */
} dvt_cluster;

/* Starts a scheduler on tcp://127.0.0.1:0, reads the address it prints,
 * starts nworkers workers of `threads` threads each, and waits until the
 * scheduler reports them all. The workers run --no-nanny: a worker's pid
 * is the process that runs its tasks (tests read its /proc files and
 * signal it). Returns 0, or a DV_E* code with the reason printed. */
int dvt_cluster_start(dvt_cluster *cl, int nworkers, int threads);

/* As dvt_cluster_start, with the NULL-terminated worker_args added to
 * each worker's command line instead of --no-nanny: each worker runs under
 * its nanny (whose pid dvt_proc_pid gives) unless they say otherwise. */
int dvt_cluster_start_args(dvt_cluster *cl, int nworkers, int threads,
                           const char *const *worker_args);

/* Starts one more worker on the running cluster, named wN (N its index),
 * with `threads` threads and the NULL-terminated extra args (--no-nanny
 * is added), and waits up to 30 s until the scheduler reports it. NULL if
 * there is no room (DVT_MAX_WORKERS) or it did not join (reason
 * printed). */
dvt_proc *dvt_cluster_add_worker(dvt_cluster *cl, int threads,
                                 const char *const *args);

/* Kills the workers, then the scheduler. */
void dvt_cluster_stop(dvt_cluster *cl);

/* ---- Running a group on each cluster ------------------------------------ */

enum {
    DVT_THREADS = 1u,   /* "local:threads=2" */
    DVT_PROCESSES = 2u, /* "local:processes=2" */
    DVT_TCP = 4u,       /* scheduler + 2 workers of 1 thread, lib uploaded */
    DVT_ALL = 7u
};

/* The cluster the running group uses: its dv_connect() string. */
extern const char *dvt_where;
/* Which of DVT_THREADS/DVT_PROCESSES/DVT_TCP the running group uses. */
extern unsigned dvt_kind;

/* The shared tcp cluster (2 workers, 1 thread each), started on first use.
 * NULL if it could not start (reason printed). */
dvt_cluster *dvt_tcp_cluster(void);

/* Connects to where; on a tcp cluster also uploads the test functions
 * library (DVT_FUNCS_LIB). NULL on failure, with the reason printed. Caller
 * owns; dv_close(). */
dv_client *dvt_connect(const char *where);

/* Runs the cmocka tests once on each cluster in `clusters` (a mask of
 * DVT_THREADS...; $DVT_CLUSTERS="threads,processes,tcp" narrows it). Each
 * test's *state is a dv_client connected to that cluster. Returns the
 * number of failures. */
int dvt_run_clusters(const char *name, const struct CMUnitTest *tests,
                     size_t ntests, unsigned clusters);

/* The ids of the connected cluster's workers 0 and 1, as dv_opts.worker
 * takes them. Fails the test if there are fewer than two. */
void dvt_two_workers(dv_client *c, char *w0, char *w1, size_t size);

/* Waits up to timeout_s until c sees exactly want workers, failing the
 * test if it does not; returns how long that took. */
double dvt_wait_workers(dv_client *c, int want, double timeout_s);

#endif /* DVTEST_H */
