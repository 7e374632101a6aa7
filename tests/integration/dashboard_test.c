/* drove — integration: the scheduler's dashboard (its HTTP API, metrics
 * and page), against `drove scheduler --dashboard 127.0.0.1:0` with two
 * workers.
 *
 *   - Without the token (or with a wrong one) every path answers 401;
 *     with it as ?token= or as a Bearer header, 200.
 *   - While 20,000 tasks run, /api/status reports both workers; then
 *     cumulative counts that add up to what was submitted, the function's
 *     progress and a task stream; /api/workers lists both.
 *   - /metrics parses as Prometheus text, and its finished-task counter
 *     equals the finished total of /api/status.
 *   - A failed task shows in /api/tasks?state=erred with its text; other
 *     states are refused (400).
 */
#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dvt_funcs.h"
#include "dvtest.h"

static dvt_cluster s_cl;
static int s_port;
static char s_token[128];

/* GET path with the extra header line (or NULL); returns the status code,
 * the body in *body (caller frees). */
static int
s_get(const char *path, const char *header, char **body)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)s_port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    DVT_PASS(connect(fd, (struct sockaddr *)&sa, sizeof(sa)));
    char req[1024];
    int n = snprintf(req, sizeof(req),
                     "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n%s%s\r\n", path,
                     header ? header : "", header ? "\r\n" : "");
    DVT_EQ_I64(write(fd, req, (size_t)n), n);
    size_t len = 0, cap = 1 << 16;
    char *buf = malloc(cap);
    ssize_t r;
    while ((r = read(fd, buf + len, cap - len - 1)) > 0) {
        len += (size_t)r;
        if (cap - len < 2) {
            buf = realloc(buf, cap *= 2);
        }
    }
    close(fd);
    buf[len] = '\0';
    int code = 0;
    sscanf(buf, "HTTP/1.%*d %d", &code);
    char *start = strstr(buf, "\r\n\r\n");
    *body = strdup(start ? start + 4 : "");
    free(buf);
    return code;
}

/* GET path with the token; the body must be JSON. */
static json_t *
s_json(const char *path)
{
    char url[512], *body = NULL;
    snprintf(url, sizeof(url), "%s%stoken=%s", path,
             strchr(path, '?') ? "&" : "?", s_token);
    DVT_EQ_I64(s_get(url, NULL, &body), 200);
    json_t *o = json_loads(body, 0, NULL);
    if (o == NULL) {
        fprintf(stderr, "dashboard_test: not JSON: %.300s\n", body);
    }
    free(body);
    return DVT_NOTNULL(o);
}

static int64_t
s_int(json_t *o, const char *a, const char *b)
{
    return json_integer_value(json_object_get(json_object_get(o, a), b));
}

static void
test_token_required(void **state)
{
    (void)state;
    const char *paths[] = {"/",
                           "/api/status",
                           "/api/workers",
                           "/metrics",
                           "/api/tasks?state=erred",
                           "/api/status?token=x"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        char *body = NULL;
        DVT_EQ_I64(s_get(paths[i], NULL, &body), 401);
        DVT_CONTAINS(body, "token");
        free(body);
    }
    char header[256], *body = NULL;
    snprintf(header, sizeof(header), "Authorization: Bearer %s", s_token);
    DVT_EQ_I64(s_get("/api/status", header, &body), 200);
    free(body);
    DVT_EQ_I64(s_get("/api/status", "Authorization: Bearer nope", &body), 401);
    free(body);
    char url[256];
    snprintf(url, sizeof(url), "/?token=%s", s_token);
    DVT_EQ_I64(s_get(url, NULL, &body), 200);
    DVT_CONTAINS(body, "<title>drove dashboard</title>");
    free(body);
    snprintf(url, sizeof(url), "/nowhere?token=%s", s_token);
    DVT_EQ_I64(s_get(url, NULL, &body), 404);
    free(body);
}

/* Checks that text is Prometheus's text format, line by line, and returns
 * the value of the sample named want (no labels), or -1. */
static double
s_parse_metrics(const char *text, const char *want)
{
    regex_t sample, comment;
    DVT_PASS(regcomp(&sample,
                     "^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{[a-zA-Z_][a-zA-Z0-9_]*="
                     "\"[^\"]*\"(,[a-zA-Z_][a-zA-Z0-9_]*=\"[^\"]*\")*\\})? "
                     "([-+0-9.eE]+|\\+Inf|NaN)$",
                     REG_EXTENDED));
    DVT_PASS(regcomp(&comment, "^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+$",
                     REG_EXTENDED));
    double found = -1;
    int lines = 0;
    char *copy = strdup(text), *save = NULL;
    for (char *l = strtok_r(copy, "\n", &save); l;
         l = strtok_r(NULL, "\n", &save)) {
        regmatch_t m[2];
        int ok = regexec(&comment, l, 0, NULL, 0) == 0 ||
                 regexec(&sample, l, 2, m, 0) == 0;
        if (!ok) {
            fprintf(stderr, "dashboard_test: not Prometheus text: '%s'\n", l);
        }
        DVT_TRUE(ok);
        DVT_TRUE(strncmp(l, "# ", 2) == 0 || strncmp(l, "drove_", 6) == 0);
        size_t n = strlen(want);
        if (strncmp(l, want, n) == 0 && l[n] == ' ') {
            found = atof(l + n + 1);
        }
        lines++;
    }
    free(copy);
    regfree(&sample);
    regfree(&comment);
    DVT_TRUE(lines > 20);
    return found;
}

