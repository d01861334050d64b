import { describe, expect, it } from 'vitest';
import { ipv4 } from '../../test/support/ip-packet.js';
import { DeliveryProber } from './trace-delivery.js';

const US = '100.64.0.1';
const PEER = '100.64.0.2';
const ORIGIN = { host: '10.99.0.11', port: 41641 };

/** The peer's answer to `syn` (the SYN we injected): a segment back from its port with `flags`. */
function answer(syn: Uint8Array, flags: number): Uint8Array {
  const h = new Uint8Array(20);
  h.set(syn.subarray(22, 24), 0); // from the port we asked
  h.set(syn.subarray(20, 22), 2); // to our port
  const view = new DataView(h.buffer);
  view.setUint32(4, 5000);
  view.setUint32(8, new DataView(syn.buffer).getUint32(24) + 1);
  h[12] = 0x50;
  h[13] = flags;
  return ipv4(PEER, US, h, 6);
}

describe('delivery probes in burrowd', () => {
  it('takes the SYN-ACK out, resets the connection, and says something listens', async () => {
    const sent: Uint8Array[] = [];
    const prober = new DeliveryProber(
      (p) => sent.push(p),
      () => 0,
    );
    const result = prober.probe('tcp', US, PEER, 80, 5000);
    const syn = sent[0]!;
    expect(syn[33]).toBe(0x02);
    // Another flow's segment is not ours: it goes on to the filter.
    const other = answer(syn, 0x12);
    other[21] = other[21]! ^ 1;
    expect(prober.consume(other, undefined, ORIGIN)).toBe(false);
    expect(prober.consume(answer(syn, 0x12), undefined, ORIGIN)).toBe(true);
    expect(await result).toEqual({ outcome: 'listening', ms: 0 });
    const rst = sent[1]!;
    expect(rst[33]).toBe(0x04);
    expect(new DataView(rst.buffer).getUint32(24)).toBe(new DataView(syn.buffer).getUint32(24) + 1);
    // Once answered, a late copy is nobody's.
    expect(prober.consume(answer(syn, 0x12), undefined, ORIGIN)).toBe(false);
  });

  it('says nothing listens on an RST, and no-answer after the timeout', async () => {
    const sent: Uint8Array[] = [];
    const prober = new DeliveryProber(
      (p) => sent.push(p),
      () => 0,
    );
    const refused = prober.probe('tcp', US, PEER, 81, 5000);
    expect(prober.consume(answer(sent[0]!, 0x14), undefined, ORIGIN)).toBe(true);
    expect((await refused).outcome).toBe('refused');
    expect(sent).toHaveLength(1); // no RST for an RST
    expect((await prober.probe('udp', US, PEER, 53, 10)).outcome).toBe('no-answer');
  });
});
