/**
 * IP protocols in rules, and how a rule's ports apply to each. Shared by the policy evaluator and
 * the packet filter, so both read a rule's ports the same way.
 *
 * Ports restrict TCP, UDP and SCTP. ICMP carries no port: a rule that reaches a destination on any
 * port also lets the source ping it (Tailscale's behaviour, so that "can I reach it?" diagnostics
 * work). Any other port-less protocol (GRE, ESP...) is only allowed by a destination whose ports
 * are "*", so that "tag:db:5432" does not quietly open every raw protocol to tag:db.
 */

export const TCP = 6;
const UDP = 17;
const ICMP = 1;
const ICMPV6 = 58;
const SCTP = 132;

export const ALL_PORTS = Object.freeze({ first: 0, last: 65535 });

const NAMES: Record<string, readonly number[]> = {
  tcp: [TCP],
  udp: [UDP],
  // Policies are written once for both address families, so "icmp" means ping in both.
  icmp: [ICMP, ICMPV6],
  'ipv6-icmp': [ICMPV6],
  sctp: [SCTP],
  igmp: [2],
  gre: [47],
  esp: [50],
  ah: [51],
};

const DECIMAL = /^(?:0|[1-9][0-9]{0,2})$/;

/** "tcp", "icmp" or a protocol number "0".."255", to protocol numbers. */
export function parseProtocol(text: string): readonly number[] {
  const named = Object.hasOwn(NAMES, text) ? NAMES[text] : undefined;
  if (named !== undefined) return named;
  if (DECIMAL.test(text) && Number(text) <= 255) return [Number(text)];
  throw new Error(
    `protocol ${JSON.stringify(text)} is not known (use ${Object.keys(NAMES).join(', ')} or a number 0-255)`,
  );
}

/** "tcp" for 6, "icmp" for 1, "47" for 47: how messages name a protocol. */
export function protocolName(proto: number): string {
  if (proto === ICMP) return 'icmp'; // "icmp" in a policy also means ICMPv6; alone, it is 1
  const named = Object.entries(NAMES).find(([, numbers]) => numbers.length === 1 && numbers[0] === proto);
  return named?.[0] ?? String(proto);
}

export function hasPorts(proto: number): boolean {
  return proto === TCP || proto === UDP || proto === SCTP;
}

/** Whether a destination entry with ports first..last admits a packet of `proto` to `port`. */
export function portsAdmit(proto: number, port: number, first: number, last: number): boolean {
  if (hasPorts(proto)) return port >= first && port <= last;
  if (proto === ICMP || proto === ICMPV6) return true;
  return first === 0 && last === 65535;
}
