import type { MapDelta } from '../../src/control/messages.js';
import type { FilterRule } from '../../src/policy/index.js';

export type FilterPatch = NonNullable<MapDelta['filterPatch']>;

/** How a device's filter changed: not at all, only in some rules' sources, or otherwise. */
export type FilterChange = { kind: 'same' } | { kind: 'patch'; patch: FilterPatch } | { kind: 'replace' };

interface SourceDiff {
  readonly added: string[];
  readonly removed: string[];
}

// Rules of one compiled policy share their source lists, so the diff between an old and a new
// list is worked out once and reused for every device holding both (a device joining a network
// without a policy changes every device's sources the same way).
const diffs = new WeakMap<readonly string[], WeakMap<readonly string[], SourceDiff>>();

export function sourceDiff(before: readonly string[], after: readonly string[]): SourceDiff {
  let byAfter = diffs.get(before);
  if (byAfter === undefined) {
    byAfter = new WeakMap();
    diffs.set(before, byAfter);
  }
  let diff = byAfter.get(after);
  if (diff === undefined) {
    const old = new Set(before);
    const now = new Set(after);
    diff = { added: after.filter((ip) => !old.has(ip)), removed: before.filter((ip) => !now.has(ip)) };
    byAfter.set(after, diff);
  }
  return diff;
}

const sameList = <T>(a: readonly T[], b: readonly T[], eq: (x: T, y: T) => boolean) =>
  a === b || (a.length === b.length && a.every((x, i) => eq(x, b[i]!)));

function sameShape(a: FilterRule, b: FilterRule): boolean {
  return (
    sameList(a.protocols, b.protocols, (x, y) => x === y) &&
    sameList(
      a.dstPorts,
      b.dstPorts,
      (x, y) => x.ip === y.ip && x.ports.first === y.ports.first && x.ports.last === y.ports.last,
    )
  );
}

/**
 * The change from the filter a device has to its new one. A patch is chosen when every rule kept
 * its place, destinations and protocols, so that a device joining a group sends each peer two
 * addresses rather than each peer's whole filter again.
 */
export function diffFilters(before: readonly FilterRule[], after: readonly FilterRule[]): FilterChange {
  if (before.length !== after.length) return { kind: 'replace' };
  const patch: FilterPatch = [];
  for (let i = 0; i < after.length; i++) {
    const a = before[i]!;
    const b = after[i]!;
    if (!sameShape(a, b)) return { kind: 'replace' };
    if (a.srcIps === b.srcIps) continue;
    const { added, removed } = sourceDiff(a.srcIps, b.srcIps);
    if (added.length > 0 || removed.length > 0)
      patch.push({ index: i, srcAdded: added, srcRemoved: removed });
  }
  return patch.length === 0 ? { kind: 'same' } : { kind: 'patch', patch };
}
