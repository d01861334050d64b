import type { ClientMessage } from '../../src/control/messages.js';

type Report = Extract<ClientMessage, { type: 'endpoints' | 'routes' }>;

/**
 * A registered device's latest status reports (its endpoints, its advertised routes) that could not
 * be saved because the database was unreachable. The device keeps its stream meanwhile (read-only
 * serving); the reports are handed back to be saved once the database is back. Only the latest of
 * each kind matters, and one saved since supersedes the held one.
 */
export class HeldReports {
  private readonly held = new Map<Report['type'], Report>();

  /** Holds what `message` reports (a map request reports endpoints); says whether it reports anything. */
  hold(message: ClientMessage): boolean {
    if (message.type === 'map') {
      const { endpoints, homeRelay } = message;
      this.held.set('endpoints', {
        type: 'endpoints',
        endpoints,
        ...(homeRelay != null ? { homeRelay } : {}),
      });
      return true;
    }
    if (message.type !== 'endpoints' && message.type !== 'routes') return false;
    this.held.set(message.type, message);
    return true;
  }

  /** A report of this kind was just saved: the held one is older. */
  saved(type: ClientMessage['type']): void {
    if (type === 'endpoints' || type === 'routes') this.held.delete(type);
  }

  /** The held reports, forgotten here. */
  take(): Report[] {
    const reports = [...this.held.values()];
    this.held.clear();
    return reports;
  }
}
