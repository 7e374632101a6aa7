/* drove top: the cluster at a glance, redrawn every --interval seconds.
 *
 * Each picture is the scheduler's status (dv_scheduler_info) drawn by
 * top_view.c; this file owns the rest: the options, the connection, and
 * the terminal. On a terminal the picture takes the whole screen (the
 * alternate screen, as top and less use, so that what was there comes
 * back on exit) with plain ANSI escapes, no curses. Keys are read without
 * waiting for Enter: 'q' or Ctrl-C quits, Ctrl-Z gives the terminal back
 * until fg. Whatever ends it, the terminal is put back as it was: signals
 * only set flags, and the loop restores before it returns. Without a
 * terminal on stdout, pictures are printed one after the other (as `top
 * -b`); --once prints one.
 */
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>
#include <uv.h>

#include "commands.h"
#include "common/profile.h"
#include "drove.h"
#include "options.h"
#include "top_view.h"

#define S_N(a) (sizeof(a) / sizeof((a)[0]))

static dvi_option s_opts[] = {
    {"profile", DVI_OPT_STR, NULL, 0, 0, "DROVE_PROFILE",
     "the profile whose cluster to watch, and whose client certificate "
     "to use (default: default)",
     NULL},
    {"scheduler", DVI_OPT_STR, NULL, 0, 0, NULL,
     "the scheduler's address, tcp://HOST:PORT, instead of the profile's "
     "connection file",
     NULL},
    {"interval", DVI_OPT_NUM, "1", 0, 86400, NULL,
     "seconds between pictures (at least 0.1)", NULL},
    {"once", DVI_OPT_FLAG, NULL, 0, 0, NULL,
     "print one picture and exit (no terminal needed)", NULL},
};

static const char s_usage[] = "drove top [--profile NAME | --scheduler "
                              "tcp://HOST:PORT] [--interval S] [--once]";
static const char s_about[] =
    "Shows the cluster's scheduler, its tasks and throughput, and a line\n"
    "per worker (threads, tasks running and done, memory, state), redrawn\n"
    "every --interval seconds. Press q or Ctrl-C to quit.";

/* ---- The terminal --------------------------------------------------- */

static volatile sig_atomic_t s_stop;    /* SIGINT, SIGTERM, SIGHUP */
static volatile sig_atomic_t s_resized; /* SIGWINCH: draw again now */
static volatile sig_atomic_t s_suspend; /* SIGTSTP (Ctrl-Z) */

static void
s_on_signal(int sig)
{
    if (sig == SIGWINCH) {
        s_resized = 1;
    } else if (sig == SIGTSTP) {
        s_suspend = 1;
    } else {
        s_stop = 1;
    }
}

typedef struct s_term {
    int screen;           /* the alternate screen is shown */
    int raw;              /* stdin's mode changed: saved has the old */
    struct termios saved; /* stdin's mode before */
} s_term;

static void
s_puts(const char *s)
{
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = write(STDOUT_FILENO, s, n);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return;
        }
        s += w;
        n -= (size_t)w;
    }
}

/* Takes the screen: alternate screen, cursor hidden, keys one at a time
 * (Ctrl-C still a signal: ISIG stays). Signals set flags and interrupt
 * the waits (no SA_RESTART). */
static void
s_term_start(s_term *t)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGWINCH, &sa, NULL);
    sigaction(SIGTSTP, &sa, NULL);
    if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &t->saved) == 0) {
        struct termios raw = t->saved;
        raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
        raw.c_cc[VMIN] = 0;
        raw.c_cc[VTIME] = 0;
        t->raw = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
    }
    s_puts("\033[?1049h\033[?25l\033[2J");
    t->screen = 1;
}

/* Gives the screen back as it was. */
static void
s_term_stop(s_term *t)
{
    if (t->screen) {
        s_puts("\033[?25h\033[?1049l");
        t->screen = 0;
    }
    if (t->raw) {
        tcsetattr(STDIN_FILENO, TCSANOW, &t->saved);
        t->raw = 0;
    }
}

/* Ctrl-Z: gives the terminal back, stops as SIGTSTP would have, and takes
 * it again once continued (fg). */
static void
s_term_suspend(s_term *t)
{
    s_term_stop(t);
    signal(SIGTSTP, SIG_DFL);
    raise(SIGTSTP); /* stopped here until SIGCONT */
    s_suspend = 0;
    s_term_start(t);
}

/* The terminal's size, or 24 x 80. */
static void
s_size(int *rows, int *cols)
{
    struct winsize ws;
    int ok = ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0;
    *rows = ok ? ws.ws_row : 24;
    *cols = ok && ws.ws_col > 0 ? ws.ws_col : 80;
}

/* Waits up to seconds for a key (when keys are read). Returns 1 to quit
 * ('q', or a signal), else 0 when the time is up or the screen must be
 * drawn again (resized). */
