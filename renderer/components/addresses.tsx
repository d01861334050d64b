/** A device's addresses, each with a copy button; the first (its 100.x address) has the plain test id. */
import { CopyButton } from './copy-button.js';

export function Addresses({ ips, name, testId }: { ips: readonly string[]; name: string; testId: string }) {
  if (ips.length === 0) return <p className="muted">No address yet</p>;
  return (
    <ul className="addresses" aria-label={`Addresses of ${name}`}>
      {ips.map((ip, i) => (
        <li key={ip}>
          <code>{ip}</code>
          <CopyButton
            text={ip}
            label="Copy IP"
            what={`${name}'s address ${ip}`}
            testId={i === 0 ? testId : `${testId}-${i}`}
          />
        </li>
      ))}
    </ul>
  );
}
