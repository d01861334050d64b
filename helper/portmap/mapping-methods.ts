/**
 * The port mapping services burrowd can use (PCP, NAT-PMP, UPnP), the mapping one granted, and how
 * `BURROW_PORTMAP` picks among them.
 */

export type MappingMethod = 'pcp' | 'nat-pmp' | 'upnp';
export const MAPPING_METHODS: readonly MappingMethod[] = ['pcp', 'nat-pmp', 'upnp'];

export interface PortMapping {
  method: MappingMethod;
  /** The public endpoint, `a.b.c.d:port`. */
  endpoint: string;
  /** Seconds the gateway granted. */
  lifetime: number;
}

/** The methods `BURROW_PORTMAP` asks for: a comma-separated list, or `off`. */
export function methodsFromEnv(value: string | undefined): MappingMethod[] {
  if (value === undefined || value === '') return [...MAPPING_METHODS];
  if (value === 'off') return [];
  const asked = value.split(',').map((s) => s.trim());
  const bad = asked.filter((m) => !MAPPING_METHODS.includes(m as MappingMethod));
  if (bad.length > 0)
    throw new Error(`BURROW_PORTMAP: unknown method ${bad.join(', ')} (pcp, nat-pmp, upnp, off)`);
  return MAPPING_METHODS.filter((m) => asked.includes(m));
}
