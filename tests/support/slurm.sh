#!/bin/sh
# A single-node Slurm (munge, slurmctld, slurmd) for tests, without
# systemd, as root: slurm.sh start|stop DIR. Everything goes under DIR;
# the configuration is DIR/slurm.conf (export SLURM_CONF=DIR/slurm.conf
# to the commands that use it). start installs the packages when missing
# and returns once the node is idle; stop cancels every job first (killing
# slurmd leaves jobs running), then ends the daemons it started.
set -eu
D=$2
CONF=$D/slurm.conf
export SLURM_CONF="$CONF"

# Alive: exists and is not a zombie (kill -0 succeeds on zombies).
alive() { s=$(ps -o stat= -p "$1" 2>/dev/null) && [ "${s#Z}" = "$s" ]; }

start() {
    sh "$(dirname "$0")/need.sh" slurmctld slurmctld slurmd slurm-client munge
    rm -rf "$D"
    mkdir -p "$D/state" "$D/spool" "$D/log"
    [ -s /etc/munge/munge.key ] || mungekey --create --keyfile=/etc/munge/munge.key
    chown munge:munge /etc/munge/munge.key
    chmod 0400 /etc/munge/munge.key
    mkdir -p /run/munge
    chown munge:munge /run/munge
    chmod 0755 /run/munge
    if ! munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
        runuser -u munge -- /usr/sbin/munged
        cp /run/munge/munged.pid "$D/munged.pid"
        i=0
        while [ $i -lt 50 ] && ! munge -n </dev/null | unmunge >/dev/null 2>&1; do
            sleep 0.1; i=$((i + 1))
        done
    fi
    H=$(hostname -s)
    M=$(( $(awk '/MemAvailable/{print int($2/1024)}' /proc/meminfo) / 2 ))
    cat > "$CONF" <<CFG
ClusterName=drovetest
SlurmctldHost=${H}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
KillWait=5
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd.pid
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
NodeName=${H} NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=${M} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CFG
    setsid slurmctld -D -f "$CONF" >"$D/log/slurmctld.out" 2>&1 &
    echo $! >"$D/slurmctld.bgpid"
    setsid slurmd -D -f "$CONF" >"$D/log/slurmd.out" 2>&1 &
    echo $! >"$D/slurmd.bgpid"
    i=0
    while [ $i -lt 300 ] && [ "$(sinfo -h -N -o %t 2>/dev/null)" != idle ]; do
        sleep 0.1; i=$((i + 1))
    done
    if [ "$(sinfo -h -N -o %t 2>/dev/null)" != idle ]; then
        echo "slurm.sh: the node is not idle" >&2
        tail -n 20 "$D"/log/*.log >&2 || true
        exit 1
    fi
}

stop() {
    J=$(squeue -h -o %A 2>/dev/null || true)
    if [ -n "$J" ]; then
        scancel $J || true
        i=0
        while [ $i -lt 150 ] && [ -n "$(squeue -h 2>/dev/null)" ]; do
            sleep 0.1; i=$((i + 1))
        done
    fi
    for f in "$D/slurmd.bgpid" "$D/slurmctld.bgpid" "$D/munged.pid"; do
        [ -f "$f" ] || continue
        p=$(cat "$f")
        kill "$p" 2>/dev/null || true
        i=0
        while [ $i -lt 100 ] && alive "$p"; do sleep 0.1; i=$((i + 1)); done
    done
}

"$1"
