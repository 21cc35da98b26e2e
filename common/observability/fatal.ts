import { log } from "./log.js";

/**
 * Ends a process that cannot start: configuration problems are listed one per line (they
 * carry `problems`), anything else is logged without a stack trace; exit code 2.
 */
export function exitOnStartupError(component: string, err: unknown): never {
  const problems = (err as { problems?: unknown }).problems;
  if (Array.isArray(problems)) process.stderr.write(`${component}: invalid configuration:\n${problems.map((p) => `  - ${String(p)}`).join("\n")}\n`);
  else log.error(`${component} could not start`, { err });
  process.exit(2);
}
