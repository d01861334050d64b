/** Protocol constants from the WireGuard whitepaper (§5.4, §6.1) and wireguard-go. Times are in ms. */

export const CONSTRUCTION = 'Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s';
export const IDENTIFIER = 'WireGuard v1 zx2c4 Jason@zx2c4.com';
export const LABEL_MAC1 = 'mac1----';
export const LABEL_COOKIE = 'cookie--';

export const MESSAGE_INITIATION = 1;
export const MESSAGE_RESPONSE = 2;
export const MESSAGE_COOKIE_REPLY = 3;
export const MESSAGE_TRANSPORT = 4;

export const INITIATION_SIZE = 148;
export const RESPONSE_SIZE = 92;
export const COOKIE_REPLY_SIZE = 64;
export const TRANSPORT_HEADER_SIZE = 16;
export const TAG_SIZE = 16;
/** The smallest transport message: header plus the tag of an empty (keepalive) payload. */
export const TRANSPORT_MIN_SIZE = TRANSPORT_HEADER_SIZE + TAG_SIZE;
/** Largest UDP payload we accept; anything bigger cannot be a WireGuard message. */
export const MAX_MESSAGE_SIZE = 65535 - 8;

/** Limits on one session's messages. JavaScript numbers are exact to 2^53, so the protocol's
 * REJECT_AFTER_MESSAGES (2^64 - 2^13 - 1) is clamped to 2^53 - 1: no sender gets there. */
export const REKEY_AFTER_MESSAGES = 2 ** 60;
export const REJECT_AFTER_MESSAGES = Number.MAX_SAFE_INTEGER;

export const REKEY_AFTER_TIME = 120_000;
export const REJECT_AFTER_TIME = 180_000;
export const REKEY_ATTEMPT_TIME = 90_000;
export const REKEY_TIMEOUT = 5_000;
export const REKEY_TIMEOUT_JITTER_MAX = 334;
export const KEEPALIVE_TIMEOUT = 10_000;
export const COOKIE_REFRESH_TIME = 120_000;
/** An initiation accepted from a peer less than this long ago is not answered again (flood guard). */
export const HANDSHAKE_INITIATION_RATE = 50;
/** Packets queued for a peer while its handshake completes. */
export const MAX_STAGED_PACKETS = 128;

/**
 * The protocol's timing and message limits. Production uses the defaults above; tests may pass a
 * scaled copy so that a rekey happens in seconds instead of minutes.
 */
export interface ProtocolLimits {
  rekeyAfterMessages: number;
  rejectAfterMessages: number;
  rekeyAfterTime: number;
  rejectAfterTime: number;
  rekeyAttemptTime: number;
  rekeyTimeout: number;
  rekeyTimeoutJitterMax: number;
  keepaliveTimeout: number;
  cookieRefreshTime: number;
}

export const DEFAULT_LIMITS: Readonly<ProtocolLimits> = Object.freeze({
  rekeyAfterMessages: REKEY_AFTER_MESSAGES,
  rejectAfterMessages: REJECT_AFTER_MESSAGES,
  rekeyAfterTime: REKEY_AFTER_TIME,
  rejectAfterTime: REJECT_AFTER_TIME,
  rekeyAttemptTime: REKEY_ATTEMPT_TIME,
  rekeyTimeout: REKEY_TIMEOUT,
  rekeyTimeoutJitterMax: REKEY_TIMEOUT_JITTER_MAX,
  keepaliveTimeout: KEEPALIVE_TIMEOUT,
  cookieRefreshTime: COOKIE_REFRESH_TIME,
});

/** Divides every time limit by `factor` (test-only time scaling); message limits are unchanged. */
export function scaleLimits(factor: number, base: ProtocolLimits = DEFAULT_LIMITS): ProtocolLimits {
  if (!(factor >= 1)) throw new RangeError(`time scale must be >= 1, got ${factor}`);
  return {
    ...base,
    rekeyAfterTime: base.rekeyAfterTime / factor,
    rejectAfterTime: base.rejectAfterTime / factor,
    rekeyAttemptTime: base.rekeyAttemptTime / factor,
    rekeyTimeout: base.rekeyTimeout / factor,
    rekeyTimeoutJitterMax: base.rekeyTimeoutJitterMax / factor,
    keepaliveTimeout: base.keepaliveTimeout / factor,
    cookieRefreshTime: base.cookieRefreshTime / factor,
  };
}
