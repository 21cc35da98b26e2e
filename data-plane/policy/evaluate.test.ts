import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { SnapshotSchema, type Snapshot } from "../../proto/gen/agentgate/v1/policy_pb.js";
import { compilePolicy, SnapshotInvalidError } from "./compile.js";
import { evaluate, graphVisible } from "./evaluate.js";

const ISS = "https://idp.example.com";

function snapshot(overrides: Omit<MessageInitShape<typeof SnapshotSchema>, "$typeName"> = {}): Snapshot {
  return create(SnapshotSchema, {
    version: 7n,
    connections: [{ id: "c1", name: "prod", baseUrl: "http://127.0.0.1:2024", credential: "k" }],
    roleBindings: [
      { role: "analyst", issuer: ISS, group: "analysts" },
      { role: "support", issuer: ISS, group: "support" },
      { role: "admin", issuer: ISS, subject: "root" },
    ],
    policies: [
      { id: "p1", name: "analysts", role: "analyst", connectionId: "c1", graphs: ["echo", "report-*"], operations: ["runs:*", "threads:read", "assistants:search"] },
      { id: "p2", name: "support", role: "support", connectionId: "c1", graphs: ["*"], operations: ["threads:read", "threads:read:any"] },
      { id: "p3", name: "admin", role: "admin", connectionId: "c1", graphs: ["*"], operations: ["*"] },
    ],
    suspendedIdentities: [{ issuer: ISS, subject: "banned" }],
    ...overrides,
  });
}

const policy = compilePolicy(snapshot());
const who = (subject: string, groups: string[] = [], issuer = ISS) => ({ issuer, subject, groups });

describe("evaluate", () => {
  test.each([
    // [case, subject, groups, operation, graph, allow, reason]
    ["group grant, exact graph", "a", ["analysts"], "runs:wait", "echo", true, "allowed"],
    ["group grant, glob graph", "a", ["analysts"], "runs:stream", "report-daily", true, "allowed"],
    ["glob does not over-match", "a", ["analysts"], "runs:wait", "reports", false, "graph-not-allowed"],
    ["operation outside the grant", "a", ["analysts"], "threads:delete", undefined, false, "operation-not-allowed"],
    ["graph outside the grant", "a", ["analysts"], "runs:wait", "leaky", false, "graph-not-allowed"],
    ["no role at all", "a", ["strangers"], "runs:wait", "echo", false, "no-role"],
    ["same group name from another issuer", "a", ["analysts"], "runs:wait", "echo", false, "no-role"],
    ["identity binding", "root", [], "store:put", undefined, true, "allowed"],
    ["suspended wins over every grant", "banned", ["analysts"], "runs:wait", "echo", false, "identity-suspended"],
    ["graph-agnostic operation", "a", ["analysts"], "assistants:search", undefined, true, "allowed"],
    ["meta:info for anyone with a policy", "s", ["support"], "meta:info", undefined, true, "allowed"],
  ] as const)("%s", (_name, subject, groups, operation, graph, allow, reason) => {
    const issuer = _name.includes("another issuer") ? "https://evil.example.com" : ISS;
    const d = evaluate(policy, who(subject, [...groups], issuer), "c1", operation, graph);
    expect([d.allow, d.reason]).toEqual([allow, reason]);
  });

  test("a policy on another connection grants nothing here", () => {
    expect(evaluate(policy, who("a", ["analysts"]), "c2", "runs:wait", "echo").reason).toBe("no-policy-for-connection");
  });

  test("threads:read:any is carried by the decision; the first policy by name applies", () => {
    const d = evaluate(policy, who("s", ["support", "analysts"]), "c1", "threads:read", undefined);
    expect(d.allow && d.threadsAny).toBe(true);
    expect(d.allow && d.rule.name).toBe("analysts");
    const plain = evaluate(policy, who("a", ["analysts"]), "c1", "threads:read", undefined);
    expect(plain.allow && plain.threadsAny).toBe(false);
  });

  test("graphVisible filters search results by the granting policies", () => {
    const d = evaluate(policy, who("a", ["analysts"]), "c1", "assistants:search", undefined);
    if (!d.allow) throw new Error("expected allow");
    expect(["echo", "report-x", "leaky"].filter((g) => graphVisible(d.rules, g))).toEqual(["echo", "report-x"]);
  });

  test("evaluation cost does not depend on unrelated policies", () => {
    const many = snapshot({
      policies: Array.from({ length: 20_000 }, (_, i) => ({ id: `x${i}`, name: `x${i}`, role: `role-${i}`, connectionId: "c1", graphs: ["*"], operations: ["*"] })),
      roleBindings: [{ role: "role-1", issuer: ISS, group: "g1" }],
    });
    const compiled = compilePolicy(many);
    // Only the caller's roles are looked up: the index holds one list per role × connection.
    expect(compiled.rulesByRoleConnection.get(`role-1\u0000c1`)).toHaveLength(1);
    expect(evaluate(compiled, who("u", ["g1"]), "c1", "runs:wait", "echo").allow).toBe(true);
  });
});

describe("compilePolicy", () => {
  test("rejects a snapshot with every problem listed, never half-applies", () => {
    const bad = snapshot({
      connections: [{ id: "c1", name: "prod", baseUrl: "ftp://x", credential: "k" }],
      policies: [
        { id: "p1", name: "a", role: "r", connectionId: "nope", graphs: ["bad glob!"], operations: ["*"] },
        { id: "p2", name: "b", role: "r", connectionId: "c1", graphs: ["*"], operations: ["*"], denylist: [{ id: "d", pattern: "(" }] },
      ],
    });
    try {
      compilePolicy(bad);
      throw new Error("expected a rejection");
    } catch (e) {
      expect(e).toBeInstanceOf(SnapshotInvalidError);
      const problems = (e as SnapshotInvalidError).problems.join("\n");
      expect(problems).toMatch(/base URL must be http/);
      expect(problems).toMatch(/policy a: unknown connection/);
      expect(problems).toMatch(/invalid glob/);
      expect(problems).toMatch(/invalid denylist pattern/);
    }
  });
});
