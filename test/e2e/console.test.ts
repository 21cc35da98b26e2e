/**
 * The web console in a real browser (Debian's chromium driven by playwright-core): users
 * sign in through the demo OpenID provider's own login page (code + PKCE), an approver
 * approves a held run from its page and the member's retry runs, an auditor finds the
 * session and replays its stream with the secrets masked, a stored value with markup in it
 * stays text, a member sees nothing, and the session cookie alone cannot drive the API.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyWebhook } from "../../control-plane/notifications/webhook.js";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import type { Stack } from "../../demo/stack.js";
import { ALL_PLANTED, PLANTED } from "../../demo/langgraph/fixtures.js";
import { startE2eStack, type E2eStack } from "../helpers/e2e-stack.js";
import { buildConsole } from "../../control-plane/console/web/build.mjs";

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];

let e2e: E2eStack;
let stack: Stack;
let browser: Browser;
const contexts: BrowserContext[] = [];
// The reviewers' chat: receives the signed approval announcements.
const WEBHOOK_SECRET = randomBytes(32).toString("hex");
const hooks: Array<{ body: string; headers: Record<string, string | string[] | undefined> }> = [];
let hookServer: Server;
const approvalHookUrl = () => `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}/chat`;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)`);
  hookServer = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      hooks.push({ body, headers: req.headers });
      res.end("ok");
    });
  });
  await new Promise<void>((r) => hookServer.listen(0, "127.0.0.1", () => r()));
  const approvalWebhookUrl = approvalHookUrl();
  // The pages are a Vite bundle (React + urql): built here when missing or stale, as `npm start` does.
  await buildConsole();
  [e2e, browser] = await Promise.all([
    startE2eStack({ provider: "postgresql", store: true, oidcProvider: true, approvalWebhookUrl, env: { AGENTGATE_WEBHOOK_SECRET: WEBHOOK_SECRET } }),
    chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS }),
  ]);
  stack = e2e.stack;
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await e2e?.stop();
  if (hookServer) await new Promise((r) => hookServer.close(r)); // (never started when beforeAll failed early)
});

/** A fresh browser profile signed in as `user` through the provider's login page, landing on `path`. */
async function signIn(user: string, path = "/console/"): Promise<Page> {
  const context = await browser.newContext();
  contexts.push(context);
  // Hermetic: only loopback (the provider's dev page imports a web font).
  await context.route(/^https?:\/\/(?!127\.0\.0\.1[:/])/, (route) => route.abort());
  const page = await context.newPage();
  await page.goto(new URL(path, stack.consoleUrl()).href);
  expect(page.url().startsWith(stack.oidcProvider!.url)).toBe(true);
  await page.fill('input[name="login"]', user);
  await page.fill('input[name="password"]', "demo");
  await page.click('button[type="submit"]');
  await page.waitForURL((url) => url.href.startsWith(new URL(path, stack.consoleUrl()).href));
  return page;
}

// A secret in the caller's input: masked in what the approver and the auditor see.
const INPUT_SECRET = PLANTED.githubTokens[0];

async function runAs(sub: string, graph: string): Promise<{ status: number; body: any }> {
  const token = await stack.issuer.mint({ sub, email: `${sub}@example.com`, groups: ["members"] });
  const res = await fetch(`${stack.proxyUrl()}/runs/wait`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ assistant_id: graph, input: { messages: [{ role: "user", content: `<img src=x onerror=alert(1)> token ${INPUT_SECRET}` }] } }),
  });
  return { status: res.status, body: await res.json() };
}

