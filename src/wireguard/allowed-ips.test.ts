import { describe, expect, it } from 'vitest';
import { prng } from '../../test/support/rng.js';
import { formatAddr, parseCidr } from '../packet/ip-text.js';
import { AllowedIps } from './allowed-ips.js';

const ip = (text: string) => parseCidr(text).addr;

function table(routes: Record<string, string>): AllowedIps<string> {
  const t = new AllowedIps<string>();
  for (const [prefix, peer] of Object.entries(routes)) {
    const { addr, cidr } = parseCidr(prefix);
    t.insert(addr, cidr, peer);
  }
  return t;
}

function entries(t: AllowedIps<string>, peer: string): string[] {
  return t
    .entriesOf(peer)
    .map((e) => `${formatAddr(e.addr)}/${e.cidr}`)
    .sort();
}

describe('AllowedIps longest-prefix match', () => {
  const t = table({
    '10.0.0.0/8': 'a',
    '10.1.0.0/16': 'b',
    '10.1.2.0/24': 'c',
    '10.1.2.3/32': 'd',
    '192.168.0.0/16': 'e',
    '192.168.128.0/17': 'f',
    '0.0.0.0/0': 'default4',
    'fd00::/8': 'g',
    'fd00:1::/32': 'h',
    'fd00:1:2:3::/64': 'i',
    'fd00:1:2:3::1/128': 'j',
    '2001:db8::/32': 'k',
  });

  it.each([
    ['10.9.9.9', 'a'],
    ['10.1.9.9', 'b'],
    ['10.1.2.9', 'c'],
    ['10.1.2.3', 'd'],
    ['10.1.2.4', 'c'],
    ['192.168.127.255', 'e'],
    ['192.168.128.0', 'f'],
    ['192.169.0.0', 'default4'],
    ['11.0.0.0', 'default4'],
    ['255.255.255.255', 'default4'],
    ['fd00::1', 'g'],
    ['fd00:1::1', 'h'],
    ['fd00:1:2:3::2', 'i'],
    ['fd00:1:2:3::1', 'j'],
    ['fd00:1:2:3:ffff:ffff:ffff:ffff', 'i'],
    ['fd00:1:2:4::1', 'h'],
    ['fe00::1', undefined],
    ['2001:db8:ffff::', 'k'],
    ['2001:db9::', undefined],
    ['::', undefined],
  ])('%s -> %s', (addr, peer) => {
    expect(t.lookup(ip(addr))).toBe(peer);
  });

  it('reads the address in place from a packet buffer', () => {
    const packet = new Uint8Array(60);
    packet.set(ip('10.1.2.3'), 16);
    packet.set(ip('fd00:1:2:3::1'), 24);
    expect(t.lookup(packet, 16, 4)).toBe('d');
    expect(t.lookup(packet, 24, 16)).toBe('j');
    expect(t.lookup(packet, 44)).toBe(undefined); // 16 zero bytes: the rest of the buffer
  });

  it('keeps IPv4 and IPv6 apart', () => {
    const t = table({ '0.0.0.0/0': 'v4' });
    expect(t.lookup(ip('::'))).toBe(undefined);
    t.insert(ip('::'), 0, 'v6');
    expect(t.lookup(ip('1.2.3.4'))).toBe('v4');
    expect(t.lookup(ip('::ffff:1.2.3.4'))).toBe('v6');
  });

  it('rejects bad lookups with a RangeError', () => {
    expect(() => t.lookup(new Uint8Array(5))).toThrow(RangeError);
    expect(() => t.lookup(new Uint8Array(20), 17, 4)).toThrow(/within the 20-byte buffer/);
    expect(() => t.lookup(new Uint8Array(20), -1, 4)).toThrow(RangeError);
    expect(() => t.lookup(new Uint8Array(20), 1.5, 4)).toThrow(RangeError);
  });
});

