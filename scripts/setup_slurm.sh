#!/usr/bin/env bash
# A one-node SLURM on localhost for the batch tests (`invrender batch --executor slurm`), so they run
# against a real sbatch/squeue/sacct, never a mock. Run as root on Debian; idempotent: when the
# controller and the node already answer, it only says so.
#
# What works in containers without systemd or cgroups (see shared notes): munge auth, the
# linuxproc process tracker, no task plugin, no job accounting gatherer, cons_tres selection.
# Config and state live under $INVRENDER_SLURM_DIR (default /var/tmp/invrender-slurm), and
# /etc/slurm/slurm.conf points there (sbatch and friends read that file).
set -euo pipefail

STATE_DIR="${INVRENDER_SLURM_DIR:-/var/tmp/invrender-slurm}"
CONF=/etc/slurm/slurm.conf
CONF_VERSION="invrender-slurm-conf 2"  # bump when the config below changes

if [ "$(id -u)" != 0 ]; then
    echo "setup_slurm: needs root (apt-get, munge key, daemons); skipped" >&2
    exit 1
fi

ready() {
    sinfo -h -o '%t' 2>/dev/null | grep -Eq '^(idle|mix|alloc|comp)'
}

# Both daemons here (the controller reports a dead slurmd as idle for minutes) and the node up.
if command -v sinfo >/dev/null && command -v pgrep >/dev/null \
    && grep -qs "$CONF_VERSION" "$CONF" && pgrep -x slurmctld >/dev/null && pgrep -x slurmd >/dev/null && ready; then
    echo "setup_slurm: SLURM already running ($(sinfo -h -o '%P %t %N' | head -1))"
    exit 0
fi

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null \
    || ! command -v pgrep >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends slurm-wlm munge procps >/dev/null
fi

# munge: a key, its run folder, the daemon.
if [ ! -s /etc/munge/munge.key ]; then
    mkdir -p /etc/munge
    dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
fi
chown munge:munge /etc/munge/munge.key
chmod 400 /etc/munge/munge.key
mkdir -p /run/munge /var/log/munge /var/lib/munge
chown munge:munge /run/munge /var/log/munge /var/lib/munge
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    su -s /bin/sh munge -c munged 2>/dev/null || runuser -u munge -- munged
    for _ in $(seq 20); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.5; done
fi
munge -n | unmunge >/dev/null

mkdir -p "$STATE_DIR"/{state,spool,log,run} /etc/slurm
CPUS=$(nproc)
MEM_MB=$(awk '/MemTotal/ {print int($2 / 1024 * 0.8)}' /proc/meminfo)
cat >"$CONF" <<EOF
# Written by invrender scripts/setup_slurm.sh: a one-node test cluster on localhost.
# $CONF_VERSION
ClusterName=local
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
# Job credentials live 10 s (default 120): a requeued job released early (scontrol update
# StartTime=now) dies of a revoked credential until they expire.
AuthInfo=cred_expire=10
StateSaveLocation=$STATE_DIR/state
SlurmdSpoolDir=$STATE_DIR/spool
SlurmctldPidFile=$STATE_DIR/run/slurmctld.pid
SlurmdPidFile=$STATE_DIR/run/slurmd.pid
SlurmctldLogFile=$STATE_DIR/log/slurmctld.log
SlurmdLogFile=$STATE_DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1
MinJobAge=600
KillWait=10
NodeName=localhost CPUs=$CPUS RealMemory=$MEM_MB State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
EOF

if pgrep -x slurmctld >/dev/null; then
    scontrol reconfigure  # an older config of ours: the running daemons read the new one
else
    slurmctld
fi
pgrep -x slurmd >/dev/null || slurmd -N localhost
for _ in $(seq 60); do
    if ready; then
        scontrol update nodename=localhost state=resume >/dev/null 2>&1 || true
        echo "setup_slurm: SLURM ready ($(sinfo -h -o '%P %t %N' | head -1))"
        exit 0
    fi
    sleep 0.5
done
# A node left DOWN by an earlier run comes back with an explicit resume.
scontrol update nodename=localhost state=resume >/dev/null 2>&1 || true
sleep 1
if ready; then
    echo "setup_slurm: SLURM ready ($(sinfo -h -o '%P %t %N' | head -1))"
    exit 0
fi
echo "setup_slurm: SLURM did not come up; see $STATE_DIR/log/" >&2
sinfo >&2 || true
exit 1
