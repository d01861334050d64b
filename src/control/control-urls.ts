/**
 * Where a device finds its control server: one URL (a burrow-server, or a load balancer in front of
 * several instances), or the URLs of several instances sharing one database, separated by commas
 * and tried in turn. People type these (`burrow up --login-server`, the app's sign-in panel), so each
 * mistake is refused with the URL that is wrong.
 */

/** More instances than this is a mistake, not a deployment: put a load balancer in front of them. */
export const MAX_CONTROL_URLS = 8;

export class ControlUrlError extends Error {}

/** The URLs in `text`, in the order given; throws ControlUrlError naming the first bad one. */
export function parseControlUrls(text: string): string[] {
  const urls = text.split(',').map((s) => s.trim());
  if (urls.length > MAX_CONTROL_URLS)
    throw new ControlUrlError(`${urls.length} control URLs: at most ${MAX_CONTROL_URLS}`);
  const seen = new Set<string>();
  for (const text of urls) {
    checkOne(text);
    if (seen.has(text)) throw new ControlUrlError(`"${text}" is given twice`);
    seen.add(text);
  }
  return urls;
}

/** The one text that stands for `urls` (prefs keep the list as it is typed, spaces aside). */
export const formatControlUrls = (urls: readonly string[]): string => urls.join(',');

function checkOne(text: string): void {
  if (text === '') throw new ControlUrlError('an empty URL in the list (two commas, or one at an end)');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ControlUrlError(`"${text}" is not a URL`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || !/^https?:\/\/[^\s/?#]/i.test(text))
    throw new ControlUrlError(`"${text}" is not an http(s) URL`);
  // The device talks to the server's own paths (/control/v1, /control/key): anything more is a
  // mistake that would otherwise be silently ignored, and credentials would end up in logs.
  if (url.username !== '' || url.password !== '')
    throw new ControlUrlError(`"${text}": a control URL holds no user name or password`);
  if (url.search !== '' || url.hash !== '' || /[\s]/.test(text))
    throw new ControlUrlError(`"${text}": a control URL has no query, fragment or spaces`);
}
