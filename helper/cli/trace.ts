/** `burrow trace TARGET[:PORT] [--udp]`: the life of one packet, stage by stage (issue 18). */
import { operations } from '../../src/localapi/api.js';
import type { TraceReport, TraceStage } from '../../src/trace/report.js';
import { checkRequest, UsageError } from './args.js';
import { type Command, printJson } from './command.js';
import { parseTraceTarget } from './trace-target.js';

const MARK: Record<TraceStage['status'], string> = {
  ok: 'ok',
  blocked: 'BLOCKED',
  skipped: '-',
  unknown: '?',
};

/** The report as people read it: a line per stage (its verdict, timing and summary), its details, then the verdict. */
export function formatTraceReport(r: TraceReport): string {
  const t = r.target;
  const what = t.protocol === 'icmp' ? 'ping' : `${t.protocol} port ${t.port}`;
  const lines = [`trace ${t.query}${t.ip && t.ip !== t.query ? ` (${t.ip})` : ''}, ${what}`];
  const width = Math.max(...r.stages.map((s) => s.title.length));
  r.stages.forEach((s, i) => {
    const ms = s.ms === null ? '' : ` ${s.ms} ms`;
    lines.push(
      `${i + 1}. ${s.title.padEnd(width)}  ${MARK[s.status].padEnd(7)} ${s.summary}${ms ? ` (${ms.trim()})` : ''}`,
    );
    for (const d of s.details) lines.push(`   ${''.padEnd(width)}  ${''.padEnd(7)}   ${d.label}: ${d.value}`);
  });
  if (r.delivered) lines.push(`delivered (${r.totalMs} ms)`);
  else
    lines.push(
      `blocked at ${r.stages.find((s) => s.name === r.blockedAt)?.title}: ${r.cause}`,
      `fix: ${r.fix}`,
    );
  return `${lines.join('\n')}\n`;
}

export const traceCommand: Command = {
  usage: 'trace TARGET[:PORT] [--udp] [--json]',
  flags: { '--udp': 'bool' },
  operands: ['TARGET'],
  async run(ctx, args) {
    const [text] = args.positional as [string];
    let target: ReturnType<typeof parseTraceTarget>;
    try {
      target = parseTraceTarget(text);
    } catch (error) {
      throw new UsageError(`TARGET: ${(error as Error).message}`);
    }
    const udp = args.bool('--udp') === true;
    if (udp && target.port === null) throw new UsageError('--udp needs a port: TARGET:PORT');
    const request = checkRequest(
      operations.trace.request,
      {
        target: target.host,
        proto: target.port === null ? 'icmp' : udp ? 'udp' : 'tcp',
        ...(target.port === null ? {} : { port: target.port }),
      },
      { target: 'TARGET', port: 'PORT' },
    );
    const report = await ctx.client().call('trace', request);
    if (ctx.json) printJson(ctx, report);
    else ctx.io.out(formatTraceReport(report));
    return report.exitCode;
  },
};
