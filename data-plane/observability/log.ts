/**
 * Structured JSON logs on stderr. Callers pass facts, never secrets or tokens; fields
 * named like credentials are dropped as a last line of defence.
 */
type Fields = Record<string, unknown>;

const SECRET_FIELD = /token|secret|password|credential|authorization|api[-_]?key/i;
const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const;
type Level = keyof typeof LEVELS;
const threshold = LEVELS[(process.env["AGENTGATE_LOG_LEVEL"] as Level) ?? "info"] ?? LEVELS.info;

function emit(level: Level, msg: string, fields?: Fields): void {
  if (LEVELS[level] < threshold) return;
  const line: Fields = { t: new Date().toISOString(), level, msg, component: process.env["AGENTGATE_COMPONENT"] };
  if (fields) for (const [k, v] of Object.entries(fields)) if (!SECRET_FIELD.test(k)) line[k] = v;
  process.stderr.write(JSON.stringify(line) + "\n");
}

/** The process logger. */
export const log = {
  debug: (msg: string, fields?: Fields) => emit("debug", msg, fields),
  info: (msg: string, fields?: Fields) => emit("info", msg, fields),
  warn: (msg: string, fields?: Fields) => emit("warn", msg, fields),
  error: (msg: string, fields?: Fields) => emit("error", msg, fields),
};
