/**
 * Signing in, while burrowd is stopped or needs a login: the control server's URL (and an auth
 * key, for unattended sign-in) go to `up`; when the server answers with a login page, a button
 * opens it in the user's browser. burrowd shows that page only to root and its operator user (it
 * is the power to sign the device in): needing a login without a page, the panel says so, since
 * for any other user the form cannot work.
 */
import { type FormEvent, useId, useState } from 'react';
import { useBurrow } from '../store-context.js';

export function LoginPanel() {
  const authUrl = useBurrow((s) => s.authUrl);
  const needsLogin = useBurrow((s) => s.backendState === 'needs-login');
  const savedUrl = useBurrow((s) => s.prefs?.controlUrl ?? '');
  const connect = useBurrow((s) => s.connect);
  const openLogin = useBurrow((s) => s.openLogin);
  const busy = useBurrow((s) => s.pending.up === true);
  // null: the user has not typed, so follow the saved URL (which may arrive after the first render).
  const typedUrl = useBurrow((s) => s.typedServerUrl);
  const typeUrl = useBurrow((s) => s.typeServerUrl);
  const [authKey, setAuthKey] = useState('');
  const ids = useId();
  const controlUrl = typedUrl ?? savedUrl;

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const key = authKey.trim();
    void connect({ controlUrl: controlUrl.trim(), ...(key ? { authKey: key } : {}) });
  };

  return (
    <section className="card login" aria-label="Sign in" data-testid="login-panel">
      <h2>Sign in to a Burrow network</h2>
      {needsLogin && !authUrl && (
        <p data-testid="login-who">
          Only an administrator (root) or burrowd’s operator user can sign this device in; the sign-in page is
          shown only to them. If that is you, sign in below.
        </p>
      )}
      {authUrl && (
        <div className="login-url">
          <p>Finish signing in on your control server’s page.</p>
          <button
            type="button"
            className="primary"
            data-testid="open-login"
            aria-label="Open the sign-in page in your browser"
            onClick={() => openLogin(authUrl)}
          >
            Open sign-in page
          </button>
        </div>
      )}
      <form className="form" onSubmit={submit}>
        <label htmlFor={`${ids}-url`}>Server URL</label>
        <input
          id={`${ids}-url`}
          type="url"
          required
          placeholder="https://burrow.example.com"
          data-testid="control-url"
          value={controlUrl}
          onChange={(e) => typeUrl(e.target.value)}
        />
        <label htmlFor={`${ids}-key`}>Auth key (optional)</label>
        <input
          id={`${ids}-key`}
          type="password"
          autoComplete="off"
          data-testid="auth-key"
          value={authKey}
          onChange={(e) => setAuthKey(e.target.value)}
        />
        <button type="submit" className="primary" data-testid="login-submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </section>
  );
}
