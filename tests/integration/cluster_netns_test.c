/* drove — integration: a cluster over ssh across two hosts.
 *
 * Two hosts played by network namespaces joined by veth, each with its
 * own sshd (a real one, key-only). From host A, `drove cluster up --ssh`
 * starts the scheduler there and a worker on each host; the tree
 * reduction runs on them, its arrays travelling between the hosts (over
 * TLS, as every tcp connection), both workers doing part of it, and its
 * result is checked by the program; `down` stops everything.
 */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dvt_funcs.h"
#include "dvt_netns.h"
#include "dvtest.h"

#define S_SUBNET "10.233.0"

/* Runs argv in host's namespace to its end; returns its exit code. */
static int
s_run_in(const char *name, int host, char *const *args)
{
    char *argv[40] = {"ip", "netns", "exec", (char *)dvt_netns_host(host)};
    int n = 4;
    for (int i = 0; args[i] != NULL && n < 39; i++) {
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    char ip[] = "/usr/sbin/ip";
    argv[0] = access(ip, X_OK) == 0 ? ip : "/sbin/ip";
    dvt_proc *p = DVT_NOTNULL(dvt_spawn(name, argv));
    int status = 0;
    if (dvt_proc_wait(p, 300.0, &status) != 0) {
        DVT_FAIL("%s still runs after 300 s", name);
    }
    dvt_proc_kill(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Starts sshd on host (address S_SUBNET.host+1); its port into port. */
static dvt_proc *
s_sshd(int host, char *port, size_t size)
{
    char dir[512], addr[32], name[32];
    snprintf(dir, sizeof(dir), "%s/sshd%d", dvt_home(), host);
    snprintf(addr, sizeof(addr), S_SUBNET ".%d", host + 1);
    snprintf(name, sizeof(name), "sshd%d", host);
    char ip[] = "/usr/sbin/ip";
    char *argv[] = {access(ip, X_OK) == 0 ? ip : "/sbin/ip",
                    "netns",
                    "exec",
                    (char *)dvt_netns_host(host),
                    "/bin/sh",
                    DVT_SOURCE_DIR "/support/sshd.sh",
                    dir,
                    addr,
                    NULL};
    dvt_proc *p = DVT_NOTNULL(dvt_spawn(name, argv));
    DVT_PASS(dvt_proc_read_line(p, port, size, 600.0));
    return p;
}

/* The "done" counts of the status JSON text, each worker's then the
 * total, into done. Returns how many, or -1 for text that is not JSON. */
static int
s_done(const char *text, long *done, int max)
{
    json_t *o = json_loads(text, 0, NULL);
    if (o == NULL) {
        return -1;
    }
    int n = 0;
    json_t *workers = json_object_get(o, "workers");
    for (size_t i = 0; n < max && i < json_array_size(workers); i++) {
        json_t *d = json_object_get(json_array_get(workers, i), "done");
        done[n++] = (long)json_integer_value(d);
    }
    if (n < max) {
        json_t *d = json_object_get(json_object_get(o, "totals"), "done");
        done[n++] = (long)json_integer_value(d);
    }
    json_decref(o);
    return n;
}

/* Ends what a failed test left running on the hosts. */
static int
s_cleanup(void **state)
{
    (void)state;
    char *cleanup[] = {(char *)dvt_drove_bin(),
                       "cluster",
                       "cleanup",
                       "--profile",
                       "netns",
                       NULL};
    s_run_in("cleanup", 0, cleanup);
    return 0;
}

static void
test_up_ssh_across_hosts(void **state)
{
    (void)state;
    char pa[16], pb[16], hosts[128], key[600], home[600];
    dvt_proc *sa = s_sshd(0, pa, sizeof(pa));
    dvt_proc *sb = s_sshd(1, pb, sizeof(pb));
    snprintf(hosts, sizeof(hosts),
             "root@" S_SUBNET ".1:%s,root@" S_SUBNET ".2:%s", pa, pb);
    snprintf(key, sizeof(key), "%s/sshd0/user_ed25519", dvt_home());
    snprintf(home, sizeof(home), "%s/remote", dvt_home());
    /* Host B trusts A's key too. */
    char cmd[2000];
    snprintf(cmd, sizeof(cmd), "cat %s.pub >> %s/sshd1/authorized_keys", key,
             dvt_home());
    DVT_EQ_I64(system(cmd), 0);
    char *up[] = {(char *)dvt_drove_bin(),
                  "cluster",
                  "up",
                  "--profile",
                  "netns",
                  "--ssh",
                  hosts,
                  "-n",
                  "1",
                  "--threads",
                  "1",
                  "--ssh-key",
                  key,
                  "--ssh-option",
                  "StrictHostKeyChecking=no",
                  "--ssh-option",
                  "UserKnownHostsFile=/dev/null",
                  "--address",
                  "tcp://" S_SUBNET ".1:0",
                  "--remote-home",
                  home,
                  "--remote-drove",
                  (char *)dvt_drove_bin(),
                  NULL};
    double t0 = dvt_now();
    DVT_EQ_I64(s_run_in("up", 0, up), 0);
    fprintf(stderr, "cluster_netns_test: up --ssh on two hosts: %.2f s\n",
            dvt_now() - t0);
    char *tree[] = {DV_BUILD_DIR "/examples/tree_reduce", "profile:netns",
                    NULL};
    DVT_EQ_I64(s_run_in("tree_reduce", 0, tree), 0);
    char *status[] = {(char *)dvt_drove_bin(),
                      "cluster",
                      "status",
                      "--json",
                      "--profile",
                      "netns",
                      NULL};
    DVT_EQ_I64(s_run_in("status", 0, status), 0);
    char path[700];
    snprintf(path, sizeof(path), "%s/status.out", dvt_home());
    char *json = DVT_NOTNULL(dvt_read_file(path));
    DVT_CONTAINS(json, "\"host\":");
    long done[4];
    DVT_EQ_I64(s_done(json, done, 4), 3); /* each worker's, the total */
    DVT_TRUE(done[0] > 0 && done[1] > 0); /* both hosts worked */
    free(json);
    char *down[] = {
        (char *)dvt_drove_bin(), "cluster", "down", "--profile", "netns", NULL};
    DVT_EQ_I64(s_run_in("down", 0, down), 0);
    dvt_proc_kill(sa);
    dvt_proc_kill(sb);
}

int
main(void)
{
    dvt_init(900);
    (void)dvt_funcs_anchor();
    int rc = dvt_netns_make("dvc", S_SUBNET);
    if (rc != 0) {
        return rc;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_up_ssh_across_hosts, s_cleanup),
    };
    rc = cmocka_run_group_tests_name("cluster across hosts", tests, NULL, NULL);
    dvt_netns_delete();
    return dvt_finish(rc);
}
