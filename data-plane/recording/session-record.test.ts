import { create, fromBinary, isMessage } from "@bufbuild/protobuf";
import { SessionEventSchema, SessionRecordSchema } from "../../proto/gen/agentgate/v1/session_pb.js";
import { encodeContent } from "../../common/recording/chain.js";
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

test("the rule covers every string of the record, not a list of fields: ids, reasons, query, mask labels, event names", () => {
  const ctx = {
    req: { id: "01a2-id", method: "POST", rawPath: "/threads/t\u0000", startedAt: 1_000 },
    state: { policy: { version: 3n } },
    assistantId: "as\u0000", threadId: "th\u0000", runId: "ru\u0000", graph: "gr\u0000",
    masker: { counts: () => ({ "lab\u0000el": 2 }) },
    record: {
      decision: "deny", reasons: ["no\u0000such"], status: 404, errorCode: "NOT_FOUND", bytesIn: 2, bytesOut: 3, cost: 0, query: "?x=\u0000",
      requestJson: "{}", responseJson: "{}", events: [{ offsetMs: 1, event: "ev\u0000", data: "{}" }],
    },
  } as unknown as RequestContext;
  const record = buildSessionRecord(ctx, "proxy-1", 1_010);
  expect(JSON.stringify(record, (_, v) => (typeof v === "bigint" ? String(v) : v))).not.toContain("\\u0000");
  expect(record).toMatchObject({ assistantId: "as\uFFFD", threadId: "th\uFFFD", runId: "ru\uFFFD", graph: "gr\uFFFD", reasons: ["no\uFFFDsuch"], path: "/threads/t\uFFFD?x=\uFFFD" });
  expect(record.maskCounts).toEqual({ "lab\uFFFDel": 2 });
  expect(record.events[0]!.event).toBe("ev\uFFFD");
});

test("the record is the complete message as built (every field, type names set): nothing copies it on the way to the spool", () => {
  const ctx = {
    req: { id: "01a2-id", method: "POST", rawPath: "/runs/stream", startedAt: 1_000 },
    state: { policy: { version: 3n } },
    record: {
      decision: "allow", reasons: ["allowed"], status: 200, errorCode: "", bytesIn: 2, bytesOut: 3, cost: 0, query: "",
      requestJson: "{}", responseJson: "", events: [{ offsetMs: 1, event: "values", data: "{}" }],
    },
  } as unknown as RequestContext;
  const record = buildSessionRecord(ctx, "proxy-1", 1_010);
  expect(create(SessionRecordSchema, record)).toBe(record);
  expect(isMessage(record.events[0], SessionEventSchema)).toBe(true);
  expect(Object.keys(create(SessionRecordSchema, {})).sort()).toEqual(Object.keys(record).sort());
  expect(fromBinary(SessionRecordSchema, encodeContent(record))).toEqual({ ...record });
});
