#!/usr/bin/env bash
# Installs the named Debian packages if they are missing (idempotent; apt-get update at most once
# per hour). Used by e2e test setup: `scripts/install-debs.sh prometheus prometheus-alertmanager`.
set -euo pipefail
SUDO=; [[ $(id -u) -eq 0 ]] || SUDO=sudo
missing=()
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
((${#missing[@]})) || exit 0
stamp=/var/lib/apt/periodic/headroom-update-stamp
if [[ ! -f $stamp ]] || [[ -n $(find "$stamp" -mmin +60 2>/dev/null) ]]; then
  echo "install-debs: apt-get update" >&2
  $SUDO apt-get update -qq
  $SUDO mkdir -p "$(dirname "$stamp")" && $SUDO touch "$stamp"
fi
echo "install-debs: apt-get install ${missing[*]}" >&2
# Debian packages of daemons start their service on install; policy-rc.d 101 stops that, since
# tests start their own instances on their own ports.
policy=/usr/sbin/policy-rc.d
created=0
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null && $SUDO chmod +x "$policy" && created=1
fi
trap '((created)) && $SUDO rm -f "$policy"' EXIT
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
