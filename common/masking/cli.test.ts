import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const CLI = fileURLToPath(new URL("./cli.ts", import.meta.url));

describe("masking cli", () => {
  it("masks JSON from stdin with the default profile", () => {
    const r = spawnSync(process.execPath, ["--import", "tsx", CLI], {
      input: JSON.stringify({ input: { text: "mail a@b.io, password: hunter22!" } }),
      encoding: "utf8",
    });
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ input: { text: "mail [REDACTED:email], password: [REDACTED:generic_secret]" } });
  });

  it("masks non-JSON input as text", () => {
    const r = spawnSync(process.execPath, ["--import", "tsx", CLI], { input: "call +1 415 555 0132", encoding: "utf8" });
    expect(r.stdout).toBe("call [REDACTED:phone]");
  });
});
