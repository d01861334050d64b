import { parseCidr } from '../../src/packet/ip-text.js';
import type { NativeRule } from '../native/index.js';

/**
 * Which policy rule sent a packet to the table that answered it. The kernel's answer to a route
 * lookup names the table, never the rule, so the rules are walked here as fib_rules_lookup walks
 * them: in priority order, each rule's selectors against the packet, and for a rule that looks up
 * a table, whether that table is the one that answered. A matching rule of another table is passed
 * over: had its table held a route, the answer would have come from it. suppress_prefixlength is
 * applied with the prefix length of the route that answered (a fib-match lookup gives it).
 * Not evaluated: suppress_ifgroup, tunnel ids, DSCP and VRF rules (l3mdev), which burrowd never
 * makes; a rule with such a selector is reported as matched only if nothing else explains the answer.
 */

/** The packet, as the kernel's rules see a locally sent one (iif lo, no oif). */
export interface RuleFlow {
  family: 4 | 6;
  dst: string;
  /** The source the lookup was asked with; none for an unbound socket (rules see ::/0.0.0.0). */
  src?: string;
  mark: number;
  uid: number;
  ipProto: number;
  sport: number;
  dport: number;
}

/** What the lookup answered: the table and the matched route's prefix length, or the kernel's refusal. */
export type RuleAnswer = { table: number; prefixLength?: number } | { error: string };

/** FR_ACT_* from <linux/fib_rules.h>. */
export const RULE_ACTION = { table: 1, goto: 2, nop: 3, blackhole: 6, unreachable: 7, prohibit: 8 } as const;
const INVERT = 2;

/** The refusal each action rule gives: IPv6's unreachable rule answers as its null route does. */
const actionError = (action: number, family: 4 | 6): string | undefined =>
  action === RULE_ACTION.blackhole
    ? 'EINVAL'
    : action === RULE_ACTION.prohibit
      ? 'EACCES'
      : action === RULE_ACTION.unreachable
        ? family === 4
          ? 'EHOSTUNREACH'
          : 'ENETUNREACH'
        : undefined;

const TABLE_NAMES: Record<number, string> = { 253: 'default', 254: 'main', 255: 'local' };

/** A table as ip names it: "main", "local", "52". */
export const tableName = (table: number): string => TABLE_NAMES[table] ?? String(table);

function inPrefix(
  addr: string | undefined,
  family: 4 | 6,
  prefix: string | undefined,
  length: number,
): boolean {
  if (length === 0) return true;
  const a = parseCidr(addr ?? (family === 4 ? '0.0.0.0' : '::')).addr;
  const p = parseCidr(prefix ?? (family === 4 ? '0.0.0.0' : '::')).addr;
  for (let bit = 0; bit < length; bit++) {
    const mask = 0x80 >> (bit % 8);
    if ((a[bit >> 3]! & mask) !== (p[bit >> 3]! & mask)) return false;
  }
  return true;
}

const inRange = (v: number, start: number | undefined, end: number | undefined) =>
  start === undefined || (v >= start && v <= (end ?? start));

/** The rule's selectors against the flow, before its `not`. */
function selectorsMatch(rule: NativeRule, flow: RuleFlow): boolean {
  if (!inPrefix(flow.src, flow.family, rule.src, rule.srcLen)) return false;
  if (!inPrefix(flow.dst, flow.family, rule.dst, rule.dstLen)) return false;
  // A locally sent packet comes from lo and has no output interface when the rules are walked.
  if (rule.iif !== undefined && rule.iif !== 'lo') return false;
  if (rule.oif !== undefined || rule.l3mdev) return false;
  if (rule.tos !== 0) return false;
  if (rule.fwmark !== undefined || rule.fwmask !== undefined) {
    const mask = rule.fwmask ?? 0xffffffff;
    if ((((rule.fwmark ?? 0) ^ flow.mark) & mask) >>> 0 !== 0) return false;
  }
  if (rule.ipProto !== undefined && rule.ipProto !== flow.ipProto) return false;
  if (rule.sportStart !== undefined && !inRange(flow.sport, rule.sportStart, rule.sportEnd)) return false;
  if (rule.dportStart !== undefined && !inRange(flow.dport, rule.dportStart, rule.dportEnd)) return false;
  if (rule.uidStart !== undefined && !inRange(flow.uid, rule.uidStart, rule.uidEnd)) return false;
  return true;
}

