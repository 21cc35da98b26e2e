/**
 * Test helper: a plausible, unsealed SessionRecord (the spool seals it). Used by the
 * spool and reporter tests and by the crash-test child process.
 */
import { create } from "@bufbuild/protobuf";
import { SessionRecordSchema } from "../../../proto/gen/agentgate/v1/session_pb.js";
import type { SessionRecord } from "../../../proto/gen/agentgate/v1/session_pb.js";
import { uuidv7 } from "../../../common/recording/uuidv7.js";

/** A record with a fresh UUIDv7 id, `n` in its request body and about `bodyBytes` of response. */
export function testRecord(n: number, bodyBytes = 200): SessionRecord {
  return create(SessionRecordSchema, {
    id: uuidv7(),
    proxyId: "proxy-test",
    startedAtMs: BigInt(Date.now()),
    durationMs: 3,
    requestId: `req-${n}`,
    issuer: "https://idp.example",
    subject: "alice",
    groups: ["eng"],
    operation: "runs:wait",
    graph: "agent",
    decision: "allow",
    reasons: ["policy-allow"],
    method: "POST",
    path: "/runs/wait",
    status: 200,
    requestJson: JSON.stringify({ n }),
    responseJson: JSON.stringify({ pad: "x".repeat(bodyBytes) }),
  });
}
