#!/usr/bin/env bash
# Installs the real peers the integration tests talk to (see ../shared/PEERS.md).
# As root it installs what is missing with apt-get; otherwise it prints exactly
# what to install and fails, so nothing is ever silently skipped.
set -euo pipefail

# binary-or-module -> Debian package
declare -A peers=(
  [prosody]=prosody
  [baresip]=baresip
  [sipp]=sip-tester
  [redis-server]=redis-server
  [sox]=sox
  [openssl]=openssl
  [linphonec]=linphone-cli
  [tmux]=tmux
)
# baresip's audio file modules come in a separate package on some releases.
extra_packages=(baresip-core python3-slixmpp ca-certificates)

missing=()
for bin in "${!peers[@]}"; do
  command -v "$bin" >/dev/null 2>&1 || missing+=("${peers[$bin]}")
done
/usr/bin/python3 -c 'import slixmpp' >/dev/null 2>&1 || missing+=(python3-slixmpp)
# The codec interop tests load the C codecs baresip uses, as reference.
declare -A libraries=([libopus.so.0]=libopus0 [libspandsp.so.2]=libspandsp2)
for lib in "${!libraries[@]}"; do
  ldconfig -p 2>/dev/null | grep -q "$lib" || missing+=("${libraries[$lib]}")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-peers: every test peer is present"
  exit 0
fi

# Deduplicate while keeping the order stable for the message below.
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)

if [ "$(id -u)" -ne 0 ]; then
  echo "install-peers: missing test peers; install them as root with:" >&2
  echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
  exit 1
fi

echo "install-peers: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" "${extra_packages[@]}" >/dev/null
# The Debian prosody package starts a system-wide daemon on 5222/5269/5347;
# the tests run their own instances, so stop it and keep it from coming back.
if command -v systemctl >/dev/null 2>&1; then systemctl disable --now prosody >/dev/null 2>&1 || true; fi
if [ -x /etc/init.d/prosody ]; then /etc/init.d/prosody stop >/dev/null 2>&1 || true; fi
pkill -x prosody >/dev/null 2>&1 || true
pkill -x redis-server >/dev/null 2>&1 || true
echo "install-peers: done"
