import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { selectCrypto } from '../src/crypto/index.js';
import { loadOrCreateServerKey } from './server-key.js';

const crypto = selectCrypto();
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'server-key-'));
  dirs.push(d);
  return d;
};

describe('server key', () => {
  it('is created once with mode 0600 and then loaded unchanged', () => {
    const path = join(tmp(), 'server.key');
    const first = loadOrCreateServerKey(crypto, path);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(path, 'utf8')).toMatch(/^[A-Za-z0-9+/]{43}=\n$/);
    const again = loadOrCreateServerKey(crypto, path);
    expect(Buffer.from(again.publicKey)).toEqual(Buffer.from(first.publicKey));
  });

  it('refuses a key file others can read, and one that is not a key', () => {
    const dir = tmp();
    const open = join(dir, 'open.key');
    loadOrCreateServerKey(crypto, open);
    chmodSync(open, 0o644);
    expect(() => loadOrCreateServerKey(crypto, open)).toThrow(/readable by others \(mode 644\)/);
    const bad = join(dir, 'bad.key');
    writeFileSync(bad, 'hello\n', { mode: 0o600 });
    expect(() => loadOrCreateServerKey(crypto, bad)).toThrow(
      /bad\.key: server key: expected 44 base64 characters/,
    );
  });
});
