/* Command-line options from one table per command: the parser, --help and
 * the environment variables all come from the table's rows. */
#ifndef DVI_CLI_OPTIONS_H
#define DVI_CLI_OPTIONS_H

#include <stddef.h>

/* DVI_OPT_LIST may be given many times (dvi_opt_list reads the values;
 * value holds the last); it takes no default and no environment
 * variable. */
typedef enum {
    DVI_OPT_STR,
    DVI_OPT_INT,
    DVI_OPT_FLAG,
    DVI_OPT_LIST,
    DVI_OPT_NUM /* a decimal number (seconds: 0.25), within min and max */
} dvi_opt_type;

typedef struct dvi_option {
    const char *name; /* --name */
    dvi_opt_type type;
    const char *def; /* default, as text (NULL: none) */
    long min, max;   /* bounds of an int */
    const char *env; /* environment variable, or NULL */
    const char *help;
    const char *value; /* filled in: the value in force */
} dvi_option;

/* Parses argv (after the command word) into the table: default, then
 * environment, then flags. Prints an error naming the problem and returns
 * 2, or prints usage and returns 1 for --help, or returns 0. */
int dvi_options_parse(dvi_option *opts, size_t n, int argc, char **argv,
                      const char *usage, const char *about);
/* As dvi_options_parse, for a command that also takes arguments that are
 * not options (anywhere among them, or all after "--"): their first
 * maxpos go to pos, in order, and *npos says how many there were; one
 * more is an error that names it. */
int dvi_options_parse_pos(dvi_option *opts, size_t n, int argc, char **argv,
                          const char *usage, const char *about,
                          const char **pos, size_t maxpos, size_t *npos);
const char *dvi_opt_str(const dvi_option *opts, size_t n, const char *name);
long dvi_opt_int(const dvi_option *opts, size_t n, const char *name);
double dvi_opt_num(const dvi_option *opts, size_t n, const char *name);
/* Whether the DVI_OPT_FLAG option name was given. */
int dvi_opt_flag(const dvi_option *opts, size_t n, const char *name);
/* The values of the DVI_OPT_LIST option name, in the order given: at most
 * max into out (borrowed from argv). Returns how many were given. Call
 * after the table was parsed from the same argc and argv. */
size_t dvi_opt_list(const dvi_option *opts, size_t n, int argc, char **argv,
                    const char *name, const char **out, size_t max);
/* A command's subcommand: its name, what runs it (with the arguments after
 * the name) and a line of help. */
typedef struct dvi_subcommand {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} dvi_subcommand;
/* Runs the subcommand argv[0] names, or prints the command's usage (prog:
 * "drove cluster"; about: what it is) for --help (exit status 0), no
 * subcommand (2) or an unknown one (2, naming it). */
int dvi_subcommands_run(const char *prog, const char *about,
                        const dvi_subcommand *subs, size_t n, int argc,
                        char **argv);
/* Sets up logging to stderr for a daemon of this role at the named level.
 * Returns 0, or prints an error naming the level and returns 2. */
int dvi_cli_log(const char *role, const char *level);

#endif
