/**
 * Crash-test child (run as `node --import tsx spool-crash-child.ts <dir> [fsync|written]`):
 * appends records to the spool in `dir` forever, 16 at a time, and prints each id on stdout
 * only after its append resolved (fsynced, or written to the OS with "written"). The test kills it with SIGKILL mid-stream
 * and checks every printed id survived.
 */
import { openSpool } from "../../sync/spool.js";
import { testRecord } from "./test-record.js";

const dir = process.argv[2];
const durability = process.argv[3] === "written" ? "written" : "fsync";
if (!dir) throw new Error("usage: spool-crash-child.ts <dir>");
const spool = await openSpool({ dir, maxBytes: 512 * 1024 * 1024, segmentBytes: 64 * 1024, onEvent: () => undefined });
process.stdout.write("ready\n");
let n = 0;
async function writer(): Promise<never> {
  for (;;) {
    const sealed = await spool.append(testRecord(n++, 300), { durability });
    process.stdout.write(`${sealed.id}\n`);
  }
}
await Promise.all(Array.from({ length: 16 }, writer));
