/**
 * Preload for `--profile` (node refuses `--cpu-prof` in NODE_OPTIONS, and the stack starts the
 * proxy itself): when BENCH_CPU_PROF_DIR is set and this process is a proxy, samples the CPU
 * with the inspector from start-up and writes `<dir>/proxy.<pid>.cpuprofile` at exit.
 * Loaded with NODE_OPTIONS="--import <this file>" (plain JavaScript: the proxy may run compiled,
 * without tsx).
 */
import { Session } from "node:inspector";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

const dir = process.env["BENCH_CPU_PROF_DIR"];
if (dir && (process.env["AGENTGATE_COMPONENT"] ?? "").startsWith("proxy")) {
  const session = new Session();
  session.connect();
  session.post("Profiler.enable");
  session.post("Profiler.setSamplingInterval", { interval: 500 }); // µs
  session.post("Profiler.start");
  // The in-thread session answers synchronously, so this still works in an "exit" listener.
  process.once("exit", () => {
    session.post("Profiler.stop", (err, result) => {
      if (!err) writeFileSync(join(dir, `proxy.${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
