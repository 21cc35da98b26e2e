/**
 * Structured JSON logs on stderr, through pino (asynchronous writes, levels, child
 * loggers). One line per event: {"level","t","component","msg",…fields}. Callers pass
 * facts, never secrets or tokens; as a last line of defence every field named like a
 * credential is dropped at any depth, and any Error (at any depth) is written with its
 * type, message, stack and cause chain.
 */
import pino, { type Logger } from "pino";

type Fields = Record<string, unknown>;
type Level = "debug" | "info" | "warn" | "error";

const SECRET_FIELD = /token|secret|password|credential|authorization|cookie|api[-_]?key/i;
const MAX_DEPTH = 8;

/** The fields as they may be written: secret-named keys dropped, Errors serialized, bigints as strings. */
function loggable(value: unknown, depth = 0): unknown {
  if (typeof value === "bigint") return value.toString(); // versions and sequence numbers
  if (value instanceof Error) return pino.stdSerializers.errWithCause(value);
  if (value === null || typeof value !== "object") return value;
  if (depth >= MAX_DEPTH) return "[too deep]";
  if (Array.isArray(value)) return value.map((v) => loggable(v, depth + 1));
  if (Buffer.isBuffer(value) || ArrayBuffer.isView(value)) return `[${value.byteLength} bytes]`;
  const out: Fields = {};
  for (const [k, v] of Object.entries(value)) if (!SECRET_FIELD.test(k)) out[k] = loggable(v, depth + 1);
  return out;
}

const destination = pino.destination({ fd: 2, sync: false });

const root: Logger = pino(
  {
    level: process.env["AGENTGATE_LOG_LEVEL"] ?? "info",
    base: { component: process.env["AGENTGATE_COMPONENT"] },
    messageKey: "msg",
    timestamp: () => `,"t":"${new Date().toISOString()}"`,
    // Errors are serialized by `loggable` at any key and depth; pino's own `err`
    // serializer would see that result again and lose its type.
    serializers: { err: (value: unknown) => value },
    formatters: {
      level: (label) => ({ level: label }),
      bindings: (bindings) => loggable(bindings) as Fields,
      log: (fields) => loggable(fields) as Fields,
    },
  },
  destination,
);

/** A logger with its own fixed fields (a component, a request id) on every line. */
export interface FieldLogger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  child(bindings: Fields): FieldLogger;
}

function wrap(logger: Logger): FieldLogger {
  return {
    debug: (msg, fields) => logger.debug(fields ?? {}, msg),
    info: (msg, fields) => logger.info(fields ?? {}, msg),
    warn: (msg, fields) => logger.warn(fields ?? {}, msg),
    error: (msg, fields) => logger.error(fields ?? {}, msg),
    child: (bindings) => wrap(logger.child(loggable(bindings) as Fields)),
  };
}

/** The process logger. Every module's default logger is this one (gRPC, sync clients, limits). */
export const log: FieldLogger = wrap(root);

/** Writes one log line at `level` (for modules that take the level as data). */
export function writeLog(level: Level, msg: string, fields?: Fields): void {
  log[level](msg, fields);
}

/** Writes out what is buffered; call before process.exit (async writes would be lost). */
export function flushLogs(): void {
  try {
    destination.flushSync();
  } catch {
    // not ready yet (nothing written) or already closed: nothing to flush
  }
}

// process.exit() (fatal start-up errors, the end of a shutdown) runs 'exit' listeners
// synchronously: the last lines are written, not dropped with the async buffer.
process.on("exit", flushLogs);
