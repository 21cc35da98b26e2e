import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const bin = join(here, "..", "node_modules", ".bin");

/** proto/gen is generated, never edited: regenerating from the .proto files changes nothing. */
test("proto/gen matches what buf + protoc-gen-es generate from the .proto files (offline)", () => {
  const work = mkdtempSync(join(tmpdir(), "agentgate-proto-"));
  try {
    for (const f of ["buf.yaml", "buf.gen.yaml", "agentgate"]) cpSync(join(here, f), join(work, f), { recursive: true });
    execFileSync(join(bin, "buf"), ["generate"], { cwd: work, env: { ...process.env, PATH: `${bin}:${process.env["PATH"]}` }, stdio: "pipe" });
    const dir = "gen/agentgate/v1";
    const files = readdirSync(join(here, dir)).sort();
    expect(readdirSync(join(work, dir)).sort()).toEqual(files);
    for (const f of files) expect(readFileSync(join(work, dir, f), "utf8")).toBe(readFileSync(join(here, dir, f), "utf8"));
    execFileSync(join(bin, "buf"), ["lint"], { cwd: work, stdio: "pipe" });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
