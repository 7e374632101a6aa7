/* sweep: a parameter sweep of a stochastic epidemic, chunked, in the spirit
 * of the IPython parallel chapter ("Locality and chunking").
 *
 * The model: SIR (susceptible, infected, removed) in discrete time on an
 * Erdos-Renyi random network. At each step every infected node infects each
 * susceptible neighbour with probability a, then recovers with probability
 * b. The outputs of one run are its final size (the fraction of nodes ever
 * infected) and its duration (steps until nobody is infected). The sweep
 * covers 6 values of a and 5 of b, with REPS runs per pair, each on a new
 * random network.
 *
 * How the work is cut, following the chapter's advice:
 *   - locality: the networks are built by the task, on the worker, from a
 *     seed. Nothing bigger than a few numbers travels.
 *   - chunking: one call runs REPS_PER_TASK repetitions of one (a, b) pair
 *     and returns their averages, not the raw runs; the client combines the
 *     averages of a pair's calls. And dv_map's chunksize sends CHUNKSIZE of
 *     these calls as one task, fewer and larger messages.
 *   - reproducibility: every call's seed is a function of its (pair, chunk)
 *     numbers, so the table is the same on every run and every cluster.
 *     That also makes the function pure: same arguments, same result.
 *
 * The check: for each b, the mean final size must grow with a (within noise,
 * from the variances the tasks also return), and from the smallest a to the
 * largest it must grow clearly.
 *
 * Usage: sweep [WHERE]   WHERE as for dv_connect(); default:
 *                        $DROVE_SCHEDULER or an embedded cluster.
 * Exits 0 when the check passes, 1 with a message otherwise.
 *
 * On a cluster of daemons (a tcp:// WHERE, or $DROVE_SCHEDULER) the workers
 * cannot run this program's code, so it first uploads its task functions as
 * a shared library. For that the build compiles this file twice: the task
 * functions alone (-DDV_EXAMPLE_FUNCTIONS) into
 * libsweep_functions.so, next to the program, and the client alone
 * (-DDV_EXAMPLE_CLIENT) into the program, which links that library.
 * Compiled once with neither, the file is a complete program for the
 * embedded clusters.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <drove.h>

#include "splitmix.h"

/* The sweep's sizes. Its values of a and b are in the client part. */
#define NODES 1000         /* nodes of each network */
#define MEAN_DEGREE 6.0    /* expected degree: p = k / (NODES - 1) */
#define SEEDS 4            /* nodes infected at the start */
#define REPS 200           /* repetitions per (a, b) pair */
#define REPS_PER_TASK 50   /* repetitions per call */
#define CALLS_PER_PAIR (REPS / REPS_PER_TASK)
#define NCALLS (NA * NB * CALLS_PER_PAIR)
#define CHUNKSIZE 4        /* calls per task, for dv_map */
#define NPARAMS 6          /* a, b, reps, seed, nodes, mean degree */
#define NOUT 4             /* a call's result: see sir_runs */
#define SWEEP_SEED UINT64_C(0x5eed2002)
#define TIMEOUT_S 120.0    /* only turns a hang into a failure */

/* ---- Random numbers ---------------------------------------------------- */

/* splitmix64 (splitmix.h): tiny, fast, and good enough for a simulation.
 * The client uses its mixer too, to make seeds. */

#ifndef DV_EXAMPLE_CLIENT /* the task functions, see the top */
/* The next number of the generator whose state is *state. */
static uint64_t
s_next(uint64_t *state)
{
    *state += SPLITMIX_GAMMA;
    return splitmix_mix(*state);
}

/* Uniform in [0, 1). */
static double
s_uniform(uint64_t *state)
{
    return (double)(s_next(state) >> 11) * 0x1.0p-53;
}

/* Uniform in [0, n). The modulo bias is below n / 2^64: negligible. */
static uint32_t
s_below(uint64_t *state, uint32_t n)
{
    return (uint32_t)(s_next(state) % n);
}

/* ---- The simulation, all on the worker --------------------------------- */

