#!/usr/bin/env node
// Container health check for the agentgate image (Dockerfile HEALTHCHECK, compose).
//
//   node deploy/healthcheck.mjs            → GET /healthz of the plane running here
//   node deploy/healthcheck.mjs /readyz    → another path of that plane
//   node deploy/healthcheck.mjs http://127.0.0.1:8080/readyz
//
// Which plane: AGENTGATE_COMPONENT ("control-plane" | "proxy", also used by the logs),
// else whichever entry file a process in this container runs (/proc/*/cmdline).
// Port: AGENTGATE_CP_HTTP_PORT (default 4000) or AGENTGATE_PROXY_PORT (default 8080),
// the variables the planes themselves read. Plain JavaScript, no tsx: it runs every
// few seconds and must be cheap. Exit 0 = healthy, 1 = unhealthy.
import { readdirSync, readFileSync } from "node:fs";

const TIMEOUT_MS = 4000;

function runningPlane() {
  const component = process.env.AGENTGATE_COMPONENT;
  if (component === "proxy" || component === "control-plane") return component;
  let pids = [];
  try {
    pids = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    // not Linux: fall through to the default
  }
  for (const pid of pids) {
    let cmdline;
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    } catch {
      continue;
    }
    if (/data-plane\/main\.[jt]s/.test(cmdline)) return "proxy";
    if (/control-plane\/main\.[jt]s/.test(cmdline)) return "control-plane";
  }
  return "control-plane";
}

function targetUrl(arg) {
  if (arg && /^https?:\/\//.test(arg)) return arg;
  const path = arg && arg.startsWith("/") ? arg : "/healthz";
  const port =
    runningPlane() === "proxy"
      ? process.env.AGENTGATE_PROXY_PORT || "8080"
      : process.env.AGENTGATE_CP_HTTP_PORT || "4000";
  return `http://127.0.0.1:${port}${path}`;
}

const url = targetUrl(process.argv[2]);
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  await res.body?.cancel();
  if (!res.ok) {
    console.error(`${url}: HTTP ${res.status}`);
    process.exit(1);
  }
  process.exit(0);
} catch (err) {
  console.error(`${url}: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
