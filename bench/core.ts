/**
 * bench:core — the protocol core on one core: complete handshakes per second, and transport
 * seal+open throughput for 1420-byte packets next to bare AEAD calls measured in the same run, for
 * each crypto provider: burrowd's native one (the addon), node:crypto and @noble. Figures are
 * medians of several rounds; the machine is shared, so compare ratios.
 */
import { performance } from 'node:perf_hooks';
import { helperCrypto, nativeCrypto } from '../helper/crypto/native-crypto.js';
import { nobleCrypto, nodeCrypto, randomBytes } from '../src/crypto/index.js';
import type { CryptoProvider } from '../src/crypto/types.js';
import { parseCidr } from '../src/packet/ip-text.js';
import type { Action } from '../src/wireguard/actions.js';
import { Device } from '../src/wireguard/device.js';
import { generatePrivateKey } from '../src/wireguard/keys.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const PACKET = 1420;
const A_END = { host: '192.0.2.1', port: 1 };
const B_END = { host: '192.0.2.2', port: 2 };

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Runs `fn(n)` for about `ms` milliseconds and returns operations per second. */
function rate(fn: (n: number) => void, ms = 400): number {
  let n = 16;
  for (;;) {
    const t0 = performance.now();
    fn(n);
    const dt = performance.now() - t0;
    if (dt >= ms) return (n / dt) * 1000;
    n = Math.ceil(n * Math.min(8, Math.max(1.5, ms / Math.max(dt, 1))));
  }
}

function twoDevices(crypto: CryptoProvider) {
  const mk = () => new Device({ crypto, privateKey: generatePrivateKey(randomBytes), random: randomBytes });
  const a = mk();
  const b = mk();
  const pa = a.addPeer({ publicKey: b.publicKey, endpoint: B_END });
  const pb = b.addPeer({ publicKey: a.publicKey, endpoint: A_END });
  const na = parseCidr('10.0.0.1/32');
  const nb = parseCidr('10.0.0.2/32');
  a.allowedIps.insert(nb.addr, nb.cidr, pa);
  b.allowedIps.insert(na.addr, na.cidr, pb);
  return { a, b, pa, pb };
}

const sent = (actions: Action[]) => {
  const first = actions[0];
  if (first?.kind !== 'send') throw new Error(`expected a datagram, got ${first?.kind ?? 'nothing'}`);
  return first.data;
};

function handshakesPerSecond(crypto: CryptoProvider): number {
  const { a, b, pa } = twoDevices(crypto);
  let now = 1_700_000_000_000;
  return rate((n) => {
    for (let i = 0; i < n; i++) {
      now += 6000; // past REKEY_TIMEOUT, so every iteration is a fresh handshake
      const initiation = sent(a.initiate(pa, now));
      const response = sent(b.receive(initiation, A_END, now));
      a.receive(response, B_END, now);
    }
  });
}

/** Only the responder's half: consume an initiation and answer it (what a server under load does). */
function responsesPerSecond(crypto: CryptoProvider): number {
  const { a, b, pa } = twoDevices(crypto);
  let now = 1_700_000_000_000;
  const initiations: Uint8Array[] = [];
  for (let i = 0; i < 4000; i++) {
    now += 6000;
    initiations.push(sent(a.initiate(pa, now)));
  }
  let next = 0;
  return rate((n) => {
    for (let i = 0; i < n; i++) {
      // Replayed initiations would be refused, so each round uses fresh ones, recycled if needed.
      if (next === initiations.length) {
        next = 0;
        b.removePeer(b.getPeer(a.publicKey)!);
        b.addPeer({ publicKey: a.publicKey, endpoint: A_END });
      }
      now += 100;
      if (b.receive(initiations[next++]!, A_END, now).length !== 1)
        throw new Error('initiation was not answered');
    }
  });
}

function ipPacket(size: number): Uint8Array {
  const p = new Uint8Array(size);
  p[0] = 0x45;
  p[2] = size >> 8;
  p[3] = size & 0xff;
  p[9] = 17;
  p.set([10, 0, 0, 1], 12);
  p.set([10, 0, 0, 2], 16);
  return p;
}

