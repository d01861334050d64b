/** A button that copies one value (a name, an address, an invite code) and says so for a moment. */
import { useEffect, useState } from 'react';
import { useBurrow } from '../store-context.js';

const SHOWN_MS = 1500;

export function CopyButton({
  text,
  what,
  testId,
  label = 'Copy',
}: {
  text: string;
  what: string;
  testId: string;
  /** What the button says until it has copied ("Copy IP", "Copy name"). */
  label?: string;
}) {
  const copy = useBurrow((s) => s.copy);
  const busy = useBurrow((s) => s.pending[`copy:${text}`] === true);
  const [copied, setCopied] = useState(false);

  useEffect(() => {
    if (!copied) return;
    const timer = setTimeout(() => setCopied(false), SHOWN_MS);
    return () => clearTimeout(timer);
  }, [copied]);

  return (
    <>
      <button
        type="button"
        className="copy"
        data-testid={testId}
        aria-label={`Copy ${what}`}
        disabled={busy}
        onClick={async () => setCopied(await copy(text))}
      >
        {copied ? 'Copied' : label}
      </button>
      {/* The label does not change, so a screen reader hears the outcome here. */}
      <span className="visually-hidden" role="status">
        {copied ? `Copied ${what}` : ''}
      </span>
    </>
  );
}
