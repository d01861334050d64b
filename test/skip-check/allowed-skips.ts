/**
 * The tests that may skip, each with when and why. Any other skipped test fails the run
 * (skip-reporter.ts, a reporter in vitest.config.ts): CI runs `npm test` as root on a machine
 * scripts/setup prepared, and there every test but these must run, not quietly skip.
 */

/** What the test run's environment lacks. */
export type Lack = 'root' | 'ipv6' | 'packaged';

/** What a machine offers the tests; a skip is allowed only for what it lacks. */
export interface Environment {
  root: boolean;
  /** An IPv6 loopback address (::1) to bind to. */
  ipv6: boolean;
  /** BURROW_PROGRAMS is set: the process tests run the packaged programs (scripts/test-packaged.sh). */
  packaged: boolean;
}

export interface AllowedSkip {
  /** The test file, relative to the repository. */
  file: string;
  /** A test's own name (or a part of it); without it, every test of the file. */
  test?: string;
  /** The skip is allowed only where the environment lacks this. */
  lacks: Lack;
  /** Printed beside the skipped test. */
  why: string;
}

const NAMESPACES = 'needs root: creates network namespaces';
const IPV6 = 'no IPv6 loopback (::1) on this machine';
const PACKAGED =
  'runs against the packaged programs, in scripts/test-packaged.sh (the last step of npm test)';

export const ALLOWED_SKIPS: AllowedSkip[] = [
  { file: 'helper/bind/linux-bind.test.ts', lacks: 'root', why: NAMESPACES },
  {
    file: 'helper/portmap/port-mapper.test.ts',
    test: 'marks its requests with the fwmark',
    lacks: 'root',
    why: 'needs root: SO_MARK',
  },
  { file: 'test/e2e/portmap.test.ts', lacks: 'root', why: `${NAMESPACES} and runs miniupnpd in a router's` },
  { file: 'helper/routing/linux-routing.test.ts', lacks: 'root', why: `${NAMESPACES}, routes and ip rules` },
  { file: 'helper/routing/route-get.test.ts', lacks: 'root', why: `${NAMESPACES}, routes and ip rules` },
  { file: 'helper/tun/linux-tun.test.ts', lacks: 'root', why: 'needs root: creates TUN devices' },
  {
    file: 'helper/localapi/server.test.ts',
    test: 'lets another uid read but not change anything',
    lacks: 'root',
    why: 'needs root: connects as another uid',
  },
  {
    file: 'main/helper-install.test.ts',
    test: 'works when root cannot read the app’s resources',
    lacks: 'root',
    why: 'needs root: a mount namespace',
  },
  { file: 'test/interop/datapath.test.ts', lacks: 'root', why: NAMESPACES },
  { file: 'test/interop/rekey-under-load.test.ts', lacks: 'root', why: NAMESPACES },
  { file: 'test/interop/moved-interface.test.ts', lacks: 'root', why: NAMESPACES },
  { file: 'test/interop/wg-quick.test.ts', lacks: 'root', why: NAMESPACES },
  { file: 'test/interop/readiness.test.ts', lacks: 'root', why: NAMESPACES },
  { file: 'test/interop/wg-config-table.test.ts', lacks: 'root', why: NAMESPACES },
  { file: 'test/interop/wg-config-hooks.test.ts', lacks: 'root', why: NAMESPACES },
  { file: 'test/interop/wg-config-dns.test.ts', lacks: 'root', why: NAMESPACES },
  { file: 'test/interop/wg-config-save.test.ts', lacks: 'root', why: NAMESPACES },
  { file: 'test/e2e/bad-filter.test.ts', lacks: 'root', why: NAMESPACES },
  { file: 'test/e2e/db-outage.test.ts', lacks: 'root', why: NAMESPACES },
  { file: 'test/e2e/demo.test.ts', lacks: 'root', why: NAMESPACES },
  { file: 'test/e2e/exit-node.test.ts', lacks: 'root', why: NAMESPACES },
  { file: 'test/e2e/ha-instances.test.ts', lacks: 'root', why: `${NAMESPACES} and runs HAProxy in one` },
  {
    file: 'test/e2e/localapi-security.test.ts',
    lacks: 'root',
    why: `${NAMESPACES} and connects as other uids`,
  },
  { file: 'test/e2e/magicdns.test.ts', lacks: 'root', why: NAMESPACES },
  { file: 'test/e2e/mesh.test.ts', lacks: 'root', why: NAMESPACES },
  { file: 'test/e2e/mesh-fast-path.test.ts', lacks: 'root', why: NAMESPACES },
  { file: 'test/e2e/mesh-link-deleted.test.ts', lacks: 'root', why: NAMESPACES },
  { file: 'test/e2e/nat-lab.test.ts', lacks: 'root', why: NAMESPACES },
  { file: 'test/e2e/nat-bare.test.ts', lacks: 'root', why: NAMESPACES },
  { file: 'test/e2e/paths.test.ts', lacks: 'root', why: NAMESPACES },
  { file: 'test/e2e/relay-regions.test.ts', lacks: 'root', why: NAMESPACES },
  { file: 'test/e2e/ping-path.test.ts', lacks: 'root', why: NAMESPACES },
  { file: 'test/e2e/trace.test.ts', lacks: 'root', why: NAMESPACES },
  { file: 'test/e2e/first-handshake.test.ts', lacks: 'root', why: NAMESPACES },
  { file: 'test/e2e/readme-first-run.test.ts', lacks: 'root', why: `${NAMESPACES} and mount namespaces` },
  {
    file: 'server/serve-cli.test.ts',
    test: 'answers STUN on UDP 3478 of the listen address unless told otherwise',
    lacks: 'root',
    why: `${NAMESPACES} (where UDP 3478 is surely free)`,
  },
  { file: 'test/e2e/ui.test.ts', lacks: 'root', why: NAMESPACES },
  {
    file: 'test/package/install-helper-trust.test.ts',
    lacks: 'root',
    why: 'needs root: files of another uid',
  },
  { file: 'helper/stun/stun-client.test.ts', test: 'learns it over IPv6', lacks: 'ipv6', why: IPV6 },
  {
    file: 'server/stun/stun-server.test.ts',
    test: 'reports IPv4 sources as IPv4 and IPv6 as IPv6',
    lacks: 'ipv6',
    why: IPV6,
  },
  {
    file: 'server/stun/stun-server.test.ts',
    test: 'serves IPv6 alone when bound to ::1',
    lacks: 'ipv6',
    why: IPV6,
  },
  { file: 'test/package/sea.test.ts', lacks: 'packaged', why: PACKAGED },
  { file: 'test/package/installer.test.ts', lacks: 'packaged', why: PACKAGED },
];
