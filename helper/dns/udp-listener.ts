/**
 * The resolver's UDP socket on one listening address. By default the addon's (helper/bind): queries
 * come in batches from recvmmsg(2) and the answers to a batch leave together in one sendmmsg(2), so
 * a busy resolver pays one trip into JavaScript and two system calls per batch instead of per query
 * (about twice the queries/s of node:dgram, `npm run bench:dns`). node:dgram where the addon is
 * older than that (a stale build), or when asked for.
 */
import { createSocket, type Socket as DgramSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { Datagram } from '../bind/bind.js';
import { type LinuxBind, openBindAt } from '../bind/linux-bind.js';

/** Where answers go: the listener a query came in on. */
export interface UdpReplier {
  send(bytes: Uint8Array, port: number, address: string): void;
}

export interface UdpListener extends UdpReplier {
  close(): void;
}

/** Called for each query, with the listener its answer must leave by. */
export type OnQuery = (bytes: Uint8Array, address: string, port: number, replier: UdpReplier) => void;

/** Queries per recvmmsg(2) at most. */
const BATCH = 64;

/**
 * Listens on `address` port `port`. Rejects if the address cannot be bound; `onError` hears of
 * errors after that (the socket may then have stopped receiving).
 */
export async function openUdpListener(
  address: string,
  port: number,
  onQuery: OnQuery,
  onError: (error: Error) => void,
  options: { dgram?: boolean } = {},
): Promise<UdpListener> {
  const bind = options.dgram ? undefined : openBindAt(address, port, { batchSize: BATCH });
  if (bind !== undefined) return new BatchedListener(bind, onQuery, onError);
  const socket = createSocket({ type: isIPv6(address) ? 'udp6' : 'udp4' });
  socket.on('message', (bytes, from) => onQuery(bytes, from.address, from.port, replier));
  const replier: UdpListener = {
    send: (bytes, toPort, toAddress) => socket.send(bytes, toPort, toAddress),
    close: () => closeDgram(socket),
  };
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ address, port, exclusive: true }, () => {
      socket.off('error', reject);
      resolve();
    });
  }).catch((error) => {
    closeDgram(socket);
    throw error;
  });
  socket.on('error', onError);
  return replier;
}

class BatchedListener implements UdpListener {
  /** The answers to the batch being read, sent together once it is done. */
  private batch: Datagram[] | null = null;

  constructor(
    private readonly bind: LinuxBind,
    onQuery: OnQuery,
    onError: (error: Error) => void,
  ) {
    bind.onError(onError);
    bind.onDatagrams((datagrams) => {
      const answers: Datagram[] = [];
      this.batch = answers;
      try {
        for (const d of datagrams) onQuery(d.data, d.host, d.port, this);
      } finally {
        this.batch = null;
        if (answers.length > 0 && !bind.closed) bind.send(answers);
      }
    });
  }

  /** Joins the batch being answered, or (an answer from upstream, later) leaves at once. */
  send(bytes: Uint8Array, port: number, address: string): void {
    const datagram = { data: bytes, host: address, port };
    if (this.batch !== null) this.batch.push(datagram);
    else if (!this.bind.closed) this.bind.send([datagram]);
  }

  close(): void {
    this.bind.close();
  }
}

function closeDgram(socket: DgramSocket): void {
  try {
    socket.close();
  } catch {
    // not bound yet, or closed already
  }
}
