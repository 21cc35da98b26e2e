import { create, equals, ScalarType } from "@bufbuild/protobuf";
import type { DescField, DescMessage, MessageShape } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import {
  addGrpcService,
  bearerInterceptor,
  callUnary,
  channelCredentials,
  grpcServiceDefinition,
  isLoopbackHost,
  makeGrpcClient,
  targetHost,
} from "./grpc-adapter.js";
import type { GrpcServiceImpl } from "./grpc-adapter.js";
import { ApprovalRequestSchema, ApprovalService, ApprovalTicketSchema } from "./gen/agentgate/v1/approval_pb.js";
import {
  AckRequestSchema,
  AckResponseSchema,
  PolicyService,
  SnapshotSchema,
  WatchRequestSchema,
} from "./gen/agentgate/v1/policy_pb.js";
import { ReportAckSchema, SessionBatchSchema, SessionService } from "./gen/agentgate/v1/session_pb.js";

/**
 * A message with EVERY field set to a non-default value, derived from the descriptor, so a
 * field added to the .proto later is covered by the round trip without touching this test.
 */
function sample<D extends DescMessage>(schema: D, seed = 1, depth = 0): MessageShape<D> {
  const init: Record<string, unknown> = {};
  for (const field of schema.fields) init[field.localName] = sampleField(field, seed + field.number, depth);
  return create<D>(schema, init as never);
}

function sampleScalar(type: ScalarType, seed: number): unknown {
  switch (type) {
    case ScalarType.STRING:
      return `s${seed}-ünïcode`;
    case ScalarType.BOOL:
      return true;
    case ScalarType.BYTES:
      return new Uint8Array([seed & 0xff, 1, 2]);
    case ScalarType.DOUBLE:
      return seed + 0.25;
    case ScalarType.FLOAT:
      return seed + 0.5;
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return -(2n ** 40n) - BigInt(seed);
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return 2n ** 63n + BigInt(seed); // beyond Number.MAX_SAFE_INTEGER and int64
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return -seed;
    default:
      return seed; // uint32, fixed32
  }
}

function sampleField(field: DescField, seed: number, depth: number): unknown {
  switch (field.fieldKind) {
    case "scalar":
      return sampleScalar(field.scalar, seed);
    case "enum":
      return field.enum.values[1]?.number ?? 0;
    case "message":
      return depth > 4 ? undefined : sample(field.message, seed, depth + 1);
    case "list":
      if (field.listKind === "message") return [sample(field.message, seed, depth + 1), sample(field.message, seed + 7, depth + 1)];
      if (field.listKind === "enum") return [field.enum.values[1]?.number ?? 0];
      return [sampleScalar(field.scalar, seed), sampleScalar(field.scalar, seed + 1)];
    case "map": {
      const key = String(sampleScalar(field.mapKey, seed));
      if (field.mapKind === "message") return { [key]: sample(field.message, seed, depth + 1) };
      if (field.mapKind === "enum") return { [key]: field.enum.values[1]?.number ?? 0 };
      return { [key]: sampleScalar(field.scalar, seed), other: sampleScalar(field.scalar, seed + 1) };
    }
  }
}

const watchRequest = sample(WatchRequestSchema);
const snapshots = [sample(SnapshotSchema, 1), sample(SnapshotSchema, 100)];
const ackRequest = sample(AckRequestSchema);
const batches = [sample(SessionBatchSchema, 1), sample(SessionBatchSchema, 50)];
const approvalRequest = sample(ApprovalRequestSchema);
const approvalTicket = sample(ApprovalTicketSchema);