/* Buffers of one call, reused by all its repetitions. */
typedef struct sim {
    uint32_t n;        /* nodes */
    uint32_t *edges;   /* pairs (u, v): 2 * nedges entries */
    size_t nedges;
    size_t cap_edges;  /* pairs edges can hold */
    uint32_t *offset;  /* adjacency (CSR): neighbours of u are */
    uint32_t *adj;     /* adj[offset[u] .. offset[u + 1]) */
    unsigned char *state; /* per node: S_, I_ or R_ */
    uint32_t *cur;     /* nodes infected this step */
    uint32_t *next;    /* nodes infected next step */
} sim;

enum { S_ = 0, I_ = 1, R_ = 2 };

static void
s_sim_free(sim *s)
{
    free(s->edges);
    free(s->offset);
    free(s->adj);
    free(s->state);
    free(s->cur);
    free(s->next);
}

static int
s_sim_init(sim *s, uint32_t n)
{
    memset(s, 0, sizeof(*s));
    s->n = n;
    s->offset = calloc((size_t)n + 1, sizeof(*s->offset));
    s->state = malloc(n);
    s->cur = malloc((size_t)n * sizeof(*s->cur));
    s->next = malloc((size_t)n * sizeof(*s->next));
    if (s->offset == NULL || s->state == NULL || s->cur == NULL ||
        s->next == NULL) {
        s_sim_free(s);
        return -1;
    }
    return 0;
}

/* Builds a G(n, p) network into s's adjacency arrays, in time proportional
 * to n + edges: instead of a coin per pair of nodes, it jumps straight to
 * the next edge by a geometric skip (Batagelj and Brandes, 2005). */
static int
s_build_network(sim *s, double p, uint64_t *rng)
{
    const double log_q = log(1.0 - p);
    int64_t v = 1;
    int64_t w = -1;

    s->nedges = 0;
    while (v < (int64_t)s->n) {
        double r = s_uniform(rng);
        w += 1 + (int64_t)floor(log(1.0 - r) / log_q);
        while (w >= v && v < (int64_t)s->n) {
            w -= v;
            v++;
        }
        if (v < (int64_t)s->n) {
            if (s->nedges == s->cap_edges) {
                size_t cap = s->cap_edges > 0 ? 2 * s->cap_edges : 1024;
                uint32_t *e = realloc(s->edges, 2 * cap * sizeof(*e));
                if (e == NULL) {
                    return -1;
                }
                s->edges = e;
                s->cap_edges = cap;
                free(s->adj);
                s->adj = malloc(2 * cap * sizeof(*s->adj));
                if (s->adj == NULL) {
                    return -1;
                }
            }
            s->edges[2 * s->nedges] = (uint32_t)v;
            s->edges[2 * s->nedges + 1] = (uint32_t)w;
            s->nedges++;
        }
    }

    /* Edge list to CSR: count degrees, prefix sums, then place each edge
     * in both of its nodes' lists. */
    memset(s->offset, 0, ((size_t)s->n + 1) * sizeof(*s->offset));
    for (size_t e = 0; e < 2 * s->nedges; e++) {
        s->offset[s->edges[e] + 1]++;
    }
    for (uint32_t u = 0; u < s->n; u++) {
        s->offset[u + 1] += s->offset[u];
    }
    for (size_t e = 0; e < s->nedges; e++) {
        uint32_t u = s->edges[2 * e];
        uint32_t x = s->edges[2 * e + 1];
        s->adj[s->offset[u]++] = x;
        s->adj[s->offset[x]++] = u;
    }
    /* Placing advanced each offset to the next node's start: shift back. */
    for (uint32_t u = s->n; u > 0; u--) {
        s->offset[u] = s->offset[u - 1];
    }
    s->offset[0] = 0;
    return 0;
}

/* Runs one epidemic on the current network. Returns the number of nodes
 * ever infected, and the number of steps in *steps. */
