import { decodeKey } from '../../src/wireguard/keys.js';

/**
 * Asks the burrow-server at `baseUrl` for its control key (/control/key), for trust on first use:
 * the client pins the key it states, and every handshake from then on must prove it. Rejects after
 * `timeoutMs`, or at once when `signal` aborts (the client stopped).
 */
export async function fetchServerKey(
  baseUrl: string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<Uint8Array> {
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    const res = await fetch(new URL('/control/key', baseUrl), { signal: AbortSignal.any([signal, timeout]) });
    if (!res.ok) throw new Error(`fetching the server key: HTTP ${res.status}`);
    const body = (await res.json()) as { publicKey?: unknown };
    return decodeKey(body.publicKey as string, 'the server key');
  } catch (error) {
    if (signal.aborted || timeout.aborted) throw new Error('fetching the server key: timed out or stopped');
    throw error;
  }
}
