/**
 * Every failure the Store reports on purpose is a StoreError with a code, so the HTTP and control
 * layers can map codes to answers (404, 409, "key expired" to the device) without parsing messages.
 */
export type StoreErrorCode =
  /** The record named by an id does not exist. */
  | 'not-found'
  /** A name already taken where names are unique (user, network, device in its network). */
  | 'duplicate-name'
  /** A machine or node key already registered to another device. */
  | 'duplicate-key'
  /** An argument is malformed (empty name, bad route prefix, ...). */
  | 'invalid'
  /** The acting user may not do this (not the device's owner, not the invite's recipient). */
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
  /** No invite with that code or id. */
  | 'invite-unknown'
  | 'invite-expired'
  /** Already accepted (single-use), declined or revoked. */
  | 'invite-not-pending'
  | 'login-expired'
  | 'login-completed'
  /** The database was written by a newer burrow-server; this one would misread it. */
  | 'schema-too-new';

export class StoreError extends Error {
  override readonly name = 'StoreError';

  constructor(
    readonly code: StoreErrorCode,
    message: string,
  ) {
    super(message);
  }
}
