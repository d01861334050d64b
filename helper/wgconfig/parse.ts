/**
 * A strict reader of wg-quick configuration files. It either returns a complete config or throws a
 * WgConfigError naming the file, line and key: a typo must never leave a half-configured tunnel.
 *
 * wg-quick's own keys are read with wg-quick's meaning, for the parts of burrowd that apply them:
 * MTU, DNS, Table, FwMark, SaveConfig, and the hooks PreUp, PostUp, PreDown and PostDown, kept as
 * written, each use one command (burrowd/wg-quick-hooks.ts runs them, and only from a file only root
 * can change: wgconfig/read-file.ts).
 */
import { parseCidr } from '../../src/packet/ip-text.js';
import { decodeKey } from '../../src/wireguard/keys.js';
import {
  type Cidr,
  type WgConfig,
  WgConfigError,
  type WgInterfaceConfig,
  type WgPeerConfig,
} from './types.js';
import { isHostname, parseDecimal, parseEndpoint, parseIpLiteral } from './values.js';

type SectionKind = 'Interface' | 'Peer';

interface Entry {
  line: number;
  key: string;
  value: string;
}

interface Section {
  kind: SectionKind;
  line: number;
  entries: Entry[];
}

interface KeySpec<T> {
  /** The canonical spelling, used in messages. */
  name: string;
  repeatable: boolean;
  /** Throws an Error with the reason if the value is invalid. */
  apply(draft: T, value: string): void;
}

/** A key that may appear once, setting `field`. */
function single<T, K extends keyof T>(name: string, field: K, parse: (value: string) => T[K]): KeySpec<T> {
  return {
    name,
    repeatable: false,
    apply: (draft, value) => {
      draft[field] = parse(value);
    },
  };
}

/** A key that may repeat, each use adding its `separator`-separated items to `field`. */
function list<T extends Record<K, I[]>, K extends keyof T, I>(
  name: string,
  field: K,
  separator: RegExp,
  parse: (item: string) => I,
): KeySpec<T> {
  return {
    name,
    repeatable: true,
    apply: (draft, value) => {
      draft[field].push(...splitList(value, separator).map(parse));
    },
  };
}

/** A key that may repeat, each use adding its whole value, as written, to `field`. */
function lines<T extends Partial<Record<K, string[]>>, K extends keyof T>(
  name: string,
  field: K,
): KeySpec<T> {
  return {
    name,
    repeatable: true,
    apply: (draft, value) => {
      if (value !== '') draft[field] = [...(draft[field] ?? []), value] as T[K];
    },
  };
}

type InterfaceDraft = Partial<WgInterfaceConfig> & Pick<WgInterfaceConfig, 'addresses' | 'dns'>;
type PeerDraft = Partial<WgPeerConfig> & Pick<WgPeerConfig, 'allowedIps'>;

const INTERFACE_KEYS: KeySpec<InterfaceDraft>[] = [
  single('PrivateKey', 'privateKey', parseKey),
  single('ListenPort', 'listenPort', (v) => parseDecimal(v, 0, 65535)),
  list('Address', 'addresses', /[\s,]+/, cidr),
  // 68 is the smallest MTU IPv4 allows (RFC 791); a UDP datagram cannot exceed 65535.
  single('MTU', 'mtu', (v) => parseDecimal(v, 68, 65535)),
  list('DNS', 'dns', /[\s,]+/, dnsEntry),
  single('Table', 'table', table),
  single('FwMark', 'fwMark', fwMark),
  single('SaveConfig', 'saveConfig', bool),
  lines('PreUp', 'preUp'),
  lines('PostUp', 'postUp'),
  lines('PreDown', 'preDown'),
  lines('PostDown', 'postDown'),
];

const PEER_KEYS: KeySpec<PeerDraft>[] = [
  single('PublicKey', 'publicKey', parseKey),
  single('PresharedKey', 'presharedKey', parseKey),
  // wg itself splits AllowedIPs on commas only.
  list('AllowedIPs', 'allowedIps', /,/, cidr),
  single('Endpoint', 'endpoint', (v) => parseEndpoint(v, true)),
  single('PersistentKeepalive', 'persistentKeepalive', (v) => offOr(v, 65535)),
];

