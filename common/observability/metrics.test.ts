import { Counter as PromCounter, Histogram as PromHistogram, Registry } from "prom-client";
import { Counter, Histogram } from "./metrics.js";

/** The exposition lines of one metric (HELP/TYPE included), in the registry's order. */
async function lines(registry: Registry, name: string): Promise<string[]> {
  return (await registry.getSingleMetricAsString(name)).split("\n").filter((l) => l !== "");
}

const sorted = (xs: string[]) => [...xs].sort();

describe("bound metric children render what prom-client renders", () => {
  test("counter: label objects, bound children and increments give prom-client's lines", async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const c = new Counter(ours, "t_total", "a counter", ["decision", "operation", "status"]);
    const p = new PromCounter({ name: "t_total", help: "a counter", labelNames: ["decision", "operation", "status"], registers: [theirs] });
    const bound = c.labels("allow", "assistants:search", "200");
    for (let i = 0; i < 5; i++) bound.inc();
    c.inc({ decision: "allow", operation: "assistants:search", status: "200" }, 2);
    c.labels("deny", "runs:stream", "403").inc(3);
    c.labels("allow", "runs:stream", "200").inc();
    p.inc({ decision: "allow", operation: "assistants:search", status: "200" }, 7);
    p.inc({ decision: "deny", operation: "runs:stream", status: "403" }, 3);
    p.inc({ decision: "allow", operation: "runs:stream", status: "200" }, 1);
    expect(sorted(await lines(ours, "t_total"))).toEqual(sorted(await lines(theirs, "t_total")));
    expect(c.labels("allow", "assistants:search", "200")).toBe(bound); // one child per label set
    expect(() => bound.inc(-1)).toThrow();
  });

  test("histogram: buckets, sum and count per label set as prom-client writes them", async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const buckets = [0.005, 0.01, 0.1, 1];
    const h = new Histogram(ours, "t_seconds", "a histogram", buckets, ["decision"]);
    const p = new PromHistogram({ name: "t_seconds", help: "a histogram", labelNames: ["decision"], buckets, registers: [theirs] });
    const values: Array<[string, number]> = [["allow", 0.001], ["allow", 0.005], ["allow", 0.02], ["deny", 3], ["allow", 0.5], ["deny", 0.01]];
    for (const [decision, v] of values) {
      h.labels(decision).observe(v);
      p.observe({ decision }, v);
    }
    h.observe(0.2, { decision: "deny" });
    p.observe({ decision: "deny" }, 0.2);
    expect(sorted(await lines(ours, "t_seconds"))).toEqual(sorted(await lines(theirs, "t_seconds")));
  });

  test("label names come from the first use when not declared; a wrong arity is refused", () => {
    const c = new Counter(new Registry(), "u_total", "undeclared");
    c.inc({ mode: "a" });
    expect(() => c.labels("a", "b")).toThrow(/expected 1 label values/);
    expect(() => c.inc({ other: "x" })).toThrow(/label mode is missing/);
  });
});
