/**
 * A client that uploads a chunked HTTP body (no content-length) to a unix socket server for as
 * long as the server lets it: it keeps writing until the connection closes, reading whatever the
 * server answers meanwhile. It stops on its own only after `capBytes`, so a server that swallows
 * the whole upload shows up as `sent >= capBytes` rather than as a test that never ends.
 */
import { connect } from 'node:net';

export interface UploadOutcome {
  /** The status of the answer, or 0 if none came before the connection closed. */
  status: number;
  /** The answer's body. */
  body: string;
  /** Body bytes handed to the socket. */
  sent: number;
}

const CHUNK = Buffer.alloc(16 * 1024, 'x');
const FRAME = Buffer.concat([Buffer.from(`${CHUNK.length.toString(16)}\r\n`), CHUNK, Buffer.from('\r\n')]);

export function endlessUpload(
  socketPath: string,
  method: string,
  path: string,
  capBytes = 16 * 1024 * 1024,
): Promise<UploadOutcome> {
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    let received = '';
    let sent = 0;
    let open = true;
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => (received += text));
    // The server hanging up mid-upload is expected: EPIPE or ECONNRESET on a write, then close.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      open = false;
      const [head = '', body = ''] = received.split('\r\n\r\n', 2);
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
      resolve({ status, body, sent });
    });
    const pump = () => {
      while (open && sent < capBytes) {
        sent += CHUNK.length;
        if (!socket.write(FRAME)) return void socket.once('drain', pump);
      }
      if (open) socket.end('0\r\n\r\n');
    };
    socket.once('connect', () => {
      socket.write(`${method} ${path} HTTP/1.1\r\nhost: local\r\ntransfer-encoding: chunked\r\n\r\n`);
      pump();
    });
  });
}
