import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanupAll, isRoot, Netns } from '../../test/support/netns.js';
import { openBind } from './linux-bind.js';

/** The scenarios run in a child process inside a fresh namespace: see linux-bind.child.ts. */
const CHILD = fileURLToPath(new URL('./linux-bind.child.ts', import.meta.url));

afterEach(cleanupAll);

// biome-ignore lint/suspicious/noExplicitAny: JSON from the child, checked field by field below
async function scenario(name: string, prefix: string[] = []): Promise<any> {
  const ns = await Netns.create('udp');
  const [cmd = 'node', ...args] = [...prefix, 'node', '--import', 'tsx', CHILD, name];
  const { stdout } = await ns.exec(cmd, args, { timeout: 30_000 });
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '');
}

describe('openBind argument checks (no socket is opened)', () => {
  it('refuses bad ports, marks and sizes with clear errors', () => {
    expect(() => openBind(70000, { fwmark: 0 })).toThrow(/port must be an integer from 0 to 65535/);
    expect(() => openBind(0, { fwmark: -1 })).toThrow(/fwmark/);
    expect(() => openBind(0, { fwmark: 0, batchSize: 5000 })).toThrow(/batchSize/);
  });
});

describe.skipIf(!isRoot())(
  'Linux UDP bind (needs root: SO_MARK and policy rules, in test namespaces)',
  () => {
    it('two binds exchange datagrams over IPv4 and IPv6 loopback; v4-mapped sources read as IPv4', async () => {
      const result = await scenario('exchange');
      expect(result.dualStack).toBe(true);
      const [v4, v6, mapped] = result.results;
      expect(v4).toEqual({
        sentTo: '127.0.0.1',
        atB: { data: 'hello over 127.0.0.1', host: '127.0.0.1', port: result.aPort },
        atA: { data: 'reply to 127.0.0.1', host: '127.0.0.1', port: result.bPort },
      });
      expect(v6).toEqual({
        sentTo: '::1',
        atB: { data: 'hello over ::1', host: '::1', port: result.aPort },
        atA: { data: 'reply to ::1', host: '::1', port: result.bPort },
      });
      expect(mapped.atB.host).toBe('127.0.0.1');
      expect(result.stats.a).toMatchObject({
        packetsSent: 3,
        packetsReceived: 3,
        sendErrors: 0,
        sendDropped: 0,
      });
    });

    it('1000 datagrams of 1420 bytes sent in one call all arrive, in batches', async () => {
      const result = await scenario('batch');
      expect(result.sent).toBe(1000);
      expect(result.received).toBe(1000);
      expect(result.bad).toBe(0);
      expect(result.callbacks).toBeLessThan(1000);
      expect(result.callbacks).toBeLessThanOrEqual(100);
      expect(result.stats.a.sendDropped).toBe(0);
    });

    it('SO_MARK is set: ss shows it, and a rule prohibiting the mark stops only the marked traffic', async () => {
      const result = await scenario('mark');
      expect(result.ssFwmark).toBe('0x80000');
      expect(result.ssPlainFwmark).toBeNull();
      expect(result.unmarkedArrived).toBe('unmarked');
      expect(result.markedSent).toBe(0);
      expect(result.leaked).toBe(0);
      expect(result.sendErrors).toBe(1);
      expect(result.lastSendError).toBe('EACCES');
    });

    it("a datagram with a ttl leaves with that hop limit (IPv4 and IPv6), the rest with the system's", async () => {
      const result = await scenario('ttl');
      expect(result.arrived).toEqual(['low v4', 'low v6', 'plain v4']);
      expect(result.counts).toEqual([1, 1, 1]);
      expect(result.refused).toMatch(/ttl must be 1 to 255/);
    });

    it('port 0 picks a port; the port is held for IPv4 and IPv6 while open and free after close', async () => {
      const result = await scenario('port');
      expect(result.port).toBeGreaterThan(0);
      expect(result.taken).toMatchObject({
        code: 'EADDRINUSE',
        message: expect.stringMatching(/bind UDP port/),
      });
      expect(result.nodeWhileOpen).toEqual(['udp4: EADDRINUSE', 'udp6: EADDRINUSE']);
      expect(result.nodeAfterClose).toEqual([]);
      expect(result.againPort).toBe(result.port);
    });

    it('bad input: clear errors, nothing of the call sent, no crash', async () => {
      const { errors, sentAfterErrors, received, afterClose } = await scenario('bad');
      for (const key of ['notAnAddress', 'hostname', 'badOctet']) {
        expect(errors[key]).toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_IP_ADDRESS' });
        expect(errors[key].message).toMatch(/not an IPv4 or IPv6 address literal/);
      }
      expect(errors.unknownScope.message).toMatch(/unknown scope/);
      expect(errors.portZero.name).toBe('RangeError');
      expect(errors.notBytes.message).toBe('datagrams[1].data is not a Uint8Array');
      expect(errors.notArray.name).toBe('TypeError');
      expect(errors.badPort.name).toBe('RangeError');
      expect(errors.badMark.name).toBe('RangeError');
      // The valid datagram before each bad one was not sent either; the later valid send arrived.
      expect(sentAfterErrors).toBe(0);
      expect(received).toBe(1);
      expect(afterClose.message).toMatch(/closed/);
    });

    it('without CAP_NET_ADMIN and CAP_NET_RAW the mark cannot be set, and the error names SO_MARK', async () => {
      const result = await scenario('unprivileged', [
        'setpriv',
        '--bounding-set=-net_admin,-net_raw',
        '--inh-caps=-net_admin,-net_raw',
      ]);
      expect(result.error).toMatchObject({
        code: 'EPERM',
        message: expect.stringMatching(/SO_MARK=0x80000/),
      });
      expect(result.unmarkedOpened).toBe(true);
    });
  },
);
