import { describe, expect, it } from 'vitest';
import { randomBytes, selectCrypto } from '../crypto/index.js';
import { clampPrivateKey } from '../wireguard/keys.js';
import { encodeFrame, FrameReader } from './framing.js';
import { clientHandshake, serverHandshake } from './noise-session.js';

const crypto = selectCrypto();
const enc = new TextEncoder();
const dec = new TextDecoder();
const pair = () => {
  const privateKey = clampPrivateKey(randomBytes(32));
  return { privateKey, publicKey: crypto.x25519PublicKey(privateKey) };
};

function connect() {
  const server = pair();
  const machine = pair();
  const client = clientHandshake(crypto, machine, server.publicKey, enc.encode('hello'), randomBytes);
  const hello = serverHandshake(crypto, server, client.message, randomBytes)!;
  const { message, session: serverSession } = hello.reply(enc.encode('welcome'));
  const done = client.finish(message)!;
  return { server, machine, hello, serverSession, clientSession: done.session, replyPayload: done.payload };
}

describe('control channel Noise session', () => {
  it('authenticates the machine key to the server and carries payloads both ways', () => {
    const c = connect();
    expect(Buffer.from(c.hello.machineKey)).toEqual(Buffer.from(c.machine.publicKey));
    expect(dec.decode(c.hello.payload)).toBe('hello');
    expect(dec.decode(c.replyPayload)).toBe('welcome');
    for (let i = 0; i < 5; i++) {
      expect(dec.decode(c.serverSession.open(c.clientSession.seal(enc.encode(`up ${i}`)))!)).toBe(`up ${i}`);
      expect(dec.decode(c.clientSession.open(c.serverSession.seal(enc.encode(`down ${i}`)))!)).toBe(
        `down ${i}`,
      );
    }
  });

  it('seals a frame with its length prefix, in turn with plain seals', () => {
    const c = connect();
    const reader = new FrameReader();
    for (let i = 0; i < 4; i++) {
      const payload = enc.encode(`frame ${i}`);
      const wire =
        i % 2 === 0 ? c.clientSession.sealFrame(payload) : encodeFrame(c.clientSession.seal(payload));
      const [sealed] = reader.push(wire);
      expect(dec.decode(c.serverSession.open(sealed!)!)).toBe(`frame ${i}`);
    }
  });

  it("keeps protocols apart: a first message made with another prologue (the relay's) is refused", () => {
    const server = pair();
    const relayHello = clientHandshake(
      crypto,
      pair(),
      server.publicKey,
      enc.encode('x'),
      randomBytes,
      'burrow relay v1',
    );
    expect(serverHandshake(crypto, server, relayHello.message, randomBytes)).toBeNull();
    expect(
      serverHandshake(crypto, server, relayHello.message, randomBytes, 'burrow relay v1'),
    ).not.toBeNull();
    const controlHello = clientHandshake(crypto, pair(), server.publicKey, enc.encode('x'), randomBytes);
    expect(serverHandshake(crypto, server, controlHello.message, randomBytes, 'burrow relay v1')).toBeNull();
  });

  it('refuses a first message for another server key, and a tampered one', () => {
    const server = pair();
    const client = clientHandshake(crypto, pair(), pair().publicKey, enc.encode('x'), randomBytes);
    expect(serverHandshake(crypto, server, client.message, randomBytes)).toBeNull();
    const ok = clientHandshake(crypto, pair(), server.publicKey, enc.encode('x'), randomBytes);
    const bad = ok.message.slice();
    bad[40]! ^= 1;
    expect(serverHandshake(crypto, server, bad, randomBytes)).toBeNull();
    expect(serverHandshake(crypto, server, ok.message.subarray(0, 20), randomBytes)).toBeNull();
  });

  it('a replayed, reordered or altered frame kills the session', () => {
    const a = connect();
    const f1 = a.clientSession.seal(enc.encode('one'));
    const f2 = a.clientSession.seal(enc.encode('two'));
    expect(a.serverSession.open(f2)).toBeNull(); // out of order
    expect(a.serverSession.open(f1)).toBeNull(); // dead now
    const b = connect();
    const g1 = b.clientSession.seal(enc.encode('one'));
    expect(b.serverSession.open(g1)).not.toBeNull();
    expect(b.serverSession.open(g1)).toBeNull(); // replay
    const c = connect();
    const h1 = c.clientSession.seal(enc.encode('one'));
    h1[0]! ^= 1;
    expect(c.serverSession.open(h1)).toBeNull();
  });

  it('a reply from a different server is refused by the client', () => {
    const server = pair();
    const client = clientHandshake(crypto, pair(), server.publicKey, enc.encode('x'), randomBytes);
    const impostor = pair();
    const other = clientHandshake(crypto, pair(), impostor.publicKey, enc.encode('x'), randomBytes);
    const hello = serverHandshake(crypto, impostor, other.message, randomBytes)!;
    expect(client.finish(hello.reply(enc.encode('y')).message)).toBeNull();
  });
});
