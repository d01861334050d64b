/**
 * The port mapper against fake gateways on loopback (miniupnpd itself is in test/e2e/portmap.test.ts):
 * the preference between services, the deletion on close, and answers that must be refused and
 * counted: malformed ones, a PCP answer with another nonce, and answers from another address.
 */

import { execFileSync } from 'node:child_process';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { isRoot } from '../../test/support/netns.js';
import { parseRouteTable } from './gateway.js';
import { methodsFromEnv } from './mapping-methods.js';
import { PortMapper } from './port-mapper.js';

const GW = { gateway: '127.0.0.1', self: '127.0.0.1' };
const INTERNAL = 41641;
/** Where the mappers listen for restart notices here (5350 in earnest). */
const ANNOUNCE = 40000 + Math.floor(Math.random() * 20000);
const sockets: Socket[] = [];
const mappers: PortMapper[] = [];

afterEach(async () => {
  for (const m of mappers.splice(0)) await m.close();
  for (const s of sockets.splice(0)) s.close();
});

async function udp(address = '127.0.0.1'): Promise<Socket> {
  const s = createSocket('udp4');
  sockets.push(s);
  await new Promise<void>((r) => s.bind(0, address, r));
  return s;
}

/** A fake NAT-PMP/PCP service: `answer` says what to send back to each request (null: nothing). */
async function fakeGateway(answer: (request: Buffer, from: RemoteInfo) => Buffer | null) {
  const s = await udp();
  const requests: Buffer[] = [];
  s.on('message', (m, from) => {
    requests.push(m);
    const reply = answer(m, from);
    if (reply !== null) s.send(reply, from.port, from.address);
  });
  return { port: s.address().port, requests };
}

function pmpAnswer(request: Buffer): Buffer | null {
  if (request[0] !== 0) return null;
  if (request[1] === 0) return Buffer.from('008000000000000acb007107', 'hex');
  const out = Buffer.alloc(16);
  out[1] = 0x81;
  out.writeUInt32BE(10, 4);
  out.writeUInt16BE(request.readUInt16BE(4), 8);
  out.writeUInt16BE(40000, 10);
  out.writeUInt32BE(request.readUInt32BE(8), 12);
  return out;
}

function pcpAnswer(request: Buffer): Buffer | null {
  if (request[0] !== 2) return null;
  const head = Buffer.alloc(24);
  head[0] = 2;
  head[1] = 0x80 | request[1]!;
  head.writeUInt32BE(request.readUInt32BE(4), 4);
  head.writeUInt32BE(10, 8);
  if (request[1] === 0) return head;
  const payload = Buffer.from(request.subarray(24, 60));
  payload.writeUInt16BE(50000, 18);
  Buffer.from('00000000000000000000ffffcb007108', 'hex').copy(payload, 20);
  return Buffer.concat([head, payload]);
}

function mapper(
  port: number,
  ssdp: number,
  methods = methodsFromEnv(undefined),
  log: string[] = [],
  announce = ANNOUNCE,
  fwmark?: number,
) {
  const m = new PortMapper({
    internalPort: () => INTERNAL,
    onChange: () => {},
    log: (line) => log.push(line),
    methods,
    lifetime: 60,
    retryMs: 60_000,
    gateway: async () => GW,
    gatewayPorts: { natpmp: port, ssdp, announce },
    ...(fwmark !== undefined ? { fwmark } : {}),
  });
  mappers.push(m);
  m.start();
  return m;
}