export const ruleMatches = (rule: NativeRule, flow: RuleFlow): boolean =>
  selectorsMatch(rule, flow) !== ((rule.flags & INVERT) !== 0);

/**
 * The rule that decided the answer, or undefined when none can be named: a refusal no rule gives
 * (ENETUNREACH: every table was passed; EHOSTUNREACH from an unreachable route in a table, which
 * the kernel does not name).
 */
export function matchRule(
  rules: readonly NativeRule[],
  flow: RuleFlow,
  answer: RuleAnswer,
): NativeRule | undefined {
  const ordered = [...rules].sort((a, b) => a.priority - b.priority);
  for (let i = 0; i < ordered.length; i++) {
    const rule = ordered[i]!;
    if (!ruleMatches(rule, flow)) continue;
    switch (rule.action) {
      case RULE_ACTION.table: {
        if ('error' in answer || rule.table !== answer.table) break;
        const suppress = rule.suppressPrefixLength;
        if (suppress !== undefined && answer.prefixLength !== undefined && answer.prefixLength <= suppress)
          break;
        return rule;
      }
      case RULE_ACTION.goto: {
        // The kernel jumps to the first rule of that priority (always a later one), or goes on.
        const target = ordered.findIndex((r) => r.priority === rule.goto);
        if (target > i) i = target - 1;
        break;
      }
      case RULE_ACTION.blackhole:
      case RULE_ACTION.unreachable:
      case RULE_ACTION.prohibit:
        // A matching action rule ends the walk: it gave the refusal, or the answer contradicts it.
        return 'error' in answer && actionError(rule.action, flow.family) === answer.error ? rule : undefined;
      default:
        break;
    }
  }
  return undefined;
}

const hex = (n: number) => `0x${(n >>> 0).toString(16)}`;

/** The rule as `ip rule show` prints it: "5270:\tfrom all lookup 52". */
export function ruleText(rule: NativeRule): string {
  const words: string[] = [];
  if (rule.flags & INVERT) words.push('not');
  words.push('from', rule.srcLen ? `${rule.src}/${rule.srcLen}` : 'all');
  if (rule.dstLen) words.push('to', `${rule.dst}/${rule.dstLen}`);
  if (rule.fwmark !== undefined || rule.fwmask !== undefined) {
    const mask = rule.fwmask ?? 0xffffffff;
    words.push(
      'fwmark',
      mask === 0xffffffff ? hex(rule.fwmark ?? 0) : `${hex(rule.fwmark ?? 0)}/${hex(mask)}`,
    );
  }
  if (rule.iif !== undefined) words.push('iif', rule.iif);
  if (rule.oif !== undefined) words.push('oif', rule.oif);
  if (rule.uidStart !== undefined) words.push('uidrange', `${rule.uidStart}-${rule.uidEnd}`);
  if (rule.ipProto !== undefined) words.push('ipproto', String(rule.ipProto));
  if (rule.sportStart !== undefined) words.push('sport', `${rule.sportStart}-${rule.sportEnd}`);
  if (rule.dportStart !== undefined) words.push('dport', `${rule.dportStart}-${rule.dportEnd}`);
  const action =
    Object.entries(RULE_ACTION).find(([, v]) => v === rule.action)?.[0] ?? `action ${rule.action}`;
  if (rule.action === RULE_ACTION.table) words.push('lookup', tableName(rule.table));
  else if (rule.action === RULE_ACTION.goto) words.push('goto', String(rule.goto));
  else words.push(action);
  if (rule.suppressPrefixLength !== undefined)
    words.push('suppress_prefixlength', String(rule.suppressPrefixLength));
  return `${rule.priority}:\t${words.join(' ')}`;
}
