/**
 * Masking engine throughput: `npx tsx bench/masking.bench.ts`
 *
 * JSON bodies of ~4 KB, 64 KB and 1 MB (LangGraph-shaped: chat messages of prose with the
 * occasional email, card number, key or UUID) through maskBody (parse + mask + serialise),
 * and a stream of 10,000 small SSE events (token chunks of several messages, plus values
 * events) through SseMasker, each with a 5-rule profile, the default profile (what a proxy
 * uses when a policy names none) and a 50-rule one. Prints MB per CPU-second (process CPU
 * time, so a loaded machine distorts it less than wall time) and, for the stream, the
 * masking time added per event (p50 / p99).
 *
 * Then: maskBody and maskBodyKeepClean (what the proxy runs on responses) on a clean LangGraph
 * answer (thread list) and on the spiced document, in MB per CPU-second; and hostile 1 MB bodies (the issue's
 * "password=" repeated, digit runs, keys, colons…): CPU per body with maskBody, and the
 * longest event-loop block while maskBodySliced masks it (perf_hooks monitorEventLoopDelay,
 * 1 ms resolution, max of the histogram) next to maskBody's (the whole body in one block) and
 * the proxy's path, maskBodyBounded (a worker of the masking pool masks it; wall-clock delay,
 * so on a loaded machine it includes time the OS did not schedule this thread).
 * Prints the load average: on a shared machine read the figures with it. Runs in about a minute.
 *
 * SSE rows: the stream as LangGraph sends it (one word per token event, each starting with a
 * space), and the same text in sub-word tokens (words cut in two, punctuation glued on, as
 * real tokenizers emit), with the share of events masked from a template (sse.ts). `--sse`
 * runs only the SSE rows.
 */
import { compileProfile, defaultProfile, DEFAULT_RULES, type CompiledProfile, type MaskingRuleSpec } from "../common/masking/profile.js";
import { MaskSession } from "../common/masking/session.js";
import { maskBody, maskBodyKeepClean } from "../common/masking/body.js";
import { MaskPool, maskBodyBounded } from "../common/masking/pool.js";
import { SseMasker } from "../common/masking/sse.js";
import { maskBodySliced, timeSlicer, type Slicer } from "../common/masking/body-sliced.js";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { loadavg } from "node:os";

