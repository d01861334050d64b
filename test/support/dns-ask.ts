/**
 * Asks a DNS server one question, as a test's client inside a namespace, and prints what came
 * back as one JSON line (see child-script.ts):
 *   node --import tsx test/support/dns-ask.ts SERVER NAME [TYPE] [udp|tcp] [--no-edns] [--raw HEX]
 * `--raw HEX` sends those bytes instead of a question (malformed or oversized queries). Prints
 * `{ "timeout": true }` when nothing answers within 1.5 s.
 */
import { createSocket } from 'node:dgram';
import { connect, isIPv6 } from 'node:net';
import { parseMessage } from '../../src/dns/message.js';
import { rcodeName, recordText, stubQuery, typeName, typeNumber } from '../../src/dns/presentation.js';
import { frameForTcp, TcpFramer } from '../../src/dns/tcp-framing.js';
import { done } from './child-script.js';

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  if (i === -1) return undefined;
  const [, value] = args.splice(i, 2);
  return value ?? '';
};
const raw = flag('--raw');
const noEdns = args.includes('--no-edns');
const [server, name, type = 'A', transport = 'udp'] = args.filter((a) => a !== '--no-edns');
if (server === undefined || name === undefined)
  throw new Error('usage: dns-ask SERVER NAME [TYPE] [udp|tcp]');

let query = raw !== undefined ? Buffer.from(raw, 'hex') : stubQuery(0x2a2a, name, typeNumber(type) ?? 1);
if (noEdns && raw === undefined) {
  // The same question without its OPT record: a 512-byte client (RFC 1035).
  query = Buffer.from(query);
  query[11] = 0;
  query = query.subarray(0, query.length - 11);
}

function report(bytes: Uint8Array): void {
  const m = parseMessage(bytes);
  done({
    rcode: rcodeName(m.header.rcode),
    tc: m.header.tc,
    aa: m.header.aa,
    size: bytes.length,
    answers: m.answers.map((r) => `${typeName(r.type)} ${recordText(r)}`),
  });
  process.exit(0);
}

setTimeout(() => {
  done({ timeout: true });
  process.exit(0);
}, 1500);

if (transport === 'tcp') {
  const socket = connect(53, server, () => socket.write(frameForTcp(query)));
  const framer = new TcpFramer();
  socket.on('data', (chunk) => {
    const [m] = framer.push(chunk);
    if (m) report(m);
  });
  socket.on('error', (error) => {
    done({ error: error.message });
    process.exit(0);
  });
  socket.on('close', () => {
    done({ closed: true });
    process.exit(0);
  });
} else {
  const socket = createSocket(isIPv6(server) ? 'udp6' : 'udp4');
  socket.on('message', (bytes) => report(bytes));
  socket.send(query, 53, server);
}