/** Parses wg-quick config text; `source` names the file in error messages. */
export function parseWgConfig(text: string, source = 'config'): WgConfig {
  const fail = (line: number | null, key: string | null, reason: string) =>
    new WgConfigError(source, line, key, reason);
  const sections = readSections(text, fail);

  const interfaces = sections.filter((s) => s.kind === 'Interface');
  const first = interfaces[0];
  if (first === undefined) throw fail(null, null, 'no [Interface] section');
  const second = interfaces[1];
  if (second !== undefined) {
    throw fail(
      second.line,
      '[Interface]',
      `a second [Interface] section (the first is at line ${first.line})`,
    );
  }
  const draft = applyEntries(first, INTERFACE_KEYS, { addresses: [], dns: [] }, fail);
  if (draft.privateKey === undefined) throw fail(first.line, 'PrivateKey', 'missing from [Interface]');
  const iface: WgInterfaceConfig = { ...draft, privateKey: draft.privateKey };

  const peers: WgPeerConfig[] = [];
  const peerLines = new Map<string, number>();
  const routes = new Map<string, { line: number; text: string }>();
  for (const section of sections) {
    if (section.kind !== 'Peer') continue;
    const peer = applyEntries(section, PEER_KEYS, { allowedIps: [] }, fail);
    if (peer.publicKey === undefined) {
      throw fail(section.line, 'PublicKey', 'missing from this [Peer] section');
    }
    const id = hex(peer.publicKey);
    const previous = peerLines.get(id);
    if (previous !== undefined) {
      throw fail(lineOf(section, 'PublicKey'), 'PublicKey', `duplicate of the peer at line ${previous}`);
    }
    peerLines.set(id, section.line);
    // WireGuard routes a prefix to one peer only: a second claim would silently take it from the first.
    for (const prefix of peer.allowedIps) {
      const owner = routes.get(routeKey(prefix));
      if (owner !== undefined) {
        const where = owner.line === section.line ? 'this peer' : `the peer at line ${owner.line}`;
        throw fail(
          lineOf(section, 'AllowedIPs', prefix.text),
          'AllowedIPs',
          `${prefix.text} is already routed to ${where} (as ${owner.text})`,
        );
      }
      routes.set(routeKey(prefix), { line: section.line, text: prefix.text });
    }
    peers.push({ ...peer, publicKey: peer.publicKey });
  }
  return { interface: iface, peers };
}

type Fail = (line: number | null, key: string | null, reason: string) => WgConfigError;

/** Splits the text into sections of `Key = Value` entries, dropping comments and blank lines. */
function readSections(text: string, fail: Fail): Section[] {
  const sections: Section[] = [];
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1;
    const hash = lines[i]!.indexOf('#');
    const content = (hash === -1 ? lines[i]! : lines[i]!.slice(0, hash)).trim();
    if (content === '') continue;
    if (content.startsWith('[')) {
      const kind = sectionKind(content);
      if (kind === null) throw fail(line, content, 'unknown section (expected [Interface] or [Peer])');
      sections.push({ kind, line, entries: [] });
      continue;
    }
    const eq = content.indexOf('=');
    if (eq === -1) {
      throw fail(line, null, `expected "Key = Value" or a [Section], got ${JSON.stringify(content)}`);
    }
    const key = content.slice(0, eq).trim();
    if (key === '') throw fail(line, null, `missing key before "=" in ${JSON.stringify(content)}`);
    const current = sections[sections.length - 1];
    if (current === undefined) throw fail(line, key, 'appears before any [Interface] or [Peer] section');
    current.entries.push({ line, key, value: content.slice(eq + 1).trim() });
  }
  return sections;
}

function sectionKind(text: string): SectionKind | null {
  switch (text.toLowerCase()) {
    case '[interface]':
      return 'Interface';
    case '[peer]':
      return 'Peer';
    default:
      return null;
  }
}

