/* Table-driven option parsing for the drove commands. */
#include "options.h"

#include "common/log.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
s_usage(const dvi_option *opts, size_t n, const char *usage, const char *about)
{
    printf("usage: %s\n\n%s\n\noptions:\n", usage, about);
    for (size_t i = 0; i < n; i++) {
        const dvi_option *o = &opts[i];
        char flag[64];
        snprintf(flag, sizeof(flag), "%s%s%s", o->name[1] ? "--" : "-", o->name,
                 o->type == DVI_OPT_FLAG  ? ""
                 : o->type == DVI_OPT_INT ? " N"
                 : o->type == DVI_OPT_NUM ? " S"
                                          : " VALUE");
        printf("  %-28s %s", flag, o->help);
        if (o->type == DVI_OPT_LIST) {
            printf(" (may be repeated)");
        }
        if (o->def) {
            printf(" (default %s)", o->def);
        }
        if (o->env) {
            printf(" [$%s]", o->env);
        }
        printf("\n");
    }
    printf("  %-28s %s\n", "--help", "show this help and exit");
}

/* The command's name, for messages: the words of usage up to the first
 * that is not a plain lowercase word ("drove profile export" of "drove
 * profile export [NAME] DIR"). */
static void
s_prog(const char *usage, char *out, size_t size)
{
    size_t end = 0, i = 0;
    while (usage[i] != '\0') {
        size_t j = i;
        while (usage[j] >= 'a' && usage[j] <= 'z') {
            j++;
        }
        if (j == i || (usage[j] != ' ' && usage[j] != '\0')) {
            break;
        }
        end = j;
        i = usage[j] == ' ' ? j + 1 : j;
    }
    if (end == 0) {
        snprintf(out, size, "drove");
    } else {
        snprintf(out, size, "%.*s", (int)end, usage);
    }
}

static int
s_check_num(dvi_option *o, const char *v, const char *from, const char *prog)
{
    char *end;
    double x = strtod(v, &end);
    if (*v == '\0' || *end != '\0' || !(x >= (double)o->min) ||
        !(x <= (double)o->max)) {
        fprintf(stderr,
                "%s: %s: --%s must be a number from %ld to %ld, not '%s'\n",
                prog, from, o->name, o->min, o->max, v);
        return 2;
    }
    o->value = v;
    return 0;
}

static int
s_check(dvi_option *o, const char *v, const char *from, const char *prog)
{
    if (o->type == DVI_OPT_NUM) {
        return s_check_num(o, v, from, prog);
    }
    if (o->type != DVI_OPT_INT) {
        o->value = v;
        return 0;
    }
    char *end;
    long x = strtol(v, &end, 10);
    if (*v == '\0' || *end != '\0' || x < o->min || x > o->max) {
        fprintf(stderr,
                "%s: %s: --%s must be a whole number from %ld to "
                "%ld, not '%s'\n",
                prog, from, o->name, o->min, o->max, v);
        return 2;
    }
    o->value = v;
    return 0;
}

/* What s_step found. */
enum { S_END, S_HELP, S_BAD, S_ITEM };

/* One step through argv from *a: an option (*o its row, *v its value, NULL
 * for a flag) or an argument that is not one (*o NULL, *v the argument)
 * gives S_ITEM; then S_END at the end, S_HELP for --help, or S_BAD after
 * printing what is wrong. *rest is set once "--" is passed: everything
 * after it is an argument. */
static int
s_step(const dvi_option *opts, size_t n, int argc, char **argv, int *a,
       int *rest, const dvi_option **o, const char **v, const char *prog)
{
    if (*a >= argc) {
        return S_END;
    }
    const char *arg = argv[(*a)++];
    if (!*rest && strcmp(arg, "--") == 0) {
        *rest = 1;
        if (*a >= argc) {
            return S_END;
        }
        arg = argv[(*a)++];
    }
    *o = NULL;
    *v = arg;
    if (*rest || arg[0] != '-' || arg[1] == '\0') {
        return S_ITEM;
    }
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
        return S_HELP;
    }
    /* --name[=value], or -x for an option whose name is one letter. */
    int dashes = arg[1] == '-' ? 2 : 1;
    const char *name = arg + dashes;
    const char *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    for (size_t i = 0; (dashes == 2 || len == 1) && i < n; i++) {
        if (strlen(opts[i].name) == len &&
            strncmp(opts[i].name, name, len) == 0) {
            *o = &opts[i];
        }
    }
    if (*o == NULL) {
        fprintf(stderr, "%s: unknown option '%.*s' (see --help)\n", prog,
                (int)(eq ? (size_t)(eq - arg) : strlen(arg)), arg);
        return S_BAD;
    }
    if ((*o)->type == DVI_OPT_FLAG) {
        *v = NULL;
        if (eq != NULL) {
            fprintf(stderr, "%s: option '--%s' takes no value\n", prog,
                    (*o)->name);
            return S_BAD;
        }
        return S_ITEM;
    }
    *v = eq ? eq + 1 : (*a < argc ? argv[(*a)++] : NULL);
    if (*v == NULL) {
        fprintf(stderr, "%s: option '--%s' needs a value\n", prog, (*o)->name);
        return S_BAD;
    }
    return S_ITEM;
}

