import { execFile } from "node:child_process";
import type { Stack } from "../../demo/stack.js";

/** What one run of the agentgate CLI printed. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the `agentgate` CLI as a process against the stack's control plane with `token`. */
export function runCli(stack: Stack, token: string, ...args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", "control-plane/cli/main.ts", ...args],
      { env: { ...process.env, AGENTGATE_URL: stack.controlPlane.ready["httpUrl"], AGENTGATE_TOKEN: token }, timeout: 30_000 },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** Runs the CLI in this process (its `runCli(argv)`), capturing what it writes to stdout and stderr. */
export async function captureCli(run: (argv: string[]) => Promise<number>, argv: string[]): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  const [write, writeErr] = [process.stdout.write, process.stderr.write];
  process.stdout.write = ((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
  process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
  try {
    return { code: await run(argv), stdout, stderr };
  } finally {
    process.stdout.write = write;
    process.stderr.write = writeErr;
  }
}
