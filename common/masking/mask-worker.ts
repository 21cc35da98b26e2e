/**
 * A masking worker thread (see pool.ts): masks whole bodies with maskBody, off the proxy's
 * event loop. Each job names its profile by its rules (compiled once per distinct rule set and
 * kept) and carries its exchange's pseudonym key, so the result is what maskBody gives on
 * the main thread with that session; the counts go back to be added to the session.
 */
import { parentPort } from "node:worker_threads";
import { compileProfile, type CompiledProfile, type MaskingRuleSpec } from "./profile.js";
import { MaskSession } from "./session.js";
import { maskBody, maskBodyKeepClean, type MaskBodyOptions, type MaskBodyResult, type Untouched } from "./body.js";

/** One body to mask. */
export interface MaskJob {
  id: number;
  rules: readonly MaskingRuleSpec[];
  key: Uint8Array;
  body: Uint8Array | string;
  contentType: string | undefined;
  opts: MaskBodyOptions;
  /** `untouched` when masking changed nothing (maskBodyKeepClean). */
  keepClean: boolean;
}

/** A job's outcome: maskBody's result (or `untouched`) and the labels it masked. */
export type MaskJobResult =
  | { id: number; result: MaskBodyResult | Untouched; counts: Record<string, number> }
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
    const result = (job.keepClean ? maskBodyKeepClean : maskBody)(job.body, job.contentType, profile, session, job.opts);
    return { id: job.id, result, counts: { ...session.counts } };
  } catch (e) {
    return { id: job.id, error: (e as Error).message };
  }
}

parentPort?.on("message", (job: MaskJob) => parentPort!.postMessage(runJob(job)));
parentPort?.postMessage({ ready: true }); // loaded: the pool's per-job clock starts at dispatch to a ready worker
