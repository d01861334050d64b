#!/usr/bin/env bash
# Installs burrowd, Burrow's privileged helper, as a systemd service (Linux). The desktop app runs
# this file as root after asking for the administrator password (main/helper-install.ts); by hand:
#   sudo scripts/install-helper.sh
# It takes no arguments, so nothing a user types in the app can reach it. Environment:
#   BURROW_HELPER_BINARY=PATH       the packaged burrowd to copy in (set by the packaged app);
#                                   without it, a launcher for this checkout's bin/burrowd
#   DESTDIR=DIR                     write the files under DIR instead of / (tests, packaging)
#   BURROW_INSTALL_NO_SYSTEMCTL=1   write the files only: no daemon-reload, enable or start
# The user who asked for the install (PKEXEC_UID or SUDO_UID, set by pkexec or sudo) becomes
# burrowd's operator, who may change settings without root: that is how the app turns things on.
set -euo pipefail
umask 022

dest=${DESTDIR:-}
libdir=/usr/local/lib/burrow
unit=/etc/systemd/system/burrowd.service
socket=/run/burrow/burrowd.sock
checkout=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)

fail() {
  echo "install-helper: $*" >&2
  exit 1
}

[[ $(id -u) == 0 || -n $dest ]] || fail "must run as root"

# write FILE MODE: stdin to FILE, replaced in one step (a running burrowd keeps its old binary).
write() {
  local tmp
  tmp=$(mktemp "$1.XXXXXX")
  cat >"$tmp"
  chmod "$2" "$tmp"
  mv -f "$tmp" "$1"
}

install -d -m 0755 "$dest$libdir" "$dest$(dirname "$unit")"

if [[ -n ${BURROW_HELPER_BINARY:-} ]]; then
  [[ $BURROW_HELPER_BINARY == /* && -f $BURROW_HELPER_BINARY && -x $BURROW_HELPER_BINARY ]] ||
    fail "BURROW_HELPER_BINARY=$BURROW_HELPER_BINARY is not an executable file"
  write "$dest$libdir/burrowd" 0755 <"$BURROW_HELPER_BINARY"
  echo "installed $BURROW_HELPER_BINARY as $libdir/burrowd"
else
  target=$checkout/bin/burrowd
  [[ -x $target ]] || fail "$target is missing"
  # Root will run code from the checkout at every boot: whoever can write there can become root.
  if [[ $(stat -c %u "$checkout") != 0 ]]; then
    echo "warning: $checkout is not owned by root; this install is for development only" >&2
  fi
  write "$dest$libdir/burrowd" 0755 <<EOF
#!/bin/bash
# Written by scripts/install-helper.sh: runs burrowd from a development checkout.
exec $(printf '%q' "$target") "\$@"
EOF
  echo "installed a launcher for $target as $libdir/burrowd"
fi

operator=${PKEXEC_UID:-${SUDO_UID:-}}
[[ $operator =~ ^[1-9][0-9]*$ ]] || operator=

write "$dest$unit" 0644 <<EOF
# Written by Burrow's scripts/install-helper.sh.
[Unit]
Description=Burrow mesh VPN helper (burrowd)
Wants=network-online.target
After=network-online.target

[Service]
ExecStart=$libdir/burrowd --socket $socket${operator:+ --operator $operator}
Restart=on-failure
RestartSec=2s
RuntimeDirectory=burrow
RuntimeDirectoryMode=0755
StateDirectory=burrow
StateDirectoryMode=0700

[Install]
WantedBy=multi-user.target
EOF
echo "wrote $unit${operator:+ (operator: uid $operator)}"

if [[ ${BURROW_INSTALL_NO_SYSTEMCTL:-} == 1 ]]; then
  echo "burrowd is installed (not started: BURROW_INSTALL_NO_SYSTEMCTL=1)"
  exit 0
fi
[[ -z $dest ]] || fail "DESTDIR is set: not starting a service from outside /"
systemctl daemon-reload
# A reinstall replaced the binary: a running burrowd restarts into it.
systemctl try-restart burrowd.service
systemctl enable --now burrowd.service
echo "burrowd is installed and running"