describe('AllowedIps updates', () => {
  it('masks host bits on insert', () => {
    const t = new AllowedIps<string>();
    t.insert(ip('10.0.0.7'), 24, 'a');
    expect(t.lookup(ip('10.0.0.200'))).toBe('a');
    expect(entries(t, 'a')).toEqual(['10.0.0.0/24']);
    expect(t.remove(ip('10.0.0.99'), 24)).toBe(true);
    expect(t.lookup(ip('10.0.0.7'))).toBe(undefined);
  });

  it('moves an existing prefix to the new value', () => {
    const t = table({ '10.0.0.0/24': 'a', '10.0.1.0/24': 'a' });
    t.insert(ip('10.0.0.0'), 24, 'b');
    expect(t.lookup(ip('10.0.0.1'))).toBe('b');
    expect(entries(t, 'a')).toEqual(['10.0.1.0/24']);
    expect(entries(t, 'b')).toEqual(['10.0.0.0/24']);
    t.insert(ip('10.0.1.0'), 24, 'b');
    expect(entries(t, 'a')).toEqual([]);
    expect(t.removeValue('a')).toBe(0);
  });

  it('moves host routes and /0 routes too', () => {
    const t = table({ '10.0.0.1/32': 'a', 'fd00::1/128': 'a', '0.0.0.0/0': 'a', '::/0': 'a' });
    for (const prefix of ['10.0.0.1/32', 'fd00::1/128', '0.0.0.0/0', '::/0']) {
      const { addr, cidr } = parseCidr(prefix);
      t.insert(addr, cidr, 'b');
    }
    expect(entries(t, 'a')).toEqual([]);
    expect(entries(t, 'b')).toEqual(['0.0.0.0/0', '10.0.0.1/32', '::/0', 'fd00::1/128']);
    expect(t.lookup(ip('10.0.0.1'))).toBe('b');
    expect(t.lookup(ip('fd00::1'))).toBe('b');
  });

  it('handles /0 routes and their removal', () => {
    const t = table({ '0.0.0.0/0': 'all4', '::/0': 'all6', '10.0.0.0/8': 'a' });
    expect(t.lookup(ip('8.8.8.8'))).toBe('all4');
    expect(t.lookup(ip('2606:4700::1111'))).toBe('all6');
    expect(t.remove(ip('0.0.0.0'), 0)).toBe(true);
    expect(t.lookup(ip('8.8.8.8'))).toBe(undefined);
    expect(t.lookup(ip('10.0.0.1'))).toBe('a');
    expect(t.lookup(ip('2606:4700::1111'))).toBe('all6');
  });

  it('removes one prefix without disturbing overlapping ones', () => {
    const t = table({ '10.0.0.0/8': 'a', '10.1.0.0/16': 'b', '10.1.1.0/24': 'c', '10.2.0.0/16': 'd' });
    expect(t.remove(ip('10.1.0.0'), 16)).toBe(true);
    expect(t.remove(ip('10.1.0.0'), 16)).toBe(false);
    expect(t.remove(ip('10.1.0.0'), 15)).toBe(false); // a prefix that only exists as a branch point
    expect(t.lookup(ip('10.1.2.1'))).toBe('a');
    expect(t.lookup(ip('10.1.1.1'))).toBe('c');
    expect(t.lookup(ip('10.2.1.1'))).toBe('d');
    expect(t.remove(ip('10.0.0.0'), 8)).toBe(true);
    expect(t.lookup(ip('10.1.2.1'))).toBe(undefined);
    expect(t.lookup(ip('10.1.1.1'))).toBe('c');
  });

  it('removeValue drops every prefix of a peer', () => {
    const t = table({
      '10.0.0.0/8': 'a',
      '10.1.0.0/16': 'b',
      '10.1.1.0/24': 'a',
      'fd00::/64': 'a',
      'fd00::1/128': 'b',
    });
    expect(entries(t, 'a')).toEqual(['10.0.0.0/8', '10.1.1.0/24', 'fd00::/64']);
    expect(t.removeValue('a')).toBe(3);
    expect(t.lookup(ip('10.1.1.1'))).toBe('b');
    expect(t.lookup(ip('10.2.0.0'))).toBe(undefined);
    expect(t.lookup(ip('fd00::1'))).toBe('b');
    expect(t.lookup(ip('fd00::2'))).toBe(undefined);
    expect(entries(t, 'a')).toEqual([]);
  });

  it('clear empties both families', () => {
    const t = table({ '10.0.0.0/8': 'a', '::/0': 'b' });
    t.clear();
    expect(t.lookup(ip('10.0.0.1'))).toBe(undefined);
    expect(t.lookup(ip('::1'))).toBe(undefined);
    expect(t.entriesOf('a')).toEqual([]);
  });

  it('validates prefixes with RangeErrors that name the problem', () => {
    const t = new AllowedIps<string>();
    expect(() => t.insert(new Uint8Array(5), 8, 'a')).toThrow(/4 \(IPv4\) or 16 \(IPv6\) bytes, got 5/);
    expect(() => t.insert(new Uint8Array(4), 33, 'a')).toThrow(/cidr 33 is out of range for IPv4 \(0-32\)/);
    expect(() => t.insert(new Uint8Array(16), 129, 'a')).toThrow(/out of range for IPv6 \(0-128\)/);
    expect(() => t.insert(new Uint8Array(4), -1, 'a')).toThrow(RangeError);
    expect(() => t.insert(new Uint8Array(4), 8.5, 'a')).toThrow(RangeError);
    expect(() => t.remove(new Uint8Array(3), 0)).toThrow(RangeError);
  });
});

