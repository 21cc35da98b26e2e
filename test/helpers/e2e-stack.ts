import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startStack, type Stack, type StackOptions } from "../../demo/stack.js";
import { openStore, type Store } from "../../control-plane/store/client.js";
import { createTestDatabase, type TestDatabase, type TestProvider } from "./databases.js";

/** A running stack for an end-to-end test file, with its throw-away database and folder. */
export interface E2eStack {
  readonly stack: Stack;
  readonly db: TestDatabase | undefined;
  /** A store on the control plane's database, for assertions on stored rows. */
  readonly store: Store | undefined;
  readonly dataDir: string;
  /** Stops everything and removes the database and the folder. */
  stop(): Promise<void>;
}

/**
 * Starts the whole system for a test file: a fresh database of `provider` (PostgreSQL
 * schema or SQLite file; none = the stack's own SQLite file), a temp data folder, and
 * optionally a store on the same database. Everything started is stopped on failure.
 */
export async function startE2eStack(
  opts: Omit<StackOptions, "dataDir" | "databaseUrl"> & { provider?: TestProvider; store?: boolean } = {},
): Promise<E2eStack> {
  const { provider, store: wantStore, ...stackOptions } = opts;
  const dataDir = mkdtempSync(join(tmpdir(), "agentgate-e2e-"));
  let db: TestDatabase | undefined;
  let stack: Stack | undefined;
  let store: Store | undefined;
  const stop = async () => {
    await stack?.stop();
    await store?.close();
    await db?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    db = provider ? await createTestDatabase(provider) : undefined;
    stack = await startStack({ ...stackOptions, dataDir, ...(db ? { databaseUrl: db.url } : {}) });
    store = wantStore && db ? await openStore(db.url) : undefined;
    return { stack, db, store, dataDir, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
