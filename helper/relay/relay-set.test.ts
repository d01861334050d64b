import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RelayRegion } from '../../src/control/messages.js';
import { randomBytes } from '../../src/crypto/index.js';
import {
  afterTest,
  anyKey,
  crypto,
  keyPair,
  runCleanups,
  startRelay,
  waitFor,
} from '../../test/support/relay-lab.js';
import { RelaySet } from './relay-set.js';

afterEach(runCleanups);

/** A TCP proxy in front of `port` that holds every chunk for `delayMs` each way: a far-away region. */
async function slowProxy(port: number, delayMs: number): Promise<number> {
  const server = createServer((inbound: Socket) => {
    const outbound = new Socket();
    outbound.connect(port, '127.0.0.1');
    const pipe = (from: Socket, to: Socket) =>
      from.on('data', (d) => setTimeout(() => to.writable && to.write(d), delayMs));
    pipe(inbound, outbound);
    pipe(outbound, inbound);
    const end = () => {
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on('close', end).on('error', end);
    outbound.on('close', end).on('error', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  afterTest(() => new Promise<void>((r) => server.close(() => r())));
  server.unref();
  return (server.address() as { port: number }).port;
}

async function relayRegion(id: number, name: string, delayMs = 0): Promise<RelayRegion> {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-relayset-'));
  afterTest(() => rmSync(dir, { recursive: true, force: true }));
  const running = await startRelay({
    host: '127.0.0.1',
    port: 0,
    keyPath: join(dir, 'relay.key'),
    allowed: anyKey,
  });
  afterTest(() => running.close());
  const port = Number(new URL(running.url).port);
  const url = delayMs > 0 ? `http://127.0.0.1:${await slowProxy(port, delayMs)}` : running.url;
  return { id, name, url, publicKey: running.publicKey };
}

function member() {
  const node = keyPair();
  const received: Uint8Array[] = [];
  const homes: (string | null)[] = [];
  const set = new RelaySet({
    node,
    crypto,
    random: randomBytes,
    onPacket: (_src, packets) => received.push(...packets),
    onHomeChange: (region) => homes.push(region?.name ?? null),
    log: () => {},
  });
  afterTest(() => set.close());
  return { node, set, received, homes };
}

describe('RelaySet', () => {
  it('makes the region with the lowest latency home, and sends through it', async () => {
    const near = await relayRegion(1, 'near');
    const far = await relayRegion(2, 'far', 40);
    const unkeyed: RelayRegion = { id: 3, name: 'unkeyed', url: 'http://127.0.0.1:9' };
    const a = member();
    const b = member();
    for (const m of [a, b]) m.set.setRegions([far, unkeyed, near]);
    await waitFor('both to pick a home', () => a.set.home !== null && b.set.home !== null);
    expect(a.set.home?.name).toBe('near');
    expect(a.homes).toEqual(['near']);
    expect(a.set.connected(null)).toBe(true);
    expect(a.set.connected(3)).toBe(false); // never used: no pinned key

    expect(a.set.send(null, b.node.publicKey, new Uint8Array([1, 2, 3]))).toBe(true);
    await waitFor('the packet through the home region', () => b.received.length === 1);
    expect([...b.received[0]!]).toEqual([1, 2, 3]);
  });

  it('moves home when its region leaves the relay map, and says so', async () => {
    const near = await relayRegion(1, 'near');
    const far = await relayRegion(2, 'far', 40);
    const a = member();
    a.set.setRegions([near, far]);
    await waitFor('a home', () => a.set.home !== null);
    a.set.setRegions([far]);
    await waitFor('the new home', () => a.set.home?.name === 'far');
    expect(a.homes).toEqual(['near', null, 'far']);
    // The same map again changes nothing.
    a.set.setRegions([far]);
    expect(a.homes).toEqual(['near', null, 'far']);
  });

  it('sends to a peer through the peer home region, not its own', async () => {
    const near = await relayRegion(1, 'near');
    const far = await relayRegion(2, 'far', 40);
    const a = member();
    const b = member();
    a.set.setRegions([near, far]);
    b.set.setRegions([far]); // b only knows far: that is where it listens
    await waitFor('homes', () => a.set.home?.name === 'near' && b.set.home?.name === 'far');
    await waitFor('a packet through far', () => {
      a.set.send(2, b.node.publicKey, new Uint8Array([9]));
      return b.received.length > 0;
    });
    expect(a.set.connected(2)).toBe(true);
  });
});