static uint32_t
s_run_sir(sim *s, double a, double b, uint64_t *rng, uint32_t *steps)
{
    uint32_t ncur = 0;
    uint32_t ever = 0;

    memset(s->state, S_, s->n);
    while (ever < SEEDS && ever < s->n) {
        uint32_t u = s_below(rng, s->n);
        if (s->state[u] == S_) {
            s->state[u] = I_;
            s->cur[ncur++] = u;
            ever++;
        }
    }

    *steps = 0;
    while (ncur > 0) {
        uint32_t nnext = 0;
        for (uint32_t k = 0; k < ncur; k++) {
            uint32_t u = s->cur[k];
            for (uint32_t e = s->offset[u]; e < s->offset[u + 1]; e++) {
                uint32_t v = s->adj[e];
                /* Marking v infected at once keeps a second neighbour from
                 * infecting it again; it acts from the next step on, as it
                 * is only in next[]. */
                if (s->state[v] == S_ && s_uniform(rng) < a) {
                    s->state[v] = I_;
                    s->next[nnext++] = v;
                    ever++;
                }
            }
            if (s_uniform(rng) < b) {
                s->state[u] = R_;
            } else {
                s->next[nnext++] = u;
            }
        }
        uint32_t *t = s->cur;
        s->cur = s->next;
        s->next = t;
        ncur = nnext;
        (*steps)++;
    }
    return ever;
}

/* dv_map gives each call a single argument, so the parameters travel as
 * one list; dv_submit could pass them as separate arguments. Accept both. */
static bool
s_params_in_list(const dv_call *call)
{
    return dv_nargs(call) == 1 &&
           dv_value_type(dv_arg_at(call, 0)) == DV_LIST;
}

static size_t
s_nparams(const dv_call *call)
{
    return s_params_in_list(call) ? dv_value_len(dv_arg_at(call, 0))
                                  : dv_nargs(call);
}

static const dv_value *
s_param(const dv_call *call, size_t i)
{
    return s_params_in_list(call) ? dv_value_at(dv_arg_at(call, 0), i)
                                  : dv_arg_at(call, i);
}

/* sir_runs([a, b, reps, seed, nodes, mean_degree]): runs reps epidemics,
 * each on a fresh network, and returns four doubles: the mean final size
 * (fraction of nodes), the mean duration (steps), the mean of the squared
 * final size (for the client's error bars) and reps (the weight of these
 * averages when the client combines calls). */
DV_FUNCTION(sir_runs)
{
    if (s_nparams(call) != NPARAMS) {
        return dv_fail(call, "sir_runs: expected %d parameters, got %zu",
                       NPARAMS, s_nparams(call));
    }
    double a = dv_value_f64(s_param(call, 0));
    double b = dv_value_f64(s_param(call, 1));
    int64_t reps = dv_value_i64(s_param(call, 2));
    uint64_t rng = (uint64_t)dv_value_i64(s_param(call, 3));
    int64_t nodes = dv_value_i64(s_param(call, 4));
    double degree = dv_value_f64(s_param(call, 5));
    if (!(a >= 0 && a <= 1 && b > 0 && b <= 1) || reps < 1 ||
        nodes < SEEDS + 1 || nodes > 10000000 || !(degree > 0) ||
        degree >= (double)(nodes - 1)) {
        return dv_fail(call, "sir_runs: parameters out of range");
    }

    sim s;
    if (s_sim_init(&s, (uint32_t)nodes) != 0) {
        return dv_fail(call, "sir_runs: out of memory for %lld nodes",
                       (long long)nodes);
    }
    double p_edge = degree / (double)(nodes - 1);
    double size_sum = 0.0;
    double size_sq_sum = 0.0;
    double steps_sum = 0.0;
    for (int64_t r = 0; r < reps; r++) {
        if (s_build_network(&s, p_edge, &rng) != 0) {
            s_sim_free(&s);
            return dv_fail(call, "sir_runs: out of memory for the network");
        }
        uint32_t steps = 0;
        double size = (double)s_run_sir(&s, a, b, &rng, &steps) /
                      (double)nodes;
        size_sum += size;
        size_sq_sum += size * size;
        steps_sum += steps;
    }
    s_sim_free(&s);

    double *out = dv_return_f64s(call, NOUT);
    if (out == NULL) {
        return dv_fail(call, "sir_runs: out of memory for the result");
    }
    out[0] = size_sum / (double)reps;
    out[1] = steps_sum / (double)reps;
    out[2] = size_sq_sum / (double)reps;
    out[3] = (double)reps;
    return 0;
}
#endif /* DV_EXAMPLE_CLIENT */

