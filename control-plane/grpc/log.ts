/**
 * The structured-log function the gRPC layer writes to. Callers (main.ts) pass the
 * plane's logger; the default writes one JSON line per event to stderr. Fields must never
 * contain tokens or snapshot contents.
 */
import { writeLog } from "../../common/observability/log.js";

export type GrpcLog = (level: "debug" | "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>) => void;

/** Default `GrpcLog`: the process logger (one JSON line per event on stderr). */
export const jsonLineLog: GrpcLog = writeLog;