/** The obvious definition the trie must agree with. */
class LinearTable {
  routes: Array<{ addr: Uint8Array; cidr: number; value: number }> = [];

  private static within(addr: Uint8Array, prefix: Uint8Array, cidr: number): boolean {
    if (addr.length !== prefix.length) return false;
    for (let i = 0; i < addr.length && 8 * i < cidr; i++) {
      const bits = Math.min(8, cidr - 8 * i);
      const mask = (0xff00 >> bits) & 0xff;
      if (((addr[i]! ^ prefix[i]!) & mask) !== 0) return false;
    }
    return true;
  }

  private find(addr: Uint8Array, cidr: number): number {
    return this.routes.findIndex((r) => r.cidr === cidr && LinearTable.within(addr, r.addr, cidr));
  }

  insert(addr: Uint8Array, cidr: number, value: number): void {
    const i = this.find(addr, cidr);
    if (i >= 0) this.routes.splice(i, 1);
    const masked = addr.map((b, j) => b & ((0xff00 >> Math.max(0, Math.min(8, cidr - 8 * j))) & 0xff));
    this.routes.push({ addr: masked, cidr, value });
  }

  remove(addr: Uint8Array, cidr: number): boolean {
    const i = this.find(addr, cidr);
    if (i >= 0) this.routes.splice(i, 1);
    return i >= 0;
  }

  removeValue(value: number): number {
    const before = this.routes.length;
    this.routes = this.routes.filter((r) => r.value !== value);
    return before - this.routes.length;
  }

  lookup(addr: Uint8Array): number | undefined {
    let best: { cidr: number; value: number } | undefined;
    for (const r of this.routes) {
      if ((best === undefined || r.cidr > best.cidr) && LinearTable.within(addr, r.addr, r.cidr)) best = r;
    }
    return best?.value;
  }

  entriesOf(value: number): string[] {
    return this.routes
      .filter((r) => r.value === value)
      .map((r) => `${formatAddr(r.addr)}/${r.cidr}`)
      .sort();
  }
}

describe('AllowedIps against a linear scan', () => {
  for (const bytes of [4, 16] as const) {
    it(`agrees on thousands of random IPv${bytes === 4 ? 4 : 6} prefixes and lookups`, () => {
      const random = prng(bytes * 7919);
      const int = (n: number) => Math.floor(random() * n);
      // A few base addresses, randomly perturbed, so that prefixes overlap and nest often.
      const bases = Array.from({ length: 8 }, () => Uint8Array.from({ length: bytes }, () => int(256)));
      const randomAddr = () => {
        const addr = Uint8Array.from(bases[int(bases.length)]!);
        const flips = int(4);
        for (let i = 0; i < flips; i++) addr[int(bytes)]! ^= 1 << int(8);
        return random() < 0.1 ? Uint8Array.from({ length: bytes }, () => int(256)) : addr;
      };
      // Common lengths half of the time, so the same prefix is often inserted again (replacement).
      const common = bytes === 4 ? [0, 8, 16, 24, 31, 32] : [0, 32, 48, 64, 127, 128];
      const randomCidr = () => (random() < 0.5 ? common[int(common.length)]! : int(bytes * 8 + 1));
      const trie = new AllowedIps<number>();
      const reference = new LinearTable();
      const peers = 20;

      for (let round = 0; round < 4000; round++) {
        const action = random();
        const addr = randomAddr();
        const cidr = randomCidr();
        if (action < 0.6) {
          const peer = int(peers);
          trie.insert(addr, cidr, peer);
          reference.insert(addr, cidr, peer);
        } else if (action < 0.85) {
          // Remove something that exists half of the time.
          const existing = reference.routes[int(reference.routes.length)];
          const [a, c] =
            existing !== undefined && random() < 0.5 ? [existing.addr, existing.cidr] : [addr, cidr];
          expect(trie.remove(a, c)).toBe(reference.remove(a, c));
        } else if (action < 0.87) {
          const peer = int(peers);
          expect(trie.removeValue(peer)).toBe(reference.removeValue(peer));
        }
        for (let i = 0; i < 5; i++) {
          const probe = randomAddr();
          expect(trie.lookup(probe)).toBe(reference.lookup(probe));
        }
      }
      for (let peer = 0; peer < peers; peer++) {
        expect(
          trie
            .entriesOf(peer)
            .map((e) => `${formatAddr(e.addr)}/${e.cidr}`)
            .sort(),
        ).toEqual(reference.entriesOf(peer));
      }
      for (let i = 0; i < 5000; i++) {
        const probe = randomAddr();
        expect(trie.lookup(probe)).toBe(reference.lookup(probe));
      }
      // Emptying the table through removals must leave nothing matching.
      for (const r of [...reference.routes])
        expect(trie.remove(r.addr, r.cidr)).toBe(reference.remove(r.addr, r.cidr));
      for (let i = 0; i < 1000; i++) expect(trie.lookup(randomAddr())).toBe(undefined);
    });
  }
});