#ifndef DV_EXAMPLE_FUNCTIONS /* the client, see the top */
#include "share.h"

/* ---- The client -------------------------------------------------------- */

/* The sweep. The values straddle the epidemic threshold: with mean degree
 * k, an outbreak takes off when k * a / (a + b - a b) > 1, which holds at
 * the largest a for every b and fails at the smallest a for most. */
static const double A_VALUES[] = {0.02, 0.05, 0.10, 0.20, 0.35, 0.50};
static const double B_VALUES[] = {0.10, 0.20, 0.30, 0.50, 0.80};
#define NA (sizeof(A_VALUES) / sizeof(A_VALUES[0]))
#define NB (sizeof(B_VALUES) / sizeof(B_VALUES[0]))

/* Per (a, b) pair, combined from its calls. */
typedef struct pair_stats {
    double runs;      /* repetitions combined */
    double size;      /* mean final size */
    double duration;  /* mean duration, steps */
    double size_sq;   /* mean squared final size */
} pair_stats;

static double
s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The standard error of a pair's mean final size. */
static double
s_std_error(const pair_stats *ps)
{
    double var = ps->size_sq - ps->size * ps->size;
    if (var < 0.0 || ps->runs < 2.0) {
        return 0.0;
    }
    return sqrt(var / (ps->runs - 1.0));
}

