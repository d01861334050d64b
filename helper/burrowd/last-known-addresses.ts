import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';

/** How long a lookup may take before the last known answer is used instead (DNS may be cut off). */
const PATIENCE_MS = 1000;
/** Hosts remembered at most: the control server and the relays, a handful in practice. */
const MAX_HOSTS = 64;

/** One host's last known addresses, as kept in the state directory. */
export interface KnownHost {
  host: string;
  addresses: string[];
}

/** Where the last known addresses are kept across restarts (the state directory). */
export interface AddressBook {
  load(): KnownHost[];
  save(hosts: KnownHost[]): void;
}

/** A host name's addresses from DNS; rejects when it has none. */
export type Resolve = (host: string) => Promise<string[]>;

const resolveDns: Resolve = async (host) => (await dnsLookup(host, { all: true })).map((a) => a.address);

const sameSet = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && [...a].sort().join() === [...b].sort().join();

/**
 * The addresses of the hosts burrowd itself connects to (the control server, the relays), with
 * the last answer for each kept, on disk too. While the chosen exit node is missing, DNS queries go
 * into the tunnel and get no answer, yet these hosts must stay reachable, or the device could never
 * hear that its exit node is back: their bypass routes, and new connections to them, then use the
 * last known addresses. A lookup that is merely slow is waited for only briefly when an answer is
 * known, so that nothing (the routes of a new exit node, a reconnect) waits on a DNS timeout.
 */
export class LastKnownAddresses {
  private readonly known: Map<string, string[]>;
  /** Lookups under way, one per host, however many callers wait for it. */
  private readonly pending = new Map<string, Promise<string[]>>();

  constructor(
    private readonly book: AddressBook,
    private readonly log: (message: string) => void,
    private readonly resolve: Resolve = resolveDns,
  ) {
    this.known = new Map(book.load().map((h) => [h.host, h.addresses]));
  }

  /**
   * The host's addresses: DNS's answer (remembered), or the last known ones while DNS fails or
   * keeps us waiting. Rejects only when DNS fails for a host it never answered for.
   */
  async addresses(host: string): Promise<string[]> {
    const bare = host.replace(/^\[|\]$/g, '');
    if (isIP(bare) !== 0) return [bare];
    const fresh = this.lookUp(bare);
    const known = this.known.get(bare);
    if (known === undefined) return fresh;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), PATIENCE_MS);
    });
    try {
      return (await Promise.race([fresh.catch(() => null), late])) ?? known;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Host prefixes (/32, /128) of the hosts' addresses, for throw routes; a host without any is logged. */
  async hostPrefixes(hosts: Iterable<string>): Promise<string[]> {
    const found = await Promise.all(
      [...hosts].map((host) =>
        this.addresses(host).catch((error: Error) => {
          this.log(`no address for ${host} (${error.message}): it is not kept out of the tunnel`);
          return [];
        }),
      ),
    );
    return found.flat().map((a) => (isIP(a) === 6 ? `${a}/128` : `${a}/32`));
  }

  /** Node's `lookup` for http.request: connections to these hosts get the same answers. */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    this.addresses(hostname).then(
      (found) => {
        const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : options.family;
        const usable = found
          .map((address) => ({ address, family: isIP(address) }))
          .filter((a) => !family || a.family === family);
        const first = usable[0];
        if (first === undefined) {
          const error = Object.assign(new Error(`no IPv${family} address for ${hostname}`), {
            code: 'ENOTFOUND',
          });
          callback(error, '', 0);
        } else if (options.all) callback(null, usable);
        else callback(null, first.address, first.family);
      },
      (error: NodeJS.ErrnoException) => callback(error, '', 0),
    );
  };

  private lookUp(host: string): Promise<string[]> {
    let lookup = this.pending.get(host);
    if (lookup === undefined) {
      lookup = this.resolve(host)
        .then((found) => {
          this.remember(host, found);
          return found;
        })
        .finally(() => this.pending.delete(host));
      this.pending.set(host, lookup);
    }
    return lookup;
  }

  private remember(host: string, addresses: string[]): void {
    const known = this.known.get(host);
    if (known !== undefined && sameSet(known, addresses)) return;
    this.known.delete(host);
    this.known.set(host, addresses);
    // The longest unchanged go first: they are the likeliest to be out of use.
    for (const old of this.known.keys()) if (this.known.size > MAX_HOSTS) this.known.delete(old);
    this.log(`${host} is at ${addresses.join(', ')}`);
    this.book.save([...this.known].map(([h, a]) => ({ host: h, addresses: a })));
  }
}
