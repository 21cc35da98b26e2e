import type { Dispatcher } from "undici";
import { RunTracker, type FollowedRun, type RunEnd } from "./run-tracker.js";

/** A fake upstream answering each GET with the next scripted [status, body]; the last one repeats. */
function scripted(answers: Array<[number, unknown] | Error>): { pool: Dispatcher; calls: () => number } {
  let calls = 0;
  const pool = {
    request: async () => {
      const a = answers[Math.min(calls++, answers.length - 1)]!;
      if (a instanceof Error) throw a;
      return { statusCode: a[0], body: { text: async () => JSON.stringify(a[1]) } };
    },
  } as unknown as Dispatcher;
  return { pool, calls: () => calls };
}

function follow(tracker: RunTracker, pool: Dispatcher): Promise<RunEnd> {
  return new Promise((resolve) => {
    const run: FollowedRun = { pool, path: "/threads/t/runs/r", headers: () => ({}), onEnd: async (end) => resolve(end) };
    tracker.follow(run);
  });
}

const fast = { pollMinMs: 1, pollMaxMs: 2 };

test("a run is held while pending/running and let go once final", async () => {
  const tracker = new RunTracker(fast);
  const up = scripted([[200, { status: "pending" }], [200, { status: "running" }], [200, { status: "running" }], [200, { status: "success" }]]);
  const ended = follow(tracker, up.pool);
  expect(tracker.active).toBe(1);
  expect(await ended).toBe("final");
  expect(up.calls()).toBe(4);
  expect(tracker.active).toBe(0);
});

test.each(["error", "timeout", "interrupted"])("status %s is final", async (status) => {
  const up = scripted([[200, { status }]]);
  expect(await follow(new RunTracker(fast), up.pool)).toBe("final");
});

test("a run the upstream no longer knows (404, stateless thread deleted) is gone", async () => {
  expect(await follow(new RunTracker(fast), scripted([[404, {}]]).pool)).toBe("gone");
});

test("upstream errors keep the run held (fail closed) until the run's bound", async () => {
  const tracker = new RunTracker({ ...fast, maxRunMs: 50 });
  const up = scripted([new Error("ECONNREFUSED"), [500, {}], [200, "not json"]]);
  expect(await follow(tracker, up.pool)).toBe("timed-out");
  expect(up.calls()).toBeGreaterThan(2);
  expect(tracker.stats()).toMatchObject({ timedOut: 1, active: 0 });
  expect(tracker.stats().pollErrors).toBeGreaterThan(0);
});

test("a full tracker says so (admission refuses) and ends extra runs at once; close ends all", async () => {
  const tracker = new RunTracker({ ...fast, maxRuns: 1 });
  const first = follow(tracker, scripted([[200, { status: "running" }]]).pool);
  expect(tracker.full).toBe(true);
  expect(await follow(tracker, scripted([[200, { status: "running" }]]).pool)).toBe("stopped");
  await tracker.close();
  expect(await first).toBe("stopped");
  expect(tracker.full).toBe(true);
});
