/**
 * Who may use a relay: the node keys of registered devices whose keys have not expired. Inside
 * burrow-server the gate follows the store (store-allowed-keys.ts); a relay on its own follows its
 * coordination server's key feed (key-feed-client.ts). The relay asks at each handshake and drops
 * a connection as soon as its key is revoked.
 */
export interface KeyGate {
  /** Whether `nodeKey` (base64) may use the relay now. Cheap: asked before any per-client state exists. */
  allows(nodeKey: string): boolean;
  /**
   * Asked for a key `allows` refused, when the gate can look again (burrow-server's reads the
   * change feed): whether it is allowed after all. The handshake waits for it.
   */
  recheck?(nodeKey: string): Promise<boolean>;
  /** Calls `listener` with keys that stopped being allowed; returns a function that unsubscribes it. */
  onRevoked(listener: (nodeKeys: readonly string[]) => void): () => void;
}

/** A set of listeners to call with each event, for the gates and the key feed. */
export class Listeners<T> {
  private readonly listeners = new Set<(event: T) => void>();

  add(listener: (event: T) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: T): void {
    for (const l of [...this.listeners]) l(event);
  }
}
