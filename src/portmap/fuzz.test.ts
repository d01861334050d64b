import { describe, expect, it } from 'vitest';
import { Rng } from '../../test/support/rng.js';
import { parseDescription, parseSoapAnswer } from './igd.js';
import { buildMapRequest as buildPmpMap, parseNatPmpAnswer } from './natpmp.js';
import { parsePcpAnswer } from './pcp.js';
import { type Parsed, PORTMAP_REFUSALS } from './refusals.js';
import { parseSsdpAnswer } from './ssdp.js';

const MESSAGES = Number(process.env.BURROW_FUZZ_MESSAGES ?? 100_000) / 4;
const GW = '192.168.10.1';
const KNOWN: ReadonlySet<string> = new Set(PORTMAP_REFUSALS);

const hexBytes = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'));
const NATPMP = [
  hexBytes('00800000000000100cb00710'),
  hexBytes('0081000000000020ca6c9c4100001c20'),
  hexBytes('0081000200000020'),
  buildPmpMap(51820, 0, 0),
];
const PCP = [
  hexBytes(
    '028100000000 1c200000002a000000000000000000000000 0102030405060708090a0b0c 11000000ca6c9c41 00000000000000000000ffffcb007107'.replace(
      /\s/g,
      '',
    ),
  ),
  hexBytes(`02800000000000000000002a${'00'.repeat(12)}`),
];
const SSDP =
  'HTTP/1.1 200 OK\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\nEXT:\r\nLOCATION: http://192.168.10.1:5000/rootDesc.xml\r\n\r\n';
const XML =
  '<root><URLBase>http://192.168.10.1:5000/</URLBase><service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType><controlURL>/ctl/IPConn</controlURL></service>' +
  '<u:AddAnyPortMappingResponse><NewReservedPort>40001</NewReservedPort></u:AddAnyPortMappingResponse>' +
  '<s:Fault><errorCode>718</errorCode></s:Fault></root>';
const XML_TOKENS = [
  '<',
  '>',
  '</',
  '&amp;',
  '&x;',
  'service',
  'controlURL',
  ':',
  '/',
  '"',
  ' ',
  'http://',
  GW,
];

function mutateBytes(rng: Rng, base: Uint8Array): Uint8Array {
  let bytes = base.slice();
  switch (rng.int(4)) {
    case 0:
      for (let n = 1 + rng.int(4); n > 0; n--)
        if (bytes.length) bytes[rng.int(bytes.length)]! ^= 1 << rng.int(8);
      break;
    case 1:
      for (let n = 1 + rng.int(3); n > 0; n--) if (bytes.length) bytes[rng.int(bytes.length)] = rng.int(256);
      break;
    case 2:
      bytes = bytes.slice(0, rng.int(bytes.length + 1));
      break;
    default:
      bytes = new Uint8Array([...bytes, ...rng.bytes(rng.pick([1, 4, 8, 20]))]);
  }
  return bytes;
}

function mutateText(rng: Rng, base: string): string {
  let text = base;
  for (let n = 1 + rng.int(4); n > 0; n--) {
    const at = rng.int(text.length + 1);
    switch (rng.int(3)) {
      case 0:
        text = text.slice(0, at) + text.slice(at + 1 + rng.int(8));
        break;
      case 1:
        text = text.slice(0, at) + rng.pick(XML_TOKENS) + text.slice(at);
        break;
      default:
        text = text.slice(0, at) + String.fromCharCode(rng.int(256)) + text.slice(at);
    }
  }
  return text;
}

function tally<T>(parsed: Parsed<T>, refusals: Map<string, number>): void {
  if (parsed.ok) return;
  if (!KNOWN.has(parsed.refusal)) throw new Error(`unnamed refusal ${parsed.refusal}`);
  refusals.set(parsed.refusal, (refusals.get(parsed.refusal) ?? 0) + 1);
}

describe('port mapping answers under fuzz', () => {
  it(`NAT-PMP and PCP: ${MESSAGES} random and mutated datagrams each are parsed or refused by name`, () => {
    const rng = new Rng(0x504d50);
    const refusals = new Map<string, number>();
    let accepted = 0;
    for (let i = 0; i < MESSAGES; i++) {
      const pmp = rng.chance(0.8) ? mutateBytes(rng, rng.pick(NATPMP)) : rng.bytes(rng.int(40));
      const a = parseNatPmpAnswer(pmp);
      tally(a, refusals);
      const pcp = rng.chance(0.8) ? mutateBytes(rng, rng.pick(PCP)) : rng.bytes(rng.int(120));
      const b = parsePcpAnswer(pcp);
      tally(b, refusals);
      if (b.ok && b.value.op === 'map' && b.value.result === 'success' && b.value.lifetime > 0)
        if (b.value.externalPort === 0 || !/^\d+\.\d+\.\d+\.\d+$/.test(b.value.externalAddress))
          throw new Error('a success with no usable endpoint was accepted');
      accepted += Number(a.ok) + Number(b.ok);
    }
    expect(accepted).toBeGreaterThan(MESSAGES / 10);
    for (const r of ['bad-length', 'bad-version', 'unexpected-opcode', 'unknown-result', 'bad-option'])
      expect(refusals.get(r), r).toBeGreaterThan(0);
  });

  it(`SSDP and the IGD's XML: ${MESSAGES} mutated answers are parsed or refused, never pointing off the gateway`, () => {
    const rng = new Rng(0x55504e50);
    const location = new URL('http://192.168.10.1:5000/rootDesc.xml');
    const refusals = new Map<string, number>();
    for (let i = 0; i < MESSAGES; i++) {
      const ssdp = parseSsdpAnswer(new TextEncoder().encode(mutateText(rng, SSDP)), GW);
      tally(ssdp, refusals);
      if (ssdp.ok && ssdp.value.location.hostname !== GW) throw new Error('LOCATION off the gateway');
      const xml = mutateText(rng, XML);
      const description = parseDescription(xml, location, GW);
      tally(description, refusals);
      if (description.ok && description.value.controlUrl.hostname !== GW)
        throw new Error('control URL off the gateway');
      tally(parseSoapAnswer(xml, 'AddAnyPortMapping', ['NewReservedPort']), refusals);
    }
    for (const r of ['bad-http', 'bad-location', 'no-igd-service', 'bad-xml'])
      expect(refusals.get(r), r).toBeGreaterThan(0);
  });

  it('an answer of many unclosed tags is refused in linear time', () => {
    const started = performance.now();
    const xml = '<service><serviceType>'.repeat(2700);
    expect(parseDescription(xml, new URL('http://192.168.10.1/'), GW)).toEqual({
      ok: false,
      refusal: 'no-igd-service',
    });
    parseSoapAnswer('<errorCode'.repeat(6000), 'AddPortMapping', []);
    expect(performance.now() - started).toBeLessThan(2000);
  });
});
