import { afterEach, describe, expect, it, vi } from 'vitest';
import { nobleCrypto, nodeCrypto, randomBytes, selectCrypto, selfTest } from './index.js';
import * as noble from './noble.js';
import * as node from './node.js';
import { describeVectors } from './testing.js';

describeVectors('node', nodeCrypto, node.chacha20Poly1305Seal, node.chacha20Poly1305Open);
describeVectors('noble', nobleCrypto, noble.chacha20Poly1305Seal, noble.chacha20Poly1305Open);

describe('selectCrypto', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('picks node:crypto on this Node', () => {
    vi.stubEnv('BURROW_CRYPTO', undefined);
    expect(selectCrypto()).toBe(nodeCrypto);
  });

  it('picks @noble when BURROW_CRYPTO=noble', () => {
    vi.stubEnv('BURROW_CRYPTO', 'noble');
    expect(selectCrypto()).toBe(nobleCrypto);
  });

  it('runs a self-test that both providers pass', () => {
    expect(selfTest(nodeCrypto)).toBe(true);
    expect(selfTest(nobleCrypto)).toBe(true);
  });

  it('fails the self-test for a provider that gets an answer wrong', () => {
    expect(selfTest({ ...nobleCrypto, hash: () => new Uint8Array(32) })).toBe(false);
    expect(
      selfTest({
        ...nobleCrypto,
        aead: () => {
          throw new Error('Unknown cipher');
        },
      }),
    ).toBe(false);
  });
});

describe('randomBytes', () => {
  it('fills requests larger than one getRandomValues call', () => {
    const bytes = randomBytes(200_000);
    expect(bytes).toHaveLength(200_000);
    // A zero run this long in the last chunk would mean it was never filled.
    expect(bytes.subarray(-1024).some((b) => b !== 0)).toBe(true);
  });
});
