/* Shell quoting and shell-free splitting for `drove map`.
 *
 * The splitter is deliberately narrow: it accepts what GNU parallel's
 * quoting produces (bare safe words, single-quoted strings, '"'"') and
 * plain words around it, and sends anything else to the shell, so that a
 * line it runs itself means what `sh -c` would make of it. Double quotes
 * and backslashes go to the shell too: what they mean depends on the
 * characters they surround, and dash's echo reads backslashes itself.
 */
#include "map_shell.h"

#include <stdlib.h>
#include <string.h>

/* Characters that need no quoting, as parallel's shell_quote_scalar. */
static int
s_safe(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
           c == '+' || c == '/';
}

void
dvi_shell_quote(FILE *out, const char *s)
{
    const char *p = s;
    while (*p != '\0' && s_safe((unsigned char)*p)) {
        p++;
    }
    if (*p == '\0') {
        fputs(*s == '\0' ? "''" : s, out);
        return;
    }
    /* parallel's s/'/'"'"'/g, then '...' around it, then the '' that a
     * leading or trailing ' leaves dropped: 'a is "'"'a', not ''"'"'a'. */
    if (*s != '\'') {
        fputc('\'', out);
    }
    for (p = s; *p != '\0'; p++) {
        if (*p != '\'') {
            fputc(*p, out);
        } else if (p == s) {
            fputs(p[1] == '\0' ? "\"'\"" : "\"'\"'", out);
        } else {
            fputs(p[1] == '\0' ? "'\"'\"" : "'\"'\"'", out);
        }
    }
    if (p[-1] != '\'') {
        fputc('\'', out);
    }
}

/* Characters a bare word may hold outside quotes and mean themselves:
 * parallel's safe set and the punctuation sh gives no meaning inside a
 * word (= only past the first word, where it is not an assignment). */
static int
s_plain(unsigned char c)
{
    return s_safe(c) || c == ',' || c == ':' || c == '@' || c == '%' ||
           c == '^' || c == '=' || c >= 0x80;
}

/* Keywords and builtins that have no program of their own (or whose
 * program cannot do the builtin's work: cd, exit, export...). */
static const char *const s_builtins[] = {
    "!",      "{",     "}",      "case",     "do",       "done",     "elif",
    "else",   "esac",  "fi",     "for",      "function", "if",       "in",
    "then",   "until", "while",  "select",   "time",     ".",        ":",
    "alias",  "bg",    "break",  "cd",       "command",  "continue", "eval",
    "exec",   "exit",  "export", "fc",       "fg",       "getopts",  "hash",
    "jobs",   "local", "read",   "readonly", "return",   "set",      "shift",
    "source", "times", "trap",   "type",     "ulimit",   "umask",    "unalias",
    "unset",  "wait",  "[[",     "]]",
};

static int
s_is_builtin(const char *w)
{
    for (size_t i = 0; i < sizeof(s_builtins) / sizeof(s_builtins[0]); i++) {
        if (strcmp(w, s_builtins[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

char **
dvi_shell_split(const char *line)
{
    size_t len = strlen(line);
    /* At most one word per two bytes (a word and a blank), plus NULL. */
    size_t maxw = len / 2 + 2;
    char **argv = malloc(maxw * sizeof(char *) + len + 1);
    if (argv == NULL) {
        return NULL;
    }
    char *buf = (char *)(argv + maxw), *w = buf;
    size_t n = 0;
    const char *p = line;
    for (;;) {
        while (*p == ' ' || *p == '\t') {
            p++;
        }
        if (*p == '\0') {
            break;
        }
        argv[n++] = w;
        while (*p != '\0' && *p != ' ' && *p != '\t') {
            unsigned char c = (unsigned char)*p;
            if (c == '\'') {
                const char *end = strchr(p + 1, '\'');
                if (end == NULL) {
                    goto shell;
                }
                memcpy(w, p + 1, (size_t)(end - p - 1));
                w += end - p - 1;
                p = end + 1;
            } else if (s_plain(c) && !(c == '=' && n == 1)) {
                *w++ = *p++;
            } else {
                goto shell;
            }
        }
        *w++ = '\0';
    }
    argv[n] = NULL;
    if (n == 0 || s_is_builtin(argv[0])) {
        goto shell;
    }
    return argv;
shell:
    free(argv);
    return NULL;
}
