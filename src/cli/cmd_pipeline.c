/* drove pipeline: Pachyderm's pipelines on drove (run, list, status,
 * inspect). The work is in src/pipeline/; this file parses the command
 * line and prints what the state says.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "drove.h"
#include "options.h"
#include "pipeline/registry.h"
#include "pipeline/run.h"
#include "pipeline/state.h"

#define S_N(a) (sizeof(a) / sizeof((a)[0]))

#define S_PROFILE_OPT                                             \
    {                                                             \
        "profile", DVI_OPT_STR, "default", 0, 0, "DROVE_PROFILE", \
            "the profile whose list of pipelines is used", NULL   \
    }
#define S_JSON_OPT                                                 \
    {                                                              \
        "json", DVI_OPT_FLAG, NULL, 0, 0, NULL, "print JSON", NULL \
    }

/* Parses a subcommand's options and exactly want arguments. -1 to go on,
 * else the exit status (0 after --help, 2 for a usage error). */
static int
s_parse(dvi_option *opts, size_t n, int argc, char **argv, const char *usage,
        const char *about, const char **pos, size_t want)
{
    size_t npos = 0;
    int rc = dvi_options_parse_pos(opts, n, argc, argv, usage, about, pos, want,
                                   &npos);
    if (rc != 0) {
        return rc == 1 ? 0 : 2;
    }
    if (npos != want) {
        /* The words of the usage after "[OPTIONS] " name the arguments:
         * those past the npos given are missing. */
        const char *mark = strstr(usage, " [OPTIONS]");
        const char *missing = mark ? mark + 11 : "";
        for (size_t i = 0; i < npos && strchr(missing, ' '); i++) {
            missing = strchr(missing, ' ') + 1;
        }
        fprintf(stderr, "%.*s: missing %s (usage: %s; see --help)\n",
                mark ? (int)(mark - usage) : (int)strlen(usage), usage, missing,
                usage);
        return 2;
    }
    return -1;
}

/* ---- run ---------------------------------------------------------------- */

static dvi_option s_run_opts[] = {S_PROFILE_OPT};

static int
s_run(int argc, char **argv)
{
    const char *pos[1];
    int rc = s_parse(
        s_run_opts, S_N(s_run_opts), argc, argv,
        "drove pipeline run [OPTIONS] SPEC.json",
        "Brings the pipeline of SPEC.json up to date: first the pipelines\n"
        "whose output it reads, then its new or changed datums (each a\n"
        "command task on the cluster dv_connect(NULL) finds: the embedded\n"
        "default, or DROVE_SCHEDULER), then the pipelines that read its\n"
        "output. Prints a line per pipeline run; a datum that failed every\n"
        "try is reported with its stderr. Exit status: 0, 1 when a datum\n"
        "failed or the run could not be done (the error says why), 2 for a\n"
        "usage error. See docs/pipelines.md.",
        pos, 1);
    if (rc >= 0) {
        return rc;
    }
    dvi_prun_opts o = {dvi_opt_str(s_run_opts, S_N(s_run_opts), "profile"),
                       stdout, stderr};
    rc = dvi_prun(pos[0], &o);
    if (rc < 0) {
        fprintf(stderr, "drove pipeline run: %s\n", dv_last_error());
        return 1;
    }
    return rc;
}

/* ---- shared by list, status, inspect ------------------------------------ */

/* The registry entry of name, or NULL (printed). Borrowed from reg. */
static json_t *
s_entry(json_t *reg, const char *cmd, const char *name, const char *profile)
{
    json_t *e = json_object_get(reg, name);
    if (e == NULL) {
        char path[2048] = "";
        dvi_preg_path(profile, path, sizeof(path));
        fprintf(stderr,
                "drove pipeline %s: no pipeline '%s' in %s (drove pipeline "
                "run SPEC adds it)\n",
                cmd, name, path);
    }
    return e;
}

/* The state of a registry entry, or NULL (reason set). */
static dvi_pstate *
s_state(json_t *e, const char *name)
{
    char path[4096];
    const char *out = json_string_value(json_object_get(e, "output"));
    dvi_prun_state_path(out ? out : "", name, path, sizeof(path));
    return dvi_pstate_open(path, 0);
}

/* The last run's summary (an object; empty if none). Caller owns. */
static json_t *
s_last_run(dvi_pstate *st)
{
    char *text = st ? dvi_pstate_meta(st, "last_run") : NULL;
    json_t *j = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    return j ? j : json_object();
}

