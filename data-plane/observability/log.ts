/**
 * Structured JSON logs on stderr. Callers pass facts, never secrets or tokens; fields
 * named like credentials are dropped as a last line of defence.
 */
type Fields = Record<string, unknown>;

const SECRET_FIELD = /token|secret|password|credential|authorization|api[-_]?key/i;
const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const;
type Level = keyof typeof LEVELS;
const threshold = LEVELS[(process.env["AGENTGATE_LOG_LEVEL"] as Level) ?? "info"] ?? LEVELS.info;

/**
 * Writes one log line. Every module's default logger is this function (gRPC, sync clients,
 * limits), so all lines share one format, one level threshold and the secret-field filter.
 */
export function writeLog(level: Level, msg: string, fields?: Fields): void {
  if (LEVELS[level] < threshold) return;
  const line: Fields = { t: new Date().toISOString(), level, msg, component: process.env["AGENTGATE_COMPONENT"] };
  if (fields) for (const [k, v] of Object.entries(fields)) if (!SECRET_FIELD.test(k)) line[k] = v;
  // Versions and sequence numbers are bigints, which JSON.stringify refuses.
  process.stderr.write(JSON.stringify(line, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)) + "\n");
}

/** The process logger. */
export const log = {
  debug: (msg: string, fields?: Fields) => writeLog("debug", msg, fields),
  info: (msg: string, fields?: Fields) => writeLog("info", msg, fields),
  warn: (msg: string, fields?: Fields) => writeLog("warn", msg, fields),
  error: (msg: string, fields?: Fields) => writeLog("error", msg, fields),
};