test("a held run is announced (signed webhook); the approver opens its link, signs in, approves; the member's retry runs", async () => {
  const held = await runAs("alice", "leaky");
  expect(held.status).toBe(428);
  const id = /request ([0-9a-f-]{36})/.exec(held.body.error.message)![1]!;
  const link = new URL(`/console/approvals/${id}`, stack.consoleUrl()).href;
  // The 428 names the request's console page…
  expect(held.body.error.message).toContain(`(review: ${link})`);
  // …and so does the signed announcement.
  for (let i = 0; hooks.length === 0 && i < 200; i++) await new Promise((r) => setTimeout(r, 100));
  expect(hooks).toHaveLength(1);
  const hook = hooks[0]!;
  expect(verifyWebhook(WEBHOOK_SECRET, String(hook.headers[TIMESTAMP_HEADER]), hook.body, String(hook.headers[SIGNATURE_HEADER]))).toBe(true);
  const announced = JSON.parse(hook.body);
  expect(announced.agentgate.approvalRequest).toMatchObject({ id, graph: "leaky", url: link });

  const page = await signIn("bob", new URL(announced.agentgate.approvalRequest.url).pathname);
  const row = page.locator(`tr[data-id="${id}"]`);
  await expect(row.locator("td").nth(1).textContent()).resolves.toBe("leaky");
  // The parameters as filed by the proxy: masked, and the caller's markup is text.
  const parameters = (await row.locator("pre").textContent()) ?? "";
  expect(parameters).toContain("<img src=x onerror=alert(1)>");
  expect(parameters).not.toContain(INPUT_SECRET);
  expect(await page.locator("main img").count()).toBe(0);
  await row.locator('input[name="note"]').fill("looks fine");
  await row.getByRole("button", { name: "Approve" }).click();
  await page.waitForSelector(`tr[data-id="${id}"][data-status="approved"]`);

  // The request's page shows where it was announced and how that went (as GraphQL has it).
  const announcedTo = page.locator("#notifications li");
  for (let i = 0; i < 20 && !/delivered/.test((await announcedTo.first().textContent().catch(() => "")) ?? ""); i++) {
    await new Promise((r) => setTimeout(r, 250));
    await page.reload();
    await page.waitForSelector(`tr[data-id="${id}"]`);
  }
  await expect(announcedTo.allTextContents()).resolves.toEqual([`Announced to ${approvalHookUrl()}: delivered after 1 attempt(s)`]);

  const stored = await e2e.store!.prisma.approvalRequest.findUniqueOrThrow({ where: { id } });
  expect(stored).toMatchObject({ status: "approved", reviewer: `oidc:${stack.oidcProvider!.url}|bob`, reviewNote: "looks fine" });

  // The inbox updates live: a request held while the approver looks at it appears without a reload.
  await page.goto(new URL("/console/approvals", stack.consoleUrl()).href);
  await page.waitForSelector("#approvals-status");
  const later = await runAs("erin", "leaky");
  expect(later.status).toBe(428);
  const laterId = /request ([0-9a-f-]{36})/.exec(later.body.error.message)![1]!;
  await page.waitForSelector(`tr[data-id="${laterId}"][data-status="pending"]`, { timeout: 15_000 });
  await expect(page.locator(`tr[data-id="${laterId}"] td`).nth(1).textContent()).resolves.toBe("leaky");
  // (the one approved above is no longer pending, so not listed)
  expect(await page.locator(`tr[data-id="${id}"]`).count()).toBe(0);

  // The grant reaches the proxy with the next snapshot.
  let retry = await runAs("alice", "leaky");
  for (let i = 0; retry.status === 428 && i < 100; i++) {
    await new Promise((r) => setTimeout(r, 100));
    retry = await runAs("alice", "leaky");
  }
  expect(retry.status).toBe(200);
});

