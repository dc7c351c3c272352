#!/usr/bin/env bash
# A throw-away single-node Slurm cluster in one directory, for tests (tests/slurm.rs) and for
# trying the job-array recipe of docs/scale-out.md by hand.
#
#   scripts/slurm_cluster.sh start DIR [CTLD_PORT SLURMD_PORT]   # prints SLURM_CONF=DIR/slurm.conf
#   scripts/slurm_cluster.sh stop DIR                            # cancels jobs, stops the daemons
#
# start brings up munged, slurmctld and slurmd (Debian's slurm-wlm packages: slurmctld, slurmd,
# slurm-client, munge) with every file under DIR: a fresh munge key and socket, slurm.conf, state,
# spool, logs and pid files. Nothing outside DIR is read or written, and the ports are the
# caller's (default 6817/6818), so it does not touch a system Slurm. Exit codes of start:
#   0   the node is idle and accepts jobs; use SLURM_CONF=DIR/slurm.conf with the clients
#   77  cannot run here (not root, or Slurm/munge not installed); the reason is on stderr
#   1   it was installed but did not come up; the logs' tails are on stderr
# Run stop after start on every path, also after a failed start: it stops whatever was started,
# by the pids recorded in DIR, TERM first and KILL after a grace period.
set -euo pipefail

usage() {
  echo "usage: $0 start DIR [CTLD_PORT SLURMD_PORT] | $0 stop DIR" >&2
  exit 2
}

skip() {
  echo "slurm_cluster: cannot run a cluster here: $*" >&2
  exit 77
}

