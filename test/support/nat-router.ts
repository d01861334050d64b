/**
 * A home router in a namespace: it forwards between a private subnet (LAN side) and the lab LAN
 * (WAN side, which plays the internet) and NATs with nftables, in a table of its own.
 *
 *   easy         `masquerade`: Linux keeps the source port when it is free, so one socket gets the
 *                same public port toward every destination (endpoint-independent mapping).
 *   symmetric    `masquerade random`: a fresh random public port per conntrack entry, i.e. per
 *                destination (endpoint-dependent mapping); hole punching cannot guess it.
 *   udp-blocked  `masquerade`, and every forwarded UDP packet from the private side is dropped
 *                (TCP, and so the relay over HTTP, still works).
 *   bare         `masquerade` with no inbound filter, as on self-built routers and VPS gateways:
 *                conntrack alone decides what gets in (replies to the private side's own flows).
 *                The lab puts it a routed hop away from the other routers (mesh-lab.ts).
 *
 * Every kind but bare filters like a consumer router: unsolicited packets from the WAN side are dropped,
 * both toward the private side and toward the router itself. Dropping the ones toward the router
 * also matters for hole punching: an inbound UDP packet that arrived before the device's own first
 * packet to that peer would otherwise leave a conntrack entry behind that claims the public port,
 * and the device's outbound packets to that peer would then be given another port.
 */
import { spawnSync } from 'node:child_process';
import type { Netns } from './netns.js';

export type NatKind = 'easy' | 'symmetric' | 'udp-blocked' | 'bare';

const TABLE = 'burrow_nat';

/** The router's ruleset; `wan` and `lan` are its interface names. */
export function natRuleset(kind: NatKind, wan: string, lan: string): string {
  // Without the filter, a packet from outside that arrives before the private side's own first
  // packet to its sender is delivered to the router itself (no socket there: an ICMP error), and
  // its conntrack entry stays, claiming that public port toward that sender.
  const filtered = kind !== 'bare';
  return `
table ip ${TABLE} {
  chain udp_block {
  }
  chain forward {
    type filter hook forward priority filter; policy accept;
    jump udp_block
    ${filtered ? `iifname "${wan}" ct state new drop` : ''}
    ${kind === 'udp-blocked' ? `iifname "${lan}" meta l4proto udp drop` : ''}
  }
  chain input {
    type filter hook input priority filter; policy accept;
    ${filtered ? `iifname "${wan}" meta l4proto { tcp, udp } ct state new drop` : ''}
  }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "${wan}" masquerade${kind === 'symmetric' ? ' random' : ''}
  }
}
`;
}

/** Turns `router` into a NAT router between `lan` (private) and `wan` (public). */
export async function configureNat(router: Netns, kind: NatKind, wan: string, lan: string): Promise<void> {
  await router.exec('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
  await router.exec('nft', ['-f', '-'], { input: natRuleset(kind, wan, lan) });
}

/**
 * Drops (or stops dropping) every forwarded UDP packet, both ways. A filter rule sees every packet,
 * those of established conntrack entries too, so flows already set up stop at once. Idempotent.
 */
export async function setUdpBlocked(router: Netns, blocked: boolean): Promise<void> {
  const flush = `flush chain ip ${TABLE} udp_block\n`;
  const drop = `add rule ip ${TABLE} udp_block meta l4proto udp drop\n`;
  await router.exec('nft', ['-f', '-'], { input: blocked ? flush + drop : flush });
}

/** Whether the `nft` tool is installed. */
export function hasNft(): boolean {
  return spawnSync('nft', ['--version'], { stdio: 'ignore' }).status === 0;
}
