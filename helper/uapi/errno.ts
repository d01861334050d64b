import { constants } from 'node:os';

/**
 * The errno values a UAPI answer carries. They come from this platform's table because `wg` turns
 * them back into messages with its own strerror. The choice of code per failure follows wireguard-go.
 */
export const EIO = constants.errno.EIO;
/** A value that does not parse or is out of range; an unknown key. */
export const EINVAL = constants.errno.EINVAL;
/** A line that is not key=value, or a request not framed as the protocol says. */
export const EPROTO = constants.errno.EPROTO;
/** A request or line over burrowd's size limits (wireguard-go has none). */
export const EMSGSIZE = constants.errno.EMSGSIZE;
/** wireguard-go's answer when the listen port or fwmark cannot be applied to the socket. */
export const EADDRINUSE = constants.errno.EADDRINUSE;

/** The errno of a thrown Node error (its `code`, e.g. "EADDRINUSE"), or `fallback`. */
export function errnoOf(error: unknown, fallback: number): number {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  const errno = code === undefined ? undefined : (constants.errno as Record<string, number>)[code];
  return errno ?? fallback;
}
