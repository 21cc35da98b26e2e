/**
 * The structured-log function the gRPC layer writes to. Callers (main.ts) pass the
 * plane's logger; the default writes one JSON line per event to stderr. Fields must never
 * contain tokens or snapshot contents.
 */
export type GrpcLog = (level: "debug" | "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>) => void;

/** Default `GrpcLog`: `{"time","level","msg",...fields}` as one JSON line on stderr (bigints as strings). */
export const jsonLineLog: GrpcLog = (level, msg, fields = {}) => {
  const line = JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }, (_k, v: unknown) =>
    typeof v === "bigint" ? v.toString() : v,
  );
  process.stderr.write(`${line}\n`);
};
