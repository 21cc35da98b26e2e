import { linkSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { isAlive } from "../data-plane/recording/dir-lock.js";

/** What a running demo writes into its lock file (and a second start prints). */
export interface InstanceInfo {
  pid: number;
  /** Filled in once the demo is up. */
  proxy?: string;
  graphql?: string;
  console?: string;
}

/** Held lock of one demo data folder. */
export interface InstanceLock {
  /** Records where the running demo serves. */
  update(info: Omit<InstanceInfo, "pid">): void;
  release(): void;
}

function readInfo(file: string): InstanceInfo | undefined {
  try {
    const parsed = JSON.parse(readFileSync(file, "utf8")) as InstanceInfo;
    return Number.isInteger(parsed.pid) && parsed.pid > 0 ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Takes the lock file of a demo data folder. It is hard-linked into place from a complete
 * temp file (atomic, fails if it exists), so two starts racing cannot both win and nobody
 * reads a half-written lock. A lock left by a process that no longer exists is taken over.
 * Returns the running instance's info instead when another live process holds it.
 */
export function acquireInstanceLock(file: string): { ok: true; lock: InstanceLock } | { ok: false; running: InstanceInfo } {
  for (let attempt = 0; attempt < 2; attempt++) {
    const temp = `${file}.${process.pid}`;
    writeFileSync(temp, JSON.stringify({ pid: process.pid }));
    try {
      linkSync(temp, file);
      let released = false;
      rmSync(temp, { force: true });
      return {
        ok: true,
        lock: {
          update: (info) => {
            writeFileSync(temp, JSON.stringify({ ...info, pid: process.pid }));
            renameSync(temp, file);
          },
          release: () => {
            if (released) return;
            released = true;
            if (readInfo(file)?.pid === process.pid) rmSync(file, { force: true });
          },
        },
      };
    } catch (err) {
      rmSync(temp, { force: true });
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const holder = readInfo(file);
      // A live holder wins; a dead one (crash, kill -9) or an unreadable file is stale.
      if (holder && holder.pid !== process.pid && isAlive(holder.pid)) return { ok: false, running: holder };
      rmSync(file, { force: true });
    }
  }
  throw new Error(`could not take the demo lock ${file}`);
}
