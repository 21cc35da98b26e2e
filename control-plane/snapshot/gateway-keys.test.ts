import { randomBytes } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { SnapshotSchema } from "../../proto/gen/agentgate/v1/policy_pb.js";
import { compilePolicy, SnapshotInvalidError } from "../../data-plane/policy/compile.js";
import { SecretBox } from "../secrets.js";
import { deriveGatewayKeys, GATEWAY_KEY_PURPOSES, MAX_KEY_GENERATIONS } from "./gateway-keys.js";

const box = () => SecretBox.fromBase64(randomBytes(32).toString("base64"));

describe("gateway keys", () => {
  test("one key per purpose and generation, current first, distinct, deterministic for one secret", () => {
    const secrets = box();
    const keys = deriveGatewayKeys(secrets, 3);
    expect(keys.map((k) => `${k.purpose}/${k.id}`)).toEqual(GATEWAY_KEY_PURPOSES.flatMap((p) => [`${p}/k3`, `${p}/k2`, `${p}/k1`]));
    const hex = keys.map((k) => Buffer.from(k.key).toString("hex"));
    expect(new Set(hex).size).toBe(hex.length);
    expect(deriveGatewayKeys(secrets, 3).map((k) => Buffer.from(k.key).toString("hex"))).toEqual(hex);
    // Another control-plane secret gives unrelated keys; a rotation keeps the older generations.
    expect(deriveGatewayKeys(box(), 3).some((k, i) => Buffer.from(k.key).toString("hex") === hex[i])).toBe(false);
    expect(deriveGatewayKeys(secrets, 4).filter((k) => k.id !== "k4").map((k) => Buffer.from(k.key).toString("hex"))).toEqual(hex);
  });

  test("older generations are kept up to the bound", () => {
    const keys = deriveGatewayKeys(box(), 40).filter((k) => k.purpose === "owner-tag");
    expect(keys).toHaveLength(MAX_KEY_GENERATIONS);
    expect(keys[0]!.id).toBe("k40");
  });

  test("proxies compile them by purpose in order and refuse malformed ones", () => {
    const gatewayKeys = deriveGatewayKeys(box(), 2);
    const policy = compilePolicy(create(SnapshotSchema, { version: 5n, gatewayKeys }));
    expect(policy.gatewayKeys.get("owner-tag")!.map((k) => k.id)).toEqual(["k2", "k1"]);
    expect(policy.gatewayKeys.get("pseudonym")![0]!.key.equals(Buffer.from(gatewayKeys.find((k) => k.purpose === "pseudonym")!.key))).toBe(true);
    const short = create(SnapshotSchema, { version: 5n, gatewayKeys: [{ purpose: "owner-tag", id: "k1", key: new Uint8Array(8) }] });
    expect(() => compilePolicy(short)).toThrow(SnapshotInvalidError);
  });
});
