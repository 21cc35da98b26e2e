import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Client } from "@langchain/langgraph-sdk";
import { REPO_ROOT } from "../../demo/service-process.js";
import { startE2eStack, type E2eStack } from "../helpers/e2e-stack.js";

/**
 * `npm run build` is what production runs (the Dockerfile's runtime stage starts
 * `node dist/...`, no tsx): build into a temp folder, start both planes from it with
 * plain node, and make an authorized call through them to the real LangGraph server.
 * The folder is inside the repository (.scratch/, git-ignored) so that the compiled code
 * resolves node_modules as dist/ does.
 */
describe("compiled build", () => {
  mkdirSync(join(REPO_ROOT, ".scratch"), { recursive: true });
  const outDir = mkdtempSync(join(REPO_ROOT, ".scratch", "build-"));
  let e2e: E2eStack | undefined;

  beforeAll(() => {
    execFileSync(process.execPath, ["scripts/build.mjs", "--out-dir", outDir], { cwd: REPO_ROOT, stdio: "pipe" });
  }, 120_000);

  afterAll(async () => {
    await e2e?.stop();
    rmSync(outDir, { recursive: true, force: true });
  });

  test("emits every entry named in package.json bin, with a node shebang", () => {
    const bin = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")).bin as Record<string, string>;
    expect(Object.keys(bin).sort()).toEqual(["agentgate", "agentgate-control-plane", "agentgate-proxy"]);
    for (const file of Object.values(bin)) {
      const compiled = join(outDir, file.replace(/^(\.\/)?dist\//, ""));
      expect(`${file}: ${existsSync(compiled)}`).toBe(`${file}: true`);
      expect(readFileSync(compiled, "utf8").split("\n")[0]).toBe("#!/usr/bin/env node");
    }
  });

  test("both planes start from the build with plain node and serve an authorized call", async () => {
    e2e = await startE2eStack({ buildDir: outDir });
    const { stack } = e2e;
    const client = new Client({
      apiUrl: stack.proxyUrl(),
      apiKey: null,
      defaultHeaders: { authorization: `Bearer ${await stack.issuer.mint({ sub: "build-1", groups: ["developers"] })}` },
    });
    const output = await client.runs.wait(null, "echo", { input: { text: "from dist" } });
    expect(output).toMatchObject({ text: "from dist" });
    // The processes really run the compiled files (no tsx loader in their command line).
    for (const pid of [stack.controlPlane.pid, stack.proxies[0]!.pid]) {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      expect(cmdline).not.toContain("tsx");
      expect(cmdline.some((a) => a.startsWith(outDir) && a.endsWith("main.js"))).toBe(true);
    }
  }, 120_000);
});
