/** Failures, in burrowd's own words, until dismissed. */
import { useBurrow } from '../store-context.js';

export function Notices() {
  const notices = useBurrow((s) => s.notices);
  const dismiss = useBurrow((s) => s.dismiss);
  if (notices.length === 0) return null;
  return (
    <div className="notices">
      {notices.map((n) => (
        <div key={n.id} className="notice" role="alert" data-testid="error">
          <span>{n.message}</span>
          <button type="button" aria-label="Dismiss this error" onClick={() => dismiss(n.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
