/**
 * Against Debian's `stun` (package stun-client, the Vovida stund client), which scripts/setup
 * installs: a missing client fails the test rather than skipping it.
 *
 * That client speaks RFC 3489: its requests carry no magic cookie, and always a CHANGE-REQUEST.
 * RFC 5389 §12.2 lets a server refuse such clients, and ours does (it answers RFC 5389 only, and
 * the cookie is what tells STUN from WireGuard on a device's socket). So what this checks is that
 * the responder holds up against a foreign client: every datagram counted and refused by name,
 * nothing answered that the client could misread, and the server still serving afterwards.
 */

import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildBindingRequest, readBindingResponse } from '../../src/stun/binding.js';
import { startStunServer } from './stun-server.js';

const STUN_CLIENT = '/usr/bin/stun';

describe('STUN server against Debian stun-client', () => {
  it('counts and refuses its RFC 3489 requests, then still answers RFC 5389 ones', async () => {
    expect(existsSync(STUN_CLIENT), `${STUN_CLIENT} missing: scripts/setup installs stun-client`).toBe(true);
    const server = await startStunServer({ host: '127.0.0.1', port: 0 });
    try {
      // The client tries for some seconds and exits with its verdict on the NAT; neither matters here.
      await new Promise<void>((resolve) =>
        execFile(STUN_CLIENT, [`127.0.0.1:${server.port}`, '-v'], { timeout: 30_000 }, () => resolve()),
      );
      const stats = server.stats();
      expect(stats.received).toBeGreaterThan(0);
      expect(stats.answered).toBe(0);
      // Without the cookie, or (were it a later client) with CHANGE-REQUEST, which earns a 420.
      expect(stats.refused['bad-magic-cookie'] + stats.errors).toBe(stats.received);

      const socket = createSocket('udp4');
      try {
        const answer = new Promise<Uint8Array>((resolve) => socket.once('message', (m) => resolve(m)));
        await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
        socket.send(buildBindingRequest(new Uint8Array(12).fill(9)), server.port, '127.0.0.1');
        expect(readBindingResponse(await answer)).toMatchObject({
          kind: 'success',
          mapped: { host: '127.0.0.1', port: socket.address().port },
        });
      } finally {
        socket.close();
      }
    } finally {
      await server.close();
    }
  });
});
