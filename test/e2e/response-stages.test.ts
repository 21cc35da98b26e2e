/**
 * The response half of the pipeline (issue #14 / #15), end to end through a real proxy against a
 * scripted upstream: an answer nothing can change is relayed byte for byte (no parse and
 * re-serialisation), and every response stage still acts when it has something to do — filter,
 * mask, scrub — whatever the fast path; each request and response stage shows in the stage
 * histograms of /metrics.
 * Attacker: a hostile or careless upstream (INVARIANTS 4), a member of a narrower role (1).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { stringify } from "yaml";
import { startE2eStack, type E2eStack } from "../helpers/e2e-stack.js";
import { startScriptedUpstream, type ScriptedUpstream } from "../helpers/scripted-upstream.js";
import { STAGE_NAMES } from "../../data-plane/pipeline/run.js";

const ASSISTANT = (graph: string, extra = "") =>
  `{ "assistant_id" : "00000000-0000-4000-8000-00000000000${graph === "scripted" ? 1 : 2}",  "graph_id":"${graph}", "name": "n"${extra} }`;

/** Answers by `metadata.scenario` of the search body; echoes the credential it received when asked. */
const SCENARIOS: Record<string, (credential: string) => string> = {
  // odd whitespace: re-serialisation would remove it, so a byte-identical answer proves the fast path
  clean: () => `[ ${ASSISTANT("scripted", `, "created_at": "2026-11-25T10:00:00.000Z", "version": 3`)} ]\n`,
  email: () => `[ ${ASSISTANT("scripted", `, "description": "ask bob.secret@example.com"`)} ]`,
  escaped: () => `[ ${ASSISTANT("scripted", `, "description": "ask bob.secret\\u0040example.com"`)} ]`,
  keyed: () => `[ ${ASSISTANT("scripted", `, "metadata": { "password": "hunter22" }`)} ]`,
  credential: (credential) => `[ ${ASSISTANT("scripted", `, "description": "key ${credential}"`)} ]`,
  "two-graphs": () => `[ ${ASSISTANT("scripted")}, ${ASSISTANT("hidden")} ]`,
};

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const scenario = String((JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as { metadata?: { scenario?: string } }).metadata?.scenario ?? "");
  const answer = SCENARIOS[scenario];
  if (req.url !== "/assistants/search" || answer === undefined) return void res.writeHead(404, { "content-type": "application/json" }).end("{}");
  res.writeHead(200, { "content-type": "application/json" }).end(answer(String(req.headers["x-api-key"] ?? "")));
}

let upstream: ScriptedUpstream | undefined;
let e2e: E2eStack;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  upstream = await startScriptedUpstream(handle);
  const upstreamUrl = upstream.url;
  e2e = await startE2eStack({
    provider: "sqlite",
    policy: (input) =>
      stringify({
        identityProviders: [{ issuer: input.issuerUrl, audiences: ["agentgate"], groupsClaim: "groups" }],
        roles: [
          { name: "all", bindings: [{ issuer: input.issuerUrl, group: "all" }] },
          { name: "narrow", bindings: [{ issuer: input.issuerUrl, group: "narrow" }] },
        ],
        connections: [{ name: "scripted", baseUrl: upstreamUrl, credentialEnv: input.credentialEnv }],
        policies: [
          { name: "all", role: "all", connection: "scripted", graphs: ["*"], operations: ["assistants:*"] },
          { name: "narrow", role: "narrow", connection: "scripted", graphs: ["scripted"], operations: ["assistants:*"] },
        ],
      }),
  });
  tokens["all"] = await e2e.stack.issuer.mint({ sub: "all-user", groups: ["all"] });
  tokens["narrow"] = await e2e.stack.issuer.mint({ sub: "narrow-user", groups: ["narrow"] });
}, 120_000);

afterAll(async () => {
  await e2e?.stop();
  await upstream?.close();
});

async function search(scenario: string, who = "all"): Promise<{ status: number; text: string }> {
  const res = await fetch(`${e2e.stack.proxyUrl()}/assistants/search`, {
    method: "POST",
    headers: { authorization: `Bearer ${tokens[who]}`, "content-type": "application/json" },
    body: JSON.stringify({ metadata: { scenario } }),
  });
  return { status: res.status, text: await res.text() };
}

test("an answer nothing can change is relayed byte for byte", async () => {
  const { status, text } = await search("clean");
  expect(status).toBe(200);
  expect(text).toBe(SCENARIOS["clean"]!(""));
});

test.each([
  ["a detector match in a value", "email", (t: string) => expect(JSON.parse(t)[0].description).toBe("ask [REDACTED:email]")],
  ["a match hidden behind a JSON escape", "escaped", (t: string) => expect(JSON.parse(t)[0].description).toBe("ask [REDACTED:email]")],
  ["a key rule", "keyed", (t: string) => expect(JSON.parse(t)[0].metadata).toEqual({ password: "[REDACTED:password]" })],
  ["the upstream credential", "credential", (t: string) => expect(JSON.parse(t)[0].description).toBe("key [REDACTED:upstream-credential]")],
])("%s is still masked or scrubbed (not the upstream bytes)", async (_name, scenario, check) => {
  const { status, text } = await search(scenario);
  expect(status).toBe(200);
  expect(text).not.toContain("bob.secret");
  expect(text).not.toContain("hunter22");
  check(text);
  expect(text).not.toBe(SCENARIOS[scenario]!("")); // not the upstream's bytes
});

test("the filter stage still hides assistants of graphs the caller cannot see; a caller who sees every graph gets the bytes as sent", async () => {
  const narrow = await search("two-graphs", "narrow");
  expect(JSON.parse(narrow.text).map((a: { graph_id: string }) => a.graph_id)).toEqual(["scripted"]);
  const all = await search("two-graphs", "all");
  expect(all.text).toBe(SCENARIOS["two-graphs"]!(""));
});

test("/metrics has a latency histogram for every request and response stage, counting the exchanges above", async () => {
  const before = await stageCounts();
  await search("clean");
  await search("email");
  const after = await stageCounts();
  for (const stage of STAGE_NAMES.request) expect(`request ${stage}: ${(after.get(`request|${stage}`) ?? 0) - (before.get(`request|${stage}`) ?? 0)}`).toBe(`request ${stage}: 2`);
  for (const stage of STAGE_NAMES.response) expect(`response ${stage}: ${(after.get(`response|${stage}`) ?? 0) - (before.get(`response|${stage}`) ?? 0)}`).toBe(`response ${stage}: 2`);
});

async function stageCounts(): Promise<Map<string, number>> {
  const text = await (await fetch(`${e2e.stack.proxyUrl()}/metrics`)).text();
  const counts = new Map<string, number>();
  for (const m of text.matchAll(/^agentgate_proxy_stage_duration_seconds_count\{phase="(\w+)",stage="([\w-]+)"\} (\d+)/gm)) counts.set(`${m[1]}|${m[2]}`, Number(m[3]));
  return counts;
}
