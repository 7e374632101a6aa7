/* dvi_prun: one pipeline's run, and the order of runs (see run.h).
 *
 * The scan and the clean-up of vanished datums happen in one transaction,
 * so that a no-op re-run over 100,000 files is a stat and a lookup per
 * file with one commit at the end; datums then record themselves one by
 * one as they finish, so that an interrupted run keeps what it did.
 */
#include "pipeline/run.h"

#include <errno.h>
#include <jansson.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/err.h"
#include "common/map.h"
#include "common/tree.h"
#include "drove.h"
#include "pipeline/datums.h"
#include "pipeline/exec.h"
#include "pipeline/filecache.h"
#include "pipeline/registry.h"
#include "pipeline/state.h"
#include "pipeline/transform.h"

typedef struct s_ctx {
    const dvi_prun_opts *o;
    json_t *reg;    /* the registry: name -> {spec, output} */
    json_t *done;   /* name -> its run's result, for pipelines run */
    json_t *active; /* names being run now: an upstream chain */
    dv_client *c;   /* connected on first need, closed at the end */
} s_ctx;

/* What one pipeline's scan found. */
typedef struct s_plan {
    dvi_datums all;
    const dvi_datum **todo; /* into all.v */
    size_t ntodo;
    size_t removed; /* recorded datums forgotten: vanished or changed */
} s_plan;

static int s_run_path(s_ctx *x, const char *path);

void
dvi_prun_state_path(const char *output, const char *name, char *buf,
                    size_t size)
{
    char *copy = dvi_strdup(output);
    snprintf(buf, size, "%s/.drove/%s.sqlite", dirname(copy), name);
    free(copy);
}

/* Forgets every recorded datum that is not current (all of them when the
 * transform changed) and removes its outputs. */
static int
s_forget_stale(dvi_pstate *st, const dvi_pspec *s, const dvi_datums *all,
               int changed, size_t *removed)
{
    dvi_map cur;
    dvi_map_init(&cur);
    for (size_t i = 0; i < all->n; i++) {
        dvi_map_put(&cur, all->v[i].id, &all->v[i]);
    }
    char **ids = NULL;
    size_t n = 0;
    int rc = dvi_pstate_ids(st, &ids, &n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (!changed && dvi_map_get(&cur, ids[i]) != NULL) {
            continue;
        }
        char **paths = NULL;
        size_t np = 0;
        rc = dvi_pstate_forget(st, ids[i], &paths, &np);
        for (size_t k = 0; k < np; k++) {
            if (rc == 0) {
                dvi_pexec_remove_output(s->output, paths[k]);
            }
            free(paths[k]);
        }
        free(paths);
        *removed += rc == 0;
    }
    for (size_t i = 0; i < n; i++) {
        free(ids[i]);
    }
    free(ids);
    dvi_map_fini(&cur);
    return rc;
}

/* Lists the datums, forgets stale ones and picks those to run, inside
 * one transaction. */
static int
s_scan(dvi_pstate *st, const dvi_pspec *s, s_plan *p)
{
    char tid[65];
    if (dvi_ptransform_id(s, tid) < 0 || dvi_pstate_begin(st) < 0) {
        return dvi_last_code();
    }
    dvi_filecache *fc = dvi_filecache_new(dvi_pstate_db(st));
    int rc = fc ? dvi_datums_build(s->input, fc, &p->all) : DV_EIO;
    if (rc == 0 && dvi_filecache_prune(fc) < 0) {
        rc = DV_EIO;
    }
    dvi_filecache_destroy(&fc);
    char *old = rc == 0 ? dvi_pstate_meta(st, "transform") : NULL;
    int changed = old != NULL && strcmp(old, tid) != 0;
    free(old);
    if (rc == 0) {
        rc = s_forget_stale(st, s, &p->all, changed, &p->removed);
    }
    if (rc == 0) {
        rc = dvi_pstate_set_meta(st, "transform", tid);
    }
    p->todo = dvi_calloc(p->all.n + 1, sizeof(*p->todo));
    for (size_t i = 0; rc == 0 && i < p->all.n; i++) {
        if (dvi_pstate_status(st, p->all.v[i].id) != DVI_DATUM_OK) {
            p->todo[p->ntodo++] = &p->all.v[i];
        }
    }
    /* Committed even after an error: the hashes read so far stay
     * cached. */
    int crc = dvi_pstate_commit(st);
    return rc < 0 ? rc : crc;
}

/* How many datums run at once: the constant, or the coefficient times
 * the cluster's worker threads (rounded up), at most ntodo. */
