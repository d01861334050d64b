import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { type KnownHost, LastKnownAddresses, type Resolve } from './last-known-addresses.js';

/**
 * The fallback logic, with DNS played by a function (the real resolver, cut off behind a missing
 * exit node, is in test/e2e/exit-node.test.ts): answers, failures and lookups that never end.
 */
function setup(answers: Record<string, string[] | 'fail' | 'hang'>, saved: KnownHost[] = []) {
  const book = { saved, writes: 0 };
  const asked: string[] = [];
  const logs: string[] = [];
  const resolve: Resolve = (host) => {
    asked.push(host);
    const answer = answers[host];
    if (answer === 'hang') return new Promise(() => {});
    if (answer === undefined || answer === 'fail')
      return Promise.reject(Object.assign(new Error(`getaddrinfo EAI_AGAIN ${host}`), { code: 'EAI_AGAIN' }));
    return Promise.resolve(answer);
  };
  const addresses = new LastKnownAddresses(
    {
      load: () => book.saved,
      save: (hosts) => {
        book.saved = hosts;
        book.writes++;
      },
    },
    (m) => logs.push(m),
    resolve,
  );
  return { addresses, book, asked, logs };
}

describe('LastKnownAddresses', () => {
  it('remembers what DNS answers, on disk too, and takes addresses as they are', async () => {
    const { addresses, book, asked } = setup({ 'control.example': ['192.0.2.7', '2001:db8::7'] });
    expect(await addresses.hostPrefixes(['control.example', '198.51.100.9', '[2001:db8::9]'])).toEqual([
      '192.0.2.7/32',
      '2001:db8::7/128',
      '198.51.100.9/32',
      '2001:db8::9/128',
    ]);
    expect(asked).toEqual(['control.example']);
    expect(book.saved).toEqual([{ host: 'control.example', addresses: ['192.0.2.7', '2001:db8::7'] }]);
    await addresses.addresses('control.example'); // the same answer again: nothing to write
    expect(book.writes).toBe(1);
  });

  it('uses the last known addresses while DNS fails, also those from before a restart', async () => {
    const saved = [{ host: 'control.example', addresses: ['192.0.2.7'] }];
    const { addresses, logs } = setup({ 'control.example': 'fail', 'relay.example': 'fail' }, saved);
    expect(await addresses.addresses('control.example')).toEqual(['192.0.2.7']);
    // Never answered for: no routes for it, and the reason in the log.
    await expect(addresses.addresses('relay.example')).rejects.toThrow(/EAI_AGAIN relay\.example/);
    expect(await addresses.hostPrefixes(['control.example', 'relay.example'])).toEqual(['192.0.2.7/32']);
    expect(logs.join('\n')).toMatch(/no address for relay\.example \(.*EAI_AGAIN/);
  });

  it('waits only briefly on DNS that does not answer when an answer is known, and asks once at a time', async () => {
    const saved = [{ host: 'control.example', addresses: ['192.0.2.7'] }];
    const { addresses, asked } = setup({ 'control.example': 'hang' }, saved);
    const t0 = performance.now();
    const both = await Promise.all([
      addresses.addresses('control.example'),
      addresses.addresses('control.example'),
    ]);
    expect(both).toEqual([['192.0.2.7'], ['192.0.2.7']]);
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(asked).toEqual(['control.example']);
  });

  it('serves http connections as node:dns would: by family, one or all', async () => {
    const server = createServer((_req, res) => res.end('reached'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    try {
      const { addresses } = setup({ 'server.example': ['::1', '127.0.0.1'] });
      const lookup = (options: object) =>
        new Promise<unknown>((resolve) =>
          addresses.lookup('server.example', options, (error, address, family) =>
            resolve(error ? error.message : [address, family]),
          ),
        );
      expect(await lookup({ family: 4 })).toEqual(['127.0.0.1', 4]);
      expect(await lookup({ all: true, family: 0 })).toEqual([
        [
          { address: '::1', family: 6 },
          { address: '127.0.0.1', family: 4 },
        ],
        undefined,
      ]);
      const body = await new Promise<string>((resolve, reject) => {
        const req = request({ host: 'server.example', port, family: 4, lookup: addresses.lookup }, (res) => {
          let text = '';
          res.on('data', (d) => (text += d));
          res.on('end', () => resolve(text));
        });
        req.on('error', reject);
        req.end();
      });
      expect(body).toBe('reached');
      const { addresses: failing } = setup({});
      const refused = await new Promise<string>((resolve) =>
        failing.lookup('nowhere.example', { family: 0 }, (error) => resolve(String(error?.message))),
      );
      expect(refused).toMatch(/EAI_AGAIN nowhere\.example/);
    } finally {
      server.close();
    }
  });
});
