#!/usr/bin/env bash
# Installs Debian packages (as root) without starting any service they bring.
# prosody, redis-server, ejabberd, janus and the like would otherwise start
# system-wide daemons on their standard ports; the tests and `make run` start
# their own instances, and stop only those, by pid.
#
# Debian's maintainer scripts start services through invoke-rc.d (or
# deb-systemd-invoke), which first run /usr/sbin/policy-rc.d: its exit code
# 101 means "action forbidden" (/usr/share/doc/init-system-helpers/
# README.policy-rc.d.gz). Such a policy is put in place for this install only;
# one that was already there is set aside and put back afterwards.
set -euo pipefail

if [ $# -eq 0 ]; then
  echo "usage: $0 package..." >&2
  exit 2
fi

policy=/usr/sbin/policy-rc.d
kept=""   # a copy of the policy-rc.d that was there before, if any
new=""    # ours, before it is moved into place
ours=0    # set once ours may stand at $policy
restore_policy() {
  [ -z "$new" ] || rm -f "$new"
  if [ "$ours" = 1 ]; then
    rm -f "$policy"
    if [ -n "$kept" ]; then mv -f "$kept" "$policy"; fi
  elif [ -n "$kept" ]; then
    rm -f "$kept"
  fi
}
trap restore_policy EXIT
trap 'exit 130' INT TERM HUP

if [ -e "$policy" ] || [ -L "$policy" ]; then
  copy=$(mktemp "$policy.kept.XXXXXX")
  cp -a "$policy" "$copy"
  kept=$copy
fi
new=$(mktemp "$policy.new.XXXXXX")
printf '#!/bin/sh\n# Written by %s: no service starts during this apt-get install.\nexit 101\n' "$0" >"$new"
chmod 0755 "$new"
ours=1
mv -f "$new" "$policy"
new=""

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "$@" >/dev/null
