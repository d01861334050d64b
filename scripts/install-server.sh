#!/usr/bin/env bash
# Installs burrow-server, Burrow's coordination server, as a systemd service (Linux):
#   sudo BURROW_SERVER_DIR=dist/package/server scripts/install-server.sh
# It takes no arguments. Environment:
#   BURROW_SERVER_DIR=DIR           the packaged server (npm run build:server): DIR/burrow-server and
#                                   its native addons DIR/*.node (better_sqlite3.node), copied into
#                                   /usr/local/lib/burrow-server; required
#   DESTDIR=DIR                     write the files under DIR instead of / (tests, packaging)
#   BURROW_INSTALL_NO_SYSTEMCTL=1   write the files only: no daemon-reload, enable or start
# It writes the unit (packaging/systemd/burrow-server.service), a burrow-server link in
# /usr/local/bin for the admin commands, and, the first time only, the sample config
# (packaging/server/config.hujson) as /etc/burrow-server/config.hujson: an existing config is never
# touched. The first time the service is enabled but not started, as the sample's publicUrl needs
# editing first; later runs update in place and restart a running server into the new version.
# scripts/uninstall-server.sh removes all of this again; it is installed beside the server too.
set -euo pipefail
umask 022
shopt -s nullglob

dest=${DESTDIR:-}
libdir=/usr/local/lib/burrow-server
unit=/etc/systemd/system/burrow-server.service
config=/etc/burrow-server/config.hujson
link=/usr/local/bin/burrow-server
marker="# Written by Burrow's scripts/install-server.sh"
here=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")

fail() {
  echo "install-server: $*" >&2
  exit 1
}

# Everything is checked before anything is written: a failed install changes nothing.
[[ $(id -u) == 0 || -n $dest ]] || fail "must run as root"
[[ ${BURROW_INSTALL_NO_SYSTEMCTL:-} == 1 || -z $dest ]] ||
  fail "DESTDIR is set: not starting a service from outside /"
source_dir=${BURROW_SERVER_DIR:-}
[[ -n $source_dir ]] || fail "BURROW_SERVER_DIR is not set: name the directory of the packaged burrow-server"
[[ $source_dir == /* ]] || fail "BURROW_SERVER_DIR=$source_dir is not an absolute path"
[[ -d $source_dir ]] || fail "BURROW_SERVER_DIR=$source_dir is not a directory"
server=$source_dir/burrow-server
[[ -f $server && -x $server ]] || fail "BURROW_SERVER_DIR=$source_dir has no executable burrow-server"
addons=("$source_dir"/*.node)
for addon in "${addons[@]}"; do
  [[ -f $addon ]] || fail "$addon is not a file"
done

unit_file=
sample=
for root in "$here/../packaging" "$here/.."; do
  if [[ -f $root/systemd/burrow-server.service && -f $root/server/config.hujson ]]; then
    unit_file=$root/systemd/burrow-server.service
    sample=$root/server/config.hujson
    break
  fi
done
[[ -n $unit_file ]] ||
  fail "systemd/burrow-server.service and server/config.hujson are not in $here/../packaging or $here/.."
grep -qF "$marker" "$unit_file" || fail "$unit_file lacks the line: $marker"
uninstaller=$here/uninstall-server.sh
[[ -f $uninstaller ]] || uninstaller=

# write FILE MODE: stdin to FILE, replaced in one step (a running server keeps its old binary).
write() {
  local tmp
  tmp=$(mktemp "$1.XXXXXX")
  cat >"$tmp"
  chmod "$2" "$tmp"
  mv -f "$tmp" "$1"
}

install -d -m 0755 "$dest$libdir"
write "$dest$libdir/burrow-server" 0755 <"$server"
for addon in "${addons[@]}"; do
  write "$dest$libdir/${addon##*/}" 0644 <"$addon"
done
# What an earlier install had and this one has not.
for old in "$dest$libdir"/*.node; do
  [[ " ${addons[*]##*/} " == *" ${old##*/} "* ]] || rm -f "$old"
done
# The sample as shipped, to compare an edited config with (and to tell an unedited one on uninstall).
write "$dest$libdir/config.sample.hujson" 0644 <"$sample"
[[ -z $uninstaller ]] || write "$dest$libdir/uninstall-server.sh" 0755 <"$uninstaller"
echo "installed $server${addons[*]:+ and ${#addons[@]} addon(s)} into $libdir"

if [[ -L $dest$link || ! -e $dest$link ]]; then
  install -d -m 0755 "$dest${link%/*}"
  ln -sfn "$libdir/burrow-server" "$dest$link"
  echo "linked $link to $libdir/burrow-server"
else
  echo "warning: $link exists and is not a symlink: left alone" >&2
fi

first=
if [[ -e $dest$config || -L $dest$config ]]; then
  echo "kept $config"
else
  first=1
  install -d -m 0755 "$dest${config%/*}"
  write "$dest$config" 0644 <"$sample"
  echo "wrote the sample config $config: set publicUrl (at least) before starting the server"
fi

install -d -m 0755 "$dest${unit%/*}"
write "$dest$unit" 0644 <"$unit_file"
echo "wrote $unit"

if [[ ${BURROW_INSTALL_NO_SYSTEMCTL:-} == 1 ]]; then
  echo "burrow-server is installed (not started: BURROW_INSTALL_NO_SYSTEMCTL=1)"
  exit 0
fi
systemctl daemon-reload
if [[ -n $first ]]; then
  systemctl enable burrow-server.service
  echo "burrow-server is installed and enabled; edit $config, then: systemctl start burrow-server"
else
  # A reinstall replaced the binary: a running server restarts into it.
  systemctl try-restart burrow-server.service
  systemctl enable --now burrow-server.service
  echo "burrow-server is installed and running"
fi