int
dvi_options_parse_pos(dvi_option *opts, size_t n, int argc, char **argv,
                      const char *usage, const char *about, const char **pos,
                      size_t maxpos, size_t *npos)
{
    char prog[64];
    s_prog(usage, prog, sizeof(prog));
    for (size_t i = 0; i < n; i++) {
        if (opts[i].type == DVI_OPT_LIST) {
            opts[i].value = NULL;
            continue;
        }
        opts[i].value = opts[i].def;
        const char *e = opts[i].env ? getenv(opts[i].env) : NULL;
        if (e && *e && s_check(&opts[i], e, opts[i].env, prog) != 0) {
            return 2;
        }
    }
    size_t np = 0;
    int a = 0, rest = 0, r;
    const dvi_option *o;
    const char *v;
    while ((r = s_step(opts, n, argc, argv, &a, &rest, &o, &v, prog)) ==
           S_ITEM) {
        if (o == NULL) {
            if (np >= maxpos) {
                fprintf(stderr, "%s: unexpected argument '%s' (see --help)\n",
                        prog, v);
                return 2;
            }
            pos[np++] = v;
        } else if (o->type == DVI_OPT_FLAG) {
            opts[o - opts].value = "1";
        } else if (s_check(&opts[o - opts], v, "command line", prog) != 0) {
            return 2;
        }
    }
    if (r == S_HELP) {
        s_usage(opts, n, usage, about);
        return 1;
    }
    if (npos != NULL) {
        *npos = np;
    }
    return r == S_BAD ? 2 : 0;
}

int
dvi_options_parse(dvi_option *opts, size_t n, int argc, char **argv,
                  const char *usage, const char *about)
{
    return dvi_options_parse_pos(opts, n, argc, argv, usage, about, NULL, 0,
                                 NULL);
}

size_t
dvi_opt_list(const dvi_option *opts, size_t n, int argc, char **argv,
             const char *name, const char **out, size_t max)
{
    size_t count = 0;
    int a = 0, rest = 0;
    const dvi_option *o;
    const char *v;
    while (s_step(opts, n, argc, argv, &a, &rest, &o, &v, "drove") == S_ITEM) {
        if (o != NULL && strcmp(o->name, name) == 0 && v != NULL) {
            if (count < max) {
                out[count] = v;
            }
            count++;
        }
    }
    return count;
}

const char *
dvi_opt_str(const dvi_option *opts, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(opts[i].name, name) == 0) {
            return opts[i].value;
        }
    }
    return NULL;
}

long
dvi_opt_int(const dvi_option *opts, size_t n, const char *name)
{
    const char *v = dvi_opt_str(opts, n, name);
    return v ? strtol(v, NULL, 10) : 0;
}

int
dvi_cli_log(const char *role, const char *level)
{
    int lv = dvi_log_level_parse(level);
    if (lv < 0) {
        fprintf(stderr,
                "drove %s: unknown log level '%s' (error, warn, "
                "notice, info or debug)\n",
                role, level);
        return 2;
    }
    dvi_log_init(role, lv);
    dvi_log_set_level(lv); /* the option already took $DROVE_LOG into account */
    return 0;
}

double
dvi_opt_num(const dvi_option *opts, size_t n, const char *name)
{
    const char *v = dvi_opt_str(opts, n, name);
    return v ? strtod(v, NULL) : 0;
}

int
dvi_opt_flag(const dvi_option *opts, size_t n, const char *name)
{
    return dvi_opt_str(opts, n, name) != NULL;
}

static void
s_subs_usage(FILE *out, const char *prog, const char *about,
             const dvi_subcommand *subs, size_t n)
{
    fprintf(out, "usage: %s COMMAND [ARGS] [OPTIONS]\n\n%s\n\ncommands:\n",
            prog, about);
    for (size_t i = 0; i < n; i++) {
        fprintf(out, "  %-10s %s\n", subs[i].name, subs[i].help);
    }
    fprintf(out, "\nRun '%s COMMAND --help' for its arguments.\n", prog);
}

int
dvi_subcommands_run(const char *prog, const char *about,
                    const dvi_subcommand *subs, size_t n, int argc, char **argv)
{
    if (argc < 1) {
        s_subs_usage(stderr, prog, about, subs, n);
        return 2;
    }
    if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0 ||
        strcmp(argv[0], "help") == 0) {
        s_subs_usage(stdout, prog, about, subs, n);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(argv[0], subs[i].name) == 0) {
            return subs[i].run(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "%s: unknown command '%s' (see %s --help)\n", prog, argv[0],
            prog);
    return 2;
}
