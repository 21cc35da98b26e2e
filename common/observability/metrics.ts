/**
 * A process's Prometheus metrics on prom-client: the runtime's default metrics (process
 * CPU and memory, event-loop lag, GC, heap) plus the gateway's own counters, histograms
 * and gauges read at scrape time. Label names are fixed by a metric's first use, so call
 * sites need not declare them.
 */
import { Counter as PromCounter, Gauge, Histogram as PromHistogram, Registry, collectDefaultMetrics } from "prom-client";

type Labels = Record<string, string>;

/** A monotonically increasing counter per label set. */
export class Counter {
  private metric: PromCounter | undefined;
  constructor(
    private readonly registry: Registry,
    readonly name: string,
    readonly help: string,
  ) {}
  inc(labels: Labels = {}, by = 1): void {
    this.metric ??= new PromCounter({ name: this.name, help: this.help, labelNames: Object.keys(labels), registers: [this.registry] });
    this.metric.inc(labels, by);
  }
}

/** A histogram with fixed buckets per label set. */
export class Histogram {
  private metric: PromHistogram | undefined;
  constructor(
    private readonly registry: Registry,
    readonly name: string,
    readonly help: string,
    private readonly buckets: readonly number[],
  ) {}
  observe(value: number, labels: Labels = {}): void {
    this.metric ??= new PromHistogram({ name: this.name, help: this.help, labelNames: Object.keys(labels), buckets: [...this.buckets], registers: [this.registry] });
    this.metric.observe(labels, value);
  }
}

/** Counters, histograms and scrape-time gauges of one process. */
export class MetricsRegistry {
  private readonly registry = new Registry();

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  counter(name: string, help: string): Counter {
    return new Counter(this.registry, name, help);
  }

  histogram(name: string, help: string, buckets: readonly number[]): Histogram {
    return new Histogram(this.registry, name, help, buckets);
  }

  /** A gauge whose value (or labelled values, whose label names are listed) is read at scrape time. */
  gauge(name: string, help: string, read: () => number | Array<[Labels, number]>, labelNames: readonly string[] = []): void {
    new Gauge({
      name,
      help,
      labelNames: [...labelNames],
      registers: [this.registry],
      collect() {
        const value = read();
        this.reset();
        if (typeof value === "number") this.set(value);
        else for (const [labels, n] of value) this.set(labels, n);
      },
    });
  }

  /** Registers a collector that renders its own metric (e.g. the stage histograms, see stage-timings.ts). */
  register(collector: { register(registry: Registry): unknown }): void {
    collector.register(this.registry);
  }

  /** The exposition text. */
  render(): Promise<string> {
    return this.registry.metrics();
  }
}

/** Content type of the exposition format. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
