/* dvi_resources: abstract resources by name and amount ("GPU=1,MEM=8e9").
 *
 * A worker declares what it has (`drove worker --resources`), a task what
 * it needs while it runs (dv_opts.resources). Both travel as the text of
 * a spec, and every side that reads one — the client and the CLI to refuse
 * a typo early, the scheduler because the text came from the network —
 * parses it here: a comma-separated list of NAME=AMOUNT, each name once,
 * each amount a positive finite number.
 */
#ifndef DVI_RESOURCES_H
#define DVI_RESOURCES_H

#include <stddef.h>
#include <stdint.h>

#define DVI_RESOURCES_MAX 16        /* names in one spec */
#define DVI_RESOURCE_NAME_MAX 31    /* bytes of a name */
#define DVI_RESOURCES_SPEC_MAX 1024 /* bytes of a spec */

typedef struct dvi_resource {
    char name[DVI_RESOURCE_NAME_MAX + 1];
    double amount;
} dvi_resource;

typedef struct dvi_resources {
    uint32_t n;
    dvi_resource v[DVI_RESOURCES_MAX];
} dvi_resources;

/* Parses the len bytes of spec (empty: no resources) into out. Returns 0,
 * or DV_EINVAL with a reason that quotes the spec and says what is wrong
 * with it (out is then empty). */
int dvi_resources_parse(const char *spec, size_t len, dvi_resources *out);

/* The index of name in r, or -1. */
int dvi_resources_find(const dvi_resources *r, const char *name);

#endif
