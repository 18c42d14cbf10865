#!/bin/bash
# Start a one-node SLURM cluster on this machine for `make test-slurm`: Debian's slurm-wlm
# (22.05 on bookworm) and munge, run as root without systemd or cgroups; stop it with
# tests/slurm/stop.sh. Exit status 3, with nothing started, where it cannot run: not
# root, or no apt-get to install the packages.
#   SLURM_ACCOUNTING=1 also starts slurmdbd with MariaDB, so `sacct` answers as on a
#                      cluster with accounting (default 0: no accounting).
#   SLURM_JOB_NICE     nice value of every job (jobs inherit slurmd's; default 19, so the
#                      trainings leave the machine responsive).
#   SLURM_PARTITION    name of the node's one partition, which has no GPUs (default cpu).
set -euo pipefail
ACCOUNTING=${SLURM_ACCOUNTING:-0}
JOB_NICE=${SLURM_JOB_NICE:-19}
PARTITION=${SLURM_PARTITION:-cpu}

skip() { echo "SLURM not started: $*" >&2; exit 3; }
[ "$(id -u)" = 0 ] || skip "needs root (it installs packages and runs the daemons)"
command -v apt-get >/dev/null || skip "needs apt-get (Debian/Ubuntu packages slurm-wlm, munge)"
if [ -s /run/slurmctld.pid ] && kill -0 "$(cat /run/slurmctld.pid)" 2>/dev/null; then
  echo "a slurmctld is already running (pid $(cat /run/slurmctld.pid)): stop it first" >&2
  exit 1
fi

packages="slurm-wlm munge"
[ "$ACCOUNTING" = 1 ] && packages="$packages slurmdbd mariadb-server"
missing=$(for p in $packages; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
if [ -n "$missing" ]; then
  # An invoke-rc.d policy that forbids starting services: no daemon starts on install.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
  apt-get update -q >/dev/null
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >/dev/null \
    || skip "apt-get install $missing failed"
  rm -f /usr/sbin/policy-rc.d
fi

# Authentication: munge with the key its package made (or a new one).
[ -s /etc/munge/munge.key ] || mungekey --create --keyfile=/etc/munge/munge.key
chown munge:munge /etc/munge/munge.key
chmod 400 /etc/munge/munge.key
install -d -o munge -g munge -m 0755 /run/munge
runuser -u munge -- /usr/sbin/munged
munge -n | unmunge >/dev/null

if [ "$ACCOUNTING" = 1 ]; then
  install -d -o mysql -g mysql /run/mysqld
  runuser -u mysql -- /usr/sbin/mariadbd --bind-address=127.0.0.1 \
    --pid-file=/run/mysqld/mysqld.pid >/var/log/mariadbd.log 2>&1 &
  for _ in $(seq 60); do mysqladmin ping >/dev/null 2>&1 && break; sleep 1; done
  password=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
  mysql -e "CREATE DATABASE IF NOT EXISTS slurm_acct_db;
            CREATE USER IF NOT EXISTS 'slurm'@'localhost';
            ALTER USER 'slurm'@'localhost' IDENTIFIED BY '${password}';
            GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost'; FLUSH PRIVILEGES;"
  install -d -o slurm -g slurm /var/log/slurm
  install -o slurm -g slurm -m 600 /dev/null /etc/slurm/slurmdbd.conf
  cat > /etc/slurm/slurmdbd.conf <<EOF
AuthType=auth/munge
DbdHost=localhost
SlurmUser=slurm
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=slurm
StoragePass=${password}
StorageLoc=slurm_acct_db
LogFile=/var/log/slurm/slurmdbd.log
PidFile=/run/slurmdbd.pid
EOF
  /usr/sbin/slurmdbd
  accounting="AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
JobAcctGatherType=jobacct_gather/linux"
else
  accounting="AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none"
fi

host=$(hostname -s)
memory_mb=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 * 85 / 100 ))
install -d -o slurm -g slurm /var/spool/slurmctld /var/log/slurm
install -d /var/spool/slurmd
# MinJobAge: finished jobs stay visible to `squeue` for 10 minutes, which the plugin's
# squeue status command needs (it falls back to sacct below 3x its first poll interval).
cat > /etc/slurm/slurm.conf <<EOF
ClusterName=local
SlurmctldHost=${host}
SlurmUser=slurm
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
JobCompType=jobcomp/none
${accounting}
MinJobAge=600
ReturnToService=2
NodeName=${host} CPUs=$(nproc) RealMemory=${memory_mb} State=UNKNOWN
PartitionName=${PARTITION} Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
chmod 644 /etc/slurm/slurm.conf

if [ "$ACCOUNTING" = 1 ]; then
  for _ in $(seq 60); do sacctmgr -n list cluster >/dev/null 2>&1 && break; sleep 1; done
  sacctmgr -i add cluster local >/dev/null || true
  sacctmgr -i add account default Description=default Organization=local >/dev/null || true
  sacctmgr -i add user root Account=default DefaultAccount=default >/dev/null || true
fi

/usr/sbin/slurmctld
nice -n "$JOB_NICE" /usr/sbin/slurmd
for _ in $(seq 30); do sinfo -h -o %T 2>/dev/null | grep -qx idle && break; sleep 1; done
sinfo -h -o %T | grep -qx idle || { echo "the node never became idle" >&2; exit 1; }
srun -N1 true
echo "one-node SLURM is up: partition ${PARTITION}, accounting ${ACCOUNTING}, job nice ${JOB_NICE}"
