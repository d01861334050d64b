import { createServer } from 'node:net';

/**
 * A TCP port free on 127.0.0.1 a moment ago, for a child process that must be told its port up
 * front (and may be restarted on the same one). The kernel does not hand a just-freed port out
 * again at once, so the race with other tests is narrow.
 */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}
