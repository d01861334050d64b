/**
 * The endpoint finder against burrow-server's real STUN responder, through burrowd's real UDP
 * bind (which sends to addresses only), with STUN servers named in the relay map as a server
 * offers them: by address, or by DNS name resolved through the system's resolver (/etc/hosts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { RelayRegion } from '../../src/control/messages.js';
import { isStunPacket } from '../../src/stun/detect.js';
import { waitFor } from '../../test/support/polling.js';
import { startStunServer } from '../../test/support/stun-responder.js';
import { openBind } from '../bind/linux-bind.js';
import { EndpointFinder } from './endpoint-finder.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A finder on a real bind, fed the STUN answers that arrive there, as PathConn does. */
function finder(options: { resolve?: (host: string) => Promise<string> } = {}) {
  const bind = openBind(0, { fwmark: 0 });
  const logs: string[] = [];
  const f = new EndpointFinder({
    tunName: 'burrow-test0',
    port: () => bind.port,
    send: (data, host, port) => bind.send([{ data, host, port }]),
    onChange: () => {},
    log: (m) => logs.push(m),
    ...options,
  });
  bind.onDatagrams((datagrams) => {
    for (const d of datagrams) if (isStunPacket(d.data)) f.stun.receive(d.data);
  });
  cleanups.push(() => bind.close());
  cleanups.push(() => f.close());
  return { f, bind, logs };
}

async function stunServer() {
  const server = await startStunServer({ host: '127.0.0.1', port: 0 });
  cleanups.push(() => server.close());
  return server;
}

const region = (stun: string): RelayRegion => ({ id: 900, name: 'burrow-server', url: 'http://x', stun });

describe('endpoint finder', () => {
  it('learns the mapped endpoint from a STUN server named by address', async () => {
    const server = await stunServer();
    const { f, bind } = finder();
    f.setRegions([region(`127.0.0.1:${server.port}`)]);
    // Loopback is no interface candidate: only the STUN answer can put it there.
    await waitFor('the STUN-mapped endpoint', () => f.endpoints().includes(`127.0.0.1:${bind.port}`), 5000);
  });

  it('resolves a STUN server named by DNS name, through the system resolver', async () => {
    const server = await stunServer();
    const { f, bind, logs } = finder();
    f.setRegions([region(`localhost:${server.port}`)]);
    await waitFor('the STUN-mapped endpoint', () => f.endpoints().includes(`127.0.0.1:${bind.port}`), 5000);
    expect(server.stats().answered).toBeGreaterThan(0);
    expect(logs).toEqual([]);
  });

  it('resolves names again at each refresh; logs one that fails once, and goes on without it', async () => {
    const server = await stunServer();
    let lookups = 0;
    const { f, bind, logs } = finder({
      resolve: async (host) => {
        if (host === 'stun.invalid') throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
        lookups++;
        return '127.0.0.1';
      },
    });
    f.setRegions([region('stun.invalid:3478'), region(`stun.example:${server.port}`)]);
    await waitFor('the STUN-mapped endpoint', () => f.endpoints().includes(`127.0.0.1:${bind.port}`), 5000);
    const before = lookups;
    await f.refresh();
    await f.refresh();
    expect(lookups).toBe(before + 2); // a name that moves (dynamic DNS) is followed
    expect(logs).toEqual(['endpoints: cannot resolve the STUN server stun.invalid (ENOTFOUND)']);
  });
});