test("auditor finds the session, sees masked values, replays the stream; stored markup stays text", async () => {
  const page = await signIn("carol", "/console/sessions?subject=alice&graph=leaky&decision=allow");
  await page.waitForSelector("#sessions tr[data-id]");
  await page.locator("#sessions tr[data-id] a").first().click();
  await page.waitForSelector("#request-json");
  const request = await page.locator("#request-json").textContent();
  // The caller's markup is shown as text, and never became an element.
  expect(request).toContain("<img src=x onerror=alert(1)>");
  expect(request).not.toContain(INPUT_SECRET);
  expect(await page.locator("main img").count()).toBe(0);
  // What the auditor sees is what was recorded: masked, none of the planted secrets.
  const response = (await page.locator("#response-json").textContent()) ?? "";
  expect(response).toContain("leaked");
  for (const { value } of ALL_PLANTED) expect(response).not.toContain(value);
  await page.waitForSelector("#chain.ok, #chain.bad");
  await expect(page.locator("#chain").textContent()).resolves.toMatch(/verified/);

  // A streamed session replays its events.
  const streamed = await fetch(`${stack.proxyUrl()}/runs/stream`, {
    method: "POST",
    headers: { authorization: `Bearer ${await stack.issuer.mint({ sub: "dave", groups: ["members"] })}`, "content-type": "application/json" },
    body: JSON.stringify({ assistant_id: "slow", input: { steps: 3, delay_ms: 50 }, stream_mode: "updates" }),
  });
  await streamed.text();
  await page.goto(new URL("/console/sessions?subject=dave&graph=slow", stack.consoleUrl()).href);
  await page.waitForSelector("#sessions tr[data-id] a");
  await page.locator("#sessions tr[data-id] a").first().click();
  await page.waitForSelector("#replay-play");
  await page.selectOption("#replay-speed", "4");
  await page.click("#replay-play");
  // (Not waitForFunction: the page's CSP refuses the string evaluation it would need here.)
  let position = "";
  for (let i = 0; i < 300; i++) {
    position = (await page.locator("#replay-position").textContent()) ?? "";
    const [played, total] = position.split("/").map(Number);
    if (total! > 0 && played === total) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(position).toMatch(/^(\d+)\/\1$/);
  expect(await page.locator(".replay-event").count()).toBeGreaterThan(1);
});

test("an auditor's anomalies link to that identity's sessions; the time filter reaches the API", async () => {
  // 10 denials within 5 minutes is a denial-burst (ANOMALY_DEFAULTS).
  const token = await stack.issuer.mint({ sub: "mallory", email: "mallory@example.com", groups: ["members"] });
  for (let i = 0; i < 10; i++) {
    const res = await fetch(`${stack.proxyUrl()}/runs/wait`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify({ assistant_id: "payroll", input: {} }) });
    expect(res.status).toBe(403);
  }
  const page = await signIn("carol", "/console/sessions");
  // The denial-burst finding's item (at night an off-hours finding links to mallory too).
  const finding = page.locator("#anomalies li", { hasText: "denial-burst" }).filter({ has: page.locator('a[href="/console/sessions?subject=mallory"]') });
  const link = finding.locator('a[href="/console/sessions?subject=mallory"]');
  // Sessions reach the control plane asynchronously: reload until the finding shows.
  for (let i = 0; i < 60 && (await link.count()) === 0; i++) {
    await new Promise((r) => setTimeout(r, 500));
    await page.reload();
    await page.waitForSelector("#anomalies ul, #anomalies p");
  }
  await expect(finding.textContent()).resolves.toMatch(/^denial-burst: mallory@example\.com \(10\) 10 denials within 5 min/);
  await link.click();
  await page.waitForSelector("#sessions tr[data-id]");
  const identities = await page.locator("#sessions tr[data-id] td:nth-child(2)").allTextContents();
  expect(identities).toHaveLength(10);
  expect(new Set(identities)).toEqual(new Set(["mallory@example.com"]));
  // A time window before any of them: the API filters, the page says so.
  await page.goto(new URL("/console/sessions?subject=mallory&to=2000-01-01T00:00", stack.consoleUrl()).href);
  await page.waitForSelector("#sessions tr");
  await expect(page.locator("#sessions").textContent()).resolves.toBe("No sessions match.");
});

test("a member without console roles sees no pages, and the API refuses them", async () => {
  const page = await signIn("alice", "/console/sessions");
  await page.waitForSelector("#no-role");
  expect(await page.locator("#nav a").count()).toBe(0);
  expect(await page.locator("#sessions").count()).toBe(0);
});

