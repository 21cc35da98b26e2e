import { loadProxyConfig } from "./config.js";
import { startProxy } from "./app.js";
import { log } from "./observability/log.js";

/** Entry point: configuration → proxy; stops cleanly on SIGINT/SIGTERM. */
process.env["AGENTGATE_COMPONENT"] ??= "proxy";
const config = loadProxyConfig();
const proxy = await startProxy(config);
// One machine-readable line so launchers (npm start, tests) learn the bound port.
process.stdout.write(JSON.stringify({ ready: "proxy", proxyId: config.proxyId, url: proxy.url }) + "\n");
log.info("proxy ready", { url: proxy.url, proxyId: config.proxyId });
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void proxy.stop().finally(() => process.exit(0));
  });
}
