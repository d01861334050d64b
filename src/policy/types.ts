/**
 * A parsed and validated access policy. Every name in it is resolved (groups flattened to logins,
 * hosts to prefixes, tags checked against tagOwners), so evaluating it cannot fail on a typo.
 */
import type { Prefix } from './prefix.js';

/** Who or what a src, dst, owner or test names. `text` is the selector as written, for messages. */
export type Selector =
  | { readonly kind: 'any'; readonly text: string } // "*"
  | { readonly kind: 'user'; readonly text: string; readonly login: string }
  | { readonly kind: 'group'; readonly text: string; readonly name: string } // name: "group:eng"
  | { readonly kind: 'tag'; readonly text: string; readonly name: string } // name: "tag:db"
  | { readonly kind: 'address'; readonly text: string; readonly prefix: Prefix } // an IP, CIDR or host
  | { readonly kind: 'member'; readonly text: string } // autogroup:member
  | { readonly kind: 'self'; readonly text: string } // autogroup:self (dst only)
  | { readonly kind: 'internet'; readonly text: string } // autogroup:internet (dst only)
  | { readonly kind: 'shared'; readonly text: string }; // autogroup:shared

/** Who may own a tag or have routes approved: users, groups, autogroup:member, tags (routes only). */
export type Owner = Extract<Selector, { kind: 'user' | 'group' | 'tag' | 'member' }>;

export interface PortRange {
  readonly first: number;
  readonly last: number;
}

/** One "target:ports" of a rule's dst. */
export interface DstEntry {
  readonly target: Selector;
  readonly ports: readonly PortRange[];
}

/** An "accept" rule: traffic from any src to any dst entry, over `protocols` (empty: all). */
export interface AclRule {
  readonly src: readonly Selector[];
  readonly dst: readonly DstEntry[];
  readonly protocols: readonly number[];
}

export interface AutoApprovers {
  readonly routes: readonly { readonly prefix: Prefix; readonly owners: readonly Owner[] }[];
  readonly exitNode: readonly Owner[];
}

/** One "target:port" a test expects to be accepted or denied. */
export interface TestTarget {
  readonly text: string;
  readonly target: Selector;
  readonly port: number;
}

export interface PolicyTest {
  readonly src: Selector;
  readonly accept: readonly TestTarget[];
  readonly deny: readonly TestTarget[];
  /** Every one must give the expected answer (default: TCP). */
  readonly protocols: readonly number[];
}

export interface Policy {
  readonly acls: readonly AclRule[];
  /** Each group's members, nested groups expanded: logins, sorted, without repeats. */
  readonly groups: ReadonlyMap<string, readonly string[]>;
  readonly hosts: ReadonlyMap<string, Prefix>;
  readonly tagOwners: ReadonlyMap<string, readonly Owner[]>;
  readonly autoApprovers: AutoApprovers;
  readonly tests: readonly PolicyTest[];
}
