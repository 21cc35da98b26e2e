/** Console building blocks an attacker pokes at: the after-sign-in redirect and the session store. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadBundle, safeReturnPath } from "./server.js";
import { ExpiringStore } from "./sessions.js";
import { isLoopbackHost } from "./loopback.js";

test.each([
  ["/console/approvals/abc", "/console/approvals/abc"],
  ["/console/sessions?subject=alice&graph=leaky", "/console/sessions?subject=alice&graph=leaky"],
  ["/console", "/console"],
  ["//evil.example/console/", "/console/"],
  ["/\\evil.example", "/console/"],
  ["https://evil.example/console/", "/console/"],
  ["/console/../graphql", "/console/"],
  ["/consolex", "/console/"],
  ["/graphql", "/console/"],
  ["javascript:alert(1)", "/console/"],
  ["", "/console/"],
])("return path %j → %j (never another origin or a page outside the console)", (raw, expected) => {
  expect(safeReturnPath(raw)).toBe(expected);
});

test("sessions expire, are bounded (oldest out first) and a pending login is used once", () => {
  const store = new ExpiringStore<{ expiresAt: number; n: number }>(2);
  const a = store.put({ expiresAt: Date.now() + 60_000, n: 1 });
  const b = store.put({ expiresAt: Date.now() + 60_000, n: 2 });
  expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
  const c = store.put({ expiresAt: Date.now() + 60_000, n: 3 });
  expect(store.get(a)).toBeUndefined();
  expect(store.get(b)?.n).toBe(2);
  expect(store.take(c)?.n).toBe(3);
  expect(store.take(c)).toBeUndefined();
  const old = store.put({ expiresAt: Date.now() - 1, n: 4 });
  expect(store.get(old)).toBeUndefined();
  expect(store.get(undefined)).toBeUndefined();
});

test.each([["127.0.0.1", true], ["localhost", true], ["[::1]", true], ["127.1.2.3", true], ["10.0.0.1", false], ["console.example.com", false], ["127.0.0.1.evil.com", false]])(
  "%s is loopback: %s (cookies are Secure everywhere else)",
  (host, expected) => expect(isLoopbackHost(host)).toBe(expected),
);

test("the page bundle serves only what the Vite manifest names, under assets/, with a known type", () => {
  const dir = mkdtempSync(join(tmpdir(), "console-bundle-"));
  try {
    expect(loadBundle(dir)).toBeUndefined(); // not built: the console says so (503), nothing else is served
    mkdirSync(join(dir, ".vite"));
    mkdirSync(join(dir, "assets"));
    for (const f of ["index.html", "assets/app-1.js", "assets/app-1.css", "assets/unlisted.js", "server.js"]) writeFileSync(join(dir, f), f);
    const manifest = {
      "index.html": { file: "assets/app-1.js", css: ["assets/app-1.css"], assets: ["assets/../server.js", "../server.js", "assets/run.sh", "/etc/passwd.js"] },
    };
    writeFileSync(join(dir, ".vite", "manifest.json"), JSON.stringify(manifest));
    const bundle = loadBundle(dir)!;
    expect(bundle.index.toString()).toBe("index.html");
    expect([...bundle.assets.keys()].sort()).toEqual(["/console/assets/app-1.css", "/console/assets/app-1.js"]);
    expect(bundle.assets.get("/console/assets/app-1.js")).toEqual({ body: Buffer.from("assets/app-1.js"), type: "text/javascript; charset=utf-8" });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
