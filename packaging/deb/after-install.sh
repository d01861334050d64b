#!/bin/sh
# The deb's postinst and the rpm's %post (electron-builder's afterInstall in electron-builder.yml).
# electron-builder fills in the two dollar-brace names below (app, executable) when it builds the
# package, and fails on any other dollar-brace name made of letters only: in this file, write $name
# or ${name:-}, never the braces around a bare name.
#
# It replaces electron-builder's own after-install script, so it first does what that one does
# (app-builder-lib's templates/linux/after-install.tpl), then installs burrowd as a service: the
# package's scripts/install-helper.sh, run on the package's own helper in place (nothing copied; the
# unit runs /opt/Burrow/resources/helper/burrowd, the burrow CLI is linked into /usr/bin). The user
# who ran sudo (SUDO_UID) becomes burrowd's operator; on an upgrade the operator stays.
# DESTDIR=DIR (tests) works on a package unpacked under DIR and leaves the system alone.
set -e

app='/opt/${sanitizedProductName}'
executable='${executable}'
dest=${DESTDIR:-}

case "${1:-}" in
  # dpkg: configure (and the abort-* undoing a failed upgrade or removal); rpm: 1 install, 2 upgrade.
  configure | abort-upgrade | abort-remove | abort-deconfigure | [0-9]*) ;;
  *) exit 0 ;;
esac

# --- What electron-builder's after-install does: the desktop app's link, sandbox, menus, AppArmor.
if [ -z "$dest" ] && type update-alternatives >/dev/null 2>&1; then
  # Remove a previous link that does not use update-alternatives.
  if [ -L "/usr/bin/$executable" ] && [ -e "/usr/bin/$executable" ] &&
    [ "$(readlink "/usr/bin/$executable")" != "/etc/alternatives/$executable" ]; then
    rm -f "/usr/bin/$executable"
  fi
  update-alternatives --install "/usr/bin/$executable" "$executable" "$app/$executable" 100 ||
    ln -sf "$app/$executable" "/usr/bin/$executable"
else
  mkdir -p "$dest/usr/bin"
  ln -sf "$app/$executable" "$dest/usr/bin/$executable"
fi

# Chromium's SUID sandbox only where user namespaces do not work.
if ! { [ -L /proc/self/ns/user ] && unshare --user true; } 2>/dev/null; then
  chmod 4755 "$dest$app/chrome-sandbox" || true
else
  chmod 0755 "$dest$app/chrome-sandbox" || true
fi

if [ -z "$dest" ]; then
  if hash update-mime-database 2>/dev/null; then
    update-mime-database /usr/share/mime || true
  fi
  if hash update-desktop-database 2>/dev/null; then
    update-desktop-database /usr/share/applications || true
  fi
  # The AppArmor profile (Ubuntu 24.04 and later), when this AppArmor supports it.
  if apparmor_status --enabled >/dev/null 2>&1; then
    profile_source="$app/resources/apparmor-profile"
    profile_target="/etc/apparmor.d/$executable"
    if apparmor_parser --skip-kernel-load --debug "$profile_source" >/dev/null 2>&1; then
      cp -f "$profile_source" "$profile_target"
      # Not in a chroot (an image being built), where live updating makes no sense.
      if ! { [ -x /usr/bin/ischroot ] && /usr/bin/ischroot; } && hash apparmor_parser 2>/dev/null; then
        apparmor_parser --replace --write-cache --skip-read-cache "$profile_target"
      fi
    else
      echo "Skipping the installation of the AppArmor profile as this version of AppArmor does not seem to support the bundled profile"
    fi
  fi
fi

# --- burrowd, the privileged helper, as a systemd service.
no_systemctl=${BURROW_INSTALL_NO_SYSTEMCTL:-}
offline=
if [ -z "$dest" ] && [ ! -d /run/systemd/system ]; then
  # No systemd running (a container, a chroot building an image): write the files, and only
  # enable the service, which systemctl can do offline, so that it starts at the next boot.
  no_systemctl=1
  offline=1
fi
BURROW_HELPER_DIR="$app/resources/helper" BURROW_HELPER_IN_PLACE=1 \
  BURROW_INSTALL_NO_SYSTEMCTL="$no_systemctl" \
  /bin/bash "$dest$app/resources/scripts/install-helper.sh"
if [ -n "$offline" ] && command -v systemctl >/dev/null 2>&1; then
  systemctl enable burrowd.service || true
fi
exit 0
