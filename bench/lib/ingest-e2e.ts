/**
 * End-to-end half of the recording-latency measurement: the demo stack (`startStack`: real
 * LangGraph dev server, dev OIDC issuer, control plane and proxies as processes) with TWO
 * proxies that differ only in where their session spool lives:
 *
 *   proxy-1  spool on the stack's data folder (this disk): production behaviour;
 *   proxy-2  spool on tmpfs (/dev/shm): the same code path (seal, encode, write, fdatasync),
 *            but fdatasync returns without waiting for a disk.
 *
 * Calling the upstream directly, through proxy-1 and through proxy-2 splits the proxy's
 * added latency into "waiting for the disk to make the record durable" (proxy-1 − proxy-2)
 * and everything else (proxy-2 − direct).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startStack, type Stack } from "../../demo/stack.js";

/** A way to reach the upstream: URL prefix and the headers that authorise the call. */
export interface E2eTarget {
  readonly name: "direct" | "proxy, disk spool" | "proxy, tmpfs spool";
  readonly baseUrl: string;
  readonly headers: Record<string, string>;
  /** The proxy process this target goes through (none for direct). */
  readonly proxyPid: number | undefined;
}

/** The running stack's three targets. */
export interface E2eSystems {
  readonly targets: readonly E2eTarget[];
  /** The spool folder proxy-2 uses (on tmpfs), to show in the report. */
  readonly tmpfsSpool: string;
  /** The control plane process, which ingests what the proxies record meanwhile. */
  readonly controlPlanePid: number;
  stop(): Promise<void>;
}

/** Where tmpfs is mounted on Linux; the bench skips the split when it is missing. */
export const TMPFS = "/dev/shm";

/**
 * Starts the stack. proxy-2's spool folder (`<dataDir>/proxy-2/spool`, the layout of
 * demo/stack.ts and data-plane/app.ts) is made a symlink into tmpfs before the proxy opens it;
 * the symlinked folder must then hold the spool's LOCK file, which is checked.
 */
export async function startE2eSystems(): Promise<E2eSystems> {
  const dataDir = mkdtempSync(join(tmpdir(), "agentgate-bench-ingest-"));
  const tmpfsSpool = mkdtempSync(join(TMPFS, "agentgate-bench-spool-"));
  let stack: Stack | undefined;
  const stop = async (): Promise<void> => {
    await stack?.stop().catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(tmpfsSpool, { recursive: true, force: true });
  };
  try {
    mkdirSync(join(dataDir, "proxy-2"), { recursive: true });
    symlinkSync(tmpfsSpool, join(dataDir, "proxy-2", "spool"), "dir");
    stack = await startStack({ dataDir, proxies: 2 });
    if (!existsSync(join(tmpfsSpool, "LOCK"))) throw new Error(`proxy-2 did not open its spool in ${tmpfsSpool}: the stack's data layout changed`);
    const token = await stack.issuer.mint({ sub: "bench", groups: ["developers"], expiresIn: 3600 });
    const bearer = { authorization: `Bearer ${token}` };
    return {
      targets: [
        { name: "direct", baseUrl: stack.upstream.url, headers: { "x-api-key": stack.upstream.apiKey }, proxyPid: undefined },
        { name: "proxy, disk spool", baseUrl: stack.proxyUrl(0), headers: bearer, proxyPid: stack.proxies[0]!.pid },
        { name: "proxy, tmpfs spool", baseUrl: stack.proxyUrl(1), headers: bearer, proxyPid: stack.proxies[1]!.pid },
      ],
      tmpfsSpool,
      controlPlanePid: stack.controlPlane.pid,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