describe('PortMapper', () => {
  it('maps with NAT-PMP, and deletes the mapping on close', async () => {
    const gw = await fakeGateway(pmpAnswer);
    const silent = await udp();
    const m = mapper(gw.port, silent.address().port);
    await expect
      .poll(() => m.mapping(), { timeout: 5000 })
      .toEqual({
        method: 'nat-pmp',
        endpoint: '203.0.113.7:40000',
        lifetime: 60,
      });
    await m.close();
    const last = gw.requests.at(-1)!;
    expect([last[1], last.readUInt16BE(4), last.readUInt16BE(6), last.readUInt32BE(8)]).toEqual([
      1,
      INTERNAL,
      0,
      0,
    ]);
  });

  it('prefers PCP when the gateway speaks both, and deletes with the same nonce', async () => {
    const gw = await fakeGateway((r) => pcpAnswer(r) ?? pmpAnswer(r));
    const m = mapper(gw.port, (await udp()).address().port);
    await expect.poll(() => m.mapping()?.endpoint, { timeout: 5000 }).toBe('203.0.113.8:50000');
    expect(m.mapping()?.method).toBe('pcp');
    await m.close();
    const maps = gw.requests.filter((r) => r[0] === 2 && r[1] === 1);
    const deletion = maps.at(-1)!;
    expect(deletion.readUInt32BE(4)).toBe(0);
    expect(deletion.subarray(24, 36)).toEqual(maps[0]!.subarray(24, 36));
  });

  it('refuses and counts malformed answers and answers from another address, and maps nothing', async () => {
    const stranger = await udp('127.0.0.2');
    let n = 0;
    const gw = await fakeGateway((r, from) => {
      // The right answer, but from another address: ignored.
      const right = pcpAnswer(r) ?? pmpAnswer(r);
      if (right) stranger.send(right, from.port, from.address);
      n++;
      // PCP: an ANNOUNCE answer cut short; NAT-PMP: a truncated answer, then an unknown result code.
      if (r[0] === 2) return pcpAnswer(r)!.subarray(0, 20);
      return n % 2 ? Buffer.from('0080000000', 'hex') : Buffer.from('00800009000000000a000001', 'hex');
    });
    const ssdp = await udp();
    ssdp.on('message', (_m, from) =>
      ssdp.send(
        Buffer.from('HTTP/1.1 200 OK\r\nLOCATION: http://10.0.0.9/x\r\n\r\n'),
        from.port,
        from.address,
      ),
    );
    const log: string[] = [];
    const m = mapper(gw.port, ssdp.address().port, methodsFromEnv(undefined), log);
    await expect.poll(() => log.some((l) => l.startsWith('portmap: none')), { timeout: 8000 }).toBe(true);
    expect(m.mapping()).toBeNull();
    expect(m.refusals.get('wrong-source')).toBeGreaterThan(0);
    expect(m.refusals.get('bad-length')).toBeGreaterThan(0);
    expect(m.refusals.get('unknown-result')).toBeGreaterThan(0);
    expect(m.refusals.get('bad-location')).toBeGreaterThan(0);
  });

  it('maps again at once when the gateway announces a restart (its epoch went back), not otherwise', async () => {
    const gw = await fakeGateway(pmpAnswer);
    const log: string[] = [];
    const m = mapper(gw.port, 9, ['nat-pmp'], log);
    await expect.poll(() => m.mapping(), { timeout: 5000 }).not.toBeNull();
    const maps = () => gw.requests.filter((r) => r[0] === 0 && r[1] === 1).length;
    const before = maps();
    const notice = await udp();
    // An announcement whose epoch went on (10 s, as every answer here says): nothing to do.
    notice.send(Buffer.from('008000000000000acb007107', 'hex'), ANNOUNCE, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 300));
    expect(maps()).toBe(before);
    // One from a gateway that restarted (epoch 0), long before the renewal is due (5 s).
    notice.send(Buffer.from('0080000000000000cb007107', 'hex'), ANNOUNCE, '127.0.0.1');
    await expect.poll(maps, { timeout: 1500 }).toBeGreaterThan(before);
    expect(log.join('\n')).toMatch(/the gateway restarted \(epoch 10 -> 0\); mapping again/);
    await expect.poll(() => m.mapping(), { timeout: 5000 }).not.toBeNull();
  });

  it('closes at once while a UPnP gateway is still answering, without waiting for its HTTP', async () => {
    // An IGD whose description never comes: the request would time out only after 2 s.
    const hanging = createServer(() => {});
    await new Promise<void>((r) => hanging.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/desc.xml`;
    const ssdp = await udp();
    ssdp.on('message', (_m, from) =>
      ssdp.send(Buffer.from(`HTTP/1.1 200 OK\r\nLOCATION: ${url}\r\n\r\n`), from.port, from.address),
    );
    let asked = false;
    hanging.on('request', () => (asked = true));
    const m = mapper(9, ssdp.address().port, ['upnp']);
    await expect.poll(() => asked, { timeout: 3000 }).toBe(true);
    const started = performance.now();
    await m.close();
    expect(performance.now() - started).toBeLessThan(500);
    hanging.closeAllConnections();
    await new Promise((r) => hanging.close(r));
  });

  it.skipIf(!isRoot())(
    'marks its requests with the fwmark it is given (burrowd: its bypass mark)',
    async () => {
      let port = 0;
      const gw = await fakeGateway((r, from) => {
        port = from.port;
        return pmpAnswer(r);
      });
      const m = mapper(gw.port, 9, ['nat-pmp'], [], ANNOUNCE, 0x80000);
      await expect.poll(() => m.mapping(), { timeout: 5000 }).not.toBeNull();
      const ss = execFileSync('ss', ['-uampeH', 'sport', '=', `:${port}`], { encoding: 'utf8' });
      expect(ss).toMatch(/fwmark:0x80000/);
    },
  );

  it("takes no PCP mapping whose nonce is not the request's", async () => {
    const gw = await fakeGateway((r) => {
      const answer = pcpAnswer(r);
      if (answer !== null && r[1] === 1) answer[24]! ^= 1;
      return answer;
    });
    const log: string[] = [];
    const m = mapper(gw.port, (await udp()).address().port, ['pcp'], log);
    await expect.poll(() => log.some((l) => l.startsWith('portmap: none')), { timeout: 8000 }).toBe(true);
    expect(m.mapping()).toBeNull();
    expect(m.refusals.get('nonce-mismatch')).toBeGreaterThan(0);
  });

  it('takes BURROW_PORTMAP as a list of methods, or off', () => {
    expect(methodsFromEnv(undefined)).toEqual(['pcp', 'nat-pmp', 'upnp']);
    expect(methodsFromEnv('upnp,nat-pmp')).toEqual(['nat-pmp', 'upnp']);
    expect(methodsFromEnv('off')).toEqual([]);
    expect(() => methodsFromEnv('natpmp')).toThrow(/unknown method natpmp/);
  });
});

describe('the default gateway from /proc/net/route', () => {
  it('takes the default route with the lowest metric, written little-endian', () => {
    const table = [
      'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT',
      'eth0\t0000A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0',
      'wlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0',
      'eth0\t00000000\t0100A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0',
    ].join('\n');
    expect(parseRouteTable(table)).toBe('192.168.0.1');
    expect(parseRouteTable(table.split('\n').slice(0, 2).join('\n'))).toBeNull();
    expect(parseRouteTable('')).toBeNull();
  });
});
