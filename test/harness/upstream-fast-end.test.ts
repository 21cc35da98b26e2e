/** `fastRunEnd`: runs end as soon as they are done, with nothing lost or reordered. */
import { Client } from "@langchain/langgraph-sdk";
import { startLangGraph, type LangGraphUpstream } from "./upstream.js";
import { FAST_RUN_END_DONE_LOG } from "./upstream-fast-end.js";

const API_KEY = "fast-end-key";
let upstream: LangGraphUpstream;
let client: Client;
const logs: string[] = [];

beforeAll(async () => {
  upstream = await startLangGraph({ apiKey: API_KEY, fastRunEnd: true, onLog: (line) => logs.push(line) });
  client = new Client({ apiUrl: upstream.url, apiKey: API_KEY });
});

afterAll(async () => {
  await upstream?.stop();
});

test("the patch is installed", () => {
  expect(logs.filter((l) => l.includes("fast run end unavailable"))).toEqual([]);
});

test("runs.wait on echo is ended by the patch's done message, not by the 500 ms poll", async () => {
  // Asserted as a count, not a duration: the patch publishes "done" once per finished run,
  // before the join can time out, so each wait (answered correctly) saw exactly one.
  const doneLines = () => logs.filter((l) => l.includes(FAST_RUN_END_DONE_LOG));
  const before = doneLines().length;
  for (let i = 0; i < 5; i++) {
    expect(await client.runs.wait(null, "echo", { input: { i } })).toEqual({ i });
    // The wait has returned; the line may still be on its way through the child's stdout.
    while (doneLines().length < before + i + 1) await new Promise((r) => setTimeout(r, 10));
  }
  expect(doneLines()).toHaveLength(before + 5);
  expect(new Set(doneLines().map((l) => l.split(" ").at(-1))).size).toBe(before + 5); // one per run
});

test("on a thread: every event arrives, and the thread is idle when the run returns", async () => {
  const thread = await client.threads.create();
  for (let i = 1; i <= 3; i++) {
    const events: string[] = [];
    for await (const e of client.runs.stream(thread.thread_id, "slow", {
      input: { steps: 2, delay_ms: 20, messages: [{ role: "user", content: `m${i}` }] },
      streamMode: ["updates", "values"],
    })) {
      events.push(e.event);
    }
    expect(events.filter((e) => e === "updates")).toHaveLength(4); // begin, tick, tick, answer
    expect(events.at(-1)).toBe("values");
    expect((await client.threads.get(thread.thread_id)).status).toBe("idle");
    const state = await client.threads.getState<{ messages: unknown[] }>(thread.thread_id);
    expect(state.values.messages).toHaveLength(2 * i);
  }
});

test("a cancelled background run still ends its join", async () => {
  const thread = await client.threads.create();
  const run = await client.runs.create(thread.thread_id, "slow", { input: { steps: 20, delay_ms: 200 } });
  setTimeout(() => void client.runs.cancel(thread.thread_id, run.run_id), 300);
  await client.runs.join(thread.thread_id, run.run_id);
  expect((await client.runs.get(thread.thread_id, run.run_id)).status).toBe("interrupted");
});
