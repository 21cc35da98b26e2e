/**
 * A process's Prometheus metrics on prom-client: the runtime's default metrics (process
 * CPU and memory, event-loop lag, GC, heap) plus the gateway's own counters, histograms
 * and gauges read at scrape time. Label names are fixed by a metric's first use, so call
 * sites need not declare them.
 */
import { Gauge, Registry, collectDefaultMetrics } from "prom-client";

type Labels = Record<string, string>;

/**
 * Hand-written hot path (issue #14): a prom-client Counter or Histogram hashes, sorts and
 * validates its label set on every `inc`/`observe`, through `labels()` children too (~1–2 µs
 * and a few objects each, twice per proxied request). Here every label set gets one bound
 * child, found through one Map per label (no key string built); `inc`/`observe` on it are
 * additions. The metric renders itself at scrape time in the standard format (a custom
 * collector, as stage-timings.ts does).
 */
abstract class LabelledMetric<Child> {
  /** Label names in the order of the metric's first use (or as declared). */
  #names: readonly string[] | undefined;
  /** Nested Maps, one level per label value; the last level holds the child. */
  readonly #root = new Map<string, unknown>();
  readonly #children: Array<{ readonly labels: Labels; readonly child: Child }> = [];

  constructor(
    registry: Registry,
    readonly name: string,
    readonly help: string,
    readonly type: "counter" | "histogram",
    labelNames?: readonly string[],
  ) {
    this.#names = labelNames;
    registry.registerMetric({
      name,
      help,
      type,
      aggregator: "sum",
      get: () => ({ name, help, type, aggregator: "sum", values: this.#children.flatMap(({ labels, child }) => this.render(labels, child)) }),
      reset: () => undefined,
    } as unknown as Parameters<Registry["registerMetric"]>[0]);
  }

  protected abstract create(): Child;
  protected abstract render(labels: Labels, child: Child): Array<{ metricName?: string; labels: Record<string, string | number>; value: number }>;

  /** The child of the label values given in label-name order (bind it once where the values are fixed). */
  labels(...values: string[]): Child {
    const names = (this.#names ??= values.map((_, i) => `label${i}`));
    if (names.length !== values.length) throw new TypeError(`${this.name}: expected ${names.length} label values, got ${values.length}`);
    let level = this.#root;
    const last = values.length - 1;
    for (let i = 0; i < last; i++) {
      let next = level.get(values[i]!) as Map<string, unknown> | undefined;
      if (next === undefined) level.set(values[i]!, (next = new Map()));
      level = next;
    }
    const key = last >= 0 ? values[last]! : "";
    let child = level.get(key) as Child | undefined;
    if (child === undefined) {
      const labels: Labels = {};
      names.forEach((n, i) => (labels[n] = values[i]!));
      level.set(key, (child = this.create()));
      this.#children.push({ labels, child });
    }
    return child;
  }

  /** The child of a label object (names fixed by the first use, as prom-client does). */
  protected childOf(labels: Labels): Child {
    const names = (this.#names ??= Object.keys(labels));
    return this.labels(...names.map((n) => {
      const v = labels[n];
      if (v === undefined) throw new TypeError(`${this.name}: label ${n} is missing`);
      return v;
    }));
  }
}

/** One label set of a counter. */
export class CounterChild {
  value = 0;
  inc(by = 1): void {
    if (!(by >= 0) || !Number.isFinite(by)) throw new TypeError(`counter increment must be a finite number ≥ 0, got ${by}`);
    this.value += by;
  }
}

/** A monotonically increasing counter per label set. */
export class Counter extends LabelledMetric<CounterChild> {
  constructor(registry: Registry, name: string, help: string, labelNames?: readonly string[]) {
    super(registry, name, help, "counter", labelNames);
  }
  inc(labels: Labels = {}, by = 1): void {
    this.childOf(labels).inc(by);
  }
  protected create(): CounterChild {
    return new CounterChild();
  }
  protected render(labels: Labels, child: CounterChild) {
    return [{ labels, value: child.value }];
  }
}

/** One label set of a histogram. */
export class HistogramChild {
  /** Non-cumulative counts per bucket; the last is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }
  observe(value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`histogram value must be finite, got ${value}`);
    let i = 0;
    while (i < this.bounds.length && value > this.bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

/** A histogram with fixed buckets per label set. */
export class Histogram extends LabelledMetric<HistogramChild> {
  private readonly bounds: readonly number[];
  constructor(registry: Registry, name: string, help: string, buckets: readonly number[], labelNames?: readonly string[]) {
    super(registry, name, help, "histogram", labelNames);
    this.bounds = [...buckets].sort((a, b) => a - b);
  }
  observe(value: number, labels: Labels = {}): void {
    this.childOf(labels).observe(value);
  }
  protected create(): HistogramChild {
    return new HistogramChild(this.bounds);
  }
  protected render(labels: Labels, child: HistogramChild) {
    const values: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> = [];
    let cumulative = 0;
    for (let i = 0; i <= this.bounds.length; i++) {
      cumulative += child.counts[i]!;
      values.push({ metricName: `${this.name}_bucket`, labels: { le: i < this.bounds.length ? this.bounds[i]! : "+Inf", ...labels }, value: cumulative });
    }
    values.push({ metricName: `${this.name}_sum`, labels, value: child.sum });
    values.push({ metricName: `${this.name}_count`, labels, value: child.count });
    return values;
  }
}

/** Counters, histograms and scrape-time gauges of one process. */
export class MetricsRegistry {
  private readonly registry = new Registry();

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /** A counter; `labelNames` fixes the order of `labels(...)` values (else the first `inc`'s labels do). */
  counter(name: string, help: string, labelNames?: readonly string[]): Counter {
    return new Counter(this.registry, name, help, labelNames);
  }

  /** A histogram; `labelNames` as for `counter`. */
  histogram(name: string, help: string, buckets: readonly number[], labelNames?: readonly string[]): Histogram {
    return new Histogram(this.registry, name, help, buckets, labelNames);
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
