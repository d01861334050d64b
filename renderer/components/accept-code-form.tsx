/** Accepting a share by the code someone sent (link invites reach the user no other way). */
import { type FormEvent, useState } from 'react';
import { useBurrow } from '../store-context.js';

export function AcceptCodeForm() {
  const acceptShare = useBurrow((s) => s.acceptShare);
  const [code, setCode] = useState('');
  const ref = code.trim();
  const busy = useBurrow((s) => s.pending[`accept:${ref}`] === true);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    // On a refusal the code stays, so the user can fix a typo rather than paste it again.
    if (await acceptShare(ref)) setCode('');
  };

  return (
    <form className="inline-form" onSubmit={submit} aria-label="Accept an invite code">
      <input
        aria-label="Invite code"
        placeholder="Paste an invite code"
        data-testid="accept-code"
        autoComplete="off"
        required
        value={code}
        onChange={(e) => setCode(e.target.value)}
      />
      <button type="submit" data-testid="accept-code-submit" disabled={busy || ref === ''}>
        Accept
      </button>
    </form>
  );
}
