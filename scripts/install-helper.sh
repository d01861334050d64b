#!/usr/bin/env bash
# Installs burrowd, Burrow's privileged helper, as a systemd service (Linux). The desktop app runs
# this file as root after asking for the administrator password (main/helper-install.ts); the deb
# and rpm packages run it after installing (packaging/deb/after-install.sh); by hand:
#   sudo BURROW_HELPER_DIR=$PWD/dist/package/helper scripts/install-helper.sh
# It takes no arguments, so nothing a user types in the app can reach it. Environment:
#   BURROW_HELPER_DIR=DIR           a packaged helper: DIR/burrowd, DIR/burrow (the CLI),
#                                   DIR/burrowd-wg (wg-quick's launcher, for
#                                   WG_QUICK_USERSPACE_IMPLEMENTATION) and the native addons
#                                   DIR/*.node, copied into /usr/local/lib/burrow
#   BURROW_HELPER_SHA256='NAME=HEX ...'
#                                   with BURROW_HELPER_DIR: the sha256 of each file the install
#                                   reads (the helper's, uninstall-helper.sh, burrowd.service), as
#                                   the app computed them before asking for the password; a file
#                                   that differs, is missing or is not listed stops the install
#   BURROW_HELPER_IN_PLACE=1        with BURROW_HELPER_DIR: a system package owns DIR (the deb's
#                                   /opt/Burrow/resources/helper), so burrowd runs from there and the
#                                   CLI is linked into /usr/bin; nothing is copied
#   (neither)                       launchers for this checkout's bin/burrowd, bin/burrow and
#                                   bin/burrowd-wg
#   DESTDIR=DIR                     write the files under DIR instead of / (tests, packaging)
#   BURROW_INSTALL_NO_SYSTEMCTL=1   write the files only: no daemon-reload, enable or start
# The user who asked for the install (PKEXEC_UID or SUDO_UID, set by pkexec or sudo) becomes
# burrowd's operator, who may change settings without root: that is how the app turns things on.
# Without one (root itself, or a package upgrade), the operator of the unit being replaced stays.
# The unit is packaging/systemd/burrowd.service (../systemd/ beside this script in the packaged
# app). scripts/uninstall-helper.sh removes all of this again; a copying install puts it beside
# burrowd, as /usr/local/lib/burrow/uninstall-helper.sh. Running this again updates in place.
#
# What root will run must not be anybody else's to change. Every file the install reads is copied
# into a directory of root's own (mode 0700) through one open descriptor, whose file is checked
# first: a regular file owned by root or by the user who asked, writable by nobody else. Only those
# copies are hashed and installed, so nothing can change between the check and the use. What stays
# where it is (the deb's helper in place, a checkout's launchers) must be root's alone: owned by
# root and writable by nobody else, and so every directory above it.
set -euo pipefail
umask 022
shopt -s nullglob

dest=${DESTDIR:-}
libdir=/usr/local/lib/burrow
unit=/etc/systemd/system/burrowd.service
dropin=/etc/systemd/system/burrowd.service.d/checkout.conf
marker="# Written by Burrow's scripts/install-helper.sh"
here=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
checkout=$(cd "$here/.." && pwd -P) # or, packaged, the app's resources (scripts/, systemd/, helper/)
me=$(id -u)

fail() {
  echo "install-helper: $*" >&2
  exit 1
}

# Everything is checked before anything is written: a failed install changes nothing.
[[ $me == 0 || -n $dest ]] || fail "must run as root"
[[ ${BURROW_INSTALL_NO_SYSTEMCTL:-} == 1 || -z $dest ]] ||
  fail "DESTDIR is set: not starting a service from outside /"

# The app's former way to name the helper: refused rather than ignored, which would install launchers.
[[ -z ${BURROW_HELPER_BINARY:-} ]] || fail "BURROW_HELPER_BINARY is not supported any more: give BURROW_HELPER_DIR"
helper_dir=${BURROW_HELPER_DIR:-}
in_place=${BURROW_HELPER_IN_PLACE:-}
hashes=${BURROW_HELPER_SHA256:-}
[[ -z $in_place || $in_place == 1 ]] || fail "BURROW_HELPER_IN_PLACE=$in_place: only 1 means anything"
[[ -z $in_place || -n $helper_dir ]] || fail "BURROW_HELPER_IN_PLACE=1 needs BURROW_HELPER_DIR"
[[ -z $hashes || (-n $helper_dir && -z $in_place) ]] ||
  fail "BURROW_HELPER_SHA256 is for copying from BURROW_HELPER_DIR, not for an install in place"

# The user who asked (pkexec or sudo): the operator, and a trusted owner of the files to copy.
invoker=${PKEXEC_UID:-${SUDO_UID:-}}
[[ $invoker =~ ^[1-9][0-9]*$ ]] || invoker=

