import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from '../../src/crypto/index.js';
import {
  connectedDevice,
  device,
  firstMessage,
  handshakeAnswered,
  keyPair,
  rawUpgrade,
  runCleanups,
  sleep,
  startTestRelay,
  waitFor,
} from '../../test/support/relay-lab.js';
import { ClientAddresses } from '../client-address.js';

afterEach(runCleanups);

/** The status line the relay answers an upgrade with. */
async function upgradeAnswer(port: number, headers = ''): Promise<string> {
  const socket = await rawUpgrade(port, headers);
  const first = new Promise<string>((r) => socket.once('data', (d: Buffer) => r(d.toString('latin1'))));
  socket.resume();
  return (await first).split('\r\n')[0]!;
}

describe('who may use the relay', () => {
  it('refuses a key that is not allowed at the handshake, and serves the allowed ones', async () => {
    const relay = await startTestRelay();
    const a = await connectedDevice(relay);
    const b = await connectedDevice(relay);
    const stranger = device({ url: relay.url, relayPublicKey: relay.relayKey.publicKey });
    await waitFor('refusals', () => relay.relay.stats().refused.notAllowed >= 2);
    expect(stranger.client.stats().connects).toBe(0);
    // A valid, fresh first message from a key nobody registered gets no answer at all.
    const unregistered = firstMessage(relay, keyPair(), Date.now(), false).message;
    expect(await handshakeAnswered(relay, unregistered)).toBe(false);

    // What the stranger sends goes nowhere (it waits for a first connection that never comes); the
    // allowed pair still exchanges.
    stranger.client.send(a.node.publicKey, randomBytes(50));
    a.client.send(b.node.publicKey, Uint8Array.of(1));
    await waitFor('a packet from a to b', () => b.received.length === 1);
    expect(a.received).toEqual([]);
    const stats = relay.relay.stats();
    expect(stats).toMatchObject({
      clients: 2,
      accepted: 2,
      refused: { handshake: 0, replayed: 0, stale: 0 },
    });
  });

  it('closes the connection of a key that is revoked, and refuses it from then on', async () => {
    const relay = await startTestRelay();
    const a = await connectedDevice(relay);
    const b = await connectedDevice(relay);
    const downs: string[] = [];
    a.client.onConnectionChange((up, reason) => !up && downs.push(reason));
    relay.gate.revoke(a.node.publicKey);
    await waitFor('a to be dropped', () => downs.length > 0);
    expect(a.health).toEqual(['closing: this node key may no longer use this relay']);
    const refusedBefore = relay.relay.stats().refused.notAllowed;
    await waitFor('a reconnect to be refused', () => relay.relay.stats().refused.notAllowed > refusedBefore);
    expect(a.client.connected).toBe(false);
    expect(relay.relay.stats()).toMatchObject({ clients: 1, closed: { revoked: 1 } });
    // b, still allowed, is untouched; its sends to a are now answered with peer-gone.
    b.client.send(a.node.publicKey, Uint8Array.of(2));
    await waitFor('peer-gone', () => b.peerGone.length === 1);
  });

  it('caps the connections from one address, handshaking and connected together', async () => {
    const relay = await startTestRelay({ maxConnectionsPerAddress: 3 });
    await connectedDevice(relay);
    await connectedDevice(relay);
    const idle = await rawUpgrade(relay.port); // the third: upgraded, no handshake yet
    await new Promise((r) => idle.once('data', r));
    expect(await upgradeAnswer(relay.port)).toBe('HTTP/1.1 429 Too Many Connections');
    expect(relay.relay.stats().refused.tooManyConnections).toBe(1);
    // A refused connection costs no handshake token either.
    expect(relay.relay.stats().refused.rateLimited).toBe(0);

    idle.destroy();
    await sleep(50);
    const third = await connectedDevice(relay);
    expect(third.client.connected).toBe(true);
    expect(relay.relay.stats().clients).toBe(3);
  });

  it('counts the clients a trusted reverse proxy forwards for, not the proxy', async () => {
    const addresses = new ClientAddresses(); // this host's loopback is the trusted proxy
    const relay = await startTestRelay({ maxConnectionsPerAddress: 1 }, (r) => addresses.of(r));
    const via = (client: string) => `X-Forwarded-For: ${client}\r\n`;
    const first = await rawUpgrade(relay.port, via('198.51.100.7'));
    await new Promise((r) => first.once('data', r));
    expect(await upgradeAnswer(relay.port, via('198.51.100.8'))).toBe('HTTP/1.1 101 Switching Protocols');
    expect(await upgradeAnswer(relay.port, via('198.51.100.7'))).toBe('HTTP/1.1 429 Too Many Connections');
  });
});
