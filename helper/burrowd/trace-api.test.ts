import { describe, expect, it } from 'vitest';
import { buildTraceReport } from '../../src/trace/trace-report.js';
import type { Caller } from '../localapi/server.js';
import type { TraceQuery } from './trace.js';
import { TRACES_PER_CALLER, TraceApi } from './trace-api.js';

const user = (uid: number): Caller => ({ pid: 1, uid, gid: uid, mayChange: false });
const root: Caller = { pid: 1, uid: 0, gid: 0, mayChange: true };

/** A report whose peer admitted the packet by rule 3 (as a trace to webcam:80 would find it). */
function admitted(query: TraceQuery) {
  return buildTraceReport({
    query,
    self: { name: 'laptop', user: 'alice', network: 'team' },
    now: 0,
    totalMs: 1,
    peerVerdict: {
      answer: {
        type: 'answer',
        id: '0123456789abcdef',
        reason: 'policy',
        rule: 3,
        ruleText: '100.64.0.1/32 -> 100.64.0.2/32:80 tcp',
        listening: null,
      },
      ms: 1,
    },
  });
}

describe('the LocalAPI trace operation', () => {
  it('limits the traces of each local user, not root and the operator, and refuses bad ports', async () => {
    let now = 0;
    const asked: TraceQuery[] = [];
    const api = new TraceApi(
      async (q) => {
        asked.push(q);
        return admitted(q);
      },
      () => now,
    );
    for (let i = 0; i < TRACES_PER_CALLER.burst; i++)
      await api.handle({ target: 'webcam', port: 80 }, user(1000));
    await expect(api.handle({ target: 'webcam', port: 80 }, user(1000))).rejects.toMatchObject({
      status: 429,
    });
    // Another user has a bucket of their own; root has none.
    await api.handle({ target: 'webcam', port: 81 }, user(1001));
    for (let i = 0; i < 20; i++) await api.handle({ target: 'webcam', port: 80 }, root);
    now += 2000 / TRACES_PER_CALLER.perSecond;
    await api.handle({ target: 'webcam', proto: 'icmp' }, user(1000));
    expect(asked.at(-1)).toEqual({ target: 'webcam', protocol: 'icmp', port: null, uid: 1000 });
    await expect(api.handle({ target: 'webcam', proto: 'icmp', port: 1 }, root)).rejects.toMatchObject({
      status: 400,
    });
    await expect(api.handle({ target: 'webcam', proto: 'udp' }, root)).rejects.toMatchObject({ status: 400 });
  });

  it("shows the peer's admitting rule to root and the operator only", async () => {
    const api = new TraceApi(
      async (q) => admitted(q),
      () => 0,
    );
    const verdict = async (c: Caller) =>
      (await api.handle({ target: 'webcam', port: 80 }, c)).stages.find((s) => s.name === 'peer-verdict')!;
    expect((await verdict(root)).details.map((d) => d.label)).toContain('rule');
    expect((await verdict(user(1000))).details.map((d) => d.label)).not.toContain('rule');
  });

  it('lets only a few traces run at once', async () => {
    const waiting: (() => void)[] = [];
    let hold = true;
    const api = new TraceApi(
      (q) =>
        hold
          ? new Promise((resolve) => waiting.push(() => resolve(admitted(q))))
          : Promise.resolve(admitted(q)),
      () => 0,
    );
    const running = [1, 2, 3, 4].map((uid) => api.handle({ target: 'webcam', port: 80 }, user(uid)));
    await expect(api.handle({ target: 'webcam', port: 80 }, user(5))).rejects.toMatchObject({ status: 429 });
    hold = false;
    for (const go of waiting) go();
    await Promise.all(running);
    await api.handle({ target: 'webcam', port: 80 }, user(5));
  });
});
