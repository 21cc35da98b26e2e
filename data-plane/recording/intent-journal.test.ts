import { appendFileSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { SessionRecordSchema } from "../../proto/gen/agentgate/v1/session_pb.js";
import { IntentJournal, PROXY_CRASHED } from "./intent-journal.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "intent-journal-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const provisional = (id: string) => create(SessionRecordSchema, { id, requestId: id, subject: `user-${id}`, method: "POST", path: "/runs/wait", decision: "allow", errorCode: PROXY_CRASHED });
const nothingRecorded = () => false;

/** Opens the journal as a restarted proxy would: what was open then comes back as orphans. */
async function reopen(recorded: (id: string) => boolean = nothingRecorded) {
  return IntentJournal.open({ dir }, recorded);
}

test("an exchange begun and never ended (the proxy died while it was upstream) comes back as a crash record", async () => {
  const { journal } = await reopen();
  await journal.begin(provisional("run-1"));
  await journal.begin(provisional("run-2"));
  journal.end("run-2");
  // No close(): the process is gone; the next start reads the file as it is.
  const { journal: next, orphans } = await reopen();
  expect(orphans.map((r) => [r.id, r.subject, r.errorCode])).toEqual([["run-1", "user-run-1", PROXY_CRASHED]]);
  await journal.close();
  await next.close();
});

test("an open entry whose record the spool already holds is not reported twice", async () => {
  const { journal } = await reopen();
  await journal.begin(provisional("written"));
  await journal.begin(provisional("lost"));
  const { journal: next, orphans } = await reopen((id) => id === "written");
  expect(orphans.map((r) => r.id)).toEqual(["lost"]);
  await journal.close();
  await next.close();
});

test("orphans stay open until their record is written: a second crash before that reports them again", async () => {
  const { journal } = await reopen();
  await journal.begin(provisional("cut"));
  const second = await reopen();
  expect(second.orphans.map((r) => r.id)).toEqual(["cut"]);
  const third = await reopen();
  expect(third.orphans.map((r) => r.id)).toEqual(["cut"]);
  third.journal.end("cut");
  const fourth = await reopen();
  expect(fourth.orphans).toEqual([]);
  for (const j of [journal, second.journal, third.journal, fourth.journal]) await j.close();
});

test("a torn tail (kill -9 in the middle of a write) is ignored, earlier entries survive", async () => {
  const { journal } = await reopen();
  await journal.begin(provisional("before-tear"));
  appendFileSync(join(dir, "intents.log"), Buffer.from([0, 0, 1, 0, 9, 9]));
  const { journal: next, orphans } = await reopen();
  expect(orphans.map((r) => r.id)).toEqual(["before-tear"]);
  await journal.close();
  await next.close();
});

test("concurrent begins share group commits, and the file is compacted to the open entries", async () => {
  const { journal } = await IntentJournal.open({ dir, compactBytes: 16 * 1024 }, nothingRecorded);
  for (let round = 0; round < 20; round++) {
    const ids = Array.from({ length: 50 }, (_, i) => `r${round}-${i}`);
    await Promise.all(ids.map((id) => journal.begin(provisional(id))));
    for (const id of ids.slice(1)) journal.end(id); // one per round stays open
  }
  expect(journal.openCount).toBe(20);
  expect(statSync(join(dir, "intents.log")).size).toBeLessThan(64 * 1024); // ~1,000 entries written, compacted
  const { journal: next, orphans } = await reopen();
  expect(orphans.map((r) => r.id)).toEqual(Array.from({ length: 20 }, (_, round) => `r${round}-0`));
  await journal.close();
  await next.close();
});

test("a closed journal refuses new exchanges (nothing is forwarded unrecorded)", async () => {
  const { journal } = await reopen();
  await journal.close();
  await expect(journal.begin(provisional("late"))).rejects.toThrow(/closed/);
});
