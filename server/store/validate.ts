import { isIP } from 'node:net';
import { StoreError } from './errors.js';

/**
 * Checks and normal forms for what callers hand the Store. The control and HTTP layers validate
 * their own messages; these keep the database's invariants whoever the caller is.
 */

const MAX_LABEL = 63;

/** User and network names: printable, no spaces, so they work as login names and in URLs. */
export function checkName(what: string, name: string): string {
  if (!/^[^\s\p{C}]{1,128}$/u.test(name))
    throw invalid(`${what} must be 1-128 printable characters, no spaces`);
  return name;
}

/** A password long enough to resist guessing over the login page, short enough to hash cheaply. */
export function checkPassword(password: string): string {
  if (password.length < 8 || password.length > 256) throw invalid('a password must be 8-256 characters');
  return password;
}

/**
 * A host name as a DNS label: lower case, runs of anything but letters, digits and '-' become one
 * '-', at most 63 characters. Devices report whatever their OS calls itself ("Ana's iPhone").
 */
export function hostLabel(hostname: string): string {
  const label = hostname
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, MAX_LABEL)
    .replace(/-+$/, '');
  return label || 'device';
}

/** A name an admin chose: must already be a valid label, since silently changing it would surprise. */
export function checkLabel(name: string): string {
  if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(name)) {
    throw invalid(`device name must be a lower-case DNS label: ${JSON.stringify(name)}`);
  }
  return name;
}

/** `base-n`, shortening the base so the result is still a valid label. */
export function withSuffix(base: string, n: number): string {
  if (n === 0) return base;
  const suffix = `-${n}`;
  return `${base.slice(0, MAX_LABEL - suffix.length).replace(/-+$/, '')}${suffix}`;
}

export function checkTags(tags: readonly string[]): string[] {
  for (const t of tags) {
    if (!/^tag:[a-z0-9]([a-z0-9-]{0,62})$/i.test(t))
      throw invalid(`not a tag (tag:name): ${JSON.stringify(t)}`);
  }
  return [...new Set(tags)];
}

/** Route prefixes `addr/len`, without host bits checked: the policy layer canonicalises them. */
export function checkRoutes(routes: readonly string[]): string[] {
  for (const r of routes) {
    const [addr = '', len = ''] = r.split('/');
    const family = isIP(addr);
    const max = family === 4 ? 32 : 128;
    if (family === 0 || !/^\d{1,3}$/.test(len) || Number(len) > max) {
      throw invalid(`not an IP prefix: ${JSON.stringify(r)}`);
    }
  }
  return [...new Set(routes)];
}

export function checkEndpoints(endpoints: readonly string[]): string[] {
  if (endpoints.length > 32) throw invalid('at most 32 endpoints');
  for (const e of endpoints) {
    const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):(\d{1,5})$/.exec(e);
    const host = m?.[1] ?? m?.[2] ?? '';
    if (!m || isIP(host) === 0 || Number(m[3]) > 65535)
      throw invalid(`not an endpoint: ${JSON.stringify(e)}`);
  }
  return [...endpoints];
}

/** A relay region id as the relay map numbers them, or null for none. */
export function checkHomeRelay(region: number | null): number | null {
  if (region !== null && !(Number.isInteger(region) && region >= 1 && region <= 65535)) {
    throw invalid(`home relay must be a relay region id (1-65535) or null: ${String(region)}`);
  }
  return region;
}

/** WireGuard-style keys: base64 of 32 bytes (the control protocol's `key`). */
export function checkKey(what: string, key: string): string {
  if (!/^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/.test(key))
    throw invalid(`${what} must be a base64 32-byte key`);
  return key;
}

function invalid(message: string): StoreError {
  return new StoreError('invalid', message);
}
