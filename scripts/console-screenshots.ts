/**
 * Screenshots of the web console for the README (docs/console/*.png), taken the way a user
 * sees it: the demo stack (real LangGraph server, demo OpenID provider, control plane,
 * proxy) on a temp folder, a few calls made through the proxy as the demo users would,
 * then headless chromium (Debian's package, driven by playwright-core) signs in through
 * the provider's own login page as bob, carol and dana and saves each page.
 *
 *   npx tsx scripts/console-screenshots.ts [--out docs/console]
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { buildConsole } from "../control-plane/console/web/build.mjs";
import { startStack, type Stack } from "../demo/stack.js";
import { REPO_ROOT } from "../demo/service-process.js";

const CHROMIUM = "/usr/bin/chromium";
const outFlag = process.argv.indexOf("--out");
const outDir = resolve(outFlag > 0 ? process.argv[outFlag + 1]! : join(REPO_ROOT, "docs", "console"));
const VIEWPORT = { width: 1200, height: 700 };

async function call(stack: Stack, sub: string, path: string, body: unknown): Promise<Response> {
  const token = await stack.issuer.mint({ sub, email: `${sub}@example.com`, groups: ["members"] });
  return fetch(`${stack.proxyUrl()}${path}`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify(body) });
}

async function signIn(browser: Browser, stack: Stack, user: string, path: string): Promise<Page> {
  const context = await browser.newContext({ viewport: VIEWPORT });
  // Only loopback (the provider's dev page imports a web font from elsewhere).
  await context.route(/^https?:\/\/(?!127\.0\.0\.1[:/])/, (route) => route.abort());
  const page = await context.newPage();
  const target = new URL(path, stack.consoleUrl()).href;
  await page.goto(target);
  await page.fill('input[name="login"]', user);
  await page.fill('input[name="password"]', "demo");
  await page.click('button[type="submit"]');
  await page.waitForURL((url) => url.href.startsWith(target));
  return page;
}

async function shoot(page: Page, name: string, fullPage = false): Promise<void> {
  const file = join(outDir, `${name}.png`);
  await page.screenshot({ path: file, fullPage });
  console.log(`saved ${file}`);
}

async function main(): Promise<void> {
  await buildConsole();
  mkdirSync(outDir, { recursive: true });
  const dataDir = mkdtempSync(join(tmpdir(), "agentgate-screens-"));
  let stack: Stack | undefined;
  let browser: Browser | undefined;
  try {
    [stack, browser] = await Promise.all([startStack({ dataDir, oidcProvider: true }), chromium.launch({ executablePath: CHROMIUM, args: ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"] })]);
    const s = stack;
    // Traffic: allowed runs, a streamed one, held runs (one with markup in its input), a refused one.
    await (await call(s, "alice", "/runs/wait", { assistant_id: "echo", input: { text: "hello" } })).text();
    await (await call(s, "alice", "/runs/stream", { assistant_id: "slow", input: { steps: 4, delay_ms: 120 }, stream_mode: "updates" })).text();
    for (const [sub, content] of [["alice", "Summarise the Q3 incident report"], ["erin", "<img src=x onerror=alert(1)> stays text"]] as const) {
      const held = await call(s, sub, "/runs/wait", { assistant_id: "leaky", input: { messages: [{ role: "user", content }] } });
      if (held.status !== 428) throw new Error(`expected a held run (428), got ${held.status}: ${await held.text()}`);
    }
    await (await call(s, "mallory", "/runs/wait", { assistant_id: "payroll", input: {} })).text(); // not in any policy: denied

    const bob = await signIn(browser, s, "bob", "/console/approvals");
    await bob.waitForSelector("#approvals tr[data-id]");
    await shoot(bob, "approvals");

    const carol = await signIn(browser, s, "carol", "/console/sessions");
    await carol.waitForSelector("#sessions tr[data-id]");
    await carol.waitForSelector("#anomalies ul, #anomalies p");
    await shoot(carol, "sessions");
    await carol.goto(new URL("/console/sessions?subject=alice&graph=slow", s.consoleUrl()).href);
    await carol.locator("#sessions tr[data-id] a").first().click();
    await carol.waitForSelector("#replay-play");
    await carol.waitForSelector("#chain.ok, #chain.bad");
    await carol.selectOption("#replay-speed", "4");
    await carol.click("#replay-play");
    for (let i = 0; i < 200; i++) {
      const [played, total] = ((await carol.locator("#replay-position").textContent()) ?? "").split("/").map(Number);
      if (total && played === total) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await carol.locator(".card").scrollIntoViewIfNeeded();
    await shoot(carol, "session");

    const dana = await signIn(browser, s, "dana", "/console/fleet");
    await dana.waitForSelector("#proxies tbody tr");
    await shoot(dana, "fleet");
    // The policy page: today's file with one policy more, dry-run.
    await dana.goto(new URL("/console/policy", s.consoleUrl()).href);
    const policy = readFileSync(s.policyFile, "utf8").replace(/\npolicies:\n/, '\npolicies:\n  - { name: analysts-whoami, role: analyst, connection: demo, graphs: ["whoami"], operations: ["*"] }\n');
    await dana.fill("#policy-yaml", policy);
    await dana.click("#policy-dry-run");
    await dana.waitForSelector("#policy-result table");
    await dana.locator("#policy-result").scrollIntoViewIfNeeded();
    await shoot(dana, "policy-dry-run");
  } finally {
    await browser?.close();
    await stack?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
