/**
 * The journey view's form: what to trace (a device, a name or an address, with an optional
 * `:port` as `burrow trace` takes it), the protocol (TCP, UDP or a ping) and the port, picked
 * from common ones or typed. Submitting traces it again; a value that is no target is refused
 * here, beside its field, before anything is sent.
 */
import { useId, useState } from 'react';
import { useBurrow } from '../store-context.js';
import {
  COMMON_PORTS,
  parsePort,
  parseTraceTarget,
  type TraceChoice,
  type TraceProto,
} from '../trace-target.js';

const PROTOS: { proto: TraceProto; label: string }[] = [
  { proto: 'tcp', label: 'TCP' },
  { proto: 'udp', label: 'UDP' },
  { proto: 'icmp', label: 'Ping' },
];

/** The form's values as a trace, or why they are none. */
function read(
  targetText: string,
  proto: TraceProto,
  portText: string,
): { target: string; choice: TraceChoice } | { error: string; field: 'target' | 'port' } {
  const parsed = parseTraceTarget(targetText);
  if (!parsed.ok) return { error: parsed.error, field: 'target' };
  const { host, port } = parsed.value;
  // A port typed with the name wins, as in `burrow trace webcam:80`.
  if (port !== null) return { target: host, choice: { proto: proto === 'icmp' ? 'tcp' : proto, port } };
  if (proto === 'icmp') return { target: host, choice: { proto, port: null } };
  if (portText.trim() === '') return { error: `Choose a port for ${proto.toUpperCase()}`, field: 'port' };
  const typed = parsePort(portText);
  return typed.ok
    ? { target: host, choice: { proto, port: typed.value } }
    : { error: typed.error, field: 'port' };
}

export function TraceForm({ autoFocus }: { autoFocus: boolean }) {
  const journey = useBurrow((s) => s.journey)!;
  const runTrace = useBurrow((s) => s.runTrace);
  const [target, setTarget] = useState(journey.target);
  const [proto, setProto] = useState<TraceProto>(journey.choice.proto);
  const [port, setPort] = useState(journey.choice.port === null ? '' : String(journey.choice.port));
  const [problem, setProblem] = useState<{ error: string; field: 'target' | 'port' } | null>(null);
  const id = useId();
  const ran = journey.report !== null || journey.error !== null;
  const same =
    target.trim() === journey.target &&
    proto === journey.choice.proto &&
    (proto === 'icmp' || port.trim() === String(journey.choice.port));

  return (
    <form
      className="trace-form"
      aria-label="What to trace"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        const asked = read(target, proto, port);
        if ('error' in asked) return setProblem(asked);
        setProblem(null);
        setTarget(asked.target);
        if (asked.choice.proto !== proto) setProto(asked.choice.proto);
        if (asked.choice.port !== null) setPort(String(asked.choice.port));
        void runTrace(asked.target, asked.choice);
      }}
    >
      <div className="trace-field grow">
        <label htmlFor={`${id}-target`}>Device, name or IP</label>
        <input
          id={`${id}-target`}
          data-testid="trace-target"
          // biome-ignore lint/a11y/noAutofocus: the view opened empty exists to take this name
          autoFocus={autoFocus}
          placeholder="webcam, or 100.64.0.2:80"
          autoComplete="off"
          spellCheck={false}
          value={target}
          aria-invalid={problem?.field === 'target' || undefined}
          aria-describedby={problem?.field === 'target' ? `${id}-problem` : undefined}
          onChange={(e) => setTarget(e.target.value)}
        />
      </div>
      <fieldset className="segmented">
        <legend>Protocol</legend>
        <div className="segments">
          {PROTOS.map((p) => (
            <label key={p.proto} className={proto === p.proto ? 'on' : undefined}>
              <input
                type="radio"
                name={`${id}-proto`}
                value={p.proto}
                data-testid={`trace-proto-${p.proto}`}
                checked={proto === p.proto}
                onChange={() => setProto(p.proto)}
              />
              {p.label}
            </label>
          ))}
        </div>
      </fieldset>
      <div className="trace-field">
        <label htmlFor={`${id}-port`}>Port</label>
        <input
          id={`${id}-port`}
          className="port-input"
          data-testid="trace-port"
          inputMode="numeric"
          list={`${id}-ports`}
          placeholder={proto === 'icmp' ? 'none' : '80'}
          disabled={proto === 'icmp'}
          value={proto === 'icmp' ? '' : port}
          aria-invalid={problem?.field === 'port' || undefined}
          aria-describedby={problem?.field === 'port' ? `${id}-problem` : undefined}
          onChange={(e) => setPort(e.target.value)}
        />
        <datalist id={`${id}-ports`}>
          {COMMON_PORTS.map((p) => (
            <option key={p.port} value={p.port}>
              {p.service}
            </option>
          ))}
        </datalist>
      </div>
      {/* Never disabled: a disabled button would drop the keyboard's focus; a new run supersedes. */}
      <button type="submit" className="primary" data-testid="trace-run" aria-busy={journey.running}>
        {journey.running ? 'Tracing…' : ran && same ? 'Run again' : 'Trace'}
      </button>
      {problem && (
        <p id={`${id}-problem`} className="field-error" role="alert" data-testid="trace-problem">
          {problem.error}
        </p>
      )}
    </form>
  );
}
