#!/bin/sh
# The deb's postrm and the rpm's %postun (electron-builder's afterRemove in electron-builder.yml).
# electron-builder fills in the two dollar-brace names below (app, executable) when it builds the
# package, and fails on any other dollar-brace name made of letters only: in this file, write $name
# or ${name:-}, never the braces around a bare name.
#
# It replaces electron-builder's own after-remove script, so it also does what that one does
# (app-builder-lib's templates/linux/after-remove.tpl). For burrowd it undoes what after-install.sh
# had scripts/install-helper.sh do. It cannot run scripts/uninstall-helper.sh: dpkg and rpm run
# this after they have deleted the package's files, that script among them. So it does the same
# here, for the one kind of install the package makes (in place, nothing copied):
#   remove     stop and disable burrowd, remove its unit and the /usr/bin/burrow link; the
#              device's keys and settings in /var/lib/burrow stay, for a reinstall
#   purge      the same, and /var/lib/burrow goes too
#   upgrade and the rest: nothing (the new version's after-install has run, or will)
# rpm passes a count instead: 0 is a removal (rpm has no purge: /var/lib/burrow stays), 1 an upgrade.
# DESTDIR=DIR (tests) works under DIR and leaves the system alone.
set -e

app='/opt/${sanitizedProductName}'
executable='${executable}'
dest=${DESTDIR:-}
unit=/etc/systemd/system/burrowd.service
state=/var/lib/burrow
marker="# Written by Burrow's scripts/install-helper.sh"

case "${1:-}" in
  remove | disappear | 0) purge= ;;
  purge) purge=1 ;;
  *) exit 0 ;;
esac

# --- What electron-builder's after-remove does: the desktop app's link and AppArmor profile.
if [ -z "$dest" ] && type update-alternatives >/dev/null 2>&1; then
  update-alternatives --remove "$executable" "$app/$executable" || true
elif [ -L "$dest/usr/bin/$executable" ] && [ "$(readlink "$dest/usr/bin/$executable")" = "$app/$executable" ]; then
  rm -f "$dest/usr/bin/$executable"
fi
if [ -z "$dest" ] && [ -f "/etc/apparmor.d/$executable" ]; then
  if apparmor_status --enabled >/dev/null 2>&1; then
    if ! { [ -x /usr/bin/ischroot ] && /usr/bin/ischroot; } && hash apparmor_parser 2>/dev/null; then
      apparmor_parser --remove "/etc/apparmor.d/$executable" || true
    fi
  fi
  rm -f "/etc/apparmor.d/$executable"
fi

# --- burrowd.
systemctl=
if [ -z "$dest" ] && [ "${BURROW_INSTALL_NO_SYSTEMCTL:-}" != 1 ] && command -v systemctl >/dev/null 2>&1; then
  systemctl=1
fi
if [ -f "$dest$unit" ] && grep -qF "$marker" "$dest$unit"; then
  if [ -n "$systemctl" ]; then
    if [ -d /run/systemd/system ]; then
      systemctl disable --now burrowd.service || true
    else
      systemctl disable burrowd.service || true # offline: no systemd running
    fi
  fi
  rm -f "$dest$unit"
fi
if [ -L "$dest/usr/bin/burrow" ] && [ "$(readlink "$dest/usr/bin/burrow")" = "$app/resources/helper/burrow" ]; then
  rm -f "$dest/usr/bin/burrow"
fi
if [ -n "$purge" ]; then
  rm -rf "$dest$state"
fi
if [ -n "$systemctl" ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload || true
  systemctl reset-failed burrowd.service 2>/dev/null || true
fi
exit 0
