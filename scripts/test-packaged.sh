#!/usr/bin/env bash
# The tests that start burrowd, burrow and burrow-server, run against the packaged programs: builds
# dist/package (npm run build:helper, build:server), then runs vitest with
# BURROW_PROGRAMS=dist/package/bin (test/support/programs.ts). The last step of `npm test`.
# Usage: scripts/test-packaged.sh [VITEST-FILTERS...]   (default: the files below)
set -euo pipefail
cd "$(dirname "$0")/.."

files=(
  test/package/sea.test.ts            # the executables on their own: no checkout, symlinks, missing addons
  test/package/installer.test.ts      # electron-builder packs the app with this helper (offline, dir target)
  helper/cli/bin.test.ts              # burrow version, usage errors
  test/control/server-process.test.ts # burrow-server serving, admin commands, relay
  test/control/login-abuse.test.ts    # the sign-in page's limits and hashing off the event loop
  test/interop/datapath.test.ts       # burrowd against wireguard-go (root: namespaces)
  test/interop/wg-quick.test.ts       # wg-quick with the packaged burrowd-wg (root: namespaces)
  test/e2e/mesh.test.ts               # burrow-server, burrowd and burrow end to end (root: namespaces)
  test/e2e/readme-first-run.test.ts   # the README's first run, as written (root: namespaces, Chromium)
  server/serve-cli.test.ts            # serve's STUN and public URL options
  server/cli/password-prompt.test.ts  # users passwd at a real terminal
)
if (($#)); then files=("$@"); fi

npm run --silent build:helper
npm run --silent build:server
BURROW_PROGRAMS=dist/package/bin exec node_modules/.bin/vitest run "${files[@]}"
