/** What the DNS backends share (system-dns.ts chooses between them). */

export interface DnsSettings {
  /** IP literals. */
  nameservers: string[];
  searchDomains: string[];
  /** Names only under these domains go to the name servers (split DNS); empty: every name does. */
  matchDomains: string[];
}

export interface SystemDns {
  readonly backend: 'resolved' | 'file';
  /** Makes `settings` the DNS of the interface (and, for "file", of the whole system). */
  set(settings: DnsSettings): Promise<void>;
  /** Puts back what `set` changed. Safe to call more than once, and after a failed `set`. */
  restore(): Promise<void>;
}

/** A DNS change that cannot be made or undone: says which file or command, and why. */
export class DnsError extends Error {}

/** Runs a program with an argument vector (never a shell string); rejects with its stderr. */
export type CommandRunner = (command: string, args: string[]) => Promise<string>;
