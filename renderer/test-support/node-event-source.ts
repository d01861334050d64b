/**
 * Just enough of EventSource for Node (which has none before v22) to test the web client: it
 * reads `data:` lines from a streamed fetch. Unlike a browser it never reconnects: any failure or
 * end of stream leaves it CLOSED, which is the case the client must handle itself anyway.
 */
import type { EventSourceLike } from '../web-api.js';

export class NodeEventSource implements EventSourceLike {
  onmessage: ((message: MessageEvent<string>) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;
  readyState = 0;
  private readonly abort = new AbortController();

  constructor(url: string) {
    void this.run(url);
  }

  private async run(url: string) {
    try {
      const response = await fetch(url, { signal: this.abort.signal });
      if (response.ok && response.body) {
        this.readyState = 1;
        const decoder = new TextDecoder();
        let buffer = '';
        for await (const chunk of response.body) {
          buffer += decoder.decode(chunk, { stream: true });
          for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
            this.dispatch(buffer.slice(0, end));
            buffer = buffer.slice(end + 2);
          }
        }
      }
    } catch {
      // Aborted by close(), or the connection failed: either way it ends below.
    }
    if (this.abort.signal.aborted) return;
    this.readyState = 2;
    this.onerror?.(new Event('error'));
  }

  private dispatch(block: string) {
    const data = block
      .split('\n')
      .filter((line) => line.startsWith('data:'))
      .map((line) => line.slice(5).replace(/^ /, ''))
      .join('\n');
    if (data !== '') this.onmessage?.(new MessageEvent('message', { data }));
  }

  close() {
    this.readyState = 2;
    this.abort.abort();
  }
}
