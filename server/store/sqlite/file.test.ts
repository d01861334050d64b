import { readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { identity, T0, withTempStore } from '../testing.js';

/**
 * What only the SQLite back end has: its file, and how its queries go about the rows. Everything
 * a back end must do is in ../conformance, which runs on each.
 */

const mode = (path: string) => statSync(path).mode & 0o777;

describe('the SQLite file', () => {
  const t = withTempStore();

  it('is private to its owner, with its WAL and shared-memory files, in a private directory', async () => {
    const ana = await t.store.createUser({ name: 'ana' }, T0);
    await t.store.registerDevice({ ...identity(), userId: ana.id }, T0);
    expect(mode(t.path)).toBe(0o600);
    expect(mode(`${t.path}-wal`)).toBe(0o600);
    expect(mode(`${t.path}-shm`)).toBe(0o600);
    expect(mode(dirname(t.path))).toBe(0o700);
  });

  it('holds no auth key secret, only its hash', async () => {
    const ana = await t.store.createUser({ name: 'ana' }, T0);
    const { secret } = await t.store.createAuthKey({ userId: ana.id }, T0);
    await t.store.close();
    const random = secret.split('-').slice(2).join('-');
    expect(readFileSync(t.path).includes(random)).toBe(false);
    await t.reopen();
  });
});