int
main(int argc, char **argv)
{
    const char *where = argc > 1 ? argv[1] : NULL;
    static dv_arg params[NCALLS][NPARAMS]; /* each call's parameter list */
    static dv_arg args[NCALLS];
    static dv_future *fs[NCALLS];
    pair_stats stats[NA][NB];
    int mapped = 0;
    int rc = 1;

    memset(stats, 0, sizeof(stats));
    printf("drove parameter sweep: SIR epidemics on Erdos-Renyi random "
           "networks\n  %d nodes, mean degree %.0f, %d infected at the start, "
           "built on the workers\n",
           NODES, MEAN_DEGREE, SEEDS);

    double t0 = s_now_ms();
    dv_client *c = dv_connect(where);
    if (c == NULL) {
        fprintf(stderr, "sweep: FAILED: cannot connect to %s: %s\n",
                where != NULL ? where : "the default cluster",
                dv_last_error());
        return 1;
    }
    if (example_share_functions(c, where, "sweep") != 0) {
        goto out;
    }

    /* One call per (pair, chunk of repetitions), pairs in order. */
    size_t k = 0;
    for (size_t i = 0; i < NA; i++) {
        for (size_t j = 0; j < NB; j++) {
            for (size_t chunk = 0; chunk < CALLS_PER_PAIR; chunk++, k++) {
                uint64_t pair = i * NB + j;
                uint64_t seed = splitmix_mix(SWEEP_SEED + (pair << 16) + chunk);
                params[k][0] = dv_f64(A_VALUES[i]);
                params[k][1] = dv_f64(B_VALUES[j]);
                params[k][2] = dv_i64(REPS_PER_TASK);
                params[k][3] = dv_i64((int64_t)seed);
                params[k][4] = dv_i64(NODES);
                params[k][5] = dv_f64(MEAN_DEGREE);
                args[k] = dv_list(params[k], NPARAMS);
            }
        }
    }
    dv_opts opts = DV_OPTS_INIT;
    opts.chunksize = CHUNKSIZE;
    mapped = dv_map(c, "sir_runs", NCALLS, args, fs, &opts);
    if (mapped != (int)NCALLS) {
        fprintf(stderr, "sweep: FAILED: map sir_runs: %s\n", dv_last_error());
        mapped = 0;
        goto out;
    }
    int nworkers = dv_nworkers(c);
    printf("  %zu x %zu (a, b) pairs x %d runs = %zu runs, in %zu calls of "
           "%d runs,\n  sent %d calls per task (dv_map chunksize) to %d "
           "worker%s (%s)\n\n",
           NA, NB, REPS, NA * NB * (size_t)REPS, (size_t)NCALLS,
           REPS_PER_TASK, CHUNKSIZE, nworkers, nworkers == 1 ? "" : "s",
           where != NULL ? where : "default cluster");

    /* Combine the calls' averages into per-pair averages, weighted by
     * their numbers of runs. Results are read in submission order, so the
     * sums, hence the table, do not depend on which call finished first. */
    for (size_t n = 0; n < NCALLS; n++) {
        const dv_value *v = dv_result(fs[n], TIMEOUT_S);
        if (v == NULL) {
            const char *why = dv_future_error(fs[n]);
            fprintf(stderr, "sweep: FAILED: call %zu: %s\n", n,
                    why != NULL ? why : dv_last_error());
            goto out;
        }
        size_t len = 0;
        const double *r = dv_value_f64s(v, &len);
        if (r == NULL || len != NOUT || r[3] != REPS_PER_TASK) {
            fprintf(stderr, "sweep: FAILED: call %zu returned type %d with "
                            "%zu elements, not %d doubles for %d runs\n",
                    n, dv_value_type(v), len, NOUT, REPS_PER_TASK);
            goto out;
        }
        size_t pair = n / CALLS_PER_PAIR;
        pair_stats *ps = &stats[pair / NB][pair % NB];
        double w = r[3];
        double total = ps->runs + w;
        ps->size += (r[0] - ps->size) * w / total;
        ps->duration += (r[1] - ps->duration) * w / total;
        ps->size_sq += (r[2] - ps->size_sq) * w / total;
        ps->runs = total;
    }
    double t_done = s_now_ms();

    printf("%-40s| %s\n", "mean final size (fraction infected)",
           "mean duration (steps)");
    printf("  a \\ b ");
    for (size_t j = 0; j < NB; j++) {
        printf(" %5.2f", B_VALUES[j]);
    }
    printf("  |");
    for (size_t j = 0; j < NB; j++) {
        printf(" %5.2f", B_VALUES[j]);
    }
    printf("\n");
    for (size_t i = 0; i < NA; i++) {
        printf("  %5.2f ", A_VALUES[i]);
        for (size_t j = 0; j < NB; j++) {
            printf(" %5.3f", stats[i][j].size);
        }
        printf("  |");
        for (size_t j = 0; j < NB; j++) {
            printf(" %5.1f", stats[i][j].duration);
        }
        printf("\n");
    }

    /* The check. A step down in a column is allowed only within 4
     * standard errors of the difference (plus a hair for columns where
     * every run ends the same way and the error is 0); from the smallest
     * a to the largest the size must grow by at least 0.3 of the nodes. */
    int bad = 0;
    for (size_t j = 0; j < NB; j++) {
        for (size_t i = 0; i + 1 < NA; i++) {
            double se = hypot(s_std_error(&stats[i][j]),
                              s_std_error(&stats[i + 1][j]));
            double drop = stats[i][j].size - stats[i + 1][j].size;
            if (drop > 4.0 * se + 0.005) {
                fprintf(stderr, "sweep: b = %.2f: final size falls from "
                                "%.3f at a = %.2f to %.3f at a = %.2f "
                                "(standard error %.3f)\n",
                        B_VALUES[j], stats[i][j].size, A_VALUES[i],
                        stats[i + 1][j].size, A_VALUES[i + 1], se);
                bad++;
            }
        }
        double rise = stats[NA - 1][j].size - stats[0][j].size;
        if (rise < 0.3) {
            fprintf(stderr, "sweep: b = %.2f: final size grows by only %.3f "
                            "from a = %.2f to a = %.2f\n",
                    B_VALUES[j], rise, A_VALUES[0], A_VALUES[NA - 1]);
            bad++;
        }
    }
    printf("\ncheck    final size grows with a for every b   %s\n",
           bad == 0 ? "ok" : "WRONG");
    printf("elapsed  %.1f ms for %zu runs, connecting included\n",
           t_done - t0, NA * NB * (size_t)REPS);
    if (bad > 0) {
        fprintf(stderr, "sweep: FAILED: the final size does not grow with "
                        "the infection probability a\n");
        goto out;
    }
    printf("sweep: all checks passed\n");
    rc = 0;

out:
    for (int n = 0; n < mapped; n++) {
        dv_release(fs[n]);
    }
    dv_close(c);
    return rc;
}
#endif /* DV_EXAMPLE_FUNCTIONS */