# Sends TERM to the pids in files "$@" at once, then KILL to those still there after about 5 s;
# removes the pid files (a second stop has nothing to do).
stop_pids() {
  local f pid pids=()
  for f in "$@"; do
    [ -s "$f" ] || continue
    pid=$(cat "$f")
    rm -f "$f"
    case $pid in '' | *[!0-9]*) continue ;; esac
    kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
  done
  for _ in $(seq 50); do
    local alive=()
    for pid in "${pids[@]}"; do
      kill -0 "$pid" 2>/dev/null && alive+=("$pid")
    done
    [ ${#alive[@]} = 0 ] && return 0
    pids=("${alive[@]}")
    sleep 0.1
  done
  kill -KILL "${pids[@]}" 2>/dev/null || true
}

# The tails of the daemons' logs, on stderr.
show_logs() {
  local f
  for f in "$DIR"/log/*.log; do
    [ -f "$f" ] || continue
    echo "---- $f" >&2
    tail -n 20 "$f" >&2
  done
}

start() {
  [ "$(id -u)" = 0 ] || skip "not root (munged must run as the munge user, slurmd as root)"
  local bin
  for bin in slurmctld slurmd munged mungekey sbatch sinfo setpriv; do
    PATH="$PATH:/usr/sbin:/sbin" command -v "$bin" >/dev/null 2>&1 \
      || skip "$bin is not installed (scripts/ci/install-slurm.sh installs Slurm and munge)"
  done
  id munge >/dev/null 2>&1 || skip "there is no munge user (is the munge package installed?)"
  export PATH="$PATH:/usr/sbin:/sbin"

  local ctld_port=${1:-6817} slurmd_port=${2:-6818}
  local host
  host=$(hostname -s 2>/dev/null || echo localhost)
  mkdir -p "$DIR"/{munge,state,spool,log,run}
  # munged runs as munge: it must reach its directory; the key is private to it.
  chmod 0755 "$DIR"
  chown munge:munge "$DIR/munge"
  chmod 0755 "$DIR/munge"
  mungekey --create --keyfile="$DIR/munge/munge.key" 2>/dev/null \
    || mungekey -c -k "$DIR/munge/munge.key"
  chown munge:munge "$DIR/munge/munge.key"
  chmod 0600 "$DIR/munge/munge.key"
  local sock=$DIR/munge/munge.socket
  # Daemons get their own output files: one that keeps the caller's stdout open hangs it.
  setpriv --reuid=munge --regid=munge --init-groups /usr/sbin/munged --foreground \
    --key-file="$DIR/munge/munge.key" --socket="$sock" \
    --pid-file="$DIR/munge/munged.pid" --log-file="$DIR/munge/munged.log" \
    --seed-file="$DIR/munge/munged.seed" >"$DIR/log/munged-out.log" 2>&1 &
  echo $! >"$DIR/run/munged.pid"
  local ok=
  for _ in $(seq 50); do
    if munge -S "$sock" -n 2>/dev/null | unmunge -S "$sock" >/dev/null 2>&1; then
      ok=1
      break
    fi
    sleep 0.1
  done
  if [ -z "$ok" ]; then
    cp "$DIR/munge/munged.log" "$DIR/log/munged.log" 2>/dev/null || true
    echo "slurm_cluster: munged did not answer on $sock" >&2
    show_logs
    exit 1
  fi

  # The node claims 64 CPUs whatever the machine has (SlurmdParameters=config_overrides), so
  # scripts asking for several CPUs per task run unchanged on a small machine, many at a time.
  cat >"$DIR/slurm.conf" <<EOF
ClusterName=gclabtest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$sock
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/run/slurmctld-own.pid
SlurmdPidFile=$DIR/run/slurmd-own.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
MailProg=/bin/true
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
ReturnToService=2
MinJobAge=600
KillWait=5
DependencyParameters=kill_invalid_depend
NodeName=$host NodeAddr=127.0.0.1 CPUs=64 RealMemory=1024 State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
  slurmctld -D -i -f "$DIR/slurm.conf" >"$DIR/log/slurmctld-out.log" 2>&1 &
  echo $! >"$DIR/run/slurmctld.pid"
  slurmd -D -N "$host" -f "$DIR/slurm.conf" >"$DIR/log/slurmd-out.log" 2>&1 &
  echo $! >"$DIR/run/slurmd.pid"
  export SLURM_CONF=$DIR/slurm.conf
  # Wait for the node to be idle: at most 30 s, less if a daemon exits (a port in use, a bad
  # configuration). A client call to a controller that is not up retries for a while: bounded.
  local state= d deadline=$((SECONDS + 30))
  while [ $SECONDS -lt $deadline ]; do
    for d in slurmctld slurmd; do
      if ! kill -0 "$(cat "$DIR/run/$d.pid")" 2>/dev/null; then
        echo "slurm_cluster: $d exited during start-up" >&2
        show_logs
        exit 1
      fi
    done
    state=$(timeout 3 sinfo -h -N -o %t 2>/dev/null || true)
    [ "$state" = idle ] && break
    sleep 0.1
  done
  if [ "$state" != idle ]; then
    echo "slurm_cluster: the node is not idle after 30 s (state: '${state:-none}')" >&2
    show_logs
    exit 1
  fi
  echo "SLURM_CONF=$DIR/slurm.conf"
}

stop() {
  export PATH="$PATH:/usr/sbin:/sbin"
  local ctld
  ctld=$(cat "$DIR/run/slurmctld.pid" 2>/dev/null || true)
  if [ -n "$ctld" ] && kill -0 "$ctld" 2>/dev/null && [ -f "$DIR/slurm.conf" ]; then
    export SLURM_CONF=$DIR/slurm.conf
    # Cancel every job of this cluster and give slurmd the time to end their processes.
    local jobs
    jobs=$(timeout 10 squeue -h -o %i 2>/dev/null || true)
    if [ -n "$jobs" ]; then
      # shellcheck disable=SC2086
      timeout 10 scancel $jobs 2>/dev/null || true
      for _ in $(seq 100); do
        [ -z "$(timeout 5 squeue -h -t R,CG -o %i 2>/dev/null || true)" ] && break
        sleep 0.1
      done
    fi
  fi
  stop_pids "$DIR/run/slurmd.pid" "$DIR/run/slurmctld.pid" "$DIR/run/munged.pid"
}

[ $# -ge 2 ] || usage
DIR=$(realpath -m "$2")
case $1 in
  start)
    shift 2
    start "$@"
    ;;
  stop) stop ;;
  *) usage ;;
esac
