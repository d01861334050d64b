import { describe, expect, it } from 'vitest';
import { Metrics } from './metrics.js';

describe('Prometheus metrics', () => {
  it('renders counters with labels and gauges read at scrape time', () => {
    const m = new Metrics();
    const requests = m.counter('burrow_http_requests_total', 'HTTP requests by route and status.');
    requests.inc({ route: '/health', status: '200' });
    requests.inc({ route: '/health', status: '200' });
    requests.inc({ status: '404', route: 'x"y' });
    let streams = 3;
    m.gauge('burrow_control_streams', 'Connected control streams.', () => streams);
    streams = 5;
    expect(m.render()).toBe(
      [
        '# HELP burrow_http_requests_total HTTP requests by route and status.',
        '# TYPE burrow_http_requests_total counter',
        'burrow_http_requests_total{route="/health",status="200"} 2',
        'burrow_http_requests_total{status="404",route="x\\"y"} 1',
        '# HELP burrow_control_streams Connected control streams.',
        '# TYPE burrow_control_streams gauge',
        'burrow_control_streams 5',
        '',
      ].join('\n'),
    );
  });

  it('renders a labelled gauge as one series per key, read at scrape time', () => {
    const m = new Metrics();
    const refused = { handshake: 0, stale: 1 };
    m.labelledGauge('burrow_relay_refused', 'Refused, by reason.', 'reason', () => refused);
    refused.handshake = 4;
    expect(m.render()).toBe(
      [
        '# HELP burrow_relay_refused Refused, by reason.',
        '# TYPE burrow_relay_refused gauge',
        'burrow_relay_refused{reason="handshake"} 4',
        'burrow_relay_refused{reason="stale"} 1',
        '',
      ].join('\n'),
    );
  });

  it('refuses bad names and a name reused with another type', () => {
    const m = new Metrics();
    expect(() => m.counter('bad name', 'x')).toThrow(/invalid metric name/);
    m.counter('a_total', 'x');
    expect(() => m.gauge('a_total', 'x', () => 1)).toThrow(/is a counter/);
  });
});
