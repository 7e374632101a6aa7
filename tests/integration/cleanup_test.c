/* drove — integration: an embedded cluster leaves nothing behind.
 *
 * DESIGN.md and drove.h promise that after dv_close an embedded cluster has
 * left no files, no listening ports and no processes. This test counts the
 * process's listening TCP sockets (from /proc/net/tcp and /proc/self/fd),
 * its child processes (/proc/self/task/N/children) and the files in the
 * temporary directory and $DROVE_HOME, before, during and after a cluster
 * of each embedded scheme.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dvt_funcs.h"
#include "dvtest.h"

/* The inodes of sockets in LISTEN state, from /proc/net/tcp{,6}. */
static int
s_listen_inodes(unsigned long *out, int max)
{
    int n = 0;
    const char *files[] = {"/proc/net/tcp", "/proc/net/tcp6"};
    for (int f = 0; f < 2; f++) {
        FILE *fp = fopen(files[f], "r");
        char line[512];
        if (fp == NULL) {
            continue;
        }
        while (fgets(line, sizeof(line), fp)) {
            unsigned st;
            unsigned long inode;
            if (sscanf(line, "%*d: %*s %*s %x %*s %*s %*s %*s %*s %lu", &st,
                       &inode) == 2 &&
                st == 0x0A && n < max) {
                out[n++] = inode;
            }
        }
        fclose(fp);
    }
    return n;
}

/* Listening TCP sockets open in this process. */
static int
s_my_listeners(void)
{
    unsigned long inodes[4096];
    int n = s_listen_inodes(inodes, 4096), mine = 0;
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        char path[300], target[128];
        snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
        ssize_t len = readlink(path, target, sizeof(target) - 1);
        unsigned long inode;
        if (len <= 0) {
            continue;
        }
        target[len] = '\0';
        if (sscanf(target, "socket:[%lu]", &inode) == 1) {
            for (int i = 0; i < n; i++) {
                mine += inodes[i] == inode;
            }
        }
    }
    if (d) {
        closedir(d);
    }
    return mine;
}

/* Child processes of any thread of this process. */
static int
s_children(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        char path[300];
        snprintf(path, sizeof(path), "/proc/self/task/%s/children", e->d_name);
        char *text = dvt_read_file(path);
        for (char *p = text; p && *p; p++) {
            n += (p == text || p[-1] == ' ') && *p != ' ' && *p != '\n';
        }
        free(text);
    }
    if (d) {
        closedir(d);
    }
    return n;
}

static int
s_entries(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    }
    if (d) {
        closedir(d);
    }
    return n;
}

static void
s_check(const char *where, int workers_listen)
{
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    int tmp_before = s_entries(tmp), home_before = s_entries(dvt_home());
    int listen_before = s_my_listeners();
    DVT_EQ_I64(s_children(), 0);

    dv_client *c = DVT_NOTNULL(dv_connect(where));
    dv_future *f = DVT_NOTNULL(DV_SUBMIT(c, "inc", dv_i64(1)));
    DVT_EQ_I64(DVT_RESULT_I64(f, 30.0), 2);
    dv_release(f);
    if (workers_listen) {
        /* Worker processes are children, listening in their own right. */
        DVT_EQ_I64(s_children(), 2);
    } else {
        DVT_EQ_I64(s_children(), 0);
    }
    /* The client itself never listens: its scheduler is in-process. */
    DVT_EQ_I64(s_my_listeners(), listen_before);
    dv_close(c);

    DVT_EQ_I64(s_children(), 0);
    DVT_EQ_I64(s_my_listeners(), listen_before);
    DVT_EQ_I64(s_entries(dvt_home()), home_before);
    DVT_EQ_I64(s_entries(tmp), tmp_before);
}

static void
test_threads_leave_nothing(void **state)
{
    s_check("local:threads=2", 0);
}

static void
test_processes_leave_nothing(void **state)
{
    s_check("local:processes=2", 1);
}

int
main(void)
{
    dvt_init(100);
    (void)dvt_funcs_anchor();
    /* A temporary directory of the test's own: other programs write to
     * /tmp meanwhile, and nothing may be left in this one. */
    char tmp[512];
    snprintf(tmp, sizeof(tmp), "%s/tmp", dvt_home());
    mkdir(tmp, 0700);
    setenv("TMPDIR", tmp, 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_leave_nothing),
        cmocka_unit_test(test_processes_leave_nothing),
    };
    return dvt_finish(cmocka_run_group_tests(tests, NULL, NULL));
}
