/* Replacement strings of `drove map` templates, as GNU parallel's
 * defaults define them (its %Global::replace table):
 *   {.}   s:\.[^/.]*$::      {/}   s:.*\/::
 *   {/.}  s:.*\/::; s:\.[^/.]*$::       {//}  File::Basename::dirname
 * so that `drove map` and parallel print the same for the same template.
 */
#include "map_template.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "map_shell.h"

/* What a replacement string does to a value. */
enum { S_ALL, S_NOEXT, S_BASE, S_DIR, S_BASENOEXT, S_SEQ };

/* Parses the replacement string at p ('{'): its kind into *kind, its
 * source (1-based; 0 for all) into *src. Returns its length, or 0 when p
 * is not one. */
static size_t
s_parse(const char *p, int *kind, size_t *src)
{
    static const struct {
        const char *tail;
        int kind;
    } tails[] = {{"}", S_ALL},   {".}", S_NOEXT},      {"/}", S_BASE},
                 {"//}", S_DIR}, {"/.}", S_BASENOEXT}, {"#}", S_SEQ}};
    const char *q = p + 1;
    *src = 0;
    while (*q >= '0' && *q <= '9' && *src < 100000) {
        *src = *src * 10 + (size_t)(*q++ - '0');
    }
    if (q > p + 1 && *src == 0) {
        return 0;
    }
    for (size_t i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
        size_t n = strlen(tails[i].tail);
        if (strncmp(q, tails[i].tail, n) == 0) {
            if (tails[i].kind == S_SEQ && q > p + 1) {
                return 0;
            }
            *kind = tails[i].kind;
            return (size_t)(q - p) + n;
        }
    }
    return 0;
}

/* Whether tmpl holds at least one replacement string. */
static int
s_has_rpl(const char *tmpl)
{
    int kind;
    size_t src;
    for (const char *p = strchr(tmpl, '{'); p; p = strchr(p + 1, '{')) {
        if (s_parse(p, &kind, &src) > 0) {
            return 1;
        }
    }
    return 0;
}

/* The start of the extension parallel's {.} removes, or NULL:
 * \.[^/.]*$, the last dot with no slash after it. */
static const char *
s_ext(const char *s)
{
    const char *dot = strrchr(s, '.');
    return dot && strchr(dot, '/') == NULL ? dot : NULL;
}

/* The base name: what follows the last slash. */
static const char *
s_base(const char *s)
{
    const char *slash = strrchr(s, '/');
    return slash ? slash + 1 : s;
}

/* The length of the directory part ("a/b/" of "a/b/c") and of it with
 * trailing slashes removed but at least one character left
 * (File::Basename's _strip_trailing_sep). */
static size_t
s_dirlen(const char *s, size_t len)
{
    while (len > 0 && s[len - 1] != '/') {
        len--;
    }
    return len;
}
static size_t
s_strip(const char *s, size_t len)
{
    while (len > 1 && s[len - 1] == '/') {
        len--;
    }
    return len;
}

/* Perl's File::Basename::dirname on Unix, into out: the directory part
 * (./ when none) stripped of trailing slashes; when the base name was
 * empty ("a/"), the directory of that again. */
static void
s_dirname(const char *s, FILE *out)
{
    size_t len = strlen(s);
    size_t d = s_dirlen(s, len);
    int base_empty = d == len;
    const char *dir = d ? s : "./";
    size_t dl = s_strip(dir, d ? d : 2);
    if (base_empty) {
        size_t d2 = s_dirlen(dir, dl);
        if (d2 == 0) {
            dir = "./";
        }
        dl = s_strip(dir, d2 ? d2 : 2);
    }
    char *v = strndup(dir, dl);
    if (v != NULL) {
        dvi_shell_quote(out, v);
        free(v);
    }
}

/* Writes one argument, transformed by kind and quoted. */
static void
s_put(FILE *out, const char *arg, int kind)
{
    const char *from =
        kind == S_BASE || kind == S_BASENOEXT ? s_base(arg) : arg;
    if (kind == S_DIR) {
        s_dirname(arg, out);
        return;
    }
    const char *ext =
        kind == S_NOEXT || kind == S_BASENOEXT ? s_ext(from) : NULL;
    if (ext == NULL) {
        dvi_shell_quote(out, from);
        return;
    }
    char *v = strndup(from, (size_t)(ext - from));
    if (v != NULL) {
        dvi_shell_quote(out, v);
        free(v);
    }
}

char *
dvi_map_template_expand(const char *tmpl, const char *const *args, size_t n,
                        size_t seq)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&buf, &size);
    if (out == NULL) {
        return NULL;
    }
    const char *p = tmpl;
    while (*p != '\0') {
        int kind;
        size_t src, len = *p == '{' ? s_parse(p, &kind, &src) : 0;
        if (len == 0) {
            fputc(*p++, out);
            continue;
        }
        p += len;
        if (kind == S_SEQ) {
            fprintf(out, "%zu", seq);
        } else if (src > 0 && src <= n) {
            s_put(out, args[src - 1], kind);
        }
        for (size_t i = 0; kind != S_SEQ && src == 0 && i < n; i++) {
            if (i > 0) {
                fputc(' ', out);
            }
            s_put(out, args[i], kind);
        }
    }
    if (fclose(out) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

char *
dvi_map_template_join(const char *const *words, size_t n, const char *end)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&buf, &size);
    if (out == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        fprintf(out, "%s%s", i ? " " : "", words[i]);
    }
    fputs(end, out);
    if (fclose(out) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

char *
dvi_map_template_make(const char *const *words, size_t n)
{
    char *t = dvi_map_template_join(words, n, "");
    if (t != NULL && !s_has_rpl(t)) {
        free(t);
        t = dvi_map_template_join(words, n, " {}");
    }
    return t;
}
