import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const LOG_MODULE = fileURLToPath(new URL("./log.ts", import.meta.url));

/** Runs `body` in a fresh node process that imported the logger as `log`; returns its parsed stderr lines. */
function logLinesOf(body: string, env: Record<string, string> = {}): Array<Record<string, unknown>> {
  const script = `import { log } from ${JSON.stringify(LOG_MODULE)};\n${body}`;
  let stderr = "";
  try {
    execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      env: { ...process.env, AGENTGATE_COMPONENT: "test-component", ...env },
      stdio: ["ignore", "ignore", "pipe"],
      encoding: "utf8",
    });
  } catch (err) {
    stderr = (err as { stderr: string }).stderr; // the scripts end with process.exit(3)
  }
  return stderr
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe("process logger", () => {
  test("one JSON line per event with level, time, component and message; the last lines survive process.exit", () => {
    const lines = logLinesOf(`for (let i = 0; i < 500; i++) log.info("line", { i, version: 12n }); process.exit(3);`);
    expect(lines).toHaveLength(500);
    expect(lines[499]).toMatchObject({ level: "info", msg: "line", component: "test-component", i: 499, version: "12" });
    expect(new Date(String(lines[0]!["t"])).toString()).not.toBe("Invalid Date");
  });

  test("errors keep their type, stack and cause chain", () => {
    const [line] = logLinesOf(
      `const cause = new TypeError("socket closed"); log.error("request failed", { err: new Error("upstream failed", { cause }) }); process.exit(3);`,
    );
    const err = line!["err"] as { type: string; message: string; stack: string; cause: { type: string; message: string } };
    expect(err.type).toBe("Error");
    expect(err.message).toContain("upstream failed");
    expect(err.stack).toMatch(/at /);
    expect(err.cause).toMatchObject({ type: "TypeError", message: "socket closed" });
  });

  test("fields named like credentials are dropped at any depth, also in child loggers' bindings", () => {
    const [line] = logLinesOf(
      `log.child({ requestId: "r-1", apiKey: "k-1" }).warn("call", { upstream: { headers: { authorization: "Bearer abc", "x-ok": "1" }, list: [{ password: "p" }] }, clientSecret: "s" }); process.exit(3);`,
    );
    const text = JSON.stringify(line);
    for (const secret of ["Bearer abc", "k-1", '"p"', '"s"']) expect(text).not.toContain(secret);
    expect(line).toMatchObject({ requestId: "r-1", level: "warn", upstream: { headers: { "x-ok": "1" }, list: [{}] } });
  });

  test("the level threshold comes from AGENTGATE_LOG_LEVEL", () => {
    const lines = logLinesOf(`log.debug("d"); log.info("i"); log.warn("w"); process.exit(3);`, { AGENTGATE_LOG_LEVEL: "warn" });
    expect(lines.map((l) => l["msg"])).toEqual(["w"]);
  });
});