static int
s_wait(const s_term *t, double seconds)
{
    uint64_t end = uv_hrtime() + (uint64_t)(seconds * 1e9);
    int keys = t->raw; /* stdin is read for keys */
    while (!s_stop && !s_resized && !s_suspend) {
        uint64_t now = uv_hrtime();
        if (now >= end) {
            return 0;
        }
        struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
        int ms = (int)((end - now) / 1000000) + 1;
        int r = poll(&p, keys ? 1 : 0, ms);
        if (r > 0 && (p.revents & POLLIN)) {
            char buf[64];
            ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
            for (ssize_t i = 0; i < n; i++) {
                if (buf[i] == 'q' || buf[i] == 'Q' || buf[i] == 3) {
                    return 1;
                }
            }
            keys = n != 0; /* closed: no more keys, only the time */
        } else if (r > 0) {
            keys = 0; /* hung up: poll would return at once, forever */
        }
    }
    return s_stop ? 1 : 0;
}

/* ---- Pictures ------------------------------------------------------- */

/* Takes the status and draws it: on the terminal over the last picture
 * (home, each line's end cleared, the rest of the screen cleared), in
 * one write so that it does not flicker; else as plain lines. Returns 0,
 * or 1 having said why the status could not be had. */
static int
s_picture(dv_client *c, dvi_top_view *v, const s_term *t, const char *where)
{
    char *text = NULL;
    if (dv_scheduler_info(c, &text) < 0) {
        fprintf(stderr, "drove top: the scheduler at %s: %s\n", where,
                dv_last_error());
        return 1;
    }
    json_t *status = json_loads(text, 0, NULL);
    free(text);
    if (!json_is_object(status)) {
        fprintf(stderr,
                "drove top: the scheduler at %s sent a status that "
                "is not a JSON object\n",
                where);
        json_decref(status);
        return 1;
    }
    dvi_top_view_note(v, status, (double)uv_hrtime() / 1e9);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    if (t->screen) {
        int rows, cols;
        s_size(&rows, &cols);
        fputs("\033[H", out);
        /* One row fewer: a newline on the last would scroll. */
        dvi_top_view_print(v, status, out, rows > 2 ? rows - 1 : 1, cols,
                           "\033[K\n");
        fputs("\033[J", out);
    } else {
        dvi_top_view_print(v, status, out, 0, 0, "\n");
    }
    fclose(out);
    s_puts(buf);
    free(buf);
    json_decref(status);
    return 0;
}

/* Draws pictures until --once is done, a key or signal says stop (0), or
 * the scheduler cannot be asked (1). */
static int
s_loop(dv_client *c, const char *where, double interval, int once)
{
    s_term t = {0};
    if (!once && isatty(STDOUT_FILENO)) {
        s_term_start(&t);
    }
    dvi_top_view v = {0};
    int rc = 0;
    for (int first = 1; !s_stop; first = 0) {
        if (!t.screen && !first) {
            s_puts("\n"); /* between pictures printed one after another */
        }
        s_resized = 0;
        rc = s_picture(c, &v, &t, where);
        if (rc != 0 || once || s_wait(&t, interval)) {
            break;
        }
        if (s_suspend) {
            s_term_suspend(&t);
        }
    }
    s_term_stop(&t);
    return rc;
}

/* ---- The command ---------------------------------------------------- */

/* A client of the scheduler at --scheduler, or of --profile's; where
 * gets which, for messages. NULL having said why. */
static dv_client *
s_connect(const dvi_profile *p, const char *addr, char *where, size_t size)
{
    if (addr != NULL) {
        snprintf(where, size, "%s", addr);
        /* tcp:// takes its certificate from $DROVE_PROFILE's profile. */
        setenv("DROVE_PROFILE", p->name, 1);
    } else {
        snprintf(where, size, "profile:%s", p->name);
    }
    dv_client *c = dv_connect(where);
    if (c == NULL && addr != NULL) {
        fprintf(stderr, "drove top: no scheduler answers at %s: %s\n", addr,
                dv_last_error());
    } else if (c == NULL) {
        fprintf(stderr, "drove top: no scheduler of profile '%s' answers: %s\n",
                p->name, dv_last_error());
    }
    return c;
}

int
dvi_cmd_top(int argc, char **argv)
{
    int rc =
        dvi_options_parse(s_opts, S_N(s_opts), argc, argv, s_usage, s_about);
    if (rc != 0) {
        return rc == 1 ? 0 : 2;
    }
    double interval = dvi_opt_num(s_opts, S_N(s_opts), "interval");
    if (interval < 0.1) {
        fprintf(stderr, "drove top: --interval %s is less than 0.1 s\n",
                dvi_opt_str(s_opts, S_N(s_opts), "interval"));
        return 2;
    }
    const char *addr = dvi_opt_str(s_opts, S_N(s_opts), "scheduler");
    if (addr != NULL && strncmp(addr, "tcp://", 6) != 0) {
        fprintf(stderr, "drove top: --scheduler '%s' is not tcp://HOST:PORT\n",
                addr);
        return 2;
    }
    dvi_profile p;
    if (dvi_profile_init(&p, dvi_opt_str(s_opts, S_N(s_opts), "profile")) < 0) {
        fprintf(stderr, "drove top: %s\n", dv_last_error());
        return 2;
    }
    char where[512];
    dv_client *c = s_connect(&p, addr, where, sizeof(where));
    if (c == NULL) {
        return 1;
    }
    rc = s_loop(c, where, interval, dvi_opt_flag(s_opts, S_N(s_opts), "once"));
    dv_close(c);
    return rc;
}