static void
s_time(json_t *last, char *buf, size_t size)
{
    time_t t = (time_t)json_number_value(json_object_get(last, "time"));
    struct tm tm;
    if (t == 0 || gmtime_r(&t, &tm) == NULL) {
        snprintf(buf, size, "never");
        return;
    }
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_int_t
s_int(json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

static void
s_print_json(json_t *j)
{
    json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    printf("\n");
}

/* ---- list --------------------------------------------------------------- */

static dvi_option s_list_opts[] = {S_PROFILE_OPT, S_JSON_OPT};

static int
s_list(int argc, char **argv)
{
    int rc = s_parse(s_list_opts, S_N(s_list_opts), argc, argv,
                     "drove pipeline list [OPTIONS]",
                     "Lists the pipelines of the profile (those `drove "
                     "pipeline run` has run),\nwith their spec, output and "
                     "last run.",
                     NULL, 0);
    if (rc >= 0) {
        return rc;
    }
    const char *profile = dvi_opt_str(s_list_opts, S_N(s_list_opts), "profile");
    json_t *reg = dvi_preg_load(profile);
    if (reg == NULL) {
        fprintf(stderr, "drove pipeline list: %s\n", dv_last_error());
        return 1;
    }
    json_t *all = json_array();
    const char *name;
    json_t *e;
    json_object_foreach(reg, name, e)
    {
        dvi_pstate *st = s_state(e, name);
        json_t *last = s_last_run(st);
        dvi_pstate_destroy(&st);
        json_array_append_new(
            all, json_pack("{s:s, s:O, s:O, s:o}", "name", name, "spec",
                           json_object_get(e, "spec"), "output",
                           json_object_get(e, "output"), "last_run", last));
    }
    if (dvi_opt_flag(s_list_opts, S_N(s_list_opts), "json")) {
        s_print_json(all);
    } else {
        size_t i;
        json_array_foreach(all, i, e)
        {
            char when[64];
            json_t *last = json_object_get(e, "last_run");
            s_time(last, when, sizeof(when));
            printf("%-24s %-20s %6lld datums  %s  %s\n",
                   json_string_value(json_object_get(e, "name")), when,
                   (long long)s_int(last, "total"),
                   json_string_value(json_object_get(e, "output")),
                   json_string_value(json_object_get(e, "spec")));
        }
    }
    json_decref(all);
    json_decref(reg);
    return 0;
}

/* ---- status ------------------------------------------------------------- */

static dvi_option s_status_opts[] = {S_PROFILE_OPT, S_JSON_OPT};

static void
s_status_text(const char *name, json_t *e, json_t *last, json_t *datums)
{
    char when[64];
    s_time(last, when, sizeof(when));
    printf("pipeline: %s\nspec:     %s\noutput:   %s\nlast run: %s\n", name,
           json_string_value(json_object_get(e, "spec")),
           json_string_value(json_object_get(e, "output")), when);
    printf("datums:   %lld total, %lld processed, %lld skipped, %lld failed "
           "(last run)\n",
           (long long)s_int(last, "total"), (long long)s_int(last, "processed"),
           (long long)s_int(last, "skipped"), (long long)s_int(last, "failed"));
    size_t i;
    json_t *d;
    json_array_foreach(datums, i, d)
    {
        printf("  %s  %-6s  %s\n", json_string_value(json_object_get(d, "id")),
               json_string_value(json_object_get(d, "status")),
               json_string_value(json_object_get(d, "desc")));
    }
}

/* The state of pipeline name in profile, for subcommand cmd, with the
 * registry (*reg, to release) and the pipeline's entry in it (*entry);
 * NULL once it has said why not (s_entry says it of a name it lacks). */
static dvi_pstate *
s_open(const char *cmd, const char *profile, const char *name, json_t **reg,
       json_t **entry)
{
    *reg = dvi_preg_load(profile);
    *entry = *reg ? s_entry(*reg, cmd, name, profile) : NULL;
    dvi_pstate *st = *entry ? s_state(*entry, name) : NULL;
    if (st == NULL && (*reg == NULL || *entry != NULL)) {
        fprintf(stderr, "drove pipeline %s: %s\n", cmd, dv_last_error());
    }
    return st;
}

static int
s_status(int argc, char **argv)
{
    const char *pos[1];
    int rc = s_parse(s_status_opts, S_N(s_status_opts), argc, argv,
                     "drove pipeline status [OPTIONS] NAME",
                     "Says what the last run of pipeline NAME did (datums "
                     "total, processed,\nskipped, failed), where its output "
                     "is, and each recorded datum's id,\nstatus and roots.",
                     pos, 1);
    if (rc >= 0) {
        return rc;
    }
    const char *profile =
        dvi_opt_str(s_status_opts, S_N(s_status_opts), "profile");
    json_t *reg, *e;
    dvi_pstate *st = s_open("status", profile, pos[0], &reg, &e);
    if (st == NULL) {
        json_decref(reg);
        return 1;
    }
    json_t *last = s_last_run(st);
    json_t *datums = dvi_pstate_datums_json(st, NULL);
    datums = datums ? datums : json_array();
    if (dvi_opt_flag(s_status_opts, S_N(s_status_opts), "json")) {
        json_t *j = json_pack("{s:s, s:O, s:O, s:O, s:O}", "name", pos[0],
                              "spec", json_object_get(e, "spec"), "output",
                              json_object_get(e, "output"), "last_run", last,
                              "datums", datums);
        s_print_json(j);
        json_decref(j);
    } else {
        s_status_text(pos[0], e, last, datums);
    }
    json_decref(datums);
    json_decref(last);
    dvi_pstate_destroy(&st);
    json_decref(reg);
    return 0;
}

/* ---- inspect ------------------------------------------------------------ */

static dvi_option s_inspect_opts[] = {S_PROFILE_OPT, S_JSON_OPT};

static void
s_inspect_text(json_t *d)
{
    json_int_t tries = s_int(d, "tries");
    printf("datum:   %s\nroots:   %s\nstatus:  %s (%lld tr%s)\ninputs:\n",
           json_string_value(json_object_get(d, "id")),
           json_string_value(json_object_get(d, "desc")),
           json_string_value(json_object_get(d, "status")), (long long)tries,
           tries == 1 ? "y" : "ies");
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(d, "inputs"), i, f)
    {
        printf("  in/%s/%s  %.16s\n",
               json_string_value(json_object_get(f, "input")),
               json_string_value(json_object_get(f, "path")),
               json_string_value(json_object_get(f, "hash")));
    }
    printf("outputs (each written by this datum's command from the inputs "
           "above):\n");
    json_array_foreach(json_object_get(d, "outputs"), i, f)
    {
        printf("  %s\n", json_string_value(f));
    }
    const char *log = json_string_value(json_object_get(d, "log"));
    printf("log:\n%s%s", log && *log ? log : "  (empty)",
           log && *log && log[strlen(log) - 1] == '\n' ? "" : "\n");
}

static int
s_inspect(int argc, char **argv)
{
    const char *pos[2];
    int rc = s_parse(s_inspect_opts, S_N(s_inspect_opts), argc, argv,
                     "drove pipeline inspect [OPTIONS] NAME DATUM",
                     "Shows datum DATUM (its id, or a prefix of it that "
                     "names one) of pipeline\nNAME: its input files and their "
                     "hashes, the outputs it wrote, its status\nand its log "
                     "(the command's stderr; for a failure, why).",
                     pos, 2);
    if (rc >= 0) {
        return rc;
    }
    const char *profile =
        dvi_opt_str(s_inspect_opts, S_N(s_inspect_opts), "profile");
    json_t *reg, *e;
    dvi_pstate *st = s_open("inspect", profile, pos[0], &reg, &e);
    json_t *found = st ? dvi_pstate_datums_json(st, pos[1]) : NULL;
    if (found == NULL) {
        if (st != NULL) { /* else s_open said why */
            fprintf(stderr, "drove pipeline inspect: %s\n", dv_last_error());
        }
    } else if (json_array_size(found) != 1) {
        fprintf(stderr,
                "drove pipeline inspect: %s datum of pipeline '%s' has an "
                "id starting with '%s' (drove pipeline status %s lists "
                "them)\n",
                json_array_size(found) ? "more than one" : "no", pos[0], pos[1],
                pos[0]);
    } else if (dvi_opt_flag(s_inspect_opts, S_N(s_inspect_opts), "json")) {
        s_print_json(json_array_get(found, 0));
        rc = 0;
    } else {
        s_inspect_text(json_array_get(found, 0));
        rc = 0;
    }
    json_decref(found);
    dvi_pstate_destroy(&st);
    json_decref(reg);
    return rc == 0 ? 0 : 1;
}

static const dvi_subcommand s_subs[] = {
    {"run", s_run, "bring a pipeline's output up to date"},
    {"list", s_list, "list the profile's pipelines"},
    {"status", s_status, "what a pipeline's last run did, and its datums"},
    {"inspect", s_inspect, "a datum's inputs, outputs and log"},
};

int
dvi_cmd_pipeline(int argc, char **argv)
{
    return dvi_subcommands_run(
        "drove pipeline",
        "Pachyderm's pipelines on drove: a command run on every datum\n"
        "(glob match) of input directories, incrementally (docs/pipelines.md).",
        s_subs, S_N(s_subs), argc, argv);
}
