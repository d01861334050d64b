/**
 * "Share my device": one of the user's own devices, to a named user or as a link. The server
 * answers with a code the user passes on, shown (with a copy button) until they are done with it.
 */
import { type FormEvent, useId, useState } from 'react';
import { myDevices } from '../peers.js';
import { useBurrow } from '../store-context.js';
import { CopyButton } from './copy-button.js';

function CreatedInvite() {
  const created = useBurrow((s) => s.createdInvite);
  const clear = useBurrow((s) => s.clearCreatedInvite);
  if (!created) return null;
  return (
    <div className="card created" role="status" data-testid="created-invite">
      <p>
        {created.recipient
          ? `Invite for ${created.recipient} to use ${created.device}. They will see it under Invites, or can accept this code:`
          : `Anyone with this code can accept ${created.device}:`}
      </p>
      <div className="code-row">
        <code data-testid="invite-code">{created.code}</code>
        <CopyButton text={created.code} what="the invite code" testId="copy-invite-code" />
        <button type="button" onClick={clear} aria-label="Done with this invite code">
          Done
        </button>
      </div>
    </div>
  );
}

export function ShareForm() {
  const status = useBurrow((s) => s.status);
  const createShare = useBurrow((s) => s.createShare);
  const busy = useBurrow((s) => s.pending.createShare === true);
  const devices = myDevices(status);
  const [device, setDevice] = useState('');
  const [mode, setMode] = useState<'user' | 'link'>('user');
  const [recipient, setRecipient] = useState('');
  const [multiUse, setMultiUse] = useState(false);
  const ids = useId();

  if (devices.length === 0) return <p className="empty">Sign in to share your devices.</p>;
  // The first device (this one) until the user picks another, or if the one picked went away.
  const chosen = devices.find((d) => d.id === device) ?? devices[0]!;

  const submit = (e: FormEvent) => {
    e.preventDefault();
    void createShare(
      mode === 'user' ? { device: chosen.id, to: recipient.trim() } : { device: chosen.id, multiUse },
    );
  };

  return (
    <form className="card form" onSubmit={submit} aria-label="Share a device">
      <label htmlFor={`${ids}-device`}>Device</label>
      <select
        id={`${ids}-device`}
        data-testid="share-device"
        value={chosen.id}
        onChange={(e) => setDevice(e.target.value)}
      >
        {devices.map((d) => (
          <option key={d.id} value={d.id}>
            {d.isSelf ? `${d.hostName} (this device)` : d.hostName}
          </option>
        ))}
      </select>
      <fieldset className="choices">
        <legend>Share with</legend>
        <label>
          <input
            type="radio"
            name={`${ids}-mode`}
            data-testid="share-to-user"
            checked={mode === 'user'}
            onChange={() => setMode('user')}
          />
          A user
        </label>
        <label>
          <input
            type="radio"
            name={`${ids}-mode`}
            data-testid="share-as-link"
            checked={mode === 'link'}
            onChange={() => setMode('link')}
          />
          Anyone with a link code
        </label>
      </fieldset>
      {mode === 'user' ? (
        <>
          <label htmlFor={`${ids}-recipient`}>User name</label>
          <input
            id={`${ids}-recipient`}
            data-testid="share-recipient"
            required
            autoComplete="off"
            value={recipient}
            onChange={(e) => setRecipient(e.target.value)}
          />
        </>
      ) : (
        <label className="inline">
          <input
            type="checkbox"
            data-testid="share-multi-use"
            checked={multiUse}
            onChange={(e) => setMultiUse(e.target.checked)}
          />
          Let more than one person use the code
        </label>
      )}
      <button type="submit" className="primary" data-testid="share-submit" disabled={busy}>
        {busy ? 'Sharing…' : 'Share'}
      </button>
      <CreatedInvite />
    </form>
  );
}