describe("grpc adapter", () => {
  let server: grpc.Server;
  let address: string;
  const received: unknown[] = [];

  beforeAll(async () => {
    server = new grpc.Server();
    addGrpcService(server, PolicyService, {
      watch(call) {
        received.push(call.request);
        for (const s of snapshots) call.write(s);
        call.end();
      },
      ack(call, callback) {
        received.push(call.request);
        callback(null, {}); // init object: the adapter creates the message
      },
    } satisfies GrpcServiceImpl<typeof PolicyService>);
    addGrpcService(server, SessionService, {
      report(call) {
        let i = 0;
        call.on("data", (batch: MessageShape<typeof SessionBatchSchema>) => {
          received.push(batch);
          const ack = create(ReportAckSchema, { ids: batch.records.map((r) => r.id), rejectedIds: [`r${i++}`], error: "e" });
          call.write(ack);
        });
        call.on("end", () => call.end());
      },
    });
    addGrpcService(server, ApprovalService, {
      request(call, callback) {
        received.push(call.request);
        callback(null, approvalTicket);
      },
      consumeGrant: (_call, callback) => callback({ code: grpc.status.UNIMPLEMENTED }),
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    address = `127.0.0.1:${port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  });

  test("definition paths and streaming flags come from the descriptors", () => {
    const policy = grpcServiceDefinition(PolicyService);
    expect(policy.watch.path).toBe("/agentgate.v1.PolicyService/Watch");
    expect([policy.watch.requestStream, policy.watch.responseStream]).toEqual([false, true]);
    expect(policy.ack.path).toBe("/agentgate.v1.PolicyService/Ack");
    expect([policy.ack.requestStream, policy.ack.responseStream]).toEqual([false, false]);
    const session = grpcServiceDefinition(SessionService);
    expect(session.report.path).toBe("/agentgate.v1.SessionService/Report");
    expect([session.report.requestStream, session.report.responseStream]).toEqual([true, true]);
    expect(grpcServiceDefinition(ApprovalService).request.path).toBe("/agentgate.v1.ApprovalService/Request");
    // Built once per descriptor.
    expect(grpcServiceDefinition(PolicyService)).toBe(policy);
  });

  test("PolicyService: server-streaming Watch and unary Ack round-trip every field", async () => {
    const client = makeGrpcClient(PolicyService, address, grpc.credentials.createInsecure());
    try {
      const got = await new Promise<unknown[]>((resolve, reject) => {
        const out: unknown[] = [];
        const stream = client.watch(watchRequest);
        stream.on("data", (s) => out.push(s));
        stream.on("error", reject);
        stream.on("end", () => resolve(out));
      });
      expect(got).toHaveLength(2);
      got.forEach((s, i) => expect(equals(SnapshotSchema, s as never, snapshots[i]!)).toBe(true));
      expect(equals(WatchRequestSchema, received.at(-1) as never, watchRequest)).toBe(true);
      // The nested messages really were populated (guards against a vacuous sample()).
      expect(snapshots[0]!.policies[0]!.limits!.costPerRun).not.toEqual({});
      expect(snapshots[0]!.version).toBeGreaterThan(BigInt(Number.MAX_SAFE_INTEGER));

      const ackResponse = await callUnary(client, "ack", ackRequest, { deadline: 5000 });
      expect(equals(AckResponseSchema, ackResponse, create(AckResponseSchema))).toBe(true);
      expect(equals(AckRequestSchema, received.at(-1) as never, ackRequest)).toBe(true);
    } finally {
      client.close();
    }
  });

  test("SessionService: bidi-streaming Report round-trips every field", async () => {
    const client = makeGrpcClient(SessionService, address, grpc.credentials.createInsecure());
    try {
      const acks = await new Promise<unknown[]>((resolve, reject) => {
        const out: unknown[] = [];
        const stream = client.report();
        stream.on("data", (a) => out.push(a));
        stream.on("error", reject);
        stream.on("end", () => resolve(out));
        for (const b of batches) stream.write(b);
        stream.end();
      });
      expect(equals(SessionBatchSchema, received.at(-2) as never, batches[0]!)).toBe(true);
      expect(equals(SessionBatchSchema, received.at(-1) as never, batches[1]!)).toBe(true);
      expect(acks).toHaveLength(2);
      const expected = create(ReportAckSchema, { ids: batches[1]!.records.map((r) => r.id), rejectedIds: ["r1"], error: "e" });
      expect(equals(ReportAckSchema, acks[1] as never, expected)).toBe(true);
      expect(batches[0]!.records[0]!.events).toHaveLength(2);
    } finally {
      client.close();
    }
  });

  test("ApprovalService: unary Request round-trips every field", async () => {
    const client = makeGrpcClient(ApprovalService, address, grpc.credentials.createInsecure());
    try {
      const ticket = await callUnary(client, "request", approvalRequest);
      expect(equals(ApprovalTicketSchema, ticket, approvalTicket)).toBe(true);
      expect(equals(ApprovalRequestSchema, received.at(-1) as never, approvalRequest)).toBe(true);
    } finally {
      client.close();
    }
  });

  test("callUnary rejects with the grpc status of a failed call", async () => {
    const client = makeGrpcClient(ApprovalService, "127.0.0.1:1", grpc.credentials.createInsecure());
    try {
      await expect(callUnary(client, "request", {}, { deadline: 2000 })).rejects.toMatchObject({
        code: expect.any(Number),
      });
    } finally {
      client.close();
    }
  });

  test("bearerInterceptor adds the authorization header to every call", async () => {
    const seen: string[] = [];
    const s = new grpc.Server();
    addGrpcService(s, ApprovalService, {
      request(call, callback) {
        seen.push(String(call.metadata.get("authorization")[0]));
        callback(null, {});
      },
      consumeGrant: (_call, callback) => callback({ code: grpc.status.UNIMPLEMENTED }),
    });
    const port = await new Promise<number>((resolve, reject) =>
      s.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    const client = makeGrpcClient(ApprovalService, `127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
      interceptors: [bearerInterceptor("tok")],
    });
    try {
      await callUnary(client, "request", {});
      await callUnary(client, "request", {});
      expect(seen).toEqual(["Bearer tok", "Bearer tok"]);
    } finally {
      client.close();
      await new Promise<void>((resolve) => s.tryShutdown(() => resolve()));
    }
  });
});

describe("transport helpers", () => {
  test.each([
    ["127.0.0.1:50051", "127.0.0.1", true],
    ["localhost:1", "localhost", true],
    ["[::1]:50051", "::1", true],
    ["dns:///localhost:443", "localhost", true],
    ["ipv4:127.0.0.2:9", "127.0.0.2", true],
    ["unix:/tmp/cp.sock", "localhost", true],
    ["control-plane:50051", "control-plane", false],
    ["dns:///cp.example.com:443", "cp.example.com", false],
    ["10.0.0.1:50051", "10.0.0.1", false],
    ["127.evil.com:1", "127.evil.com", false],
  ])("%s → host %s, loopback %s", (address, host, loopback) => {
    expect(targetHost(address)).toBe(host);
    expect(isLoopbackHost(targetHost(address))).toBe(loopback);
  });

  test("plaintext to a non-loopback host is refused unless explicitly allowed", () => {
    expect(() => channelCredentials("cp.example.com:443")).toThrow(/refusing plaintext/);
    expect(channelCredentials("cp.example.com:443", undefined, true)).toBeInstanceOf(grpc.ChannelCredentials);
    expect(channelCredentials("127.0.0.1:1")).toBeInstanceOf(grpc.ChannelCredentials);
  });
});
