/* Workers from a batch system or an MPI launch.
 *
 * Slurm: one job (sbatch) whose srun starts a worker per task; the job
 * ends when its workers do (the scheduler's shutdown), or by scancel.
 * MPI: mpiexec runs a worker per rank, in the background; it returns once
 * they have exited. Either way the nodes must see the profile (a shared
 * DROVE_HOME, as Slurm and MPI sites share home directories) and this
 * drove program, and the workers are named after the launch, so `status`
 * knows them as started from here.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "drove.h"
#include "launch.h"

int
dvi_launch_slurm_workers(const dvi_profile *p, const dvi_slurm_spec *s, long n)
{
    char self[PATH_MAX], wrap[PATH_MAX + 256], out[PATH_MAX + 64];
    char ntasks[32], cpus[48], part[160], time[96], name[64], id[64];
    dvi_launch_self(self, sizeof(self));
    snprintf(name, sizeof(name), "slurm-%.40s-%ld", dvi_launch_hostname(),
             (long)getpid());
    char threads[32] = "";
    if (s->cpus > 0) {
        snprintf(threads, sizeof(threads), " --threads %ld", s->cpus);
    }
    snprintf(wrap, sizeof(wrap), "exec srun %s worker --profile %s --name %s%s",
             self, p->name, name, threads);
    snprintf(out, sizeof(out), "--output=%s/logs/slurm-%%j.out", p->dir);
    snprintf(ntasks, sizeof(ntasks), "--ntasks=%ld", n);
    char *argv[16] = {"sbatch", "--parsable", "--job-name=drove-workers",
                      ntasks, out};
    int k = 5;
    if (s->cpus > 0) {
        snprintf(cpus, sizeof(cpus), "--cpus-per-task=%ld", s->cpus);
        argv[k++] = cpus;
    }
    if (s->partition != NULL) {
        snprintf(part, sizeof(part), "--partition=%s", s->partition);
        argv[k++] = part;
    }
    if (s->time != NULL) {
        snprintf(time, sizeof(time), "--time=%s", s->time);
        argv[k++] = time;
    }
    argv[k++] = "--wrap";
    argv[k++] = wrap;
    argv[k] = NULL;
    int rc = dvi_launch_run(argv, NULL, 0, id, sizeof(id), NULL);
    long job = rc == 0 ? atol(id) : 0;
    if (job <= 0) {
        return dvi_seterr(rc < 0 ? rc : DV_ESYS,
                          "sbatch failed (status %d): see its message above",
                          rc);
    }
    dvi_launched l = {.pid = job};
    snprintf(l.role, sizeof(l.role), "workers");
    snprintf(l.launcher, sizeof(l.launcher), "slurm");
    snprintf(l.name, sizeof(l.name), "%s", name);
    printf("slurm job %ld: %ld workers\n", job, n);
    return dvi_launch_record(p, &l);
}

int
dvi_launch_mpi_workers(const dvi_profile *p, long n, long threads)
{
    char self[PATH_MAX], np[32], t[32], name[64], log[PATH_MAX + 32];
    dvi_launch_self(self, sizeof(self));
    snprintf(np, sizeof(np), "%ld", n);
    snprintf(t, sizeof(t), "%ld", threads > 0 ? threads : 1);
    snprintf(name, sizeof(name), "mpi-%.40s-%ld", dvi_launch_hostname(),
             (long)getpid());
    snprintf(log, sizeof(log), "%s/logs/mpiexec.out", p->dir);
    char *argv[] = {
        "mpiexec",       "-n",     np,   self,        "worker", "--profile",
        (char *)p->name, "--name", name, "--threads", t,        NULL};
    /* Open MPI: more ranks than cores, and as root, are what the user
     * asked for here (mpiexec's flags for these differ by MPI). */
    setenv("OMPI_MCA_rmaps_base_oversubscribe", "1", 0);
    if (geteuid() == 0) {
        setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 0);
        setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 0);
    }
    long pid = dvi_launch_local(argv, log);
    if (pid < 0) {
        return (int)pid;
    }
    dvi_launched l = {.pid = pid};
    snprintf(l.role, sizeof(l.role), "workers");
    snprintf(l.launcher, sizeof(l.launcher), "mpi");
    snprintf(l.host, sizeof(l.host), "%s", dvi_launch_hostname());
    snprintf(l.name, sizeof(l.name), "%s", name);
    return dvi_launch_record(p, &l);
}
