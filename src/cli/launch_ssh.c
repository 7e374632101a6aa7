/* Workers on other machines, started over ssh.
 *
 * For each host: what a worker needs of the profile (drove profile export:
 * the connection file, the CA's certificate, the worker's certificate and
 * key; never the CA's key) is copied there as a tar stream into the
 * remote DROVE_HOME (never over a profile that holds a CA key: a
 * scheduler's), and the workers are started there detached (nohup), their
 * output in that profile's logs/. Each is recorded with the ssh arguments
 * that reach its machine, for status, down and cleanup.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "drove.h"
#include "launch.h"

/* Whether s may go into a shell command unquoted. */
static int
s_plain(const char *s)
{
    return s[0] != '\0' &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789_./~+=:,@-") == strlen(s);
}

/* The profile's worker files, as a tar stream into *tar (caller frees). */
static int
s_pack_profile(const dvi_profile *p, char **tar, size_t *len)
{
    char tmp[] = "/tmp/drove-export-XXXXXX";
    if (mkdtemp(tmp) == NULL) {
        return dvi_seterr(DV_EIO, "making a temporary directory");
    }
    int rc = dvi_profile_export(p, tmp, 0);
    char dir[80];
    snprintf(dir, sizeof(dir), "profile_%s", p->name);
    char *argv[] = {"tar", "-C", tmp, "-cf", "-", dir, NULL};
    size_t cap = 4 << 20;
    *tar = rc < 0 ? NULL : dvi_malloc(cap);
    if (*tar != NULL && dvi_launch_run(argv, NULL, 0, *tar, cap, len) != 0) {
        rc = dvi_seterr(DV_EIO, "packing the profile with tar");
    }
    char *rm[] = {"rm", "-rf", tmp, NULL};
    char out[16];
    dvi_launch_run(rm, NULL, 0, out, sizeof(out), NULL);
    if (rc < 0) {
        free(*tar);
        *tar = NULL;
    }
    return rc;
}

/* The remote script: unpack the profile, print the host name, start n
 * workers named PREFIX-1.. and print their process ids. */
static void
s_script(char *out, size_t size, const dvi_profile *p, const char *home,
         const char *drove, const char *prefix, long n, long threads)
{
    char rh[PATH_MAX + 16];
    if (strncmp(home, "~/", 2) == 0) {
        snprintf(rh, sizeof(rh), "$HOME/%s", home + 2);
    } else {
        snprintf(rh, sizeof(rh), "%s", home);
    }
    char t[48] = "";
    if (threads > 0) {
        snprintf(t, sizeof(t), " --threads %ld", threads);
    }
    snprintf(out, size,
             "set -e; umask 077; RH=\"%s\"; P=\"$RH/profile_%s\"; "
             "if [ -e \"$P/ca.key\" ]; then echo \"$P holds a CA key (a "
             "scheduler's profile): not overwritten\" >&2; exit 3; fi; "
             "mkdir -p \"$RH\"; tar -C \"$RH\" -xf -; mkdir -p \"$P/logs\"; "
             "hostname; i=1; while [ $i -le %ld ]; do "
             "DROVE_HOME=\"$RH\" nohup %s worker --profile %s --name "
             "%s-$i%s </dev/null >>\"$P/logs/worker-ssh.out\" 2>&1 & "
             "echo $!; i=$((i + 1)); done",
             rh, p->name, n, drove, p->name, prefix, t);
}

/* Records the workers the script's output lists. */
static int
s_record(const dvi_profile *p, const dvi_launched *via, const char *prefix,
         char *out, long n)
{
    char *save = NULL;
    char *host = strtok_r(out, "\n", &save);
    long k = 0;
    int rc = 0;
    for (char *line; rc == 0 && k < n && (line = strtok_r(NULL, "\n", &save));
         k++) {
        dvi_launched l = *via; /* its ssh arguments, borrowed */
        l.pid = atol(line);
        snprintf(l.role, sizeof(l.role), "worker");
        snprintf(l.launcher, sizeof(l.launcher), "ssh");
        snprintf(l.host, sizeof(l.host), "%s", host ? host : "");
        snprintf(l.name, sizeof(l.name), "%.100s-%ld", prefix, k + 1);
        rc = dvi_launch_record(p, &l);
    }
    if (rc == 0 && k < n) {
        rc = dvi_seterr(DV_EIO, "%ld of %ld workers started", k, n);
    }
    return rc;
}

int
dvi_launch_ssh_workers(const dvi_profile *p, const dvi_ssh_spec *s,
                       const char *target, long n, long threads)
{
    if (!s_plain(s->home) || !s_plain(s->drove)) {
        return dvi_seterr(DV_EINVAL,
                          "--remote-home and --remote-drove take a path of "
                          "letters, digits and ._/~+=:,@-");
    }
    dvi_launched via = {0};
    int rc = dvi_launch_ssh_target(&via, target, s->key, s->opts, s->nopts);
    char *tar = NULL, script[PATH_MAX * 3], out[8192], prefix[100];
    size_t len = 0;
    if (rc == 0) {
        rc = s_pack_profile(p, &tar, &len);
    }
    if (rc == 0) {
        /* Named after the host it runs on and this launch. */
        const char *at = strchr(target, '@');
        snprintf(prefix, sizeof(prefix), "ssh-%.*s-%ld",
                 (int)strcspn(at ? at + 1 : target, ":"), at ? at + 1 : target,
                 (long)getpid());
        s_script(script, sizeof(script), p, s->home, s->drove, prefix, n,
                 threads);
        int status = dvi_launch_ssh(&via, script, tar, len, out, sizeof(out));
        rc = status == 0 ? s_record(p, &via, prefix, out, n)
                         : dvi_seterr(DV_ECONN,
                                      "ssh %s failed (status %d): see its "
                                      "message above",
                                      target, status);
    }
    free(tar);
    dvi_launched_fini(&via, 1);
    return rc;
}
