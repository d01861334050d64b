/**
 * Every failure the Store reports on purpose is a StoreError with a code, so the HTTP and control
 * layers can map codes to answers (404, 409, "key expired" to the device) without parsing messages.
 */
export type StoreErrorCode =
  /** The record named by an id does not exist, or is not the acting user's to know of (see notYours). */
  | 'not-found'
  /** A name already taken where names are unique (user, network, device in its network). */
  | 'duplicate-name'
  /** A machine or node key already registered to another device. */
  | 'duplicate-key'
  /** An argument is malformed (empty name, bad route prefix, ...). */
  | 'invalid'
  /**
   * The caller may not do this at all (a device that has not registered, or whose key expired).
   * Someone else's record is never refused as forbidden: see notYours.
   */
  | 'forbidden'
  | 'address-exhausted'
  | 'auth-key-unknown'
  | 'auth-key-expired'
  /** A single-use key that was already used. */
  | 'auth-key-used'
  | 'auth-key-revoked'
  /** Unknown, malformed or revoked (revoking deletes the key). */
  | 'api-key-unknown'
  | 'api-key-expired'
  /** No invite with that code or id for the acting user. */
  | 'invite-unknown'
  | 'invite-expired'
  /** Already accepted (single-use), declined or revoked. */
  | 'invite-not-pending'
  | 'login-expired'
  | 'login-completed'
  /** The database was written by a newer burrow-server; this one would misread it. */
  | 'schema-too-new'
  /**
   * The database cannot be reached now (PostgreSQL stopped, restarting, or cut off): the call did
   * nothing (a write is all or nothing); try again once it is back.
   */
  | 'unavailable';

export class StoreError extends Error {
  override readonly name = 'StoreError';

  constructor(
    readonly code: StoreErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Refusals for a record the acting user may not touch. Each is worded and coded the same whether
 * the record is someone else's (in their network or another) or never existed, so that a device
 * cannot learn from a refusal which ids exist in other networks.
 */
export const notYours = {
  device: (id: string) => new StoreError('not-found', `no device ${id} that you can share`),
  invite: (id: string) =>
    new StoreError('invite-unknown', `no invite ${id} for you (a link is accepted with its code)`),
  code: () => new StoreError('invite-unknown', 'no invite with this code for you'),
  share: (id: string) => new StoreError('not-found', `no share ${id} of yours`),
};
