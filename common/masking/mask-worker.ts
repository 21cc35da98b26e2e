/**
 * A masking worker thread (see pool.ts): masks whole bodies with maskBody, and single large
 * SSE events with the stream's state (sse-bounded.ts), off the proxy's event loop. Each job
 * names its profile by its rules (compiled once per distinct rule set and kept) and carries
 * its exchange's pseudonym key, so the result is what the main thread would give with that
 * session; the counts go back to be added to the session.
 */
import { parentPort } from "node:worker_threads";
import { compileProfile, type CompiledProfile, type MaskingRuleSpec } from "./profile.js";
import { MaskSession } from "./session.js";
import { maskBody, maskBodyKeepClean, type MaskBodyOptions, type MaskBodyResult, type Untouched } from "./body.js";
import { SseMasker, type StreamSnapshot } from "./sse.js";
import type { SseBlock } from "./sse-parser.js";

interface JobBase {
  id: number;
  rules: readonly MaskingRuleSpec[];
  key: Uint8Array;
}

/** One body to mask. */
export interface BodyJob extends JobBase {
  kind: "body";
  body: Uint8Array | string;
  contentType: string | undefined;
  opts: MaskBodyOptions;
  /** `untouched` when masking changed nothing (maskBodyKeepClean). */
  keepClean: boolean;
}

/** One SSE event to mask, with the state of the streams it can touch (SseMasker.takeStreams). */
export interface SseEventJob extends JobBase {
  kind: "sse-event";
  block: SseBlock;
  streams: StreamSnapshot[];
  others: number;
  maxHold: number | undefined;
}

export type MaskJob = BodyJob | SseEventJob;

/** What masking one SSE event gave: the text to emit, the events it reports (onEvent), the streams' new state. */
export interface SseEventResult {
  out: string;
  events: Array<[event: string, data: string]>;
  streams: StreamSnapshot[];
}

/** A job's outcome: its result and the labels it masked. */
export type MaskJobResult =
  | { id: number; result: MaskBodyResult | Untouched; counts: Record<string, number> }
  | { id: number; sse: SseEventResult; counts: Record<string, number> }
  | { id: number; error: string };

const MAX_PROFILES = 64;
const profiles = new Map<string, CompiledProfile>();

function profileOf(rules: readonly MaskingRuleSpec[]): CompiledProfile {
  const id = JSON.stringify(rules);
  let p = profiles.get(id);
  if (!p) {
    if (profiles.size >= MAX_PROFILES) profiles.clear();
    profiles.set(id, (p = compileProfile(rules)));
  }
  return p;
}

/** Masks one job (exported for tests: the worker's whole logic, run in-thread). */
export function runJob(job: MaskJob): MaskJobResult {
  try {
    const profile = profileOf(job.rules);
    const session = new MaskSession(job.key);
    if (job.kind === "sse-event") return { id: job.id, sse: maskSseEvent(job, profile, session), counts: { ...session.counts } };
    const result = (job.keepClean ? maskBodyKeepClean : maskBody)(job.body, job.contentType, profile, session, job.opts);
    return { id: job.id, result, counts: { ...session.counts } };
  } catch (e) {
    return { id: job.id, error: (e as Error).message };
  }
}

function maskSseEvent(job: SseEventJob, profile: CompiledProfile, session: MaskSession): SseEventResult {
  const events: Array<[string, string]> = [];
  const masker = new SseMasker(profile, session, { otherOpen: job.others, onEvent: (e, d) => void events.push([e, d]), ...(job.maxHold ? { maxHold: job.maxHold } : {}) });
  masker.putStreams(job.streams);
  const out = masker.maskBlock(job.block);
  return { out, events, streams: masker.takeStreams().streams };
}

parentPort?.on("message", (job: MaskJob) => parentPort!.postMessage(runJob(job)));
parentPort?.postMessage({ ready: true }); // loaded: the pool's per-job clock starts at dispatch to a ready worker
