import { afterEach, describe, expect, it } from 'vitest';
import { callsOf, DNS_STATUS, runCleanups, startFakeBurrowd } from './testing.js';

afterEach(runCleanups);

describe('burrow dns', () => {
  it('status says where the resolver listens, what it changed and where other names go', async () => {
    const fake = await startFakeBurrowd();
    const result = await fake.run('dns', 'status');
    expect(result).toEqual({
      code: 0,
      err: '',
      out: [
        'Resolver: 100.100.100.100, fd7a:115c:a1e0::53',
        'Device names: HOST and HOST.NETWORK.burrow.internal',
        'System DNS: /etc/resolv.conf: its servers and search domains (the previous file comes back when burrowd stops)',
        'Search domains: family.burrow.internal',
        'Route: corp.example -> 10.1.0.53',
        'Other names: 192.0.2.53',
        'Queries: 12 over UDP, 1 over TCP, 4 forwarded; 2 from outside this device dropped',
        'Refused: too-short 1',
        '',
      ].join('\n'),
    });
    expect(JSON.parse((await fake.run('dns', 'status', '--json')).out)).toEqual(DNS_STATUS);
    fake.handlers.dnsStatus = () => ({ ...DNS_STATUS, acceptDns: false, backend: null, changed: null });
    expect((await fake.run('dns', 'status')).out).toContain('System DNS: left alone (--accept-dns=false)');
  });

  it('query asks burrowd’s resolver; a name that does not resolve exits 1', async () => {
    const fake = await startFakeBurrowd();
    const result = await fake.run('dns', 'query', 'webcam');
    expect(result.code).toBe(0);
    expect(result.out).toBe(
      'webcam A: NOERROR (a Burrow name)\nNAME    TYPE  TTL  DATA\nwebcam  A     1    100.64.0.2\n',
    );
    await fake.run('dns', 'query', 'webcam', 'AAAA', '--json');
    expect(callsOf(fake, 'dnsQuery')).toEqual([{ name: 'webcam' }, { name: 'webcam', type: 'AAAA' }]);
    fake.handlers.dnsQuery = ({ name }) => ({
      name,
      type: 'A',
      rcode: 'NXDOMAIN',
      authoritative: true,
      answers: [],
    });
    expect(await fake.run('dns', 'query', 'nothing')).toEqual({
      code: 1,
      out: 'nothing A: NXDOMAIN (a Burrow name)\n',
      err: '',
    });
    expect((await fake.run('dns', 'query', 'a', 'b', 'c')).code).toBe(2);
    expect((await fake.run('dns', 'query', 'webcam', 'A-A')).code).toBe(2);
  });
});