function transportPacketsPerSecond(crypto: CryptoProvider): number {
  const { a, b, pa } = twoDevices(crypto);
  const now = 1_700_000_000_000;
  const response = sent(b.receive(sent(a.initiate(pa, now)), A_END, now));
  b.receive(sent(a.receive(response, B_END, now)), A_END, now);
  const packet = ipPacket(PACKET);
  return rate((n) => {
    for (let i = 0; i < n; i++) {
      const delivered = b.receive(sent(a.send(packet, now)), A_END, now);
      if (delivered.length !== 1) throw new Error('transport packet was not delivered');
    }
  });
}

function bareAeadPacketsPerSecond(crypto: CryptoProvider): number {
  const key = randomBytes(32);
  const sealer = crypto.aead(key);
  const opener = crypto.aead(key);
  const plaintext = randomBytes(PACKET);
  let counter = 0;
  return rate((n) => {
    for (let i = 0; i < n; i++) {
      const out = new Uint8Array(PACKET + 16);
      sealer.seal(counter, plaintext, null, out, 0);
      if (opener.open(counter++, out, null) === null) throw new Error('AEAD failed');
    }
  });
}

function x25519PerSecond(crypto: CryptoProvider): number {
  const priv = randomBytes(32);
  const pub = crypto.x25519PublicKey(randomBytes(32));
  return rate((n) => {
    for (let i = 0; i < n; i++) crypto.x25519(priv, pub);
  });
}

const gbps = (pps: number) => (pps * PACKET * 8) / 1e9;
const fmt = (x: number, digits = 0) =>
  x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function measure(crypto: CryptoProvider) {
  const hs: number[] = [];
  const resp: number[] = [];
  const tr: number[] = [];
  const bare: number[] = [];
  const dh: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    hs.push(handshakesPerSecond(crypto));
    resp.push(responsesPerSecond(crypto));
    tr.push(transportPacketsPerSecond(crypto));
    bare.push(bareAeadPacketsPerSecond(crypto));
    dh.push(x25519PerSecond(crypto));
  }
  return {
    handshakes: median(hs),
    responses: median(resp),
    transport: median(tr),
    bare: median(bare),
    x25519: median(dh),
  };
}

const selected = helperCrypto((why) => console.log(`native crypto unavailable: ${why}`));
const providers = [selected.name === 'native' ? nativeCrypto() : undefined, nodeCrypto, nobleCrypto].filter(
  (p) => p !== undefined,
);
const results = new Map<string, ReturnType<typeof measure>>();
console.log(
  `bench:core  node ${process.version}, ${ROUNDS} rounds, medians, one core; burrowd's crypto: ${selected.name}`,
);
for (const crypto of providers) {
  const m = measure(crypto);
  results.set(crypto.name, m);
  console.log(`\n[${crypto.name}]`);
  console.log(`  x25519                       ${fmt(m.x25519)} ops/s`);
  // A complete handshake needs 8 X25519 operations (2 key generations, 6 DHs; static-static is
  // precomputed), so the X25519 rate of this run bounds it.
  console.log(
    `  complete handshakes          ${fmt(m.handshakes)} /s   (bar: 5,000/s; X25519 alone allows ${fmt(m.x25519 / 8)}/s)`,
  );
  console.log(`  responder: initiations answered ${fmt(m.responses)} /s`);
  console.log(`  bare AEAD seal+open ${PACKET} B  ${fmt(m.bare)} pkt/s  ${fmt(gbps(m.bare), 2)} Gbit/s`);
  console.log(
    `  transport seal+open ${PACKET} B  ${fmt(m.transport)} pkt/s  ${fmt(gbps(m.transport), 2)} Gbit/s  ratio to bare AEAD ${fmt(m.transport / m.bare, 2)}x (bar: 0.85x)`,
  );
}
const m = results.get(selected.name)!;
const ratioTo = (name: string) => {
  const other = results.get(name);
  return other === undefined ? 'n/a' : (m.handshakes / other.handshakes).toFixed(2);
};
console.log(
  `\ncore: crypto=${selected.name} handshakes_per_s=${Math.round(m.handshakes)} vs_node=${ratioTo('node')} vs_noble=${ratioTo('noble')} transport_gbps=${gbps(m.transport).toFixed(2)} bare_aead_gbps=${gbps(m.bare).toFixed(2)} ratio=${(m.transport / m.bare).toFixed(2)}`,
);
