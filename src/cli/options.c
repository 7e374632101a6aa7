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
        snprintf(flag, sizeof(flag), "--%s%s", o->name,
                 o->type == DVI_OPT_FLAG  ? ""
                 : o->type == DVI_OPT_INT ? " N"
                                          : " VALUE");
        printf("  %-28s %s", flag, o->help);
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

static int
s_check(dvi_option *o, const char *v, const char *from)
{
    if (o->type != DVI_OPT_INT) {
        o->value = v;
        return 0;
    }
    char *end;
    long x = strtol(v, &end, 10);
    if (*v == '\0' || *end != '\0' || x < o->min || x > o->max) {
        fprintf(stderr,
                "drove: %s: --%s must be a whole number from %ld to "
                "%ld, not '%s'\n",
                from, o->name, o->min, o->max, v);
        return 2;
    }
    o->value = v;
    return 0;
}

int
dvi_options_parse(dvi_option *opts, size_t n, int argc, char **argv,
                  const char *usage, const char *about)
{
    for (size_t i = 0; i < n; i++) {
        opts[i].value = opts[i].def;
        const char *e = opts[i].env ? getenv(opts[i].env) : NULL;
        if (e && *e && s_check(&opts[i], e, opts[i].env) != 0) {
            return 2;
        }
    }
    for (int a = 0; a < argc; a++) {
        const char *arg = argv[a];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            s_usage(opts, n, usage, about);
            return 1;
        }
        if (strncmp(arg, "--", 2) != 0) {
            fprintf(stderr, "drove: unexpected argument '%s' (see --help)\n",
                    arg);
            return 2;
        }
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        dvi_option *o = NULL;
        for (size_t i = 0; i < n; i++) {
            if (strlen(opts[i].name) == len &&
                strncmp(opts[i].name, name, len) == 0) {
                o = &opts[i];
            }
        }
        if (o == NULL) {
            fprintf(stderr, "drove: unknown option '--%.*s' (see --help)\n",
                    (int)len, name);
            return 2;
        }
        if (o->type == DVI_OPT_FLAG) {
            o->value = "1";
            continue;
        }
        const char *v = eq ? eq + 1 : (a + 1 < argc ? argv[++a] : NULL);
        if (v == NULL) {
            fprintf(stderr, "drove: option '--%s' needs a value\n", o->name);
            return 2;
        }
        if (s_check(o, v, "command line") != 0) {
            return 2;
        }
    }
    return 0;
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
