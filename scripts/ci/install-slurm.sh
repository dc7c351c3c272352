#!/usr/bin/env bash
# Installs a single-node Slurm (Debian's slurmctld, slurmd, slurm-client) and munge for
# tests/slurm.rs, when run as root on a Debian-like system without them. Never fails the caller:
# when it cannot install, the test skips and says why. The packaged services are not started
# (scripts/slurm_cluster.sh runs its own daemons, with its own configuration, in a temp dir).
set -uo pipefail
PATH="$PATH:/usr/sbin:/sbin"
if command -v slurmctld >/dev/null 2>&1 && command -v slurmd >/dev/null 2>&1 \
  && command -v sbatch >/dev/null 2>&1 && command -v munged >/dev/null 2>&1; then
  echo "Slurm is installed: $(dpkg-query -W -f='${Package} ${Version} ' slurmctld slurmd 2>/dev/null)"
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "not root or no apt-get: Slurm not installed; tests/slurm.rs will skip"
  exit 0
fi
# Keep apt from starting the packaged daemons (they would take ports 6817/6818): an image
# without a policy-rc.d gets one for the install only.
added_policy=
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod 0755 /usr/sbin/policy-rc.d
  added_policy=1
fi
export DEBIAN_FRONTEND=noninteractive
if timeout 150 bash -c 'apt-get update -qq && apt-get install -y -qq --no-install-recommends \
    slurmctld slurmd slurm-client munge >/dev/null'; then
  echo "installed: $(dpkg-query -W -f='${Package} ${Version} ' slurmctld slurmd 2>/dev/null)"
else
  echo "Slurm could not be installed; tests/slurm.rs will skip"
fi
[ -n "$added_policy" ] && rm -f /usr/sbin/policy-rc.d
exit 0
