#!/usr/bin/env bash
# Uninstalls burrowd: stops and disables the service, then removes what scripts/install-helper.sh
# wrote, and nothing else. Running it again does nothing more. By hand:
#   sudo /usr/local/lib/burrow/uninstall-helper.sh     (where a copying install put it)
#   sudo scripts/uninstall-helper.sh                   (from a checkout)
# Like the installer it takes no arguments. Environment:
#   BURROW_PURGE=1                  also delete /var/lib/burrow: this device's keys and settings
#                                   (kept otherwise, so that a reinstall is the same device)
#   BURROW_HELPER_DIR=DIR           where an in-place install ran burrowd from (the deb's
#                                   /opt/Burrow/resources/helper), when its unit is gone already
#   DESTDIR=DIR                     work under DIR instead of / (tests, packaging)
#   BURROW_INSTALL_NO_SYSTEMCTL=1   files only: no stop, disable or daemon-reload
# A file the installer did not write (a unit without its mark, a burrow in /usr/local/bin that is
# not a link to ours) is left alone, and so is a directory that still holds something else.
set -euo pipefail
shopt -s nullglob

dest=${DESTDIR:-}
libdir=/usr/local/lib/burrow
unit=/etc/systemd/system/burrowd.service
dropin=/etc/systemd/system/burrowd.service.d/checkout.conf
state=/var/lib/burrow
marker="# Written by Burrow's scripts/install-helper.sh"

fail() {
  echo "uninstall-helper: $*" >&2
  exit 1
}

[[ $(id -u) == 0 || -n $dest ]] || fail "must run as root"
[[ ${BURROW_INSTALL_NO_SYSTEMCTL:-} == 1 || -z $dest ]] ||
  fail "DESTDIR is set: not stopping a service outside /"
purge=${BURROW_PURGE:-}
[[ -z $purge || $purge == 1 ]] || fail "BURROW_PURGE=$purge: only 1 means anything"
helper_dir=${BURROW_HELPER_DIR:-}
[[ -z $helper_dir || $helper_dir == /* ]] || fail "BURROW_HELPER_DIR=$helper_dir is not an absolute path"

ours() { [[ -f $1 ]] && grep -qF "$marker" "$1"; }
systemctl=1
if [[ ${BURROW_INSTALL_NO_SYSTEMCTL:-} == 1 ]]; then systemctl=; fi

# The links the installer may have made, and what they point to when they are ours.
targets=("$libdir/burrow")
[[ -z $helper_dir ]] || targets+=("$helper_dir/burrow")
if ours "$dest$unit"; then
  exec_path=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$dest$unit" | head -n 1)
  [[ -z $exec_path ]] || targets+=("${exec_path%/*}/burrow")
  if [[ -n $systemctl ]]; then
    systemctl disable --now burrowd.service || echo "warning: could not stop or disable burrowd.service" >&2
  fi
  rm -f "$dest$unit"
  echo "removed $unit"
elif [[ -e $dest$unit ]]; then
  echo "warning: $unit was not written by install-helper.sh: left alone" >&2
fi

if ours "$dest$dropin"; then
  rm -f "$dest$dropin"
  echo "removed $dropin"
fi
[[ ! -d $dest${dropin%/*} ]] || rmdir "$dest${dropin%/*}" 2>/dev/null ||
  echo "warning: ${dropin%/*} holds other files: left alone" >&2

for link in /usr/local/bin/burrow /usr/bin/burrow; do
  [[ -L $dest$link ]] || continue
  to=$(readlink "$dest$link")
  for target in "${targets[@]}"; do
    if [[ $to == "$target" ]]; then
      rm -f "$dest$link"
      echo "removed the link $link"
      break
    fi
  done
done

if [[ -d $dest$libdir ]]; then
  for f in "$dest$libdir"/{burrowd,burrow,burrowd-wg,uninstall-helper.sh} "$dest$libdir"/*.node; do
    if [[ -e $f || -L $f ]]; then rm -f "$f"; fi
  done
  if rmdir "$dest$libdir" 2>/dev/null; then
    echo "removed $libdir"
  else
    echo "warning: $libdir holds files the installer did not write: left alone" >&2
  fi
fi

if [[ -n $purge ]]; then
  if [[ -e $dest$state ]]; then
    rm -rf "$dest$state"
    echo "removed $state (this device's keys and settings)"
  fi
elif [[ -e $dest$state ]]; then
  echo "kept $state (this device's keys and settings; BURROW_PURGE=1 removes it)"
fi

if [[ -n $systemctl ]]; then
  systemctl daemon-reload
  systemctl reset-failed burrowd.service 2>/dev/null || true
fi
echo "burrowd is uninstalled"