// Deterministic pseudo-random text (mulberry32), so runs compare.
let seed = 42;
function rand(): number {
  seed |= 0;
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
const WORDS = "the a graph node state agent tool call returns message user assistant thread run stream value key result data model token input output with for and of to in on is was will can should please check note".split(" ");
const SPICE = ["jane.doe@example.com", "4111 1111 1111 1111", "sk-proj-Q7xkP2mVn9TzR4wLs8YbT3BlbkFJJ3hFc6GdK1aE5uN0oWqX", "+1 415 555 0132", "1ef8a5b2-3c4d-6e7f-8a9b-0c1d2e3f4a5b", "2024-05-01T12:30:45Z", "v1.2.3", "42", "3.14"];

function sentence(words: number): string {
  const out: string[] = [];
  for (let i = 0; i < words; i++) out.push(rand() < 0.03 ? pick(SPICE) : pick(WORDS));
  return `${out.join(" ")}.`;
}

function document(targetBytes: number): string {
  const messages: unknown[] = [];
  const doc = { assistant_id: "agent", input: { messages }, config: { configurable: { thread_id: "1ef8a5b2-3c4d-6e7f-8a9b-0c1d2e3f4a5b" } }, metadata: { user: "u-1", tags: ["a", "b"] } };
  while (JSON.stringify(doc).length < targetBytes) {
    messages.push({ role: pick(["user", "assistant", "tool"]), content: sentence(20 + Math.floor(rand() * 60)), id: `msg-${messages.length}`, usage: { input_tokens: 12, output_tokens: 40 } });
  }
  return JSON.stringify(doc);
}

function sseStream(events: number): string[] {
  const out: string[] = [];
  let msg = 0;
  for (let i = 0; i < events; i++) {
    if (i % 500 === 499) {
      out.push(`event: values\ndata: ${JSON.stringify({ messages: [{ type: "ai", content: sentence(30), id: `m${msg}` }] })}\n\n`);
      msg++;
      continue;
    }
    const piece = rand() < 0.05 ? ` ${pick(SPICE)}` : ` ${pick(WORDS)}`;
    out.push(`event: messages\ndata: ${JSON.stringify([{ content: piece, id: `m${msg}`, type: "AIMessageChunk", tool_call_chunks: [], response_metadata: {} }, { langgraph_node: "agent" }])}\n\n`);
  }
  return out;
}

// Profiles: a small policy, and a large one (default rules plus custom regexes).
const SMALL: MaskingRuleSpec[] = [
  { kind: "key", match: "password", style: "redact" },
  { kind: "key", match: "*token", style: "redact" },
  { kind: "detector", match: "email", style: "pseudonym" },
  { kind: "detector", match: "credit_card", style: "partial" },
  { kind: "detector", match: "openai_key", style: "redact" },
];
const LARGE: MaskingRuleSpec[] = [...DEFAULT_RULES];
for (let i = 0; LARGE.length < 50; i++) LARGE.push({ kind: "regex", match: `\\bACME${i}-[A-Z0-9]{8}\\b`, style: "redact", label: `acme${i}` });
const PROFILES: Array<[string, CompiledProfile]> = [
  [`${SMALL.length} rules`, compileProfile(SMALL)],
  ["default", defaultProfile()],
  [`${LARGE.length} rules`, compileProfile(LARGE)],
];

const cpuSeconds = (since: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1e6;
};

/** Runs `fn` for about `ms` milliseconds; returns the mean CPU seconds per call. */
function timeIt(fn: () => void, ms: number): number {
  fn(); // warm-up
  let n = 0;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  while (performance.now() - t0 < ms) {
    fn();
    n++;
  }
  return cpuSeconds(c0) / n;
}

const SSE_ONLY = process.argv.includes("--sse");
const rows: string[][] = [["workload", "profile", "MB/CPU-s", "p50 µs/event", "p99 µs/event", "templated"]];
for (const [label, bytes] of SSE_ONLY ? [] : ([["JSON 4 KB", 4 * 1024], ["JSON 64 KB", 64 * 1024], ["JSON 1 MB", 1024 * 1024]] as const)) {
  const body = Buffer.from(document(bytes));
  for (const [name, profile] of PROFILES) {
    const seconds = timeIt(() => {
      const r = maskBody(body, "application/json", profile, new MaskSession());
      if (!r.ok) throw new Error("bench body must be JSON");
    }, 1500);
    rows.push([`${label} (${(body.length / 1024).toFixed(0)} KiB)`, name, (body.length / seconds / 1e6).toFixed(1), "", "", ""]);
  }
}

/**
 * The same kind of stream in sub-word tokens: words of 5+ letters cut in two, sometimes a
 * comma or period glued to the word before. Its own generator state, so every other row's
 * input stays what it was.
 */
function subwordStream(events: number): string[] {
  let s = 7;
  const r = () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 4294967296;
  };
  const out: string[] = [];
  let msg = 0;
  const push = (content: string) =>
    out.push(`event: messages\ndata: ${JSON.stringify([{ content, id: `s${msg}`, type: "AIMessageChunk", tool_call_chunks: [], response_metadata: {} }, { langgraph_node: "agent" }])}\n\n`);
  while (out.length < events) {
    const word = r() < 0.05 ? SPICE[Math.floor(r() * SPICE.length)]! : WORDS[Math.floor(r() * WORDS.length)]!;
    if (word.length >= 5 && !word.includes(" ")) {
      const cut = 2 + Math.floor(r() * (word.length - 3));
      push(` ${word.slice(0, cut)}`);
      push(word.slice(cut));
    } else push(` ${word}`);
    if (r() < 0.1) push(r() < 0.5 ? "," : ".");
    if (out.length % 500 === 499) msg++;
  }
  return out.slice(0, events);
}

const sseStreams = [["SSE 10k events", sseStream(10_000)], ["SSE 10k sub-word events", subwordStream(10_000)]] as const;
// warm-up (the JSON rows do it otherwise)
if (SSE_ONLY) for (const [, profile] of PROFILES) for (const [, events] of sseStreams) events.reduce((m, e) => (m.push(e), m), new SseMasker(profile, new MaskSession())).end();
for (const [label, events] of sseStreams) {
  const streamBytes = events.reduce((s, e) => s + Buffer.byteLength(e), 0);
  for (const [name, profile] of PROFILES) {
    const perEvent: number[] = [];
    const rounds = 3;
    let total = 0;
    let templated = 0;
    for (let r = 0; r < rounds; r++) {
      const masker = new SseMasker(profile, new MaskSession());
      const c0 = process.cpuUsage();
      for (const e of events) {
        const s = performance.now();
        masker.push(e);
        if (r === rounds - 1) perEvent.push((performance.now() - s) * 1000);
      }
      masker.end();
      total += cpuSeconds(c0) * 1000;
      templated = masker.templateHits / events.length;
    }
    perEvent.sort((a, b) => a - b);
    const q = (p: number) => perEvent[Math.min(perEvent.length - 1, Math.floor(p * perEvent.length))]!.toFixed(1);
    rows.push([`${label} (${(streamBytes / 1024).toFixed(0)} KiB)`, name, (streamBytes / (total / rounds / 1000) / 1e6).toFixed(1), q(0.5), q(0.99), `${(templated * 100).toFixed(0)} %`]);
  }
}

