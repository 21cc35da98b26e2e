/**
 * A minimal Prometheus registry (text exposition format 0.0.4): counters and histograms
 * with label sets, plus gauges read at scrape time. No dependency, no allocation per
 * increment beyond the first use of a label set.
 */
type Labels = Record<string, string>;

const escape = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
const labelText = (labels: Labels) => {
  const keys = Object.keys(labels);
  return keys.length ? `{${keys.map((k) => `${k}="${escape(labels[k]!)}"`).join(",")}}` : "";
};

/** A monotonically increasing counter per label set. */
export class Counter {
  private readonly values = new Map<string, number>();
  constructor(readonly name: string, readonly help: string) {}
  inc(labels: Labels = {}, by = 1): void {
    const key = labelText(labels);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const [labels, v] of this.values) lines.push(`${this.name}${labels} ${v}`);
    return lines.join("\n");
  }
}

/** A histogram with fixed buckets per label set. */
export class Histogram {
  private readonly series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();
  constructor(readonly name: string, readonly help: string, private readonly buckets: readonly number[]) {}
  observe(value: number, labels: Labels = {}): void {
    const key = labelText(labels);
    let s = this.series.get(key);
    if (!s) this.series.set(key, (s = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 }));
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) s.counts[i]!++;
    s.sum += value;
    s.count++;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const s of this.series.values()) {
      this.buckets.forEach((b, i) => lines.push(`${this.name}_bucket${labelText({ ...s.labels, le: String(b) })} ${s.counts[i]}`));
      lines.push(`${this.name}_bucket${labelText({ ...s.labels, le: "+Inf" })} ${s.count}`);
      lines.push(`${this.name}_sum${labelText(s.labels)} ${s.sum}`, `${this.name}_count${labelText(s.labels)} ${s.count}`);
    }
    return lines.join("\n");
  }
}

/** Counters, histograms and scrape-time gauges of one process. */
export class MetricsRegistry {
  private readonly metrics: Array<Counter | Histogram> = [];
  private readonly gauges: Array<{ name: string; help: string; read: () => number | Array<[Labels, number]> }> = [];

  counter(name: string, help: string): Counter {
    const c = new Counter(name, help);
    this.metrics.push(c);
    return c;
  }

  histogram(name: string, help: string, buckets: readonly number[]): Histogram {
    const h = new Histogram(name, help, buckets);
    this.metrics.push(h);
    return h;
  }

  /** A gauge whose value (or labelled values) is read at scrape time. */
  gauge(name: string, help: string, read: () => number | Array<[Labels, number]>): void {
    this.gauges.push({ name, help, read });
  }

  /** The exposition text. */
  render(): string {
    const parts = this.metrics.map((m) => m.render());
    for (const g of this.gauges) {
      const v = g.read();
      const samples = typeof v === "number" ? [`${g.name} ${v}`] : v.map(([labels, n]) => `${g.name}${labelText(labels)} ${n}`);
      parts.push([`# HELP ${g.name} ${g.help}`, `# TYPE ${g.name} gauge`, ...samples].join("\n"));
    }
    return parts.join("\n") + "\n";
  }
}

/** Content type of the exposition format. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
