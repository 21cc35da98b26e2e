import { loadControlPlaneConfig } from "./config.js";
import { startControlPlane } from "./app.js";
import { log } from "../data-plane/observability/log.js";

/** Entry point: configuration → control plane; stops cleanly on SIGINT/SIGTERM. */
process.env["AGENTGATE_COMPONENT"] ??= "control-plane";
const config = loadControlPlaneConfig();
const cp = await startControlPlane(config);
// One machine-readable line so launchers (npm start, tests) learn the bound ports.
process.stdout.write(JSON.stringify({ ready: "control-plane", httpUrl: cp.httpUrl, grpcAddress: cp.grpcAddress }) + "\n");
log.info("control plane ready", { httpUrl: cp.httpUrl, grpcAddress: cp.grpcAddress });
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void cp.stop().finally(() => process.exit(0));
  });
}