describe('parseCidr', () => {
  it.each([
    ['10.0.0.0/8', [10, 0, 0, 0], 8, 4],
    ['10.0.0.7/24', [10, 0, 0, 7], 24, 4],
    ['0.0.0.0/0', [0, 0, 0, 0], 0, 4],
    ['255.255.255.255', [255, 255, 255, 255], 32, 4],
    ['::/0', new Array(16).fill(0), 0, 6],
    ['::', new Array(16).fill(0), 128, 6],
    ['::1', [...new Array(15).fill(0), 1], 128, 6],
    ['fd00::/64', [0xfd, ...new Array(15).fill(0)], 64, 6],
    ['FD00:0:0:0:0:0:0:1/128', [0xfd, ...new Array(14).fill(0), 1], 128, 6],
    ['1::', [0, 1, ...new Array(14).fill(0)], 128, 6],
    ['::ffff:1.2.3.4/96', [...new Array(10).fill(0), 0xff, 0xff, 1, 2, 3, 4], 96, 6],
    ['1:2:3:4:5:6:7:8', [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8], 128, 6],
    ['1:2:3:4:5:6:7::', [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 0], 128, 6],
    ['1:2:3:4:5:6:1.2.3.4', [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 1, 2, 3, 4], 128, 6],
  ])('%s', (text, addr, cidr, family) => {
    expect(parseCidr(text)).toEqual({ addr: Uint8Array.from(addr as number[]), cidr, family });
  });

  it.each([
    '',
    '/8',
    '10.0.0.0/',
    '10.0.0.0/33',
    '10.0.0.0/08',
    '10.0.0.0/-1',
    '10.0.0.0/+8',
    '10.0.0.0/8/8',
    '10.0.0.0/8 ',
    ' 10.0.0.0/8',
    '10.0.0/8',
    '10.0.0.0.0',
    '10.0.0.256',
    '10.0.0.01',
    '10.0.0.-1',
    '10..0.0',
    '0x10.0.0.0',
    '::/129',
    ':::',
    '1::2::3',
    ':1::',
    '1::2:',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7:8::',
    '12345::',
    'g::',
    'fe80::1%eth0',
    '[::1]',
    '::1.2.3',
    '1.2.3.4::',
    '::1.2.3.4:5',
    '1:2:3:4:5:6:7:1.2.3.4',
  ])('rejects %j, quoting it', (text) => {
    expect(() => parseCidr(text)).toThrow(JSON.stringify(text));
  });

  it('rejects non-strings', () => {
    expect(() => parseCidr(42 as unknown as string)).toThrow(/expected a string/);
  });
});

describe('formatAddr', () => {
  it.each([
    ['10.1.2.3', '10.1.2.3'],
    ['0.0.0.0', '0.0.0.0'],
    ['::', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['2001:DB8:0:0:0:0:2:1', '2001:db8::2:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // a single zero group stays
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // the longest run wins
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // the first of equal runs wins
    ['fd00:00ab:0cde:0000:0000:0000:0000:0001', 'fd00:ab:cde::1'],
    ['::ffff:192.0.2.1', '::ffff:192.0.2.1'],
    ['::ffff:c000:201', '::ffff:192.0.2.1'],
    ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
  ])('%s -> %s', (text, expected) => {
    expect(formatAddr(ip(text))).toBe(expected);
    expect(formatAddr(ip(expected))).toBe(expected);
  });

  it('round-trips random addresses through parseCidr', () => {
    const random = prng(42);
    for (let i = 0; i < 2000; i++) {
      // Mostly-zero groups exercise the "::" choice.
      const addr = Uint8Array.from({ length: 16 }, () => (random() < 0.6 ? 0 : Math.floor(random() * 256)));
      expect(parseCidr(formatAddr(addr)).addr).toEqual(addr);
    }
  });

  it('rejects other lengths', () => {
    expect(() => formatAddr(new Uint8Array(5))).toThrow(RangeError);
  });
});
