/**
 * One U+0000 rule on every path, on both databases (#10 item 7): a caller must not be able to
 * hide a call by making its record unstorable (PostgreSQL text/jsonb cannot hold U+0000; a
 * refused record would be quarantined and leave a permanent gap in the chain). U+0000 placed
 * in the body (ids, input, metadata), the query string and the token's claims (carried in the
 * Authorization header) — allowed and denied calls alike — must all be stored, with U+0000
 * replaced by U+FFFD, and every chain must verify. Through the real proxy and LangGraph server.
 */
import { stringify } from "yaml";
import type { Stack } from "../../demo/stack.js";
import type { DemoPolicyInput } from "../../demo/demo-policy.js";
import { startE2eStack, type E2eStack } from "../helpers/e2e-stack.js";

const ADMIN = "bootstrap-admin-token-for-nul-tests-0123456789";
const NUL = "\u0000";

function policy(input: DemoPolicyInput): string {
  return stringify({
    identityProviders: [{ issuer: input.issuerUrl, audiences: ["agentgate"], groupsClaim: "groups" }],
    roles: [{ name: "member", bindings: [{ issuer: input.issuerUrl, group: "members" }] }],
    connections: [{ name: "main", baseUrl: input.upstreamUrl, credentialEnv: input.credentialEnv }],
    policies: [{ name: "members", role: "member", connection: "main", graphs: ["echo"], operations: ["assistants:*", "threads:*", "runs:*"] }],
  });
}

describe.each(["postgresql", "sqlite"] as const)("U+0000 through the proxy on %s", (provider) => {
  let e2e: E2eStack;
  let stack: Stack;
  beforeAll(async () => {
    e2e = await startE2eStack({ provider, store: true, policy, env: { AGENTGATE_CONNECTION: "main", AGENTGATE_ADMIN_BOOTSTRAP_TOKEN: ADMIN } });
    stack = e2e.stack;
  }, 120_000);
  afterAll(async () => e2e?.stop());

  test("records of calls carrying U+0000 in body, query and token claims are stored (U+FFFD) and every chain verifies", async () => {
    const tokens = {
      plain: await stack.issuer.mint({ sub: `nul-${provider}`, groups: ["members"] }),
      // The claims travel in the Authorization header and end up in the record (subject, email, groups).
      claims: await stack.issuer.mint({ sub: `nul${NUL}sub-${provider}`, email: `a${NUL}b@example.com`, groups: ["members", `g${NUL}x`] }),
    };
    const calls: Array<{ token: keyof typeof tokens; method: string; path: string; body?: unknown }> = [
      { token: "plain", method: "POST", path: "/runs/wait", body: { assistant_id: "echo", input: { text: `hi${NUL}there` }, metadata: { [`k${NUL}`]: `v${NUL}` } } },
      { token: "plain", method: "POST", path: "/runs/wait", body: { assistant_id: `echo${NUL}x`, input: { text: "x" } } },
      { token: "plain", method: "POST", path: "/threads", body: { metadata: { note: `a${NUL}b` } } },
      { token: "plain", method: "POST", path: "/threads/search?x=%00y", body: { metadata: { note: `a${NUL}b` } } },
      { token: "plain", method: "GET", path: `/threads/${encodeURIComponent(`t${NUL}`)}` },
      { token: "plain", method: "POST", path: "/runs/wait", body: { assistant_id: "echo", input: { text: "ok" }, config: { configurable: { [`x${NUL}`]: 1 } } } },
      { token: "claims", method: "POST", path: "/runs/wait", body: { assistant_id: "echo", input: { text: `claims${NUL}` } } },
      { token: "claims", method: "POST", path: "/assistants/search", body: {} },
    ];
    const ids: string[] = [];
    const statuses: number[] = [];
    for (const c of calls) {
      const res = await fetch(`${stack.proxyUrl()}${c.path}`, {
        method: c.method,
        headers: { authorization: `Bearer ${tokens[c.token]}`, ...(c.body === undefined ? {} : { "content-type": "application/json" }) },
        ...(c.body === undefined ? {} : { body: JSON.stringify(c.body) }),
      });
      await res.arrayBuffer();
      statuses.push(res.status);
      ids.push(res.headers.get("x-request-id")!);
    }
    // Both kinds of outcome are exercised (allowed and denied calls).
    expect(statuses.some((s) => s === 200)).toBe(true);
    expect(statuses.some((s) => s >= 400)).toBe(true);

    const prisma = e2e.store!.prisma;
    let stored: Awaited<ReturnType<typeof prisma.session.findMany>> = [];
    for (let i = 0; i < 300 && stored.length < ids.length; i++) {
      stored = await prisma.session.findMany({ where: { requestId: { in: ids } } });
      if (stored.length < ids.length) await new Promise((r) => setTimeout(r, 100));
    }
    expect(stored.map((s) => s.requestId).sort()).toEqual([...ids].sort());
    // No U+0000 character anywhere in what was stored (the text "\u0000" inside a JSON body is
    // six ASCII characters, stored verbatim; it is the character the database cannot hold).
    const strings: string[] = [];
    JSON.stringify(stored, (_, v: unknown) => (typeof v === "string" && strings.push(v), typeof v === "bigint" ? String(v) : v));
    expect(strings.filter((v) => v.includes(NUL))).toEqual([]);
    expect(strings.filter((v) => v.includes("\uFFFD")).length).toBeGreaterThanOrEqual(3);
    expect(stored.find((s) => s.subject === `nul\uFFFDsub-${provider}`)?.email).toBe("a\uFFFDb@example.com");

    const res = await fetch(stack.graphqlUrl(), {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN}` },
      body: JSON.stringify({ query: "{ verifySessionChains { proxyId records ok problems { kind } } }" }),
    });
    const reports = ((await res.json()) as { data: { verifySessionChains: Array<{ ok: boolean; records: number; problems: unknown[] }> } }).data.verifySessionChains;
    expect(reports.length).toBeGreaterThan(0);
    for (const r of reports) expect(r).toMatchObject({ ok: true, problems: [] });
  }, 120_000);
});
