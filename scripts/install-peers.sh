#!/usr/bin/env bash
# Installs the real peers the integration tests talk to (see ../shared/PEERS.md).
# As root it installs what is missing with apt-get, starting none of the
# packages' services (apt-install-no-start.sh); otherwise it prints exactly
# what to install and fails, so nothing is ever silently skipped. It stops
# nothing: the tests start and stop their own instances.
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
  [chromium]=chromium    # browser join and page tests (chromedp)
  [espeak-ng]=espeak-ng  # make prompts: the voice prompts
  [tshark]=tshark        # media security: no PCMU in the clear on an SRTP leg
  [ejabberdctl]=ejabberd # the component link over TLS (ejabberd_service tls: true)
  [lua5.4]=lua5.4        # mod_cusax_multicast's tests run its Lua as Prosody does
  [janus]=janus          # make bench-load: Janus AudioBridge, measured beside the bridge
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
  echo "(or run this script as root: it also keeps their services from starting)" >&2
  exit 1
fi

echo "install-peers: installing ${missing[*]}"
# tshark's wireshark-common asks whether non-root users may capture: no.
if printf '%s\n' "${missing[@]}" | grep -qx tshark; then
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
fi
# Debian's services (prosody, redis-server, ...) are not started by the
# install: the tests run their own instances.
"$(dirname "$0")/apt-install-no-start.sh" "${missing[@]}" "${extra_packages[@]}"
echo "install-peers: done"
