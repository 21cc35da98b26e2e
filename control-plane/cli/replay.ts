/** The parts of a session the replay prints. */
export interface ReplayableSession {
  id: string;
  proxyId: string;
  startedAt: string;
  durationMs: number;
  issuer: string | null;
  subject: string | null;
  email: string | null;
  method: string;
  path: string;
  status: number;
  operation: string | null;
  graph: string | null;
  decision: string;
  reasons: string[];
  requestJson: string | null;
  responseJson: string | null;
  events: Array<{ offsetMs: number; event: string; data: string }>;
  bytesOut: string;
  cost: number;
  errorCode: string | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const seconds = (ms: number) => `+${(ms / 1000).toFixed(3)}s`;

/**
 * Prints a recorded session as it happened: who, what, the (masked) request, then each
 * streamed event at its original time offset divided by `speed` (0 = no waiting), then
 * the (masked) response. `write` receives each line.
 */
export async function replaySession(s: ReplayableSession, speed: number, write: (line: string) => void): Promise<void> {
  const who = s.email ?? `${s.issuer ?? "?"}|${s.subject ?? "?"}`;
  write(`session ${s.id} at ${s.startedAt} by ${who} via ${s.proxyId}`);
  write(`${s.method} ${s.path} → ${s.status}  ${s.operation ?? "-"} graph=${s.graph ?? "-"} decision=${s.decision}${s.reasons.length ? ` (${s.reasons.join(", ")})` : ""}${s.errorCode ? ` error=${s.errorCode}` : ""}`);
  if (s.requestJson) write(`request  ${s.requestJson}`);
  let last = 0;
  for (const e of s.events) {
    if (speed > 0 && e.offsetMs > last) await sleep((e.offsetMs - last) / speed);
    last = e.offsetMs;
    write(`${seconds(e.offsetMs)} ${e.event}  ${e.data}`);
  }
  if (s.responseJson) write(`response ${s.responseJson}`);
  write(`done in ${(s.durationMs / 1000).toFixed(3)}s, ${s.bytesOut} bytes out, cost ${s.cost}`);
}
