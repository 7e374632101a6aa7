/* dvi_pspec: a pipeline's spec, read from Pachyderm-shaped JSON.
 *
 * The spec names the pipeline, its input (a directory matched by a glob,
 * another pipeline's output, or a cross or union of inputs), the
 * transform (command, stdin lines, environment, code files) and how many
 * datums run at once. Parsing validates everything a run relies on, so a
 * run never meets a malformed field: errors name the file and the field
 * ("spec.json: transform.cmd: must be ..."). Relative paths are made
 * absolute against the spec's directory. Pachyderm fields that drove does
 * not implement are accepted and named in warnings; any other key is an
 * error that names it.
 */
#ifndef DVI_PIPELINE_SPEC_H
#define DVI_PIPELINE_SPEC_H

#include <stddef.h>

typedef enum {
    DVI_PIN_PFS,   /* a directory (repo) or a pipeline's output, globbed */
    DVI_PIN_CROSS, /* the cartesian product of its children's datums */
    DVI_PIN_UNION  /* the datums of each child, one after the other */
} dvi_pin_kind;

typedef struct dvi_pinput {
    dvi_pin_kind kind;
    char *name;     /* PFS: the name under $DROVE_IN; default: the base
                       name of repo, or the pipeline's name */
    char *repo;     /* PFS: absolute directory, or NULL for a pipeline's
                       output (resolved by the caller) */
    char *pipeline; /* PFS: the upstream pipeline's name, or NULL */
    char *glob;     /* PFS: the pattern, starting with '/' */
    struct dvi_pinput **kids; /* CROSS, UNION: owned children */
    size_t nkids;
} dvi_pinput;

typedef struct dvi_pspec {
    char *name; /* pipeline.name: letters, digits, '-', '_', '.' */
    char *path; /* the spec file, absolute */
    char *dir;  /* its directory, absolute */
    dvi_pinput *input;
    char **cmd; /* transform.cmd, NULL-terminated argv */
    size_t ncmd;
    char **stdin_lines; /* transform.stdin, each fed followed by '\n' */
    size_t nstdin;
    char **env;      /* transform.env as NAME, VALUE pairs, sorted by NAME */
    size_t nenv;     /* pairs */
    char **code;     /* transform.code, absolute paths */
    char **code_rel; /* the same, relative to the spec's directory: where
                        the command finds them in its scratch directory */
    size_t ncode;
    int par_constant; /* parallelism_spec.constant, or 0 */
    double par_coef;  /* parallelism_spec.coefficient (default 1) */
    int datum_tries;  /* default 3 */
    char *output;     /* absolute output directory */
    char **warnings;  /* ignored Pachyderm fields, one line each */
    size_t nwarnings;
} dvi_pspec;

/* Reads and validates the spec at path. Caller owns; free with
 * dvi_pspec_destroy(). NULL with the reason set: DV_EIO naming a file that
 * cannot be read, DV_EINVAL naming the file, the field and the problem. */
dvi_pspec *dvi_pspec_load(const char *path);
/* As dvi_pspec_load, from text (path only names it and anchors relative
 * paths; it need not exist). */
dvi_pspec *dvi_pspec_parse(const char *path, const char *text);
void dvi_pspec_destroy(dvi_pspec **p);

/* Calls fn for every PFS input of the tree (depth first). */
void dvi_pinput_each(dvi_pinput *in, void (*fn)(dvi_pinput *, void *),
                     void *arg);

#endif
