/** Reads a V8 `.cpuprofile` (node --cpu-prof) into self-time tables: by function and by origin. */
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
}

/** Where a function comes from: the proxy's own code, the two libraries the brief asks about, or else. */
export type Origin = "agentgate" | "undici" | "jose" | "node core" | "other deps" | "gc" | "program" | "idle";

export function originOf(functionName: string, url: string): Origin {
  if (functionName === "(idle)") return "idle";
  if (functionName === "(garbage collector)") return "gc";
  if (!url) return functionName === "(program)" ? "program" : "node core";
  // The only WebAssembly in the proxy is undici's llhttp parser.
  if (url.includes("/node_modules/undici/") || url.startsWith("wasm://")) return "undici";
  if (url.includes("/node_modules/jose/")) return "jose";
  if (url.includes("/node_modules/")) return "other deps";
  if (url.startsWith("node:")) return "node core";
  return "agentgate";
}

export interface SelfTime {
  name: string;
  location: string;
  origin: Origin;
  ms: number;
  /** Share of the busy (non-idle) time. */
  share: number;
}

export interface ProfileSummary {
  wallMs: number;
  busyMs: number;
  /** By self time, descending. */
  functions: SelfTime[];
  /** agentgate functions by inclusive time (self + callees), descending: which stage costs what. */
  inclusive: SelfTime[];
  origins: Array<{ origin: Origin; ms: number; share: number }>;
}

/** Display name and key of a call frame. tsx-compiled files report line 1, so .ts lines are dropped. */
function frameKey(frame: ProfileNode["callFrame"]): { name: string; location: string; key: string } {
  const short = frame.url.replace(/^file:\/\/.*?\/(node_modules|data-plane|demo|control-plane|proto)\//, "$1/");
  const location = !short ? "" : short.endsWith(".ts") ? short : `${short}:${frame.lineNumber + 1}`;
  const name = frame.functionName || "(anonymous)";
  return { name, location, key: `${name}@${location}` };
}

/**
 * Inclusive time of each agentgate function: the samples in its subtrees, counted once per
 * sample even when the function is on the stack twice (recursion, re-entrant awaits).
 */
function inclusiveTimes(nodes: readonly ProfileNode[], msPerSample: number): Map<string, SelfTime> {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const out = new Map<string, SelfTime>();
  const onPath = new Map<string, number>();
  const root = nodes[0];
  if (!root) return out;
  // Iterative DFS (profiles can be deep): "enter" adds the frame to the path, "exit" removes it.
  const stack: Array<{ id: number; exit: boolean }> = [{ id: root.id, exit: false }];
  while (stack.length > 0) {
    const { id, exit } = stack.pop()!;
    const node = byId.get(id)!;
    const frame = frameKey(node.callFrame);
    const mine = originOf(node.callFrame.functionName, node.callFrame.url) === "agentgate";
    if (exit) {
      if (mine) onPath.set(frame.key, onPath.get(frame.key)! - 1);
      continue;
    }
    if (mine) onPath.set(frame.key, (onPath.get(frame.key) ?? 0) + 1);
    const hits = node.hitCount ?? 0;
    if (hits > 0) {
      for (const [key, depth] of onPath) {
        if (depth <= 0) continue;
        const entry = out.get(key) ?? { name: key.slice(0, key.indexOf("@")), location: key.slice(key.indexOf("@") + 1), origin: "agentgate" as const, ms: 0, share: 0 };
        entry.ms += hits * msPerSample;
        out.set(key, entry);
      }
    }
    stack.push({ id, exit: true });
    for (const child of node.children ?? []) stack.push({ id: child, exit: false });
  }
  return out;
}

/** Self time per function (summed over all its call sites) and per origin. */
export function summarizeProfile(path: string): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, "utf8")) as CpuProfile;
  const wallMs = (profile.endTime - profile.startTime) / 1000;
  const msPerSample = wallMs / Math.max(1, profile.samples.length);
  const byFunction = new Map<string, SelfTime>();
  const byOrigin = new Map<Origin, number>();
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    if (hits === 0) continue;
    const origin = originOf(node.callFrame.functionName, node.callFrame.url);
    const { name, location, key } = frameKey(node.callFrame);
    const entry = byFunction.get(key) ?? { name, location, origin, ms: 0, share: 0 };
    entry.ms += hits * msPerSample;
    byFunction.set(key, entry);
    byOrigin.set(origin, (byOrigin.get(origin) ?? 0) + hits * msPerSample);
  }
  const busyMs = wallMs - (byOrigin.get("idle") ?? 0);
  const functions = [...byFunction.values()]
    .filter((f) => f.origin !== "idle")
    .map((f) => ({ ...f, share: f.ms / busyMs }))
    .sort((a, b) => b.ms - a.ms);
  const origins = [...byOrigin]
    .filter(([o]) => o !== "idle")
    .map(([origin, ms]) => ({ origin, ms, share: ms / busyMs }))
    .sort((a, b) => b.ms - a.ms);
  const inclusive = [...inclusiveTimes(profile.nodes, msPerSample).values()].map((f) => ({ ...f, share: f.ms / busyMs })).sort((a, b) => b.ms - a.ms);
  return { wallMs, busyMs, functions, inclusive, origins };
}
