/** Runs wrk (closed loop, one thread) with a generated Lua script; parses its JSON summary. */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { HttpLoadSpec, LoadResult } from "./load.js";

/**
 * A Lua string literal. JSON escaping equals Lua's for printable ASCII without backslashes,
 * which is all the bench ever sends (JSON bodies, JWTs, keys); anything else is refused.
 */
function luaString(s: string): string {
  if (!/^[\x20-\x7e]*$/.test(s) || s.includes("\\")) throw new Error(`wrk script: unsupported characters in ${JSON.stringify(s.slice(0, 40))}`);
  return JSON.stringify(s);
}

/** The script: request shape, and a `done` hook printing one JSON line (wrk's latencies are µs). */
export function wrkScript(spec: HttpLoadSpec): string {
  const headers = Object.entries(spec.headers).map(([k, v]) => `wrk.headers[${luaString(k)}] = ${luaString(v)}`);
  return [
    `wrk.method = ${luaString(spec.method)}`,
    `wrk.body = ${luaString(spec.body)}`,
    ...headers,
    "done = function(summary, latency, requests)",
    "  local e = summary.errors",
    `  io.write(string.format('\\n{"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\\n',`,
    "    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),",
    "    e.connect, e.read, e.write, e.status, e.timeout))",
    "end",
    "",
  ].join("\n");
}

interface WrkSummary {
  requests: number;
  duration_us: number;
  p50_us: number;
  p99_us: number;
  connect: number;
  read: number;
  write: number;
  status: number;
  timeout: number;
}

/** Runs wrk for `spec.durationS` seconds (on the CPUs the bench itself is pinned to). */
export async function runWrk(spec: HttpLoadSpec): Promise<LoadResult> {
  const dir = mkdtempSync(join(tmpdir(), "agentgate-wrk-"));
  try {
    const script = join(dir, "request.lua");
    writeFileSync(script, wrkScript(spec));
    const argv = ["wrk", "-t1", `-c${spec.connections}`, `-d${spec.durationS}s`, "--timeout", "10s", "-s", script, spec.url];
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
      let text = "";
      child.stdout.setEncoding("utf8").on("data", (d: string) => (text += d));
      child.stderr.setEncoding("utf8").on("data", (d: string) => (text += d));
      child.once("error", reject);
      child.once("exit", (code) => (code === 0 ? resolve(text) : reject(new Error(`wrk exited with ${code}: ${text.slice(-500)}`))));
    });
    const line = out.split("\n").find((l) => l.startsWith('{"requests"'));
    if (!line) throw new Error(`wrk printed no summary: ${out.slice(-500)}`);
    const s = JSON.parse(line) as WrkSummary;
    const errors = s.connect + s.read + s.write + s.status + s.timeout;
    const detail = Object.entries({ connect: s.connect, read: s.read, write: s.write, "non-2xx": s.status, timeout: s.timeout })
      .filter(([, n]) => n > 0)
      .map(([k, n]) => `${k} ${n}`)
      .join(", ");
    return { tool: "wrk", requests: s.requests, rps: s.requests / (s.duration_us / 1e6), p50: s.p50_us / 1000, p99: s.p99_us / 1000, errors, errorDetail: detail };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