test("the session cookie alone drives nothing: /graphql wants the CSRF header; logout ends the session", async () => {
  const page = await signIn("dana", "/console/fleet");
  await page.waitForSelector("#proxies tbody tr");
  // The proxy's row: connected, the snapshot version it applied (the current one), no error.
  const cells = await page.locator('#proxies tbody tr[data-id="proxy-1"] td').allTextContents();
  expect(cells[0]).toBe("proxy-1");
  expect(cells[2]).toBe("yes");
  const served = /version (\d+)/.exec((await page.locator("main p").first().textContent()) ?? "")?.[1];
  expect(served).toMatch(/^\d+$/);
  expect(cells[3]).toBe(served);
  expect(cells[4]).toBe("");
  // Nothing for a script to steal: no storage, and the session cookie is HttpOnly.
  await expect(page.evaluate(() => {
    const w = globalThis as any; // (a browser window; this file is typed without the DOM lib)
    return [w.localStorage.length, w.sessionStorage.length, w.document.cookie];
  })).resolves.toEqual([0, 0, ""]);
  const cookies = await page.context().cookies();
  const cookie = cookies.find((c) => c.name.includes("agentgate_console"))!;
  expect(cookie).toMatchObject({ httpOnly: true, sameSite: "Lax" });
  const call = (headers: Record<string, string>): Promise<Response> =>
    fetch(stack.graphqlUrl(), { method: "POST", headers: { "content-type": "application/json", cookie: `${cookie.name}=${cookie.value}`, ...headers }, body: JSON.stringify({ query: "{ viewer { actor } }" }) });
  expect((await call({})).status).toBe(403);
  expect((await call({ "x-agentgate-csrf": "guess" })).status).toBe(403);
  const csrf = await page.evaluate(async () => ((await (await fetch("/console/session")).json()) as { csrf: string }).csrf);
  expect(((await (await call({ "x-agentgate-csrf": csrf })).json()) as any).data.viewer.actor).toBe(`oidc:${stack.oidcProvider!.url}|dana`);

  await page.click("#logout");
  await page.waitForURL((url) => !url.href.startsWith(`${stack.consoleUrl()}fleet`));
  expect(((await (await call({ "x-agentgate-csrf": csrf })).json()) as any).errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
});

test("console pages carry a strict CSP and never serve a file outside the allow-list", async () => {
  const res = await fetch(new URL("/console/login", stack.consoleUrl()), { redirect: "manual" });
  expect(res.status).toBe(302);
  expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
  expect(res.headers.get("content-security-policy")).not.toContain("unsafe-inline");
  for (const path of ["/console/assets/../../app.ts", "/console/assets/%2e%2e%2fserver.ts", "/console/assets/index.html", "/console/assets/%2e%2e%2f.vite%2fmanifest.json", "/console/assets/%2e%2e%2f.source-hash"]) {
    expect((await fetch(new URL(path, stack.consoleUrl()))).status).toBe(404);
  }
});

test("the built page loads only same-origin files: no inline script or style the CSP would block", async () => {
  const page = await signIn("dana", "/console/");
  const violations: string[] = [];
  page.on("console", (m) => m.type() === "error" && violations.push(m.text()));
  await page.reload();
  await page.waitForSelector("#nav a");
  const html = await (await page.request.get(new URL("/console/", stack.consoleUrl()).href)).text();
  const scripts = [...html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)];
  expect(scripts.length).toBeGreaterThan(0);
  for (const [tag, body] of scripts) {
    expect(body!.trim()).toBe(""); // no inline code
    expect(tag).toMatch(/src="\/console\/assets\/[\w.-]+\.js"/);
  }
  expect(html).not.toMatch(/<style\b|\sstyle=|\son\w+=/i);
  for (const [, src] of html.matchAll(/(?:src|href)="(\/console\/assets\/[^"]+)"/g)) {
    expect((await fetch(new URL(src!, stack.consoleUrl()))).status).toBe(200);
  }
  // React renders no inline style attribute either, and the browser reported no CSP refusal.
  expect(await page.locator("[style]").count()).toBe(0);
  expect(violations.filter((v) => /Content Security Policy/i.test(v))).toEqual([]);
});

test("an admin dry-runs a policy file, sees the diff, and applies exactly what was reviewed", async () => {
  const page = await signIn("dana", "/console/policy");
  await page.waitForSelector("#policy-yaml");
  const name = "analysts-whoami";
  const edited = readFileSync(stack.policyFile, "utf8").replace(/\npolicies:\n/, `\npolicies:\n  - { name: ${name}, role: analyst, connection: demo, graphs: ["whoami"], operations: ["*"] }\n`);
  expect(edited).toContain(name);
  const stored = () => e2e.store!.prisma.policy.findFirst({ where: { name } });
  await page.fill("#policy-yaml", edited);
  expect(await page.locator("#policy-apply").isDisabled()).toBe(true);
  await page.click("#policy-dry-run");
  await page.waitForSelector("#policy-result table");
  await expect(page.locator("#policy-result tr", { hasText: name }).locator("td").allTextContents()).resolves.toEqual(["create", "policy", name]);
  await expect(page.locator("#policy-result p").textContent()).resolves.toBe("Dry run: 1 change(s), nothing written.");
  expect(await stored()).toBeNull(); // a dry run writes nothing
  // An edit after the review disables Apply until the next dry run.
  await page.waitForSelector("#policy-apply:not([disabled])");
  await page.fill("#policy-yaml", `${edited}\n`);
  expect(await page.locator("#policy-apply").isDisabled()).toBe(true);
  await page.click("#policy-dry-run");
  await page.waitForSelector("#policy-apply:not([disabled])");
  await page.click("#policy-apply");
  await page.waitForSelector('#policy-result p:has-text("Applied: snapshot version")');
  expect(await stored()).toMatchObject({ name, graphs: ["whoami"] });
});
