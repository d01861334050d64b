/** A device's full name with its copy button: the name to give programs and to other people. */
import { CopyButton } from './copy-button.js';

/**
 * Copies the full name (`nas.carol.burrow.internal`), not the short one: a short name is only this
 * device's view (`nas-carol` here may be plain `nas` on carol's devices, and the suffix changes
 * with the devices one sees), and it resolves only through the search domain; the full name is the
 * same on every device that may see this one and resolves there as it is.
 */
export function FullName({ dnsName, name, testId }: { dnsName: string; name: string; testId: string }) {
  return (
    <p className="full-name">
      <code data-testid="full-name">{dnsName}</code>
      <CopyButton text={dnsName} what={`${name}'s name ${dnsName}`} label="Copy name" testId={testId} />
    </p>
  );
}
