/* drove — unit: the socket file by which peers of one host skip TLS.
 *
 * What users rely on: the file is found only by members of the same
 * cluster (its CA), for the very address a worker advertises, in a
 * directory only this user may enter; a directory that others could
 * enter, or a link planted in its place, turns the shortcut off instead
 * of being used; another user cannot connect to it; DROVE_SAMEHOST=0
 * turns it off; and a missing or stale
 * file (its worker died) is passed over, so the peer dials TLS.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/pki.h"
#include "dvtest.h"
#include "proto/samehost.h"

#define ADDR "tcp://127.0.0.1:5000"

static dvi_tls_ctx *s_ctx[2]; /* workers of two clusters */
static char s_user[512];      /* $XDG_RUNTIME_DIR/drove-UID */

static dvi_tls_ctx *
s_worker_of_new_ca(void)
{
    dvi_pki_cert *ca = dvi_pki_ca_new("drove CA", 0);
    dvi_pki_req req = {.role = DVI_PKI_ROLE_WORKER, .name = "w"};
    dvi_pki_cert *self = dvi_pki_issue(ca, &req);
    dvi_tls_ctx *c = dvi_tls_ctx_new(ca, self);
    dvi_pki_cert_destroy(&self);
    dvi_pki_cert_destroy(&ca);
    return DVT_NOTNULL(c);
}

/* The path part of a "unix://" address. */
static const char *
s_path(const char *addr)
{
    DVT_TRUE(strncmp(addr, "unix://", 7) == 0);
    return addr + 7;
}

static int
s_mode(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int)(st.st_mode & 0777) : -1;
}

static struct sockaddr_un
s_sun(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t n = strlen(path);
    DVT_TRUE(n < sizeof(sa.sun_path));
    memcpy(sa.sun_path, path, n + 1);
    return sa;
}

/* A socket bound at path; listening, or closed at once (a stale file). */
static int
s_bind(const char *path, int stale)
{
    struct sockaddr_un sa = s_sun(path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    DVT_TRUE(fd >= 0);
    DVT_PASS(bind(fd, (struct sockaddr *)&sa, sizeof(sa)));
    DVT_PASS(listen(fd, 4));
    if (stale) {
        close(fd);
        return -1;
    }
    return fd;
}

static void
test_file_named_by_cluster_and_address(void **state)
{
    (void)state;
    char a[256], b[256], c[256];
    DVT_PASS(dvi_samehost_addr(s_ctx[0], ADDR, 1, a, sizeof(a)));
    DVT_PASS(dvi_samehost_addr(s_ctx[1], ADDR, 1, b, sizeof(b)));
    DVT_PASS(
        dvi_samehost_addr(s_ctx[0], "tcp://127.0.0.1:5001", 1, c, sizeof(c)));
    DVT_CONTAINS(a, s_user);
    DVT_CONTAINS(a, "/127.0.0.1-5000.sock");
    DVT_CONTAINS(a, dvi_tls_ctx_ca_id(s_ctx[0]));
    DVT_NE_STR(a, b); /* another cluster: another directory */
    DVT_NE_STR(a, c);
    DVT_EQ_I64(s_mode(s_user), 0700);
    char dir[256];
    snprintf(dir, sizeof(dir), "%s", s_path(a));
    *strrchr(dir, '/') = '\0';
    DVT_EQ_I64(s_mode(dir), 0700);

    /* None for what is not a TLS address, without TLS, or switched off. */
    DVT_EQ_I64(
        dvi_samehost_addr(s_ctx[0], "unix:///tmp/x.sock", 1, c, sizeof(c)), -1);
    DVT_EQ_I64(dvi_samehost_addr(NULL, ADDR, 1, c, sizeof(c)), -1);
    DVT_EQ_I64(dvi_samehost_addr(s_ctx[0], ADDR, 1, c, 16), -1);
    setenv(DVI_ENV_SAMEHOST, "0", 1);
    DVT_EQ_I64(dvi_samehost_addr(s_ctx[0], ADDR, 1, c, sizeof(c)), -1);
    unsetenv(DVI_ENV_SAMEHOST);
}

static void
test_directory_others_may_enter_is_not_used(void **state)
{
    (void)state;
    char a[256];
    DVT_PASS(dvi_samehost_addr(s_ctx[0], ADDR, 1, a, sizeof(a)));
    DVT_PASS(chmod(s_user, 0755));
    DVT_EQ_I64(dvi_samehost_addr(s_ctx[0], ADDR, 1, a, sizeof(a)), -1);
    DVT_EQ_I64(dvi_samehost_connect(s_ctx[0], ADDR), -1);
    DVT_PASS(chmod(s_user, 0700));

    /* A link planted where the user's directory goes, to a directory of
     * the right mode, is refused all the same. */
    char base[512], link[600];
    snprintf(base, sizeof(base), "%s/elsewhere", dvt_home());
    DVT_PASS(mkdir(base, 0700));
    snprintf(link, sizeof(link), "%s/drove-%u", base, (unsigned)geteuid());
    DVT_PASS(symlink(s_user, link));
    setenv("XDG_RUNTIME_DIR", base, 1);
    DVT_EQ_I64(dvi_samehost_addr(s_ctx[0], ADDR, 1, a, sizeof(a)), -1);
    setenv("XDG_RUNTIME_DIR", dvt_home(), 1);
    DVT_PASS(dvi_samehost_addr(s_ctx[0], ADDR, 1, a, sizeof(a)));
}

static void
test_connects_only_to_a_listening_file(void **state)
{
    (void)state;
    char a[256];
    const char *addr = "tcp://127.0.0.1:5002";
    DVT_PASS(dvi_samehost_addr(s_ctx[0], addr, 1, a, sizeof(a)));
    DVT_EQ_I64(dvi_samehost_connect(s_ctx[0], addr), -1); /* no file */

    int l = s_bind(s_path(a), 0);
    int fd = dvi_samehost_connect(s_ctx[0], addr);
    DVT_TRUE(fd >= 0);
    int peer = accept(l, NULL, NULL);
    DVT_TRUE(peer >= 0);
    DVT_EQ_I64(write(fd, "x", 1), 1);
    char ch = 0;
    DVT_EQ_I64(read(peer, &ch, 1), 1);
    DVT_EQ_I64(ch, 'x');
    /* The other cluster's members never find it. */
    DVT_EQ_I64(dvi_samehost_connect(s_ctx[1], addr), -1);
    close(peer);
    close(fd);
    close(l);
    unlink(s_path(a));

    s_bind(s_path(a), 1); /* what a worker killed leaves */
    DVT_EQ_I64(dvi_samehost_connect(s_ctx[0], addr), -1);
    unlink(s_path(a));
}

/* Connects to path as user nobody, in a child: 0, or connect's errno. */
static int
s_connect_as_nobody(const char *path)
{
    pid_t pid = fork();
    if (pid == 0) {
        struct sockaddr_un sa = s_sun(path);
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (setgid(65534) < 0 || setuid(65534) < 0) {
            _exit(255);
        }
        _exit(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? errno : 0);
    }
    int status = -1;
    DVT_EQ_I64(waitpid(pid, &status, 0), pid);
    DVT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 255);
    return WEXITSTATUS(status);
}

