/**
 * Prometheus text exposition (format 0.0.4) for burrow-server's /metrics: counters and gauges,
 * optionally labelled. Kept tiny on purpose; gauges may be computed at scrape time.
 */

type Labels = Record<string, string>;

interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  values: Map<string, { labels: Labels; value: number }>;
  collect?: () => number;
  /** For a labelled gauge: one series per key of the record, labelled `label`="key". */
  collectLabelled?: { label: string; read: () => Record<string, number> };
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

function labelKey(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

export class Metrics {
  private readonly families = new Map<string, Family>();

  private family(name: string, help: string, type: Family['type']): Family {
    if (!NAME.test(name)) throw new Error(`invalid metric name ${name}`);
    let f = this.families.get(name);
    if (!f) {
      f = { name, help, type, values: new Map() };
      this.families.set(name, f);
    } else if (f.type !== type) {
      throw new Error(`metric ${name} is a ${f.type}, not a ${type}`);
    }
    return f;
  }

  /** A counter: `inc` adds (default 1) to the series with these labels. */
  counter(name: string, help: string): { inc(labels?: Labels, by?: number): void } {
    const f = this.family(name, help, 'counter');
    return {
      inc: (labels = {}, by = 1) => {
        const key = labelKey(labels);
        const entry = f.values.get(key) ?? { labels, value: 0 };
        entry.value += by;
        f.values.set(key, entry);
      },
    };
  }

  /** A gauge whose value is read when scraped. */
  gauge(name: string, help: string, collect: () => number): void {
    this.family(name, help, 'gauge').collect = collect;
  }

  /** A gauge with one series per key of what `read` returns at scrape time, labelled `label`. */
  labelledGauge(name: string, help: string, label: string, read: () => Record<string, number>): void {
    this.family(name, help, 'gauge').collectLabelled = { label, read };
  }

  render(): string {
    const lines: string[] = [];
    for (const f of this.families.values()) {
      lines.push(`# HELP ${f.name} ${f.help.replace(/\n/g, ' ')}`, `# TYPE ${f.name} ${f.type}`);
      if (f.collect) lines.push(`${f.name} ${f.collect()}`);
      if (f.collectLabelled) {
        const { label, read } = f.collectLabelled;
        for (const [key, value] of Object.entries(read())) {
          lines.push(`${f.name}{${label}="${escapeLabel(key)}"} ${value}`);
        }
      }
      for (const { labels, value } of f.values.values()) {
        const l = Object.entries(labels)
          .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
          .join(',');
        lines.push(`${f.name}${l ? `{${l}}` : ''} ${value}`);
      }
    }
    return `${lines.join('\n')}\n`;
  }
}
