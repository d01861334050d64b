import type { MapDelta, Netmap } from './messages.js';

type FilterRule = Netmap['filter'][number];

/** A delta that does not fit the map it is applied to: the device must ask for a full map. */
export class DeltaError extends Error {}

/**
 * The map after `delta`, as a new object (the old one is left as it was, so a device can compare
 * them). Strict: a change or removal of a peer the map lacks, an addition of one it has, or a
 * filter patch past the end of the filter means the two sides disagree, and the caller resyncs.
 */
export function applyDelta(map: Netmap, delta: MapDelta): Netmap {
  const peers = new Map(map.peers.map((p) => [p.id, p]));
  for (const id of delta.peersRemoved ?? []) {
    if (!peers.delete(id)) throw new DeltaError(`removed peer ${id} is not in the map`);
  }
  for (const p of delta.peersAdded ?? []) {
    if (peers.has(p.id)) throw new DeltaError(`added peer ${p.id} is already in the map`);
    peers.set(p.id, p);
  }
  for (const p of delta.peersChanged ?? []) {
    if (!peers.has(p.id)) throw new DeltaError(`changed peer ${p.id} is not in the map`);
    peers.set(p.id, p);
  }
  let filter = delta.filter ?? map.filter;
  if (delta.filterPatch) filter = patchFilter(filter, delta.filterPatch);
  const dns = delta.dns ?? map.dns;
  return {
    ...map,
    self: delta.self ?? map.self,
    peers: [...peers.values()],
    filter,
    ...(dns ? { dns } : {}),
  };
}

function patchFilter(
  filter: readonly FilterRule[],
  patch: NonNullable<MapDelta['filterPatch']>,
): FilterRule[] {
  const out = filter.map((r) => ({ ...r }));
  for (const { index, srcAdded, srcRemoved } of patch) {
    const rule = out[index];
    if (rule === undefined) throw new DeltaError(`filter patch for rule ${index} of ${out.length}`);
    const removed = new Set(srcRemoved);
    const kept = rule.srcIps.filter((ip) => !removed.has(ip));
    const present = new Set(kept);
    rule.srcIps = [...kept, ...srcAdded.filter((ip) => !present.has(ip))];
  }
  return out;
}

/**
 * The map in a canonical order (peers by id, sources sorted), so two maps with the same meaning
 * compare equal: a map kept up to date by deltas against a freshly built one.
 */
export function canonicalNetmap(map: Netmap): Netmap {
  return {
    ...map,
    peers: [...map.peers].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
    filter: map.filter.map((r) => ({ ...r, srcIps: [...r.srcIps].sort() })),
  };
}