declare -A expected=() # file name -> the sha256 the app computed
for entry in $hashes; do
  [[ $entry =~ ^([A-Za-z0-9_.+-]+)=([0-9a-f]{64})$ ]] ||
    fail "BURROW_HELPER_SHA256: '$entry' is not NAME=SHA256 (64 lowercase hex digits)"
  [[ -z ${expected[${BASH_REMATCH[1]}]:-} ]] || fail "BURROW_HELPER_SHA256 names ${BASH_REMATCH[1]} twice"
  expected[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
done
[[ -z $hashes || ${#expected[@]} -gt 0 ]] || fail "BURROW_HELPER_SHA256 is set but names no file"

# root_only PATH WHY: refuses PATH unless only root (or whoever runs this script into a DESTDIR)
# can change it: PATH and every directory above it owned by root and writable by nobody else. A
# sticky directory (/tmp) may be open to all: nobody else can replace what root has in it.
root_only() {
  local path=$1 why=$2 top owner mode
  top=${dest:+$(readlink -f "$dest")}
  top=${top:-/}
  [[ $(readlink -f "$path") == "$path" ]] || fail "$path goes through a symbolic link: $why"
  while :; do
    read -r owner mode <<<"$(stat -c '%u %a' "$path")"
    [[ $owner == 0 || $owner == "$me" ]] || fail "$path is owned by uid $owner: $why, so it must be root's"
    ((8#$mode & 8#022)) && ! [[ -d $path && -k $path ]] &&
      fail "$path is writable by others than its owner (mode $mode): $why"
    [[ $path != "$top" && $path != / ]] || break
    path=$(dirname "$path")
  done
}

source_dir= # where the packaged files are read from, if any
if [[ -n $helper_dir ]]; then
  [[ $helper_dir == /* ]] || fail "BURROW_HELPER_DIR=$helper_dir is not an absolute path"
  source_dir=$helper_dir
  if [[ -n $in_place ]]; then
    # The unit names the directory in ExecStart=, where spaces, quotes, % and $ mean something.
    [[ $helper_dir =~ ^/[A-Za-z0-9_.+/-]+$ ]] ||
      fail "BURROW_HELPER_DIR=$helper_dir: only letters, digits and _.+/- can run in place"
    source_dir=$dest$helper_dir # the package's files, under DESTDIR like the rest
  fi
  [[ -d $source_dir ]] || fail "BURROW_HELPER_DIR=$helper_dir is not a directory"
  binary=$source_dir/burrowd
  [[ -f $binary && -x $binary ]] || fail "BURROW_HELPER_DIR=$helper_dir has no executable burrowd"
fi

cli= # the packaged CLI, if there is one
wg= # the packaged wg-quick launcher (burrowd-wg), if there is one: root runs it through wg-quick
addons=()
if [[ -n $source_dir ]]; then
  if [[ -e $source_dir/burrow ]]; then
    cli=$source_dir/burrow
    [[ -f $cli && -x $cli ]] || fail "$cli is not an executable file"
  fi
  if [[ -e $source_dir/burrowd-wg ]]; then
    wg=$source_dir/burrowd-wg
    [[ -f $wg && -x $wg ]] || fail "$wg is not an executable file"
  fi
  addons=("$source_dir"/*.node)
  for addon in "${addons[@]}"; do
    [[ -f $addon ]] || fail "$addon is not a file"
  done
  if [[ -n $in_place ]]; then
    for f in "$binary" ${cli:+"$cli"} ${wg:+"$wg"} "${addons[@]}"; do root_only "$f" "root runs it in place"; done
  fi
else
  [[ -x $checkout/bin/burrowd ]] || fail "$checkout/bin/burrowd is missing"
  # The unit file treats these specially; a launcher quotes for bash, the drop-in cannot.
  [[ $checkout != *[[:cntrl:]\"\\%\$]* ]] ||
    fail "$checkout: a checkout path with quotes, backslashes, % or \$ cannot go in a unit file"
  # Root will run the checkout's code at every boot: whoever can change any of it could become
  # root. (Symbolic links are not followed; what they point to outside the checkout is not checked.)
  root_only "$checkout" "root runs it in place"
  foreign=$(find "$checkout" ! -type l \( ! \( -uid 0 -o -uid "$me" \) -o -perm /022 \) -print -quit 2>/dev/null || true)
  [[ -z $foreign ]] ||
    fail "$foreign is not root's alone (owner or mode): launchers for a checkout need a checkout only root can change; install a packaged helper with BURROW_HELPER_DIR instead"
fi

template=
for candidate in "$checkout/packaging/systemd/burrowd.service" "$checkout/systemd/burrowd.service"; do
  if [[ -f $candidate ]]; then
    template=$candidate
    break
  fi
done
[[ -n $template ]] || fail "the unit template burrowd.service is not in $checkout/packaging/systemd or $checkout/systemd"

uninstaller=$here/uninstall-helper.sh
[[ -z $in_place && -f $uninstaller ]] || uninstaller=

# The stage: root's own copies of what the install reads, removed whatever happens. Whoever could
# change the directory it is made in could swap the stage for another.
tmp=$(readlink -f "${TMPDIR:-/tmp}")
root_only "$tmp" "root copies the files to install there"
stage=$(mktemp -d "$tmp/burrow-install.XXXXXX")
trap 'rm -rf "$stage"' EXIT
declare -A staged=()

# take SRC: copies the file SRC into the stage through one open descriptor, after checking the
# file that descriptor holds; with BURROW_HELPER_SHA256, the copy must have the app's hash.
take() {
  local src=$1 name=${1##*/} fd owner mode sum
  [[ -f $src ]] || fail "$src is not a file"
  [[ -z ${staged[$name]:-} ]] || fail "$src: a second file named $name"
  { exec {fd}<"$src"; } 2>/dev/null || fail "cannot read $src"
  [[ -f /dev/fd/$fd ]] || fail "$src is not a file"
  read -r owner mode <<<"$(stat -L -c '%u %a' "/dev/fd/$fd")"
  [[ $owner == 0 || $owner == "$me" || $owner == "$invoker" ]] ||
    fail "$src is owned by uid $owner, not by root or the user installing${invoker:+ (uid $invoker)}"
  ((8#$mode & 8#022)) && fail "$src is writable by others than its owner (mode $mode)"
  cat <&"$fd" >"$stage/$name"
  exec {fd}<&-
  staged[$name]=$src
  [[ -n $hashes ]] || return 0
  [[ -n ${expected[$name]:-} ]] || fail "BURROW_HELPER_SHA256 has no sha256 for $name"
  sum=$(sha256sum <"$stage/$name")
  [[ ${sum%% *} == "${expected[$name]}" ]] ||
    fail "$src is not the file the app checked: its sha256 is ${sum%% *}, not ${expected[$name]}"
}

take "$template"
template=$stage/${template##*/}
if [[ -n $uninstaller ]]; then
  take "$uninstaller"
  uninstaller=$stage/${uninstaller##*/}
fi
if [[ -n $source_dir && -z $in_place ]]; then
  take "$binary"
  binary=$stage/burrowd
  if [[ -n $cli ]]; then
    take "$cli"
    cli=$stage/burrow
  fi
  if [[ -n $wg ]]; then
    take "$wg"
    wg=$stage/burrowd-wg
  fi
  for i in "${!addons[@]}"; do
    take "${addons[$i]}"
    addons[i]=$stage/${addons[$i]##*/}
  done
fi
for name in "${!expected[@]}"; do
  [[ -n ${staged[$name]:-} ]] || fail "BURROW_HELPER_SHA256 names $name, which this install does not read"
done

if [[ -n $in_place ]]; then
  exec_path=$helper_dir/burrowd
  link=/usr/bin/burrow
  link_target=$helper_dir/burrow
else
  exec_path=$libdir/burrowd
  link=/usr/local/bin/burrow
  link_target=$libdir/burrow
fi

# Whether FILE was written by this script (and so may be replaced or removed).
ours() { [[ -f $1 ]] && grep -qF "$marker" "$1"; }

operator=$invoker
if [[ -z $operator ]] && ours "$dest$unit"; then
  operator=$(sed -n 's/^ExecStart=.* --operator \([1-9][0-9]*\)$/\1/p' "$dest$unit" | head -n 1)
fi

unit_text=$(grep -v '^#@' "$template")
unit_text=${unit_text//"{{burrowd}}"/"$exec_path"}
unit_text=${unit_text//"{{operator}}"/"${operator:+ --operator $operator}"}
[[ $unit_text != *"{{"* ]] || fail "${staged[burrowd.service]} has a placeholder this script does not know"
grep -qF "$marker" <<<"$unit_text" || fail "${staged[burrowd.service]} lacks the line: $marker"

# write FILE MODE: stdin to FILE, replaced in one step (a running burrowd keeps its old binary).
write() {
  local tmp
  tmp=$(mktemp "$1.XXXXXX")
  cat >"$tmp"
  chmod "$2" "$tmp"
  mv -f "$tmp" "$1"
}

# Removes the files of a copying install, for an in-place one replacing it.
remove_copy() {
  local f
  for f in "$dest$libdir"/{burrowd,burrow,burrowd-wg,uninstall-helper.sh} "$dest$libdir"/*.node; do
    [[ -e $f || -L $f ]] && rm -f "$f"
  done
  rmdir "$dest$libdir" 2>/dev/null || echo "warning: $libdir is not empty: left alone" >&2
  if [[ -L $dest/usr/local/bin/burrow && $(readlink "$dest/usr/local/bin/burrow") == "$libdir/burrow" ]]; then
    rm -f "$dest/usr/local/bin/burrow"
  fi
  return 0
}

if [[ -n $in_place ]]; then
  if [[ -d $dest$libdir ]]; then
    remove_copy
    echo "removed the earlier install in $libdir"
  fi
  echo "burrowd runs from $helper_dir"
else
  install -d -m 0755 "$dest$libdir"
  if [[ -n $source_dir ]]; then
    write "$dest$libdir/burrowd" 0755 <"$binary"
    [[ -z $cli ]] || write "$dest$libdir/burrow" 0755 <"$cli"
    [[ -z $wg ]] || write "$dest$libdir/burrowd-wg" 0755 <"$wg"
    for addon in "${addons[@]}"; do
      write "$dest$libdir/${addon##*/}" 0644 <"$addon"
    done
    echo "installed ${staged[burrowd]}${cli:+, ${staged[burrow]}}${wg:+, ${staged[burrowd-wg]}}${addons[*]:+ and ${#addons[@]} addon(s)} into $libdir"
  else
    write "$dest$libdir/burrowd" 0755 <<EOF
#!/bin/bash
# Written by scripts/install-helper.sh: runs burrowd from a development checkout.
exec $(printf '%q' "$checkout/bin/burrowd") "\$@"
EOF
    write "$dest$libdir/burrow" 0755 <<EOF
#!/bin/bash
# Written by scripts/install-helper.sh: runs the burrow CLI from a development checkout.
exec $(printf '%q' "$checkout/bin/burrow") "\$@"
EOF
    cli=$checkout/bin/burrow
    addons=()
    if [[ -x $checkout/bin/burrowd-wg ]]; then
      write "$dest$libdir/burrowd-wg" 0755 <<EOF
#!/bin/bash
# Written by scripts/install-helper.sh: runs wg-quick's launcher for burrowd from a development checkout.
exec $(printf '%q' "$checkout/bin/burrowd-wg") "\$@"
EOF
      wg=$checkout/bin/burrowd-wg
    fi
    echo "installed launchers for $checkout/bin/burrowd and bin/burrow${wg:+ and bin/burrowd-wg} into $libdir"
  fi
  # What an earlier install had and this one has not.
  [[ -n $cli ]] || rm -f "$dest$libdir/burrow"
  [[ -n $wg ]] || rm -f "$dest$libdir/burrowd-wg"
  for old in "$dest$libdir"/*.node; do
    [[ " ${addons[*]##*/} " == *" ${old##*/} "* ]] || rm -f "$old"
  done
  if [[ -n $uninstaller ]]; then
    write "$dest$libdir/uninstall-helper.sh" 0755 <"$uninstaller"
  fi
fi

if [[ -n $cli ]]; then
  if [[ -L $dest$link || ! -e $dest$link ]]; then
    install -d -m 0755 "$dest$(dirname "$link")"
    ln -sfn "$link_target" "$dest$link"
    echo "linked $link to $link_target"
  else
    echo "warning: $link exists and is not a symlink: left alone (the CLI is $link_target)" >&2
  fi
elif [[ -L $dest$link && $(readlink "$dest$link") == "$link_target" ]]; then
  rm -f "$dest$link"
fi

install -d -m 0755 "$dest$(dirname "$unit")"
write "$dest$unit" 0644 <<<"$unit_text"
echo "wrote $unit${operator:+ (operator: uid $operator)}"

if [[ -z $source_dir ]]; then
  # The hardened unit would hide a checkout under /home and keep run-built from rebuilding it.
  install -d -m 0755 "$dest$(dirname "$dropin")"
  write "$dest$dropin" 0644 <<EOF
$marker
# burrowd runs from the development checkout $checkout, which the unit would hide (ProtectHome=)
# or keep from being rebuilt (ProtectSystem=). A packaged install has no such file.
[Service]
ProtectHome=read-only
ReadWritePaths="$checkout"
EOF
  echo "wrote $dropin"
elif ours "$dest$dropin"; then
  rm -f "$dest$dropin"
  rmdir "$dest$(dirname "$dropin")" 2>/dev/null || true
fi

if [[ ${BURROW_INSTALL_NO_SYSTEMCTL:-} == 1 ]]; then
  echo "burrowd is installed (not started: BURROW_INSTALL_NO_SYSTEMCTL=1)"
  exit 0
fi
systemctl daemon-reload
# A reinstall replaced the binary: a running burrowd restarts into it.
systemctl try-restart burrowd.service
systemctl enable --now burrowd.service
echo "burrowd is installed and running"
