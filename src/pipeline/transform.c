/* dvi_ptransform: identity and command of a transform (see transform.h).
 *
 * Each part of the identity is hashed with its length in front, so that
 * moving bytes from one argument to the next ("a b" + "c" against "a" +
 * "b c") changes the identity.
 */
#include "pipeline/transform.h"

#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/file.h"

static void
s_part(crypto_generichash_state *h, const char *tag, const void *p, size_t n)
{
    uint64_t len = n;
    crypto_generichash_update(h, (const unsigned char *)tag, strlen(tag) + 1);
    crypto_generichash_update(h, (const unsigned char *)&len, sizeof(len));
    crypto_generichash_update(h, p, n);
}

int
dvi_ptransform_id(const dvi_pspec *s, char *out)
{
    crypto_generichash_state h;
    unsigned char id[32];
    crypto_generichash_init(&h, NULL, 0, sizeof(id));
    for (size_t i = 0; i < s->ncmd; i++) {
        s_part(&h, "cmd", s->cmd[i], strlen(s->cmd[i]));
    }
    for (size_t i = 0; i < s->nstdin; i++) {
        s_part(&h, "stdin", s->stdin_lines[i], strlen(s->stdin_lines[i]));
    }
    for (size_t i = 0; i < 2 * s->nenv; i++) {
        s_part(&h, "env", s->env[i], strlen(s->env[i]));
    }
    for (size_t i = 0; i < s->ncode; i++) {
        char *data;
        size_t len;
        if (dvi_read_file(s->code[i], &data, &len) < 0) {
            return DV_EIO;
        }
        s_part(&h, "code", s->code_rel[i], strlen(s->code_rel[i]));
        s_part(&h, "bytes", data, len);
        free(data);
    }
    crypto_generichash_final(&h, id, sizeof(id));
    sodium_bin2hex(out, 65, id, sizeof(id));
    return 0;
}

/* The stdin lines, each followed by a newline, as Pachyderm feeds them. */
static char *
s_stdin(const dvi_pspec *s, size_t *len)
{
    size_t n = 0;
    for (size_t i = 0; i < s->nstdin; i++) {
        n += strlen(s->stdin_lines[i]) + 1;
    }
    char *text = dvi_malloc(n + 1), *p = text;
    for (size_t i = 0; i < s->nstdin; i++) {
        size_t k = strlen(s->stdin_lines[i]);
        memcpy(p, s->stdin_lines[i], k);
        p[k] = '\n';
        p += k + 1;
    }
    *p = '\0';
    *len = n;
    return text;
}

static int
s_inputs(const dvi_pspec *s, const dvi_datum *d, dv_cmd *cmd)
{
    for (size_t i = 0; i < d->nfiles; i++) {
        const dvi_dfile *f = &d->files[i];
        char path[4096];
        snprintf(path, sizeof(path), "in/%s/%s", f->input, f->rel);
        int rc = dv_cmd_input_file(cmd, path, f->abs);
        if (rc < 0) {
            return rc;
        }
    }
    for (size_t i = 0; i < s->ncode; i++) {
        int rc = dv_cmd_input_file(cmd, s->code_rel[i], s->code[i]);
        if (rc < 0) {
            return rc;
        }
    }
    return 0;
}

dv_cmd *
dvi_ptransform_cmd(const dvi_pspec *s, const dvi_datum *d)
{
    dv_cmd *cmd = dv_cmd_new((const char *const *)s->cmd);
    if (cmd == NULL) {
        return NULL;
    }
    int rc = s_inputs(s, d, cmd);
    for (size_t i = 0; i < s->nenv && rc == 0; i++) {
        rc = dv_cmd_env(cmd, s->env[2 * i], s->env[2 * i + 1]);
    }
    if (rc == 0 && s->nstdin > 0) {
        size_t len;
        char *text = s_stdin(s, &len);
        rc = dv_cmd_stdin(cmd, dv_bytes(text, len));
        free(text);
    }
    if (rc == 0) {
        rc = dv_cmd_output(cmd, "out/");
    }
    /* A failing command is a result, not an error: its full stderr is
     * then in the result, for the report and `inspect`. */
    if (rc == 0) {
        rc = dv_cmd_flags(cmd, DV_CMD_ANY_STATUS);
    }
    if (rc < 0) {
        dv_cmd_free(cmd);
        return NULL;
    }
    return cmd;
}
