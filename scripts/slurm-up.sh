#!/usr/bin/env bash
# Start a single-node Slurm cluster on this machine, as root, for the sweep
# tests and for trying 'fmam sweep slurm' (Debian 12: apt-get install
# slurm-wlm munge). The node is "localhost" with CPUS CPUs (default 2, at
# most nproc); processes are tracked through /proc (no cgroups needed, so
# it works in a container). Idempotent: a cluster already answering sinfo
# is left as it is.
#   scripts/slurm-up.sh            then: sinfo; sbatch --wrap 'hostname'
set -euo pipefail
case "$(sinfo -h -o %T 2>/dev/null | head -1 || true)" in
  idle*|mix*|alloc*) echo "slurm-up: already running: $(sinfo -h -o '%N %T %c' | head -1)"; exit 0 ;;
esac
if [ "$(id -u)" != 0 ]; then
  echo "slurm-up: run as root (it writes /etc/slurm and starts munged, slurmctld and slurmd)" >&2
  exit 1
fi
for b in munged slurmctld slurmd sinfo; do
  command -v "$b" >/dev/null || { echo "slurm-up: $b not found; apt-get install slurm-wlm munge" >&2; exit 1; }
done
cpus=${CPUS:-2}
if [ "$cpus" -gt "$(nproc)" ]; then cpus=$(nproc); fi
mem=$(awk '/MemTotal/ {print int($2/1024/2)}' /proc/meminfo)

# munge: a key, then the daemon.
install -d -o munge -g munge -m 0700 /etc/munge /var/lib/munge /var/log/munge
install -d -o munge -g munge -m 0755 /run/munge
if [ ! -s /etc/munge/munge.key ]; then
  dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
fi
chown munge:munge /etc/munge/munge.key
chmod 0400 /etc/munge/munge.key
if ! munge -n </dev/null >/dev/null 2>&1; then
  runuser -u munge -- munged
  for _ in $(seq 50); do munge -n </dev/null >/dev/null 2>&1 && break; sleep 0.1; done
fi

install -d /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
cat >/etc/slurm/slurm.conf <<CONF
# Written by fmam's scripts/slurm-up.sh: one node, this machine.
ClusterName=fmam
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
MaxArraySize=10001
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
MinJobAge=300
KillWait=5
Waittime=0
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
NodeName=localhost CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF

fail() { echo "slurm-up: $1 did not start; see /var/log/slurm/$1.log:" >&2; tail -n 5 "/var/log/slurm/$1.log" >&2; exit 1; }
pgrep -x slurmctld >/dev/null || slurmctld || fail slurmctld
# -N: this machine is the node "localhost" whatever its host name.
pgrep -x slurmd >/dev/null || slurmd -N localhost || fail slurmd
for _ in $(seq 100); do
  state=$(sinfo -h -o %T 2>/dev/null | head -1 || true)
  case "$state" in
    idle*|mix*|alloc*) echo "slurm-up: localhost $state, $cpus CPUs"; exit 0 ;;
  esac
  sleep 0.2
done
scontrol update nodename=localhost state=resume >/dev/null 2>&1 || true
sinfo -h -o '%N %T %c' >&2
echo "slurm-up: the node did not come up; see /var/log/slurm/" >&2
exit 1
