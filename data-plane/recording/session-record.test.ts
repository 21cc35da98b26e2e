import { buildSessionRecord } from "./session-record.js";
import type { RequestContext } from "../pipeline/context.js";

test("a record never carries U+0000 (PostgreSQL cannot store it; it would block the spool)", () => {
  const ctx = {
    req: { id: "01a2-id", method: "POST", rawPath: "/runs/wait", startedAt: 1_000 },
    state: { policy: { version: 3n } },
    identity: { issuer: "https://idp", subject: "al\u0000ice", email: undefined, groups: ["g\u0000"] },
    record: {
      decision: "allow", reasons: ["allowed"], status: 200, errorCode: "", bytesIn: 2, bytesOut: 3, cost: 0,
      requestJson: "{}", responseJson: "text \u0000 body", events: [{ offsetMs: 1, event: "data", data: "x\u0000y" }], maskCounts: {},
    },
  } as unknown as RequestContext;
  const record = buildSessionRecord(ctx, "proxy-1", 1_010);
  expect(JSON.stringify(record, (_, v) => (typeof v === "bigint" ? String(v) : v))).not.toContain("\\u0000");
  expect(record.responseJson).toBe("text \uFFFD body");
  expect(record).toMatchObject({ id: "01a2-id", proxyId: "proxy-1", durationMs: 10, snapshotVersion: 3n, subject: "al\uFFFDice" });
});