/** Applies a section's entries to a draft through the key table, enforcing one use of singular keys. */
function applyEntries<T>(section: Section, specs: KeySpec<T>[], draft: T, fail: Fail): T {
  const seen = new Map<string, number>();
  for (const { line, key, value } of section.entries) {
    const spec = specs.find((s) => s.name.toLowerCase() === key.toLowerCase());
    if (spec === undefined) {
      const other = section.kind === 'Interface' ? PEER_KEYS : INTERFACE_KEYS;
      const home = other.find((s) => s.name.toLowerCase() === key.toLowerCase());
      const hint =
        home === undefined ? '' : ` (it belongs in [${section.kind === 'Interface' ? 'Peer' : 'Interface'}])`;
      throw fail(line, key, `unknown key in [${section.kind}]${hint}`);
    }
    const earlier = seen.get(spec.name);
    if (earlier !== undefined && !spec.repeatable) {
      throw fail(line, spec.name, `already set at line ${earlier}`);
    }
    seen.set(spec.name, line);
    if (value === '' && !spec.repeatable) throw fail(line, spec.name, 'missing value');
    try {
      spec.apply(draft, value);
    } catch (err) {
      throw fail(line, spec.name, (err as Error).message);
    }
  }
  return draft;
}

/** The line of the first `key` entry (whose value mentions `text`, if given), for pointing at a conflict. */
function lineOf(section: Section, key: string, text?: string): number {
  const lower = key.toLowerCase();
  const entry = section.entries.find(
    (e) =>
      e.key.toLowerCase() === lower &&
      (text === undefined || e.value.split(',').some((v) => v.trim() === text)),
  );
  return entry?.line ?? section.line;
}

/** decodeKey prefixes its reasons with the field name; the caller adds the key name itself. */
function parseKey(value: string): Uint8Array {
  try {
    return decodeKey(value, 'key');
  } catch (err) {
    throw new Error((err as Error).message.replace(/^key: /, ''));
  }
}

/** An empty value adds nothing (as in wg-quick); an empty item between separators is a mistake. */
function splitList(value: string, separator: RegExp): string[] {
  if (value === '') return [];
  const items = value.split(separator).map((item) => item.trim());
  if (items.some((item) => item === '')) throw new Error(`empty item in list ${JSON.stringify(value)}`);
  return items;
}

function cidr(text: string): Cidr {
  return { ...parseCidr(text), text };
}

/** wg-quick sends digits-and-dots or anything with a colon to the resolver list, the rest to search domains. */
function dnsEntry(text: string): string {
  const looksLikeAddress = /^[0-9.]+$/.test(text) || text.includes(':');
  if (looksLikeAddress ? parseIpLiteral(text) === null : !isHostname(text)) {
    throw new Error(`${JSON.stringify(text)} is not an IP address or search domain`);
  }
  return text;
}

function table(value: string): string {
  const lower = value.toLowerCase();
  if (lower === 'off' || lower === 'auto') return lower;
  if (/^[0-9]+$/.test(value)) return String(parseDecimal(value, 0, 0xffff_ffff));
  if (/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(value)) return value;
  throw new Error(`expected off, auto, a table number or a table name, got ${JSON.stringify(value)}`);
}

/** "off", a decimal number or 0x-prefixed hex, as wg accepts for fwmark. */
function fwMark(value: string): number {
  if (value.toLowerCase() === 'off') return 0;
  if (/^0x[0-9a-f]{1,8}$/i.test(value)) return Number.parseInt(value.slice(2), 16);
  return parseDecimal(value, 0, 0xffff_ffff);
}

/** wg-quick takes exactly "true" or "false" (its keys are case-insensitive, and so are these). */
function bool(value: string): boolean {
  const lower = value.toLowerCase();
  if (lower !== 'true' && lower !== 'false')
    throw new Error(`expected true or false, got ${JSON.stringify(value)}`);
  return lower === 'true';
}

function offOr(value: string, max: number): number {
  return value.toLowerCase() === 'off' ? 0 : parseDecimal(value, 0, max);
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The prefix with host bits cleared, so 10.0.0.7/24 and 10.0.0.0/24 collide. */
function routeKey(prefix: Cidr): string {
  const masked = prefix.addr.map((b, i) => {
    const bits = Math.min(8, Math.max(0, prefix.cidr - 8 * i));
    return b & ((0xff << (8 - bits)) & 0xff);
  });
  return `${hex(masked)}/${prefix.cidr}`;
}
