/**
 * "Why can't I reach…" on the Devices screen: a device, a name or an address, with an optional
 * `:port` (`webcam`, `webcam:80`, `100.64.0.2:443`), traced in the journey view. Without a port
 * the trace is a ping (or what was last traced to that name), as `burrow trace NAME` does.
 */
import { useId, useState } from 'react';
import { useBurrow } from '../store-context.js';
import { parseTraceTarget } from '../trace-target.js';

export function WhyField() {
  const openJourney = useBurrow((s) => s.openJourney);
  const [text, setText] = useState('');
  const [error, setError] = useState<string | null>(null);
  const id = useId();
  return (
    <form
      className="why-form"
      aria-label="Why can’t I reach…"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        const parsed = parseTraceTarget(text);
        if (!parsed.ok) return setError(parsed.error);
        setError(null);
        const { host, port } = parsed.value;
        openJourney(host, port === null ? undefined : { proto: 'tcp', port });
      }}
    >
      <label htmlFor={`${id}-why`}>Why can’t I reach…</label>
      <div className="inline-form">
        <input
          id={`${id}-why`}
          className="grow"
          data-testid="why-target"
          placeholder="webcam, or 100.64.0.2:80"
          autoComplete="off"
          spellCheck={false}
          value={text}
          aria-invalid={error !== null || undefined}
          aria-describedby={error !== null ? `${id}-error` : undefined}
          onChange={(e) => setText(e.target.value)}
        />
        <button type="submit" data-testid="why-submit">
          Trace
        </button>
      </div>
      {error !== null && (
        <p id={`${id}-error`} className="field-error" role="alert" data-testid="why-problem">
          {error}
        </p>
      )}
    </form>
  );
}
