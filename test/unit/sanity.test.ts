import { generateKeyPair, SignJWT } from "jose";
import { create, toBinary, fromBinary } from "@bufbuild/protobuf";
import { SnapshotSchema } from "../../proto/gen/agentgate/v1/policy_pb.js";
test("esm deps load", async () => {
  const { privateKey } = await generateKeyPair("RS256");
  const t = await new SignJWT({}).setProtectedHeader({ alg: "RS256" }).sign(privateKey);
  expect(t.split(".")).toHaveLength(3);
  const s = create(SnapshotSchema, { version: 3n });
  expect(fromBinary(SnapshotSchema, toBinary(SnapshotSchema, s)).version).toBe(3n);
});
