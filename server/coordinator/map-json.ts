import type { MapDelta, NodeInfo } from '../../src/control/messages.js';
import { effectiveRoutes } from '../policy-context.js';
import type { Device } from '../store/types.js';
import type { Directory } from './directory.js';

const DEFAULT_ROUTES = new Set(['0.0.0.0/0', '::/0']);

/**
 * The JSON of map messages (map-engine.ts): devices' entries as peers see them, each made once per
 * version of the device and shared by every stream that shows it, and deltas assembled from them.
 */
export class NodeEntries {
  /** Per device version, its entry as JSON: [as its own network sees it, as a share]. */
  private readonly cache = new WeakMap<Device, [string?, string?]>();

  /** `dir`: the engine's directory now (it is replaced when the store is read again). */
  constructor(private readonly dir: () => Directory) {}

  /** The device's entry as JSON (made once per version of the device). */
  json(d: Device, shared: boolean): string {
    let cached = this.cache.get(d);
    if (cached === undefined) {
      cached = [];
      this.cache.set(d, cached);
    }
    const i = shared ? 1 : 0;
    cached[i] ??= JSON.stringify(this.info(d, shared));
    return cached[i];
  }

  info(d: Device, shared: boolean): NodeInfo {
    const dir = this.dir();
    const routes = effectiveRoutes(d);
    return {
      id: d.id,
      name: d.name,
      user: dir.user(d.userId).name,
      network: dir.network(d.networkId).name,
      ips: [d.ipv4, d.ipv6],
      nodeKey: d.nodeKey,
      discoKey: d.discoKey,
      endpoints: d.endpoints,
      homeRelay: d.homeRelay,
      online: d.online,
      lastSeen: d.lastSeen,
      keyExpiry: d.keyExpiry,
      shared,
      exitNodeOption: routes.some((r) => DEFAULT_ROUTES.has(r)),
      routes: routes.filter((r) => !DEFAULT_ROUTES.has(r)),
    };
  }
}

/** A delta being assembled for one stream, its peers as cached JSON. */
export interface DeltaParts {
  added?: string[];
  changed?: string[];
  removed?: string[];
  filter?: string;
  filterPatch?: MapDelta['filterPatch'];
  self?: string;
  dns?: string;
}

export function push(delta: DeltaParts, list: 'added' | 'changed' | 'removed', item: string): void {
  const items = delta[list];
  if (items === undefined) delta[list] = [item];
  else items.push(item);
}

export function deltaJson(seq: number, d: DeltaParts): string | null {
  const parts: string[] = [];
  if (d.added) parts.push(`"peersAdded":[${d.added.join(',')}]`);
  if (d.changed) parts.push(`"peersChanged":[${d.changed.join(',')}]`);
  if (d.removed) parts.push(`"peersRemoved":${JSON.stringify(d.removed)}`);
  if (d.filter !== undefined) parts.push(`"filter":${d.filter}`);
  if (d.filterPatch) parts.push(`"filterPatch":${JSON.stringify(d.filterPatch)}`);
  if (d.self !== undefined) parts.push(`"self":${d.self}`);
  if (d.dns !== undefined) parts.push(`"dns":${d.dns}`);
  if (parts.length === 0) return null;
  return `{"type":"delta","seq":${seq},${parts.join(',')}}`;
}
