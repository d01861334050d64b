/**
 * The small languages inside a policy's strings: selectors ("group:eng", "tag:db", "alice@example.com",
 * "10.0.0.0/8", "autogroup:member"...), destinations ("tag:db:5432") and port lists ("80,443",
 * "1000-2000", "*"). Errors are plain messages; parse.ts prefixes them with where they occur.
 *
 * A bare word is a host if the policy's hosts define it, and a user login otherwise ("alice" on a
 * server without email logins); digits and dots, or hex and colons, are always an address.
 */
import { type Prefix, parsePrefix } from './prefix.js';
import { ALL_PORTS } from './protocol.js';
import type { DstEntry, PortRange, Selector } from './types.js';

/** The names a policy defines, which selectors must refer to. */
export interface PolicyNames {
  readonly hosts: ReadonlyMap<string, Prefix>;
  readonly groups: ReadonlySet<string>;
  readonly tags: ReadonlySet<string>;
}

/** Where a selector appears, which decides the kinds allowed there. */
export type SelectorRole = 'src' | 'dst' | 'groupMember' | 'tagOwner' | 'approver' | 'testSrc' | 'testDst';

const ALLOWED: Record<SelectorRole, ReadonlySet<Selector['kind']>> = {
  src: new Set(['any', 'user', 'group', 'tag', 'address', 'member', 'shared']),
  dst: new Set(['any', 'user', 'group', 'tag', 'address', 'member', 'shared', 'self', 'internet']),
  groupMember: new Set(['user', 'group']),
  tagOwner: new Set(['user', 'group', 'member']),
  approver: new Set(['user', 'group', 'tag', 'member']),
  // Tests name an identity or an address; "everyone" or an autogroup is not one case to check.
  testSrc: new Set(['user', 'group', 'tag', 'address']),
  testDst: new Set(['user', 'group', 'tag', 'address']),
};

const PLACE: Record<SelectorRole, string> = {
  src: 'a src',
  dst: 'a dst',
  groupMember: 'groups',
  tagOwner: 'tagOwners',
  approver: 'autoApprovers',
  testSrc: 'a test src',
  testDst: 'a test destination',
};

const AUTOGROUPS: Record<string, 'member' | 'self' | 'internet' | 'shared'> = {
  'autogroup:member': 'member',
  'autogroup:self': 'self',
  'autogroup:internet': 'internet',
  'autogroup:shared': 'shared',
};

export const GROUP_NAME = /^group:[A-Za-z0-9][A-Za-z0-9._-]*$/;
export const TAG_NAME = /^tag:[A-Za-z0-9][A-Za-z0-9_-]*$/;
export const HOST_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/;
// "alice@example.com", or a bare "alice" (as on a self-hosted server without email logins).
const LOGIN = /^[A-Za-z0-9._%+-]+(?:@[A-Za-z0-9.-]*)?$/;
// Text that can only have been meant as an address: digits and dots (IPv4), or hex and colons (IPv6).
const ADDRESS_LIKE = /^(?:[0-9.]+|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)(?:\/.*)?$/;

export function parseSelector(text: string, role: SelectorRole, names: PolicyNames): Selector {
  const selector = classify(text, names);
  if (!ALLOWED[role].has(selector.kind)) throw new Error(`${text} cannot be used in ${PLACE[role]}`);
  return selector;
}

function classify(text: string, names: PolicyNames): Selector {
  if (text === '*') return { kind: 'any', text };
  if (text.startsWith('autogroup:')) {
    const kind = Object.hasOwn(AUTOGROUPS, text) ? AUTOGROUPS[text] : undefined;
    if (kind === undefined) {
      throw new Error(`${text} is not a known autogroup (use ${Object.keys(AUTOGROUPS).join(', ')})`);
    }
    return { kind, text };
  }
  if (text.startsWith('group:')) {
    if (!names.groups.has(text)) throw new Error(`${text} is not defined in groups`);
    return { kind: 'group', text, name: text };
  }
  if (text.startsWith('tag:')) {
    if (!names.tags.has(text)) throw new Error(`${text} is not defined in tagOwners`);
    return { kind: 'tag', text, name: text };
  }
  const host = names.hosts.get(text);
  if (host !== undefined) return { kind: 'address', text, prefix: host };
  if (ADDRESS_LIKE.test(text)) return { kind: 'address', text, prefix: parsePrefix(text) };
  if (LOGIN.test(text)) return { kind: 'user', text, login: text };
  if (/^[A-Za-z]+:/.test(text)) {
    throw new Error(
      `${JSON.stringify(text)} is not a known kind of selector (expected group:, tag:, autogroup:, a user, host, IP or CIDR)`,
    );
  }
  throw new Error(`${JSON.stringify(text)} is not a user, host, IP or CIDR`);
}

/** "target:ports", split at the last colon so that IPv6 targets ("fd7a::5:22") work. */
export function parseDstEntry(text: string, names: PolicyNames): DstEntry {
  const colon = text.lastIndexOf(':');
  const needsPorts = new Error(`${JSON.stringify(text)} needs ports, as in "${text}:*" or "${text}:22"`);
  // Without ports, the last colon may be a selector's own ("tag:db") or an IPv6 address's.
  if (colon === -1 || !/^[0-9*,-]*$/.test(text.slice(colon + 1))) throw needsPorts;
  let target: Selector;
  try {
    target = parseSelector(text.slice(0, colon), 'dst', names);
  } catch (e) {
    if (isAddress(text)) throw needsPorts;
    throw e;
  }
  return { target, ports: parsePorts(text.slice(colon + 1)) };
}

function isAddress(text: string): boolean {
  try {
    parsePrefix(text);
    return true;
  } catch {
    return false;
  }
}

/** A test's "target:port": one port, since a test states one case. */
export function parseTestTarget(text: string, names: PolicyNames): { target: Selector; port: number } {
  const colon = text.lastIndexOf(':');
  const port = colon === -1 ? null : parsePort(text.slice(colon + 1));
  if (port === null) throw new Error(`${JSON.stringify(text)} needs one port, as in "${text}:22"`);
  return { target: parseSelector(text.slice(0, colon), 'testDst', names), port };
}

/** "*", "22", "80,443" or "1000-2000" (and combinations, "22,8000-8099"). */
export function parsePorts(text: string): PortRange[] {
  if (text === '*') return [ALL_PORTS];
  return text.split(',').map((item) => {
    const dash = item.indexOf('-');
    const first = parsePort(dash === -1 ? item : item.slice(0, dash));
    const last = dash === -1 ? first : parsePort(item.slice(dash + 1));
    if (first === null || last === null || first > last) {
      throw new Error(`${dash === -1 ? 'port' : 'port range'} ${JSON.stringify(item)} is not valid`);
    }
    return { first, last };
  });
}

function parsePort(text: string): number | null {
  if (!/^(?:0|[1-9][0-9]{0,4})$/.test(text)) return null;
  const port = Number(text);
  return port <= 65535 ? port : null;
}