static int
s_parallelism(dv_client *c, const dvi_pspec *s, size_t ntodo)
{
    double par = s->par_constant;
    if (par <= 0) {
        long threads = 0;
        char *info = NULL;
        if (dv_scheduler_info(c, &info) == 0) {
            json_t *j = json_loads(info, 0, NULL);
            threads = (long)json_integer_value(
                json_object_get(json_object_get(j, "totals"), "threads"));
            json_decref(j);
            free(info);
        }
        if (threads <= 0) {
            threads = dv_nworkers(c);
        }
        double want = s->par_coef * (double)(threads > 0 ? threads : 1);
        par = (double)(long)want;
        par += par < want; /* rounded up, without libm */
    }
    if (par > (double)ntodo) {
        par = (double)ntodo;
    }
    return par < 1 ? 1 : (int)par;
}

static int
s_connect(s_ctx *x)
{
    if (x->c == NULL) {
        x->c = dv_connect(NULL);
        if (x->c == NULL) {
            return dvi_seterr(dv_last_code(), "connecting: %s",
                              dv_last_error());
        }
    }
    return 0;
}

/* Records and prints the run's figures. */
static void
s_summary(const dvi_pspec *s, dvi_pstate *st, const s_plan *p,
          const dvi_pexec_stats *es, FILE *out)
{
    size_t skipped = p->all.n - p->ntodo;
    json_t *j = json_pack("{s:f, s:I, s:I, s:I, s:I, s:I}", "time",
                          (double)time(NULL), "total", (json_int_t)p->all.n,
                          "processed", (json_int_t)es->processed, "skipped",
                          (json_int_t)skipped, "failed", (json_int_t)es->failed,
                          "removed", (json_int_t)p->removed);
    char *text = json_dumps(j, JSON_COMPACT);
    dvi_pstate_set_meta(st, "last_run", text);
    free(text);
    json_decref(j);
    fprintf(out,
            "pipeline %s: %zu datum%s: %zu processed, %zu skipped, %zu "
            "failed, %zu removed; output %s\n",
            s->name, p->all.n, p->all.n == 1 ? "" : "s", es->processed, skipped,
            es->failed, p->removed, s->output);
    fflush(out);
}

/* Brings one pipeline's output up to date (its upstreams already are). */
static int
s_update(s_ctx *x, const dvi_pspec *s)
{
    char path[4096];
    dvi_prun_state_path(s->output, s->name, path, sizeof(path));
    char marker[4200];
    snprintf(marker, sizeof(marker), "%s/.keep", s->output);
    if (dvi_tree_make_parents(marker) < 0) {
        return DV_EIO;
    }
    dvi_pstate *st = dvi_pstate_open(path, 1);
    if (st == NULL) {
        return dvi_last_code();
    }
    s_plan p = {0};
    dvi_pexec_stats es = {0, 0};
    int rc = s_scan(st, s, &p);
    if (rc == 0 && p.ntodo > 0) {
        rc = s_connect(x);
    }
    if (rc == 0 && p.ntodo > 0) {
        int par = s_parallelism(x->c, s, p.ntodo);
        rc = dvi_pexec_run(x->c, s, p.todo, p.ntodo, par, st, x->o->err, &es);
    }
    if (rc == 0) {
        s_summary(s, st, &p, &es, x->o->out);
    }
    free(p.todo);
    dvi_datums_fini(&p.all);
    dvi_pstate_destroy(&st);
    return rc < 0 ? rc : es.failed > 0 ? 1 : 0;
}

/* Runs the upstream of every pipeline input below in, then points the
 * input at the upstream's output. */
static int
s_upstreams(s_ctx *x, dvi_pinput *in, int *worst)
{
    for (size_t i = 0; i < in->nkids; i++) {
        int rc = s_upstreams(x, in->kids[i], worst);
        if (rc < 0) {
            return rc;
        }
    }
    if (in->kind != DVI_PIN_PFS || in->pipeline == NULL) {
        return 0;
    }
    json_t *e = json_object_get(x->reg, in->pipeline);
    const char *spec = json_string_value(json_object_get(e, "spec"));
    if (spec == NULL) {
        char where[2048] = "the profile's registry";
        dvi_preg_path(x->o->profile, where, sizeof(where));
        return dvi_seterr(DV_ENOTFOUND,
                          "input '%s': no pipeline '%s' in %s (run its spec "
                          "once: drove pipeline run SPEC)",
                          in->name, in->pipeline, where);
    }
    int rc = s_run_path(x, spec);
    if (rc < 0) {
        return rc;
    }
    *worst = rc > *worst ? rc : *worst;
    /* The upstream's run may have moved its output: read it again. */
    e = json_object_get(x->reg, in->pipeline);
    free(in->repo);
    in->repo = dvi_strdup(json_string_value(json_object_get(e, "output")));
    return 0;
}

static int
s_reads(const dvi_pinput *in, const char *name)
{
    if (in->kind == DVI_PIN_PFS) {
        return in->pipeline != NULL && strcmp(in->pipeline, name) == 0;
    }
    for (size_t i = 0; i < in->nkids; i++) {
        if (s_reads(in->kids[i], name)) {
            return 1;
        }
    }
    return 0;
}

