/* Resource specs (resources.h): parsed by hand, with a reason for every
 * refusal, because the text comes from users and from the network. */
#include "resources.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

static int
s_name_char(char ch, int first)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || ch == '_' ||
           (!first && ((ch >= '0' && ch <= '9') || ch == '-' || ch == '.'));
}

/* Skips spaces and tabs within [p, end). */
static const char *
s_skip(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }
    return p;
}

/* One NAME=AMOUNT item in [p, end), blanks around it allowed, into r.
 * Returns NULL, or what is wrong with it (in why). */
static const char *
s_item(const char *p, const char *end, dvi_resources *r, char *why, size_t size)
{
    p = s_skip(p, end);
    while (end > p && (end[-1] == ' ' || end[-1] == '\t')) {
        end--;
    }
    const char *eq = memchr(p, '=', (size_t)(end - p));
    const char *nend = eq ? eq : end;
    while (nend > p && (nend[-1] == ' ' || nend[-1] == '\t')) {
        nend--;
    }
    int nlen = (int)(nend - p);
    if (p == end) {
        return "an empty item";
    }
    for (const char *q = p; q < nend; q++) {
        if (!s_name_char(*q, q == p)) {
            snprintf(why, size,
                     "'%.*s' is not a name (letters, digits, '_', '-' and "
                     "'.', starting with a letter or '_')",
                     nlen, p);
            return why;
        }
    }
    if (nlen == 0 || nlen > DVI_RESOURCE_NAME_MAX) {
        snprintf(why, size, "a name of %d bytes (1 to %d)", nlen,
                 DVI_RESOURCE_NAME_MAX);
        return why;
    }
    if (eq == NULL) {
        snprintf(why, size, "'%.*s' has no amount", nlen, p);
        return why;
    }
    char num[64];
    const char *a = s_skip(eq + 1, end);
    snprintf(num, sizeof(num), "%.*s", (int)(end - a), a);
    char *stop;
    double x = strtod(num, &stop);
    if (num[0] == '\0' || *stop != '\0' || !isfinite(x) || !(x > 0) ||
        (size_t)(end - a) >= sizeof(num)) {
        snprintf(why, size,
                 "the amount of %.*s is '%.*s', not a positive number", nlen, p,
                 (int)(end - a), a);
        return why;
    }
    if (r->n == DVI_RESOURCES_MAX) {
        snprintf(why, size, "more than %d resources", DVI_RESOURCES_MAX);
        return why;
    }
    dvi_resource *res = &r->v[r->n];
    snprintf(res->name, sizeof(res->name), "%.*s", nlen, p);
    if (dvi_resources_find(r, res->name) >= 0) {
        snprintf(why, size, "%s is named twice", res->name);
        return why;
    }
    res->amount = x;
    r->n++;
    return NULL;
}

int
dvi_resources_parse(const char *spec, size_t len, dvi_resources *out)
{
    out->n = 0;
    if (spec == NULL || len == 0) {
        return 0;
    }
    if (len > DVI_RESOURCES_SPEC_MAX) {
        return dvi_seterr(DV_EINVAL,
                          "resources: a spec of %zu bytes (at most %d)", len,
                          DVI_RESOURCES_SPEC_MAX);
    }
    if (memchr(spec, '\0', len) != NULL) {
        return dvi_seterr(DV_EINVAL, "resources: a spec with a zero byte");
    }
    const char *p = spec, *end = spec + len;
    if (s_skip(p, end) == end) {
        return 0;
    }
    char why[256];
    for (;;) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *bad = s_item(p, comma ? comma : end, out, why, sizeof(why));
        if (bad != NULL) {
            out->n = 0;
            return dvi_seterr(DV_EINVAL,
                              "resources '%.*s': %s (want NAME=AMOUNT[,...], "
                              "e.g. GPU=1,MEM=8e9)",
                              (int)(len > 200 ? 200 : len), spec, bad);
        }
        if (comma == NULL) {
            return 0;
        }
        p = comma + 1;
    }
}

int
dvi_resources_find(const dvi_resources *r, const char *name)
{
    for (uint32_t i = 0; i < r->n; i++) {
        if (strcmp(r->v[i].name, name) == 0) {
            return (int)i;
        }
    }
    return -1;
}
