/**
 * `agentgate apply <file>`: sends a policy file to `applyPolicyFile` and prints the changes.
 * Large files (100,000 bindings ≈ 5.5 MB) are streamed in slices with upload progress on
 * stderr, then a "still applying" line every few seconds while the control plane works
 * (the apply is one transaction, so there is nothing finer to report); stdout carries only
 * the changes and the resulting version, so it stays parseable.
 */
import { readFile } from "node:fs/promises";
import { graphql, type CliConnection } from "./graphql-client.js";

/** Options of {@link applyFile}. */
export interface ApplyOptions {
  dryRun?: boolean;
  /** Deadline of the whole call in seconds (upload + apply); default 600. */
  timeout?: number;
  /** Where progress lines go (stderr). */
  progress: (line: string) => void;
  /** Where the changes go (stdout). */
  out: (line: string) => void;
  /** How often "still applying" is printed; default 5,000 ms. */
  tickMs?: number;
}

type AppliedChange = { kind: string; name: string; action: string };

const MB = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

/** Reports upload progress at each further tenth of the body (never more than 10 lines). */
function uploadProgress(progress: (line: string) => void): (sent: number, total: number) => void {
  let reported = 0;
  return (sent, total) => {
    const tenth = Math.floor((sent / total) * 10);
    if (tenth <= reported) return;
    reported = tenth;
    progress(`uploaded ${MB(sent)} of ${MB(total)} (${tenth * 10}%)`);
  };
}

/** Applies `file`; returns the exit code. */
export async function applyFile(conn: CliConnection, file: string, opts: ApplyOptions): Promise<number> {
  const dryRun = opts.dryRun === true;
  const yaml = await readFile(file, "utf8");
  const started = Date.now();
  opts.progress(`${dryRun ? "checking" : "applying"} ${file} (${MB(Buffer.byteLength(yaml))})`);
  const ticker = setInterval(() => opts.progress(`control plane still working (${Math.round((Date.now() - started) / 1000)} s)`), opts.tickMs ?? 5_000);
  ticker.unref();
  let data;
  try {
    data = await graphql<{ applyPolicyFile: { snapshotVersion: string; changes: AppliedChange[] } }>(
      conn,
      `mutation($yaml: String!, $dryRun: Boolean) { applyPolicyFile(yaml: $yaml, dryRun: $dryRun) { snapshotVersion changes { kind name action } } }`,
      { yaml, dryRun },
      { timeoutMs: (opts.timeout ?? 600) * 1000, onUploadProgress: uploadProgress(opts.progress) },
    );
  } finally {
    clearInterval(ticker);
  }
  const { changes, snapshotVersion: version } = data.applyPolicyFile;
  for (const c of changes) opts.out(`${c.action.padEnd(9)} ${c.kind} ${c.name}`);
  const counts = new Map<string, number>();
  for (const c of changes) counts.set(c.action, (counts.get(c.action) ?? 0) + 1);
  opts.progress(`done in ${((Date.now() - started) / 1000).toFixed(1)} s: ${[...counts].map(([a, n]) => `${n} ${a}`).join(", ") || "no objects"}`);
  opts.out(dryRun ? "dry run: nothing was written" : `snapshot version ${version}`);
  return 0;
}