function printTable(table: string[][]): void {
  const widths = table[0]!.map((_, c) => Math.max(...table.map((r) => r[c]!.length)));
  for (const r of table) console.log(r.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  "));
}
printTable(rows);

console.log(`\nload average ${loadavg().map((l) => l.toFixed(1)).join(" ")} on this machine`);
if (SSE_ONLY) process.exit(0);

// ------------------------------------------------------------------ clean bodies
const hex = (n: number) => Array.from({ length: n }, () => "0123456789abcdef"[Math.floor(rand() * 16)]).join("");
const uuid = () => `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;
const thread = () => ({
  thread_id: uuid(),
  created_at: "2026-12-07T14:20:36.123456+00:00",
  metadata: { graph_id: "agent", user: "u-1" },
  status: "idle",
  values: {
    messages: [
      {
        type: "ai",
        content: sentence(40).replace(/\S*[@\d]\S*/g, "word"),
        id: `run-${uuid()}`,
        usage_metadata: { input_tokens: 12, output_tokens: 40, total_tokens: 52 },
        response_metadata: { finish_reason: "stop", model_name: "gpt-4o-2024-08-06" },
      },
    ],
  },
});
const clean = Buffer.from(JSON.stringify(Array.from({ length: 1500 }, () => thread())));
const spiced = Buffer.from(document(1024 * 1024));
const cleanRows: string[][] = [["clean / spiced body (default profile)", "maskBody MB/CPU-s", "maskBodyKeepClean MB/CPU-s"]];
for (const [label, body] of [["clean thread list", clean], ["spiced 1 MB document", spiced]] as const) {
  const full = timeIt(() => maskBody(body, "application/json", defaultProfile(), new MaskSession()), 1500);
  const keep = timeIt(() => maskBodyKeepClean(body, "application/json", defaultProfile(), new MaskSession()), 1500);
  cleanRows.push([`${label} (${(body.length / 1024).toFixed(0)} KiB)`, (body.length / full / 1e6).toFixed(1), (body.length / keep / 1e6).toFixed(1)]);
}
printTable(cleanRows);

// ------------------------------------------------------------------ hostile bodies: event-loop block
const MB = 1 << 20;
const repeat = (unit: string) => unit.repeat(Math.ceil(MB / unit.length)).slice(0, MB);
const HOSTILE: Array<[string, string, string]> = [
  ['"password=" repeated (text)', repeat("password="), "text/plain"],
  ['"password=" repeated (JSON string)', JSON.stringify({ a: repeat("password=") }), "application/json"],
  ['"4111 " repeated', repeat("4111 "), "text/plain"],
  ['"1-" repeated', repeat("1-"), "text/plain"],
  ['"::1 " repeated', repeat("::1 "), "text/plain"],
  ["40,000 api_key members", JSON.stringify(Object.fromEntries(Array.from({ length: 40000 }, (_, i) => [`api_key${i}`, `v${i}`]))), "application/json"],
  ["spiced 1 MB document", spiced.toString(), "application/json"],
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Longest event-loop delay while `run` masks (the histogram's timer is armed before it starts). */
async function maxBlockMs(run: () => Promise<unknown>): Promise<number> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  await sleep(20);
  await run();
  await sleep(20);
  h.disable();
  return h.max / 1e6;
}

/** The default slicer, recording the CPU time spent between yields (the block, independent of machine load). */
function measuringSlicer(): Slicer & { maxCpuMs: number; end(): void } {
  const inner = timeSlicer();
  let since = process.cpuUsage();
  const s = {
    maxCpuMs: 0,
    due: inner.due,
    end() {
      s.maxCpuMs = Math.max(s.maxCpuMs, cpuSeconds(since) * 1000);
    },
    async pause() {
      s.end();
      await inner.pause();
      since = process.cpuUsage();
    },
  };
  return s;
}

// The proxy's path (maskBodyBounded): a body this large goes to a worker; the loop only copies it.
const pool = new MaskPool({ size: 1, timeoutMs: 60_000 });
const hostileRows: string[][] = [["hostile body (~1 MB)", "maskBody CPU ms", "sync block ms", "sliced max block ms", "sliced max CPU between yields ms", "pool max block ms"]];
for (const [label, text, type] of HOSTILE) {
  const body = Buffer.from(text);
  let cpu = 0;
  const syncBlock = await maxBlockMs(async () => {
    const c0 = process.cpuUsage();
    maskBody(body, type, defaultProfile(), new MaskSession());
    cpu = cpuSeconds(c0) * 1000;
  });
  const slicer = measuringSlicer();
  const slicedBlock = await maxBlockMs(async () => {
    await maskBodySliced(body, type, defaultProfile(), new MaskSession(), {}, slicer);
    slicer.end();
  });
  await maskBodyBounded(body, type, defaultProfile(), new MaskSession(), {}, true, pool); // worker started and warm
  const poolBlock = await maxBlockMs(() => maskBodyBounded(body, type, defaultProfile(), new MaskSession(), {}, true, pool));
  hostileRows.push([label, cpu.toFixed(0), syncBlock.toFixed(0), slicedBlock.toFixed(0), slicer.maxCpuMs.toFixed(0), poolBlock.toFixed(0)]);
}
await pool.close();
printTable(hostileRows);