/* Another user of this host (here: nobody) cannot connect to the file,
 * though it knows its path and the file is listening: the user's
 * directory keeps it out (with the directories opened up, it gets in). */
static void
test_another_user_cannot_connect(void **state)
{
    (void)state;
    if (geteuid() != 0) {
        skip(); /* only root can become another user */
    }
    char a[256], cluster[256];
    DVT_PASS(
        dvi_samehost_addr(s_ctx[0], "tcp://127.0.0.1:5003", 1, a, sizeof(a)));
    snprintf(cluster, sizeof(cluster), "%s", s_path(a));
    *strrchr(cluster, '/') = '\0';
    int l = s_bind(s_path(a), 0);
    /* Only the user's directory guards it: not the file, not the base. */
    DVT_PASS(chmod(s_path(a), 0777));
    DVT_PASS(chmod(dvt_home(), 0755));
    DVT_EQ_I64(s_connect_as_nobody(s_path(a)), EACCES);
    DVT_PASS(chmod(s_user, 0755));
    DVT_PASS(chmod(cluster, 0755));
    DVT_EQ_I64(s_connect_as_nobody(s_path(a)), 0);
    DVT_PASS(chmod(cluster, 0700));
    DVT_PASS(chmod(s_user, 0700));
    DVT_PASS(chmod(dvt_home(), 0700));
    close(l);
    unlink(s_path(a));
}

int
main(void)
{
    dvt_init(60); /* XDG_RUNTIME_DIR: the test's home */
    unsetenv("DROVE_TEST_PLAINTEXT");
    snprintf(s_user, sizeof(s_user), "%s/drove-%u", dvt_home(),
             (unsigned)geteuid());
    s_ctx[0] = s_worker_of_new_ca();
    s_ctx[1] = s_worker_of_new_ca();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_named_by_cluster_and_address),
        cmocka_unit_test(test_directory_others_may_enter_is_not_used),
        cmocka_unit_test(test_connects_only_to_a_listening_file),
        cmocka_unit_test(test_another_user_cannot_connect),
    };
    int failed = cmocka_run_group_tests_name("samehost", tests, NULL, NULL);
    dvi_tls_ctx_destroy(&s_ctx[0]);
    dvi_tls_ctx_destroy(&s_ctx[1]);
    return dvt_finish(failed);
}
