/* A `drove map` job as a command task.
 *
 * Most jobs are one program with arguments (`gzip -9 'a b.log'`): for
 * them a /bin/sh would cost a second exec and its start-up for nothing,
 * so a line that dvi_shell_split can split runs as its argv. A job runs
 * in its directory (dv_cmd_workdir): with no inputs or outputs, it gets
 * no scratch directory, so that it costs what its spawn costs.
 */
#include "map_job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "map_shell.h"

/* The command task of line, in workdir (or the scratch directory). */
static dv_cmd *
s_cmd(const char *line, const char *workdir)
{
    char **argv = dvi_shell_split(line);
    dv_cmd *cmd =
        argv ? dv_cmd_new((const char *const *)argv) : dv_cmd_new_shell(line);
    free(argv);
    if (cmd != NULL && workdir != NULL && dv_cmd_workdir(cmd, workdir) < 0) {
        dv_cmd_free(cmd);
        return NULL;
    }
    return cmd;
}

int
dvi_map_job_submit(dvi_map_job *j, const dvi_map_runner *r)
{
    dv_release(j->f);
    j->f = NULL;
    dv_cmd *cmd = s_cmd(j->cmd, r->workdir);
    if (cmd == NULL) {
        return dv_last_code() < 0 ? dv_last_code() : DV_ENOMEM;
    }
    char seq[32];
    snprintf(seq, sizeof(seq), "%zu", j->seq);
    int rc = dv_cmd_flags(cmd, DV_CMD_ANY_STATUS);
    if (rc == 0) {
        /* As parallel's jobs see theirs. */
        rc = dv_cmd_env(cmd, "PARALLEL_SEQ", seq);
    }
    if (rc == 0 && r->timeout_s > 0) {
        rc = dv_cmd_timeout(cmd, r->timeout_s);
    }
    if (rc == 0) {
        j->f = dv_cmd_submit(r->c, cmd, NULL);
        rc = j->f ? 0 : (dv_last_code() < 0 ? dv_last_code() : DV_ENOMEM);
    }
    dv_cmd_free(cmd);
    if (rc == 0) {
        j->tries++;
    }
    return rc;
}

void
dvi_map_job_read(dvi_map_job *j)
{
    /* Finished, but a large result (past what the completion carries)
     * is still to be fetched from its worker: wait for it. */
    const dv_value *v = dv_result(j->f, -1);
    j->error = NULL;
    j->out = j->err = "";
    j->outlen = j->errlen = 0;
    j->host = "";
    j->signal = j->timed_out = 0;
    j->start = j->runtime = 0;
    if (v == NULL) {
        j->error = dv_future_error(j->f);
        if (j->error == NULL) {
            j->error = dv_last_error();
        }
        j->exitval = 255;
        return;
    }
    j->out = dv_cmd_stdout(v, &j->outlen);
    j->err = dv_cmd_stderr(v, &j->errlen);
    if (j->out == NULL) {
        j->out = "";
        j->outlen = 0;
    }
    if (j->err == NULL) {
        j->err = "";
        j->errlen = 0;
    }
    const char *host = dv_cmd_host(v);
    j->host = host ? host : "";
    j->start = dv_cmd_started(v);
    j->runtime = dv_cmd_runtime(v);
    int sig = dv_cmd_signal(v);
    j->signal = sig > 0 ? sig : 0;
    j->timed_out = dv_cmd_timed_out(v) == 1;
    /* parallel's joblog: a killed job's Exitval is 0 (its Signal says
     * it), -1 when its --timeout killed it. */
    int status = dv_cmd_exit_status(v);
    j->exitval = j->timed_out ? -1 : j->signal ? 0 : status < 0 ? 255 : status;
}

int
dvi_map_job_failed(const dvi_map_job *j)
{
    return j->error != NULL || j->exitval != 0 || j->signal != 0 ||
           j->timed_out;
}

void
dvi_map_job_fini(dvi_map_job *j)
{
    dv_release(j->f);
    free(j->cmd);
    free(j->tag);
    memset(j, 0, sizeof(*j));
}
