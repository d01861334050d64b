/**
 * The Content Security Policy of every page the app shows, in Electron (session headers) and in
 * web mode (response headers): our own scripts, styles and connections only, nothing inline, no
 * framing, no forms, no <base>.
 */
export const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
