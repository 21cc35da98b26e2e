/** The control plane's storage: open the database, migrate it, shared Prisma types. */
export { openStore, type OpenStoreOptions, type Store } from "./client.js";
export { migrate, MigrationError, type MigrateOptions, type MigrateResult } from "./migrate.js";
export { parseDatabaseUrl, redactUrl, DEFAULT_SQLITE_FILE, type DatabaseTarget } from "./database-url.js";
export * from "./types.js";
export { bumpSnapshotVersion, currentSnapshotVersion, SNAPSHOT_VERSION_ID } from "./snapshot-version.js";
export { storeSessions, type SessionInput, type StoreSessionsResult } from "./sessions.js";
