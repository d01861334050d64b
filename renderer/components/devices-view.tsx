/** The Devices screen: this device, "Why can't I reach…", then the peers with a search box. */
import { useMemo, useState } from 'react';
import { formatExpiry } from '../format.js';
import { searchPeers, sortPeers } from '../peers.js';
import { useBurrow } from '../store-context.js';
import { useNow } from '../use-now.js';
import { Addresses } from './addresses.js';
import { FullName } from './full-name.js';
import { PeerRow } from './peer-row.js';
import { WhyField } from './why-field.js';

function SelfCard({ now }: { now: number }) {
  const self = useBurrow((s) => s.status?.self ?? null);
  if (!self) return <p className="empty">This device is not signed in to a network yet.</p>;
  return (
    <div className="card" data-testid="self">
      <div className="peer-head">
        <span className={self.online ? 'dot online' : 'dot'} aria-hidden="true" />
        <strong className="peer-name" title={self.dnsName}>
          {self.shortName}
        </strong>
        <span className="muted">
          {self.user} · {self.network}
          {self.keyExpiry !== null && ` · key ${formatExpiry(self.keyExpiry, now)}`}
        </span>
      </div>
      <FullName dnsName={self.dnsName} name={self.shortName} testId="copy-name-self" />
      <Addresses ips={self.ips} name={self.shortName} testId="copy-self" />
    </div>
  );
}

export function DevicesView() {
  const peers = useBurrow((s) => s.status?.peers);
  const [query, setQuery] = useState('');
  const now = useNow();
  const shown = useMemo(() => sortPeers(searchPeers(peers ?? [], query)), [peers, query]);

  return (
    <>
      <section>
        <h2>This device</h2>
        <SelfCard now={now} />
      </section>
      <section>
        <WhyField />
      </section>
      <section>
        <div className="section-head">
          <h2>Peers</h2>
          <input
            type="search"
            className="search"
            placeholder="Search by name, user or IP"
            aria-label="Search devices by name (short or full), user or IP"
            data-testid="peer-search"
            value={query}
            onChange={(e) => setQuery(e.target.value)}
          />
        </div>
        {!peers?.length ? (
          <p className="empty">No devices yet</p>
        ) : shown.length === 0 ? (
          <p className="empty">No devices match “{query}”</p>
        ) : (
          <ul className="peers" aria-label="Peers">
            {shown.map((p) => (
              <PeerRow key={p.id} peer={p} now={now} />
            ))}
          </ul>
        )}
      </section>
    </>
  );
}
