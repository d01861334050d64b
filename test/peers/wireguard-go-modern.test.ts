/**
 * The vendored modern wireguard-go is the build test/peers/README.md describes, and the one the
 * tests and bench:datapath start (test/support/wg-peers.ts checks its sha256 before use).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, WIREGUARD_GO_MODERN, wireguardGoModern } from '../support/wg-peers.js';

describe('the vendored modern wireguard-go', () => {
  it('has the sha256 and version its README gives, and is the one wg-peers accepts', () => {
    const readme = readFileSync(join(REPO, 'test/peers/README.md'), 'utf8');
    const documented = /sha256: `([0-9a-f]{64})`/.exec(readme)?.[1];
    const actual = createHash('sha256').update(readFileSync(WIREGUARD_GO_MODERN)).digest('hex');
    expect(actual).toBe(documented);
    expect(wireguardGoModern()).toBe(WIREGUARD_GO_MODERN);
    expect(execFileSync(WIREGUARD_GO_MODERN, ['--version'], { encoding: 'utf8' })).toContain(
      'wireguard-go v0.0.20250522',
    );
  });
});
