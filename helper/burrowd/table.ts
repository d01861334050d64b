/**
 * wg-quick's `Table` and `FwMark` for a `burrowd --wg-config` interface, as the routing layout
 * they ask for:
 * - `auto` (or no Table): Burrow's own layout, table 52 and rules 5210-5270, whose bypass rules
 *   match the socket's mark: FwMark when set (so that a full tunnel's encrypted packets, carrying
 *   that mark, still leave by the main table), else Burrow's 0x80000; and, as wg-quick's full
 *   tunnel, while a peer has 0.0.0.0/0 or ::/0, rules 5260 and 5265 that keep the main table's
 *   other routes (the LAN) out of the tunnel (linux-routing.ts);
 * - `off`: no route and no rule at all (addresses, MTU and link up only);
 * - a number or an rt_tables name: the peers' routes in that table and no rule, as wg-quick does
 *   with an explicit table (the user's own rules decide what looks it up).
 */
import { BURROW_MARK, type BypassMark, burrowLayout, type RoutingLayout } from '../routing/linux-routing.js';

export function routingLayout(table: string | undefined, fwMark: number): RoutingLayout {
  if (table === 'off') return { table: null, rules: null };
  if (table === undefined || table === 'auto')
    return { ...burrowLayout(bypassMarkFor(fwMark)), fullTunnel: true };
  return { table, rules: null };
}

/** The mark the bypass rules match: exactly the user's FwMark, or Burrow's own under its mask. */
export function bypassMarkFor(fwMark: number): BypassMark {
  return fwMark === 0 ? BURROW_MARK : { mark: fwMark, mask: 0xffff_ffff };
}

/**
 * The mark burrowd's UDP socket carries: the one its bypass rules match, where the layout has them;
 * otherwise only the FwMark the user set (0: none), as wireguard-go's socket.
 */
export function socketMarkFor(layout: RoutingLayout | null, fwMark: number): number {
  return layout?.rules ? bypassMarkFor(fwMark).mark : fwMark;
}
