/* Logging to stderr (and a file), one line per call, level checked
 * before formatting. */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "drove.h"
#include "err.h"

int dvi_log_level = DVI_LOG_NONE;
static const char *s_role = "client";
static int s_env_read;
static int s_file = -1; /* the daemon's log file, or -1 */

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

int
dvi_log_to_file(const char *path)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        return dvi_seterr(DV_EIO, "cannot open the log file %s: %s", path,
                          strerror(errno));
    }
    s_file = fd;
    return 0;
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
    char line[1280];
    int n = snprintf(line, sizeof(line), "%s.%03dZ %d %s %s %s: %s\n", when,
                     (int)(tv.tv_usec / 1000), (int)getpid(), s_role,
                     s_names[level], component, msg);
    size_t len = n < 0 ? 0 : (size_t)n;
    if (len >= sizeof(line)) { /* cut: still one line */
        len = sizeof(line) - 1;
        line[len - 1] = '\n';
    }
    fputs(line, stderr);
    if (s_file >= 0) {
        /* One write per line: lines of several threads never mix. */
        ssize_t w = write(s_file, line, len);
        (void)w;
    }
}
