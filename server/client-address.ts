import { isIPv6 } from 'node:net';

/**
 * The key per-address limits count under: an IPv4 address as itself (IPv4-mapped IPv6 included), an
 * IPv6 address by its /64, since one subscriber is normally given a whole /64 and could otherwise
 * take a fresh address for every attempt.
 */
export function clientKey(address: string | undefined): string {
  if (!address) return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!isIPv6(address)) return address;
  const [head = '', tail = ''] = address.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = address.includes('::')
    ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/** An address as people read it: IPv4-mapped IPv6 shown as IPv4. */
export function displayAddress(address: string | undefined): string {
  if (!address) return '';
  return /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1] ?? address;
}
