/* Asking the scheduler about its cluster, and for changes to it: its
 * status as JSON, retiring workers, shutting it down (CONTROL, answered
 * by REPLY). `drove cluster` is built on these. */
#include <stdlib.h>
#include <string.h>

#include "client_impl.h"
#include "common/err.h"
#include "proto/msg.h"

typedef struct s_ask {
    const char *verb;
    const char *args;
} s_ask;

static void
s_pack_control(dv_client *c, uint64_t id, void *arg)
{
    s_ask *k = arg;
    dvi_msg_control m = {.req = id, .verb = dvi_bytes_of(k->verb)};
    m.args = dvi_bytes_of(k->args);
    dvi_msg_control_pack(&c->out, &m);
}

/* Sends CONTROL verb with args; returns REPLY's status, its text in
 * *text if asked for (caller frees), or a DV_E* code with the reason
 * set. */
static int
s_control(dv_client *c, const char *verb, const char *args, char **text)
{
    s_ask k = {verb, args};
    dvi_request *r =
        dvi_request_send(c, DVI_MSG_CONTROL, NULL, 30, s_pack_control, &k);
    if (r == NULL) {
        return dvi_last_code();
    }
    int rc = r->status;
    if (rc < 0) {
        dvi_seterr(rc, "%s: %s", verb, r->text ? r->text : "");
    } else if (text != NULL) {
        *text = r->text;
        r->text = NULL;
    }
    dvi_request_free(r);
    return rc;
}

int
dv_scheduler_info(dv_client *c, char **json)
{
    if (c == NULL || json == NULL) {
        return dvi_seterr(DV_EINVAL, "dv_scheduler_info: no client or out");
    }
    *json = NULL;
    char *text = NULL;
    int rc = s_control(c, "status", "", &text);
    if (rc == 0 && text == NULL) {
        return dvi_seterr(DV_EPROTO, "dv_scheduler_info: an empty answer");
    }
    if (text != NULL) {
        /* The caller frees it with free(): the process's malloc's. */
        size_t n = strlen(text) + 1;
        *json = memcpy(dvi_user_malloc(n), text, n);
        free(text);
    }
    return rc;
}

int
dv_retire_workers(dv_client *c, const char *const *ids, size_t n)
{
    if (c == NULL || (ids == NULL && n > 0)) {
        return dvi_seterr(DV_EINVAL, "dv_retire_workers: no client or ids");
    }
    size_t len = 1;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] == NULL || ids[i][0] == '\0' || strchr(ids[i], '\n')) {
            return dvi_seterr(DV_EINVAL, "dv_retire_workers: bad id %zu", i);
        }
        len += strlen(ids[i]) + 1;
    }
    char *list = dvi_malloc(len), *end = list; /* one id per line */
    for (size_t i = 0; i < n; i++) {
        size_t k = strlen(ids[i]);
        memcpy(end, ids[i], k);
        end[k] = '\n';
        end += k + 1;
    }
    *end = '\0';
    char *count = NULL;
    int rc = s_control(c, "retire", list, &count);
    free(list);
    if (rc == 0) {
        rc = count ? atoi(count) : 0;
    }
    free(count);
    return rc;
}

int
dv_shutdown(dv_client *c)
{
    if (c == NULL) {
        return dvi_seterr(DV_EINVAL, "dv_shutdown: no client");
    }
    return s_control(c, "shutdown", "", NULL);
}
