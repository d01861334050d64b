/** Times as people read them: "3 min ago", "expires in 2 days". */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

function span(ms: number): string {
  if (ms < HOUR) return `${Math.floor(ms / MINUTE)} min`;
  if (ms < DAY) return `${Math.floor(ms / HOUR)} h`;
  const days = Math.floor(ms / DAY);
  return days === 1 ? '1 day' : `${days} days`;
}

/** When something last happened (a handshake): "never" for null, "just now" within a minute. */
export function formatAgo(at: number | null, now: number): string {
  if (at === null) return 'never';
  const ms = now - at;
  // A little clock skew between burrowd and the UI must not read as the future.
  if (ms < MINUTE) return 'just now';
  return `${span(ms)} ago`;
}

/** When something ends (an invite, a key): "expired" once past. */
export function formatExpiry(at: number, now: number): string {
  const ms = at - now;
  if (ms <= 0) return 'expired';
  if (ms < MINUTE) return 'expires in under a minute';
  return `expires in ${span(ms)}`;
}
