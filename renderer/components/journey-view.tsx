/**
 * The journey view: `burrow trace` in the window. The packet's seven stages as a timeline, in the
 * order the packet lives them, each stop with its verdict, timing and details; the stop that
 * stops the packet is highlighted with its cause and fix, and the verdict above says the same.
 * Escape or the back button returns to the screens.
 */
import { useEffect, useRef } from 'react';
import { STAGE_TITLES, STAGES, type TraceReport, type TraceStage } from '../../src/trace/report.js';
import { useBurrow } from '../store-context.js';
import { describeTrace, type TraceChoice } from '../trace-target.js';
import { TraceForm } from './trace-form.js';

const MARKS: Record<TraceStage['status'], string> = { ok: '✓', blocked: '✕', skipped: '–', unknown: '?' };
const LABELS: Record<TraceStage['status'], string> = {
  ok: 'Passed',
  blocked: 'Blocked here',
  skipped: 'Skipped',
  unknown: 'No answer',
};

function Stop({ stage, index }: { stage: TraceStage; index: number }) {
  const blocked = stage.status === 'blocked';
  return (
    <li
      className={`stop stop-${stage.status}`}
      data-testid={`stage-${stage.name}`}
      data-status={stage.status}
      aria-current={blocked ? 'step' : undefined}
    >
      <span className="marker" aria-hidden="true">
        {MARKS[stage.status]}
      </span>
      <div className="stop-body">
        <div className="stop-head">
          <h3>
            {index + 1}. {stage.title}
          </h3>
          <span className="stop-verdict" data-testid="stage-verdict">
            {LABELS[stage.status]}
          </span>
          {stage.ms !== null && <span className="muted stop-ms">{stage.ms} ms</span>}
        </div>
        <p className="stop-summary" data-testid="stage-summary">
          {stage.summary}
        </p>
        {stage.details.length > 0 && (
          <dl className="stop-details">
            {stage.details.map((d) => (
              <div key={d.label}>
                <dt>{d.label}</dt>
                <dd>{d.value}</dd>
              </div>
            ))}
          </dl>
        )}
        {blocked && stage.fix && (
          <p className="stop-fix" data-testid="stage-fix">
            <strong>Fix:</strong> {stage.fix}
          </p>
        )}
      </div>
    </li>
  );
}

/** The seven stops before an answer: their names, nothing judged yet. */
function Waiting({ running }: { running: boolean }) {
  return (
    <ol className="journey waiting" aria-label="The packet's journey" aria-busy={running}>
      {STAGES.map((name, i) => (
        <li key={name} className="stop stop-pending" data-testid={`stage-${name}`} data-status="pending">
          <span className="marker" aria-hidden="true">
            {i + 1}
          </span>
          <div className="stop-body">
            <div className="stop-head">
              <h3>
                {i + 1}. {STAGE_TITLES[name]}
              </h3>
            </div>
          </div>
        </li>
      ))}
    </ol>
  );
}

function Verdict({ report }: { report: TraceReport }) {
  if (report.delivered) {
    return (
      <div className="trace-verdict delivered" data-testid="trace-verdict" data-delivered="true">
        <strong>Delivered.</strong> {report.stages.at(-1)?.summary} ({report.totalMs} ms in all)
      </div>
    );
  }
  const stop = report.stages.find((s) => s.name === report.blockedAt);
  return (
    <div className="trace-verdict blocked" data-testid="trace-verdict" data-delivered="false">
      <strong>
        Blocked at {stop?.title ?? report.blockedAt}: {report.cause}
      </strong>
      {report.fix && <p className="trace-fix">Fix: {report.fix}</p>}
    </div>
  );
}

/** The view's heading: the question the trace answers. */
const question = (target: string, choice: TraceChoice) =>
  choice.proto === 'icmp'
    ? `Why can’t I ping ${target}?`
    : `Why can’t I reach ${describeTrace(target, choice)}?`;

export function JourneyView() {
  const journey = useBurrow((s) => s.journey)!;
  const close = useBurrow((s) => s.closeJourney);
  const heading = useRef<HTMLHeadingElement>(null);
  const { report, error, running, target, choice } = journey;
  const empty = target === '';

  // Escape goes back, wherever the focus is (the page's body, after a button it was on went away).
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape' && !e.defaultPrevented) close();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [close]);

  // A journey opened on a target starts at its heading, so a screen reader hears what is traced
  // (one opened empty starts in its field). Once per opening, not again per run or answer.
  // biome-ignore lint/correctness/useExhaustiveDependencies: journey.opened is the trigger
  useEffect(() => {
    if (!empty) heading.current?.focus();
  }, [journey.opened]);

  return (
    <section className="journey-view" data-testid="journey" aria-labelledby="journey-title">
      <div className="journey-head">
        <button type="button" className="back" data-testid="journey-back" onClick={close}>
          ← Back
        </button>
        <h2 id="journey-title" ref={heading} tabIndex={-1}>
          {empty ? 'Why can’t I reach…' : question(target, choice)}
        </h2>
      </div>
      <TraceForm key={journey.opened} autoFocus={empty} />
      <div className="trace-outcome" role="status" aria-live="polite">
        {running && (
          <p className="muted" data-testid="trace-running">
            Tracing: burrowd sends real packets through the tunnel, which takes a few seconds…
          </p>
        )}
        {report && !running && <Verdict report={report} />}
      </div>
      {error && !running && (
        <p className="trace-error" role="alert" data-testid="trace-error">
          Could not trace {describeTrace(target, choice)}: {error}
        </p>
      )}
      {report && !running ? (
        <ol className="journey" aria-label="The packet's journey, stop by stop" data-testid="journey-stages">
          {report.stages.map((stage, i) => (
            <Stop key={stage.name} stage={stage} index={i} />
          ))}
        </ol>
      ) : (
        !error && <Waiting running={running} />
      )}
    </section>
  );
}
