/**
 * An exclusive lock on a spool directory, so two processes (or two opens in one process)
 * never append to the same segments: interleaved writers would corrupt frames and fork
 * the hash chain.
 *
 * The lock is a `LOCK` file holding "<pid> <process start time>". A lock left behind by a
 * process that died (e.g. `kill -9`) is taken over: its pid is gone, or now belongs to a
 * different process (pid reuse, common for pid 1 in containers), which the start time from
 * /proc tells apart. Without /proc (not Linux) only the pid is compared.
 */
import { open, readFile, unlink } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";

const heldInThisProcess = new Set<string>();

function startTimeOf(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Field 22 (starttime); fields are counted after the ")" that ends the command name.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? "?";
  } catch {
    return "?";
  }
}

/** The process `pid` exists (EPERM: it does, but belongs to someone else). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function isStale(content: string): boolean {
  const [pidText, started] = content.trim().split(" ");
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return true;
  // Our own pid: we are not holding it (checked before), so a previous incarnation did.
  if (pid === process.pid) return true;
  if (!isAlive(pid)) return true;
  const now = startTimeOf(pid);
  return started !== undefined && started !== "?" && now !== "?" && now !== started;
}

/** A held directory lock; release() removes it. */
export interface DirLock {
  release(): Promise<void>;
}

/** Takes the lock on `dir` or throws an Error with code "ELOCKED" if a live process holds it. */
export async function lockDir(dir: string): Promise<DirLock> {
  const key = resolve(dir);
  if (heldInThisProcess.has(key)) throw Object.assign(new Error(`${dir} is already open in this process`), { code: "ELOCKED" });
  // Reserved before the first await, so two concurrent opens in this process cannot both
  // see our own pid in the file and each take it for a stale lock.
  heldInThisProcess.add(key);
  try {
    return await acquire(dir, key);
  } catch (err) {
    heldInThisProcess.delete(key);
    throw err;
  }
}

async function acquire(dir: string, key: string): Promise<DirLock> {
  const path = join(dir, "LOCK");
  const content = `${process.pid} ${startTimeOf(process.pid)}\n`;
  const locked = (holder: string) =>
    Object.assign(new Error(`${dir} is locked by process ${holder.trim() || "?"}`), { code: "ELOCKED" });
  const create = async () => {
    const fh = await open(path, "wx"); // O_EXCL: exactly one creator wins
    try {
      await fh.writeFile(content);
    } finally {
      await fh.close();
    }
  };
  try {
    await create();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    const holder = await readFile(path, "utf8").catch(() => "");
    if (!isStale(holder)) throw locked(holder);
    await unlink(path).catch(() => undefined);
    // Another process taking over the same stale lock at this moment usually loses here
    // (not always: it may unlink the lock we just made; two proxies must not share a dir).
    await create().catch((e: unknown) => {
      throw (e as NodeJS.ErrnoException).code === "EEXIST" ? locked("") : e;
    });
  }
  return {
    async release() {
      heldInThisProcess.delete(key);
      await unlink(path).catch(() => undefined);
    },
  };
}