/* Runs the registered pipelines that read name's output. */
static int
s_downstreams(s_ctx *x, const char *name, int *worst)
{
    json_t *names = json_array();
    const char *key;
    json_t *v;
    json_object_foreach(x->reg, key, v)
    {
        json_array_append_new(names, json_string(key));
    }
    int rc = 0;
    size_t i;
    json_array_foreach(names, i, v)
    {
        const char *other = json_string_value(v);
        json_t *e = json_object_get(x->reg, other);
        const char *spec = json_string_value(json_object_get(e, "spec"));
        if (rc < 0 || spec == NULL || json_object_get(x->done, other) ||
            json_object_get(x->active, other)) {
            continue;
        }
        dvi_pspec *s = dvi_pspec_load(spec);
        int reads = s != NULL && s_reads(s->input, name);
        dvi_pspec_destroy(&s);
        if (reads) {
            int r = s_run_path(x, spec);
            rc = r < 0 ? r : 0;
            *worst = r > *worst ? r : *worst;
        }
    }
    json_decref(names);
    return rc;
}

/* Says so when name was registered with another spec: the list keeps
 * one spec per name, and the other spec's pipeline is replaced. */
static void
s_rebound(s_ctx *x, const dvi_pspec *s)
{
    json_t *e = json_object_get(x->reg, s->name);
    const char *old = json_string_value(json_object_get(e, "spec"));
    if (old != NULL && strcmp(old, s->path) != 0) {
        fprintf(x->o->err,
                "drove pipeline: warning: pipeline '%s' was %s; it is now "
                "%s\n",
                s->name, old, s->path);
    }
}

/* Whether path a is b or below it. */
static int
s_below(const char *a, const char *b)
{
    size_t n = strlen(b);
    while (n > 1 && b[n - 1] == '/') {
        n--;
    }
    return strncmp(a, b, n) == 0 && (a[n] == '\0' || a[n] == '/');
}

/* The output directory must not overlap an input: the outputs would
 * become inputs of the next run (or be listed as datums halfway). */
static int
s_overlap(const dvi_pspec *s, const dvi_pinput *in)
{
    for (size_t i = 0; i < in->nkids; i++) {
        if (s_overlap(s, in->kids[i]) < 0) {
            return DV_EINVAL;
        }
    }
    if (in->kind == DVI_PIN_PFS && in->repo != NULL &&
        (s_below(s->output, in->repo) || s_below(in->repo, s->output))) {
        return dvi_seterr(DV_EINVAL,
                          "%s: output %s and input '%s' (%s) overlap: the "
                          "outputs would become inputs",
                          s->path, s->output, in->name, in->repo);
    }
    return 0;
}

static int
s_run_spec(s_ctx *x, dvi_pspec *s)
{
    for (size_t i = 0; i < s->nwarnings; i++) {
        fprintf(x->o->err, "drove pipeline: warning: %s\n", s->warnings[i]);
    }
    if (json_object_get(x->active, s->name)) {
        return dvi_seterr(DV_EINVAL,
                          "pipeline '%s' reads its own output (through the "
                          "pipelines it reads from)",
                          s->name);
    }
    json_object_set_new(x->active, s->name, json_true());
    int worst = 0;
    int rc = s_upstreams(x, s->input, &worst);
    if (rc == 0) {
        rc = s_overlap(s, s->input);
    }
    if (rc == 0) {
        s_rebound(x, s);
        rc = dvi_preg_put(x->o->profile, s->name, s->path, s->output);
        json_object_set_new(
            x->reg, s->name,
            json_pack("{s:s, s:s}", "spec", s->path, "output", s->output));
    }
    if (rc == 0) {
        rc = s_update(x, s);
    }
    json_object_del(x->active, s->name);
    json_object_set_new(x->done, s->name, json_integer(rc));
    if (rc >= 0) {
        worst = rc > worst ? rc : worst;
        rc = s_downstreams(x, s->name, &worst);
    }
    return rc < 0 ? rc : worst;
}

static int
s_run_path(s_ctx *x, const char *path)
{
    dvi_pspec *s = dvi_pspec_load(path);
    if (s == NULL) {
        return dvi_last_code();
    }
    json_t *done = json_object_get(x->done, s->name);
    int rc = done ? (int)json_integer_value(done) : s_run_spec(x, s);
    dvi_pspec_destroy(&s);
    return rc;
}

int
dvi_prun(const char *path, const dvi_prun_opts *o)
{
    s_ctx x = {o, dvi_preg_load(o->profile), json_object(), json_object(),
               NULL};
    int rc = x.reg ? s_run_path(&x, path) : dvi_last_code();
    /* dv_close resets the thread's reason: keep it for the caller. */
    char why[1024];
    snprintf(why, sizeof(why), "%s", dv_last_error());
    dv_close(x.c);
    json_decref(x.reg);
    json_decref(x.done);
    json_decref(x.active);
    if (rc < 0) {
        dvi_seterr(rc, "%s", why);
    }
    return rc;
}
