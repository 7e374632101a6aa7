/* The dashboard of `drove scheduler`. */
#include "dashboard_cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/file.h"
#include "common/log.h"
#include "common/pki.h"
#include "drove.h"

/* The profile's token, made on first use (0600, as the keys). */
static int
s_token(const dvi_profile *p, char *out, size_t size)
{
    char path[4096], *text = NULL;
    size_t len = 0;
    dvi_profile_path(p, "dashboard.token", path, sizeof(path));
    if (dvi_read_file(path, &text, &len) == 0 && len >= 32) {
        snprintf(out, size, "%.*s", (int)strcspn(text, "\r\n"), text);
        free(text);
        return 0;
    }
    free(text);
    dvi_dashboard_new_token(out, size);
    return dvi_write_file(path, out, strlen(out));
}

int
dvi_cli_dashboard(const dvi_profile *p, uv_loop_t *loop, dvi_sched *s,
                  const char *listen, int metrics_open, const char *address,
                  dvi_dashboard **d)
{
    *d = NULL;
    if (listen == NULL || strcmp(listen, "off") == 0) {
        return 0;
    }
    char token[65], cert[4096], key[4096], url[512];
    char *cert_pem = NULL, *key_pem = NULL;
    size_t n = 0;
    if (s_token(p, token, sizeof(token)) < 0) {
        fprintf(stderr, "drove scheduler: dashboard token: %s\n",
                dv_last_error());
        return 2;
    }
    dvi_profile_role_paths(p, DVI_PKI_ROLE_SCHEDULER, cert, key, sizeof(cert));
    dvi_read_file(cert, &cert_pem, &n);
    dvi_read_file(key, &key_pem, &n);
    dvi_dashboard_opts o = {.listen = listen,
                            .token = token,
                            .metrics_open = metrics_open,
                            .cert_pem = cert_pem,
                            .key_pem = key_pem,
                            .address = address};
    *d = dvi_dashboard_start(loop, s, &o, url, sizeof(url));
    free(cert_pem);
    free(key_pem);
    if (*d == NULL && dv_last_code() == DV_EINVAL) {
        fprintf(stderr, "drove scheduler: %s\n", dv_last_error());
        return 2;
    }
    if (*d == NULL) {
        DVI_LOG(DVI_LOG_WARN, "SCHED", "no dashboard: %s", dv_last_error());
        return 0;
    }
    DVI_LOG(DVI_LOG_NOTICE, "SCHED", "dashboard at %s", url);
    return 0;
}
