import { key } from '../control/messages.js';
import {
  array,
  boolean,
  type Infer,
  integer,
  literal,
  nullable,
  object,
  type Schema,
  SchemaError,
  string,
  tagged,
} from '../control/schema.js';

/**
 * The key feed: how a relay running on its own (`burrow-server relay`) learns which node keys it
 * may serve. The relay connects to its coordination server with an HTTP upgrade, proves its relay
 * key in a Noise IK handshake to the server's control key (src/control/noise-session.ts, with a
 * prologue of its own), and the server accepts it only if that key is in its relay map. The server
 * then streams the allowed keys: the full set (in parts), then changes, with keepalives between.
 * The relay sends nothing after its hello. Every message is one sealed JSON frame, checked here.
 */

export const KEY_FEED_PATH = '/relay/keys/v1';
export const KEY_FEED_UPGRADE = 'burrow-relay-keys/1';
export const KEY_FEED_PROLOGUE = 'burrow relay keys v1';
export const KEY_FEED_VERSION = 1;
/** Largest handshake frame either side reads. */
export const MAX_FEED_HELLO_FRAME = 1024;
/** Keys in one message: a full set of any size goes in parts, so every frame stays small. */
export const MAX_KEYS_PER_MESSAGE = 4096;
/** Largest frame the relay reads (a message of MAX_KEYS_PER_MESSAGE entries is about 300 KiB). */
export const MAX_FEED_FRAME = 1 << 20;
/** Most keys a relay holds: beyond this the feed is refused as broken rather than grown. */
export const MAX_ALLOWED_KEYS = 1_000_000;
/** The server sends a keepalive this often when it has nothing else to send. */
export const FEED_KEEPALIVE_MS = 15_000;

const unixMs = integer({ min: 0, max: 8_640_000_000_000_000 });

/** The relay's hello: the version and its wall clock, checked against a window like the relay's. */
export const feedClientHello = object({ v: literal(KEY_FEED_VERSION), ts: unixMs });

/** The server's reply: accepted, or refused with the reason (this relay's key is not in the map). */
export const feedServerHello = tagged('status', {
  ok: object({ v: literal(KEY_FEED_VERSION), status: literal('ok') }),
  refused: object({
    v: literal(KEY_FEED_VERSION),
    status: literal('refused'),
    reason: string({ max: 512 }),
  }),
});
export type FeedServerHello = Infer<typeof feedServerHello>;

const allowedKey = object({ key, expires: nullable(unixMs) });
const keys = array(allowedKey, { max: MAX_KEYS_PER_MESSAGE });

export const feedMessage = tagged('type', {
  /** Part of the full set; the set is complete (and replaces the relay's) at the part with more: false. */
  full: object({ type: literal('full'), keys, more: boolean }),
  /** Keys newly allowed or with a new expiry, and keys no longer allowed. */
  changes: object({
    type: literal('changes'),
    allow: keys,
    revoke: array(key, { max: MAX_KEYS_PER_MESSAGE }),
  }),
  keepalive: object({ type: literal('keepalive') }),
});
export type FeedMessage = Infer<typeof feedMessage>;

/** What the server accepts from a relay after the handshake: nothing. */
export const noFeedMessage: Schema<never> = {
  parse(_value, path = '$') {
    throw new SchemaError(path, 'a relay sends nothing after its hello');
  },
};
