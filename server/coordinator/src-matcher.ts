import type { FilterRule } from '../../src/policy/index.js';
import {
  containsAddress,
  formatPrefix,
  type Prefix,
  parseAddress,
  parsePrefix,
} from '../../src/policy/prefix.js';

/** Whether a rule list's sources include an address, answered from an index built once per list. */
interface Matcher {
  readonly exact: ReadonlySet<string>;
  readonly wider: readonly Prefix[];
}

// Compiled source lists are shared (frozen) by every filter holding the rule, so one index serves
// every device of the network; it goes when the compiled policy does.
const matchers = new WeakMap<readonly string[], Matcher>();

function matcher(srcIps: readonly string[]): Matcher {
  let m = matchers.get(srcIps);
  if (m === undefined) {
    const exact = new Set<string>();
    const wider: Prefix[] = [];
    for (const text of srcIps) {
      const p = parsePrefix(text);
      if (p.bits === p.addr.length * 8) exact.add(text);
      else wider.push(p);
    }
    m = { exact, wider };
    matchers.set(srcIps, m);
  }
  return m;
}

/** A device's addresses in the forms the matcher needs. */
export interface Addressed {
  readonly ipv4: string;
  readonly ipv6: string;
}

const hostTexts = new WeakMap<Addressed, { v4: string; v6: string; a4: Uint8Array; a6: Uint8Array }>();

function texts(d: Addressed) {
  let t = hostTexts.get(d);
  if (t === undefined) {
    // Canonical text, as the compiler writes sources.
    const p4 = parseAddress(d.ipv4);
    const p6 = parseAddress(d.ipv6);
    t = { v4: formatPrefix(p4), v6: formatPrefix(p6), a4: p4.addr, a6: p6.addr };
    hostTexts.set(d, t);
  }
  return t;
}

/** The device's addresses as host prefixes in the compiler's text ("100.64.0.5/32"). */
export function hostPrefixes(device: Addressed): [string, string] {
  const t = texts(device);
  return [t.v4, t.v6];
}

/** Whether any of the rules admits traffic from one of the device's addresses. */
export function admits(rules: readonly FilterRule[], device: Addressed): boolean {
  const t = texts(device);
  for (const rule of rules) {
    const m = matcher(rule.srcIps);
    if (m.exact.has(t.v4) || m.exact.has(t.v6)) return true;
    for (const p of m.wider) if (containsAddress(p, p.family === 4 ? t.a4 : t.a6)) return true;
  }
  return false;
}