static void
test_status_counts_and_metrics(void **state)
{
    (void)state;
    dv_client *c = DVT_NOTNULL(dvt_connect(s_cl.addr));
    enum { N = 20000 };
    dv_arg *args = calloc(N, sizeof(dv_arg));
    dv_future **fs = calloc(N, sizeof(dv_future *));
    for (int i = 0; i < N; i++) {
        args[i] = dv_i64(i);
    }
    /* The first snapshot may predate the workers: a few later, both. */
    for (double end = dvt_now() + 10; dvt_now() < end;) {
        json_t *s = s_json("/api/status");
        size_t n = json_array_size(json_object_get(s, "workers"));
        json_decref(s);
        if (n == 2) {
            break;
        }
        dvt_sleep(0.05);
    }
    json_t *before = s_json("/api/status");
    int64_t sub0 = s_int(before, "tasks", "submitted_total");
    json_decref(before);
    DVT_PASS(dv_map(c, "inc", N, args, fs, NULL));
    /* While they run: both workers (the page's test sees the progress
     * advance, on longer tasks). */
    int64_t seen = -1;
    for (double end = dvt_now() + 60; dvt_now() < end && seen < sub0 + N;) {
        json_t *s = s_json("/api/status");
        DVT_EQ_I64(json_array_size(json_object_get(s, "workers")), 2);
        seen = s_int(s, "tasks", "finished_total");
        json_decref(s);
        dvt_sleep(0.02);
    }
    DVT_PASS(dv_wait(fs, N, 120.0));
    dvt_sleep(0.6); /* a snapshot or two later */
    json_t *s = s_json("/api/status");
    int64_t sub = s_int(s, "tasks", "submitted_total");
    int64_t fin = s_int(s, "tasks", "finished_total");
    int64_t err = s_int(s, "tasks", "erred_total");
    DVT_TRUE(sub - sub0 >= N);
    DVT_EQ_I64(fin + err, sub);
    json_t *fns = json_object_get(s, "functions");
    int found = 0;
    for (size_t i = 0; i < json_array_size(fns); i++) {
        json_t *f = json_array_get(fns, i);
        if (strcmp(json_string_value(json_object_get(f, "name")), "inc") == 0) {
            found = 1;
            DVT_TRUE(json_integer_value(json_object_get(f, "done")) >= N);
        }
    }
    DVT_TRUE(found);
    DVT_TRUE(json_array_size(json_object_get(s, "stream")) > 0);
    json_t *w = s_json("/api/workers");
    DVT_EQ_I64(json_array_size(w), 2);
    json_decref(w);
    /* The metrics say the same. */
    char url[256], *body = NULL;
    snprintf(url, sizeof(url), "/metrics?token=%s", s_token);
    DVT_EQ_I64(s_get(url, NULL, &body), 200);
    DVT_EQ_I64((int64_t)s_parse_metrics(body, "drove_tasks_finished_total"),
               fin);
    DVT_CONTAINS(body, "drove_task_duration_seconds_bucket{le=\"+Inf\"}");
    DVT_CONTAINS(body, "drove_worker_memory_bytes{worker=\"w0\"}");
    free(body);
    json_decref(s);
    for (int i = 0; i < N; i++) {
        dv_release(fs[i]);
    }
    free(fs);
    free(args);
    dv_close(c);
}

static void
test_errors_listed(void **state)
{
    (void)state;
    dv_client *c = DVT_NOTNULL(dvt_connect(s_cl.addr));
    dv_future *f = DVT_NOTNULL(DV_SUBMIT(c, "boom", dv_i64(7)));
    DVT_TRUE(dv_result(f, 30.0) == NULL);
    dvt_sleep(0.6);
    json_t *e = s_json("/api/tasks?state=erred");
    DVT_TRUE(json_array_size(e) >= 1);
    json_t *last = json_array_get(e, json_array_size(e) - 1);
    DVT_EQ_STR(json_string_value(json_object_get(last, "fn")), "boom");
    DVT_EQ_STR(json_string_value(json_object_get(last, "key")),
               dv_future_key(f));
    DVT_TRUE(strlen(json_string_value(json_object_get(last, "text"))) > 0);
    json_decref(e);
    char url[256], *body = NULL;
    snprintf(url, sizeof(url), "/api/tasks?state=queued&token=%s", s_token);
    DVT_EQ_I64(s_get(url, NULL, &body), 400);
    free(body);
    dv_release(f);
    dv_close(c);
}

int
main(void)
{
    dvt_init(300);
    (void)dvt_funcs_anchor();
    setenv("DROVE_DASHBOARD", "127.0.0.1:0", 1);
    if (dvt_cluster_start(&s_cl, 2, 1) != 0) {
        return 1;
    }
    unsetenv("DROVE_DASHBOARD");
    if (!dvt_wait_text(s_cl.sched, NULL, "dashboard at", 10.0)) {
        return 1;
    }
    char *log = dvt_proc_log(s_cl.sched);
    const char *at = strstr(log, "dashboard at http://127.0.0.1:");
    if (at == NULL ||
        sscanf(at, "dashboard at http://127.0.0.1:%d/?token=%127[0-9a-f]",
               &s_port, s_token) != 2) {
        fprintf(stderr, "dashboard_test: no URL in the scheduler's log\n");
        return 1;
    }
    free(log);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token_required),
        cmocka_unit_test(test_status_counts_and_metrics),
        cmocka_unit_test(test_errors_listed),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    dvt_cluster_stop(&s_cl);
    return dvt_finish(rc);
}
