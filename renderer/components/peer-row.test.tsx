/** The path line of a peer's row: how it is reached, how a direct path was found, and how fast. */
import { describe, expect, it } from 'vitest';
import { peer } from '../test-support/fixtures.js';
import { pathText } from './peer-row.js';

describe("a peer row's path", () => {
  it('says how each direct path was found', () => {
    const direct = (found: Parameters<typeof peer>[0]['found']) =>
      pathText(peer({ id: 'n', hostName: 'h', endpoint: '192.0.2.7:41641', latencyMs: 3, found }));
    expect(direct('lan')).toBe('Direct 192.0.2.7:41641 (LAN), 3 ms');
    expect(direct('stun')).toBe('Direct 192.0.2.7:41641 (STUN), 3 ms');
    expect(direct('peer-reflexive')).toBe('Direct 192.0.2.7:41641 (peer-reflexive), 3 ms');
    expect(direct('port-mapping')).toBe('Direct 192.0.2.7:41641 (port mapping), 3 ms');
    expect(direct(null)).toBe('Direct 192.0.2.7:41641, 3 ms');
  });

  it('says nothing of it for a relayed path', () => {
    expect(pathText(peer({ id: 'n', hostName: 'h', path: 'relay', relay: 'fra', latencyMs: 31 }))).toBe(
      'Relayed via fra, 31 ms',
    );
  });
});
