#!/usr/bin/env bash
# make run: start the bridge for a local trial. As root it also installs (if
# missing) and starts a local Prosody with the bridge as its MUC component and
# two demo accounts, so both faces of a room can be tried on one machine.
# It stops only what it started, by pid: its Prosody and the bridge.
set -euo pipefail

bin=${1:-bin/bridge}
top=$(cd "$(dirname "$0")/.." && pwd)
run_dir="$top/.run"
xmpp_host=${XMPP_HOST:-localhost}
muc_domain=${BRIDGE_XMPP_DOMAIN:-conference.$xmpp_host}
c2s_port=${C2S_PORT:-5222}
component_port=${COMPONENT_PORT:-5347}
sip_listen=${BRIDGE_SIP_LISTEN:-127.0.0.1:5060}
sip_domain=${BRIDGE_SIP_DOMAIN:-${sip_listen%:*}}
http_listen=${BRIDGE_HTTP_LISTEN:-127.0.0.1:8080}
room=standup

mkdir -p "$run_dir"
prosody_pid=""
cleanup() {
  if [ -n "$prosody_pid" ] && kill -0 "$prosody_pid" 2>/dev/null; then
    kill "$prosody_pid" 2>/dev/null || true
    wait "$prosody_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT

chat=off
if [ -n "${BRIDGE_XMPP_SECRET:-}" ]; then
  chat="external"   # the operator brings their own XMPP server
elif [ "$(id -u)" -eq 0 ]; then
  if ! command -v prosody >/dev/null 2>&1; then
    echo "run: installing prosody for the chat face (its system service is not started)"
    "$top/scripts/apt-install-no-start.sh" prosody openssl
  fi
  chat=local
else
  echo "run: not root, so no local Prosody; the chat face stays off."
  echo "     (run as root, or set BRIDGE_XMPP_SECRET for your own XMPP server's component)"
fi

if [ "$chat" = local ]; then
  pdir="$run_dir/prosody"
  mkdir -p "$pdir/certs" "$pdir/data"
  secret_file="$pdir/component-secret"
  [ -s "$secret_file" ] || head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$secret_file"
  secret=$(cat "$secret_file")
  if [ ! -s "$pdir/certs/$xmpp_host.crt" ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=$xmpp_host" \
      -addext "subjectAltName=DNS:$xmpp_host,DNS:$muc_domain" \
      -keyout "$pdir/certs/$xmpp_host.key" -out "$pdir/certs/$xmpp_host.crt" 2>/dev/null
  fi
  sed -e "s|@RUN_DIR@|$pdir|g" -e "s|@REPO_DIR@|$top|g" -e "s|@XMPP_HOST@|$xmpp_host|g" -e "s|@MUC_DOMAIN@|$muc_domain|g" \
      -e "s|@C2S_PORT@|$c2s_port|g" -e "s|@COMPONENT_PORT@|$component_port|g" \
      -e "s|@COMPONENT_SECRET@|$secret|g" "$top/deploy/local/prosody.cfg.lua.in" > "$pdir/prosody.cfg.lua"
  for user in alice bob; do
    prosodyctl --config "$pdir/prosody.cfg.lua" register "$user" "$xmpp_host" "$user" >/dev/null 2>&1 || true
  done
  # Another server on these ports (the system's Prosody, say) is left alone;
  # ours would not start, and the wait below would take theirs for it.
  for port in "$c2s_port" "$component_port"; do
    if (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null; then
      echo "run: 127.0.0.1:$port is already in use; set C2S_PORT and COMPONENT_PORT to free ports" >&2
      exit 1
    fi
  done
  prosody --config "$pdir/prosody.cfg.lua" >"$pdir/stdout.log" 2>&1 &
  prosody_pid=$!
  for _ in $(seq 1 100); do
    (exec 3<>/dev/tcp/127.0.0.1/"$component_port") 2>/dev/null && break
    kill -0 "$prosody_pid" 2>/dev/null || { echo "run: prosody failed to start; see $pdir/prosody.log" >&2; exit 1; }
    sleep 0.1
  done
  export BRIDGE_XMPP_SECRET=$secret
  export BRIDGE_XMPP_COMPONENT=127.0.0.1:$component_port
  export BRIDGE_XMPP_DOMAIN=$muc_domain
fi

export BRIDGE_SIP_LISTEN=$sip_listen BRIDGE_SIP_DOMAIN=$sip_domain BRIDGE_HTTP_LISTEN=$http_listen
# Browser join: plain HTTP is a secure context on 127.0.0.1, so the
# microphone works without a certificate for a local trial.
web_listen=${BRIDGE_WEB_LISTEN:-127.0.0.1:8443}
export BRIDGE_WEB_LISTEN=$web_listen
export BRIDGE_DATA_DIR=${BRIDGE_DATA_DIR:-$run_dir/data}

cat <<MSG

  CUSAX Bridge, local trial
  -------------------------
  Audio: dial sip:$room@$sip_domain (SIP on $sip_listen, UDP and TCP), e.g.
           baresip -e "/dial sip:$room@$sip_listen"
MSG
if [ "$chat" = local ]; then
cat <<MSG
  Chat:  sign in as alice@$xmpp_host (password alice) or bob@$xmpp_host (password bob)
         on 127.0.0.1:$c2s_port (self-signed certificate: accept it), then join
           $room@$muc_domain
         Its room info shows the audio URI sip:$room@$sip_domain. In the room, you get
         your personal dial-in URI by private message (or type !dialin): call it and the
         room knows the call is yours.
  Browser: the same private message has your personal browser link,
           http://$web_listen/join/$room#<token>: open it in Chromium or Firefox on this
         machine, press "Join audio" and allow the microphone; you are in the call as
         yourself, under the room's moderation. Without a link, http://$web_listen/join/$room
         lets anyone in with a name, where an unknown caller would be let in.
MSG
fi
cat <<MSG
  Ops:   http://$http_listen/healthz  /readyz  /metrics
  Stop:  Ctrl-C

MSG

"$bin" &
bridge_pid=$!
trap 'kill -TERM $bridge_pid 2>/dev/null || true' INT TERM
set +e
wait "$bridge_pid"; status=$?
# A trapped signal interrupts the first wait; wait again for the clean stop.
if kill -0 "$bridge_pid" 2>/dev/null; then wait "$bridge_pid"; status=$?; fi
exit $status
