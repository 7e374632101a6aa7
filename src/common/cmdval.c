/* Reading a command task's result (cmdval.h has its layout). */
#include "cmdval.h"

#include <string.h>

#include "value.h"

bool
dvi_cmdval_path_ok(const char *path)
{
    if (path == NULL || path[0] == '\0' || path[0] == '/') {
        return false;
    }
    for (const char *p = path; *p != '\0';) {
        size_t n = strcspn(p, "/");
        if (n == 0 || (n == 2 && p[0] == '.' && p[1] == '.')) {
            return false;
        }
        p += n + (p[n] == '/');
    }
    return true;
}

bool
dvi_cmdval_is(const dv_value *v, size_t n)
{
    const dv_value *m = dv_value_at(v, 0);
    size_t len = 0;
    const char *s = dv_value_str(m, &len);
    return v != NULL && v->type == DV_LIST && v->len >= n && s != NULL &&
           len == strlen(DVI_CMD_MAGIC) && memcmp(s, DVI_CMD_MAGIC, len) == 0;
}

/* Item i of a command result, or NULL for another value. */
static const dv_value *
s_item(const dv_value *r, int i)
{
    return dvi_cmdval_is(r, DVI_CMD_RES_LEN) ? dv_value_at(r, (size_t)i) : NULL;
}

static int
s_int(const dv_value *r, int i)
{
    const dv_value *v = s_item(r, i);
    return v != NULL ? (int)dv_value_i64(v) : DV_ETYPE;
}

int
dv_cmd_exit_status(const dv_value *r)
{
    return s_int(r, DVI_CMD_RES_STATUS);
}

int
dv_cmd_signal(const dv_value *r)
{
    return s_int(r, DVI_CMD_RES_SIGNAL);
}

int
dv_cmd_timed_out(const dv_value *r)
{
    const dv_value *v = s_item(r, DVI_CMD_RES_TIMED_OUT);
    return v != NULL ? (int)dv_value_bool(v) : DV_ETYPE;
}

static const char *
s_bytes(const dv_value *r, int i, size_t *len)
{
    const dv_value *v = s_item(r, i);
    const char *p = dv_value_bytes(v, len);
    if (p == NULL && len != NULL) {
        *len = 0;
    }
    return p == NULL && v != NULL ? "" : p; /* empty, not absent */
}

const char *
dv_cmd_stdout(const dv_value *r, size_t *len)
{
    return s_bytes(r, DVI_CMD_RES_STDOUT, len);
}

const char *
dv_cmd_stderr(const dv_value *r, size_t *len)
{
    return s_bytes(r, DVI_CMD_RES_STDERR, len);
}

size_t
dv_cmd_noutputs(const dv_value *r)
{
    return dv_value_len(s_item(r, DVI_CMD_RES_OUTPUTS)) / 2;
}

const char *
dv_cmd_output_path(const dv_value *r, size_t i)
{
    const dv_value *outs = s_item(r, DVI_CMD_RES_OUTPUTS);
    return dv_value_str(dv_value_at(outs, 2 * i), NULL);
}

const void *
dv_cmd_output_data(const dv_value *r, size_t i, size_t *len)
{
    const dv_value *outs = s_item(r, DVI_CMD_RES_OUTPUTS);
    const void *p = NULL;
    if (i < dv_value_len(outs) / 2) {
        p = dv_value_bytes(dv_value_at(outs, 2 * i + 1), len);
    }
    if (p == NULL && len != NULL) {
        *len = 0;
    }
    return p;
}

const void *
dv_cmd_output_find(const dv_value *r, const char *path, size_t *len)
{
    size_t n = dv_cmd_noutputs(r);
    for (size_t i = 0; path != NULL && i < n; i++) {
        const char *p = dv_cmd_output_path(r, i);
        if (p != NULL && strcmp(p, path) == 0) {
            return dv_cmd_output_data(r, i, len);
        }
    }
    if (len != NULL) {
        *len = 0;
    }
    return NULL;
}

double
dv_cmd_started(const dv_value *r)
{
    return dv_value_f64(s_item(r, DVI_CMD_RES_STARTED));
}

double
dv_cmd_runtime(const dv_value *r)
{
    return dv_value_f64(s_item(r, DVI_CMD_RES_RUNTIME));
}

const char *
dv_cmd_host(const dv_value *r)
{
    return dv_value_str(s_item(r, DVI_CMD_RES_HOST), NULL);
}
