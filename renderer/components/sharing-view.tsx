/** The Sharing screen: share a device, answer invites, and see (and end) the shares in effect. */
import type { ReactNode } from 'react';
import { formatExpiry } from '../format.js';
import { sharingLists } from '../shares.js';
import { useBurrow } from '../store-context.js';
import { useNow } from '../use-now.js';
import { AcceptCodeForm } from './accept-code-form.js';
import { ShareForm } from './share-form.js';

/** A button for one item's action, disabled while that action is in flight. */
function ItemButton(props: {
  pendingKey: string;
  testId: string;
  label: string;
  onClick: () => void;
  children: ReactNode;
}) {
  const busy = useBurrow((s) => s.pending[props.pendingKey] === true);
  return (
    <button
      type="button"
      data-testid={props.testId}
      aria-label={props.label}
      disabled={busy}
      onClick={props.onClick}
    >
      {props.children}
    </button>
  );
}

function List({ label, empty, children }: { label: string; empty: string; children: ReactNode[] }) {
  if (children.length === 0) return <p className="empty">{empty}</p>;
  return (
    <ul className="items" aria-label={label}>
      {children}
    </ul>
  );
}

export function SharingView() {
  const shares = useBurrow((s) => s.shares);
  const sharesError = useBurrow((s) => s.sharesError);
  const me = useBurrow((s) => s.status?.self?.user ?? null);
  const acceptShare = useBurrow((s) => s.acceptShare);
  const declineShare = useBurrow((s) => s.declineShare);
  const revokeShare = useBurrow((s) => s.revokeShare);
  const now = useNow();
  const lists = sharingLists(shares, me);

  return (
    <>
      <section>
        <h2>Share my device</h2>
        <ShareForm />
      </section>
      <section>
        <div className="section-head">
          <h2>Invites</h2>
          <AcceptCodeForm />
        </div>
        {sharesError && !shares && (
          <p className="warning" role="status">
            Could not load shares: {sharesError}
          </p>
        )}
        <List label="Invites" empty="No invites">
          {lists.invites.map((i) => (
            <li key={i.id} className="item" data-testid={`invite-${i.id}`}>
              <span>
                <strong>{i.owner}</strong> invites you to use <strong>{i.device}</strong>
                <span className="muted"> · {formatExpiry(i.expiresAt, now)}</span>
              </span>
              <span className="actions">
                <ItemButton
                  pendingKey={`accept:${i.id}`}
                  testId={`accept-${i.id}`}
                  label={`Accept ${i.device} from ${i.owner}`}
                  onClick={() => acceptShare(i.id)}
                >
                  Accept
                </ItemButton>
                <ItemButton
                  pendingKey={`decline:${i.id}`}
                  testId={`decline-${i.id}`}
                  label={`Decline ${i.device} from ${i.owner}`}
                  onClick={() => declineShare(i.id)}
                >
                  Decline
                </ItemButton>
              </span>
            </li>
          ))}
        </List>
      </section>
      <section>
        <h2>Shared with me</h2>
        <List label="Devices shared with me" empty="Nothing is shared with you yet">
          {lists.sharedWithMe.map((s) => (
            <li key={s.id} className="item" data-testid={`share-${s.id}`}>
              <span>
                <strong>{s.device}</strong> <span className="muted">from {s.owner}</span>
              </span>
              <ItemButton
                pendingKey={`revoke:${s.id}`}
                testId={`remove-${s.id}`}
                label={`Remove ${s.device} shared by ${s.owner}`}
                onClick={() => revokeShare(s.id)}
              >
                Remove
              </ItemButton>
            </li>
          ))}
        </List>
      </section>
      <section>
        <h2>My shares</h2>
        <List label="My shares" empty="You have not shared any device">
          {[
            ...lists.myShares.map((s) => (
              <li key={s.id} className="item" data-testid={`share-${s.id}`}>
                <span>
                  <strong>{s.device}</strong> <span className="muted">with {s.recipient}</span>
                </span>
                <ItemButton
                  pendingKey={`revoke:${s.id}`}
                  testId={`revoke-${s.id}`}
                  label={`Revoke ${s.device} for ${s.recipient}`}
                  onClick={() => revokeShare(s.id)}
                >
                  Revoke
                </ItemButton>
              </li>
            )),
            ...lists.openInvites.map((i) => (
              <li key={i.id} className="item" data-testid={`outgoing-${i.id}`}>
                <span>
                  <strong>{i.device}</strong>{' '}
                  <span className="muted">
                    {i.recipient ? `invited ${i.recipient}` : i.multiUse ? 'link (many uses)' : 'link'} ·{' '}
                    {formatExpiry(i.expiresAt, now)}
                  </span>
                </span>
                <ItemButton
                  pendingKey={`revoke:${i.id}`}
                  testId={`revoke-${i.id}`}
                  label={`Revoke the invite for ${i.device}`}
                  onClick={() => revokeShare(i.id)}
                >
                  Revoke
                </ItemButton>
              </li>
            )),
          ]}
        </List>
      </section>
    </>
  );
}
