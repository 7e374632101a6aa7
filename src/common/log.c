/* Logging to stderr, one line per call, level checked before formatting. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

int dvi_log_level = DVI_LOG_NONE;
static const char *s_role = "client";
static int s_env_read;

static const char *s_names[] = {"none",   "error", "warn",
                                "notice", "info",  "debug"};

int
dvi_log_level_parse(const char *name)
{
    for (int i = 0; name && i <= DVI_LOG_DEBUG; i++) {
        if (strcmp(name, s_names[i]) == 0) {
            return i;
        }
    }
    return -1;
}

static void
s_read_env(void)
{
    int level = dvi_log_level_parse(getenv("DROVE_LOG"));
    s_env_read = 1;
    if (level >= 0) {
        dvi_log_level = level;
    }
}

void
dvi_log_init(const char *role, int default_level)
{
    s_role = role;
    dvi_log_level = default_level;
    s_read_env();
}

void
dvi_log_set_level(int level)
{
    dvi_log_level = level;
}

__attribute__((constructor)) static void
s_log_ctor(void)
{
    if (!s_env_read) {
        s_read_env();
    }
}

void
dvi_log_write(int level, const char *component, const char *fmt, ...)
{
    char msg[1024];
    char when[64];
    struct timeval tv;
    struct tm tm;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    if (level < 0 || level > DVI_LOG_DEBUG) {
        level = DVI_LOG_INFO;
    }
    fprintf(stderr, "%s.%03dZ %d %s %s %s: %s\n", when,
            (int)(tv.tv_usec / 1000), (int)getpid(), s_role, s_names[level],
            component, msg);
}
