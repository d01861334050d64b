#!/usr/bin/env bash
# Uninstalls burrow-server: stops and disables the service, then removes what
# scripts/install-server.sh wrote, and nothing else. Running it again does nothing more. By hand:
#   sudo /usr/local/lib/burrow-server/uninstall-server.sh
# It takes no arguments. Environment:
#   BURROW_PURGE=1                  also delete the database and the server's keys
#                                   (/var/lib/burrow-server) and /etc/burrow-server/config.hujson
#                                   even when edited; kept otherwise
#   DESTDIR=DIR                     work under DIR instead of / (tests, packaging)
#   BURROW_INSTALL_NO_SYSTEMCTL=1   files only: no stop, disable or daemon-reload
# The config goes when it is still the sample as installed; an edited one stays (unless purging),
# and so does anything else in /etc/burrow-server (policy files, say).
set -euo pipefail
shopt -s nullglob

dest=${DESTDIR:-}
libdir=/usr/local/lib/burrow-server
unit=/etc/systemd/system/burrow-server.service
config=/etc/burrow-server/config.hujson
link=/usr/local/bin/burrow-server
marker="# Written by Burrow's scripts/install-server.sh"

fail() {
  echo "uninstall-server: $*" >&2
  exit 1
}

[[ $(id -u) == 0 || -n $dest ]] || fail "must run as root"
[[ ${BURROW_INSTALL_NO_SYSTEMCTL:-} == 1 || -z $dest ]] ||
  fail "DESTDIR is set: not stopping a service outside /"
purge=${BURROW_PURGE:-}
[[ -z $purge || $purge == 1 ]] || fail "BURROW_PURGE=$purge: only 1 means anything"
systemctl=1
if [[ ${BURROW_INSTALL_NO_SYSTEMCTL:-} == 1 ]]; then systemctl=; fi

if [[ -f $dest$unit ]] && grep -qF "$marker" "$dest$unit"; then
  if [[ -n $systemctl ]]; then
    systemctl disable --now burrow-server.service ||
      echo "warning: could not stop or disable burrow-server.service" >&2
  fi
  rm -f "$dest$unit"
  echo "removed $unit"
elif [[ -e $dest$unit ]]; then
  echo "warning: $unit was not written by install-server.sh: left alone" >&2
fi

if [[ -L $dest$link && $(readlink "$dest$link") == "$libdir/burrow-server" ]]; then
  rm -f "$dest$link"
  echo "removed the link $link"
fi

if [[ -e $dest$config ]]; then
  if [[ -n $purge ]] || cmp -s "$dest$config" "$dest$libdir/config.sample.hujson"; then
    rm -f "$dest$config"
    echo "removed $config"
  else
    echo "kept $config (edited; BURROW_PURGE=1 removes it)"
  fi
fi
if [[ -d $dest${config%/*} ]] && ! rmdir "$dest${config%/*}" 2>/dev/null; then
  echo "kept ${config%/*}, which holds other files"
fi

if [[ -d $dest$libdir ]]; then
  for f in "$dest$libdir"/{burrow-server,config.sample.hujson,uninstall-server.sh} "$dest$libdir"/*.node; do
    if [[ -e $f || -L $f ]]; then rm -f "$f"; fi
  done
  if rmdir "$dest$libdir" 2>/dev/null; then
    echo "removed $libdir"
  else
    echo "warning: $libdir holds files the installer did not write: left alone" >&2
  fi
fi

# With DynamicUser= the state lives in /var/lib/private/burrow-server, /var/lib/burrow-server
# being a link to it.
if [[ -n $purge ]]; then
  for state in /var/lib/burrow-server /var/lib/private/burrow-server; do
    if [[ -e $dest$state || -L $dest$state ]]; then
      rm -rf "$dest$state"
      echo "removed $state"
    fi
  done
elif [[ -e $dest/var/lib/burrow-server ]]; then
  echo "kept /var/lib/burrow-server (the database and keys; BURROW_PURGE=1 removes it)"
fi

if [[ -n $systemctl ]]; then
  systemctl daemon-reload
  systemctl reset-failed burrow-server.service 2>/dev/null || true
fi
echo "burrow-server is uninstalled"
