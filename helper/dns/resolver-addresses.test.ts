import { describe, expect, it } from 'vitest';
import { ResolverAddresses } from './resolver-addresses.js';

function recorder(failOn?: string) {
  const commands: string[] = [];
  const ip = async (args: string[]) => {
    commands.push(args.join(' '));
    if (failOn !== undefined && args.join(' ').includes(failOn)) throw new Error('Permission denied');
    return '';
  };
  return { commands, ip };
}

describe('the resolver’s addresses on the interface', () => {
  it('IPv4 scope host and IPv6 deprecated (never a source), added once, removed when gone', async () => {
    const { commands, ip } = recorder();
    const addresses = new ResolverAddresses('burrow0', ip);
    const failed: Error[] = [];
    const both = ['100.100.100.100', 'fd7a:115c:a1e0::53'];
    expect(await addresses.set(both, (e) => failed.push(e))).toEqual(both);
    expect(await addresses.set(both, (e) => failed.push(e))).toEqual(both);
    expect(await addresses.set(['100.100.100.100'], (e) => failed.push(e))).toEqual(['100.100.100.100']);
    await addresses.clear();
    expect(commands).toEqual([
      '-4 address replace 100.100.100.100/32 dev burrow0 scope host',
      '-6 address replace fd7a:115c:a1e0::53/128 dev burrow0 nodad preferred_lft 0',
      '-6 address del fd7a:115c:a1e0::53/128 dev burrow0',
      '-4 address del 100.100.100.100/32 dev burrow0',
    ]);
    expect(failed).toEqual([]);
  });

  it('an address that cannot be added (IPv6 off) is left out; the others serve', async () => {
    const { ip } = recorder('-6');
    const addresses = new ResolverAddresses('burrow0', ip);
    const failed: Error[] = [];
    expect(await addresses.set(['100.100.100.100', 'fd7a:115c:a1e0::53'], (e) => failed.push(e))).toEqual([
      '100.100.100.100',
    ]);
    expect(failed.map((e) => e.message)).toEqual(['Permission denied']);
  });
});
