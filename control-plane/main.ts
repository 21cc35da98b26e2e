#!/usr/bin/env node
import { loadControlPlaneConfig } from "./config.js";
import { startControlPlane } from "./app.js";
import { exitOnStartupError } from "../common/observability/fatal.js";
import { log } from "../common/observability/log.js";

/** Entry point: configuration → control plane; stops cleanly on SIGINT/SIGTERM. */
process.env["AGENTGATE_COMPONENT"] ??= "control-plane";
const config = await Promise.resolve().then(() => loadControlPlaneConfig()).catch((err: unknown) => exitOnStartupError("control plane", err));
const cp = await startControlPlane(config).catch((err: unknown) => exitOnStartupError("control plane", err));
// One machine-readable line so launchers (npm start, tests) learn the bound ports.
process.stdout.write(JSON.stringify({ ready: "control-plane", httpUrl: cp.httpUrl, grpcAddress: cp.grpcAddress }) + "\n");
log.info("control plane ready", { httpUrl: cp.httpUrl, grpcAddress: cp.grpcAddress });
// A stray rejected promise in background work (a reconnect, a flush) is logged, not fatal:
// the process holds sessions in flight and a last good snapshot worth keeping up.
process.on("unhandledRejection", (reason) => log.error("unhandled rejection", { err: reason }));
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    // stop() is bounded (about 5 s: app.ts STOP_GRACE_MS, STOP_DB_MS); this is the backstop.
    setTimeout(() => {
      log.error("control plane did not stop within 10 s; exiting");
      process.exit(1);
    }, 10_000).unref();
    void cp.stop().finally(() => process.exit(0));
  });
}
