import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { bearerInterceptor, bindGrpcService, callUnary, channelCredentials, makeGrpcClient } from "../../proto/grpc-adapter.js";
import type { GrpcClient, TlsFiles } from "../../proto/grpc-adapter.js";
import { PolicyService, SnapshotSchema } from "../../proto/gen/agentgate/v1/policy_pb.js";
import type { Snapshot } from "../../proto/gen/agentgate/v1/policy_pb.js";
import { SnapshotPublisher } from "../snapshot/publisher.js";
import { ProxyStatusRegistry } from "../snapshot/status.js";
import type { GrpcLog } from "./log.js";
import { createPolicyService } from "./policy-service.js";
import { grpcServerTlsFromEnv, startGrpcServer } from "./server.js";
import type { GrpcServerHandle, GrpcServerTls } from "./server.js";

const TOKEN = "test-proxy-token-0123456789";
const SECRET = "sk-upstream-secret";
const snap = (version: number): Snapshot =>
  create(SnapshotSchema, { version: BigInt(version), connections: [{ id: "c1", credential: SECRET }] });

interface Cp {
  server: GrpcServerHandle;
  publisher: SnapshotPublisher;
  status: ProxyStatusRegistry;
  logs: string[];
}

async function startCp(extra: { tls?: GrpcServerTls } = {}): Promise<Cp> {
  const publisher = new SnapshotPublisher(snap(3));
  const status = new ProxyStatusRegistry();
  const logs: string[] = [];
  const log: GrpcLog = (level, msg, fields) => logs.push(JSON.stringify({ level, msg, ...fields }, (_k, v) => (typeof v === "bigint" ? `${v}` : v)));
  const server = await startGrpcServer({
    port: 0,
    proxyToken: TOKEN,
    services: [bindGrpcService(PolicyService, createPolicyService({ publisher, status, log }))],
    log,
    ...extra,
  });
  return { server, publisher, status, logs };
}

/** Opens a Watch and collects what arrives until the stream ends or `ms` pass. */
function watchFor(client: GrpcClient<typeof PolicyService>, ms: number, proxyId = "p1") {
  return new Promise<{ snapshots: Snapshot[]; code: number | undefined }>((resolve) => {
    const snapshots: Snapshot[] = [];
    const call = client.watch({ proxyId, lastVersion: 0n });
    const timer = setTimeout(() => call.cancel(), ms);
    call.on("data", (s: Snapshot) => snapshots.push(s));
    call.on("error", () => undefined);
    call.on("status", (s: grpc.StatusObject) => {
      clearTimeout(timer);
      resolve({ snapshots, code: s.code });
    });
  });
}

describe("control-plane gRPC server: proxy token on every call", () => {
  let cp: Cp;
  beforeAll(async () => {
    cp = await startCp();
  });
  afterAll(async () => {
    await cp.server.stop(100);
  });

  test.each([
    ["no token", [] as grpc.Interceptor[]],
    ["wrong token", [bearerInterceptor("wrong-token-but-long-enough")]],
  ])("%s: Watch ends UNAUTHENTICATED and nothing is streamed", async (_name, interceptors) => {
    const client = makeGrpcClient(PolicyService, cp.server.address, grpc.credentials.createInsecure(), { interceptors });
    try {
      const { snapshots, code } = await watchFor(client, 2000);
      expect(code).toBe(grpc.status.UNAUTHENTICATED);
      expect(snapshots).toEqual([]);
      await expect(callUnary(client, "ack", { proxyId: "p1", version: 3n })).rejects.toMatchObject({
        code: grpc.status.UNAUTHENTICATED,
      });
      // The handlers never ran: no proxy was recorded.
      expect(cp.status.list()).toEqual([]);
    } finally {
      client.close();
    }
  });

  test("with the token: current snapshot on connect, acks recorded, status visible", async () => {
    const client = makeGrpcClient(PolicyService, cp.server.address, grpc.credentials.createInsecure(), {
      interceptors: [bearerInterceptor(TOKEN)],
    });
    try {
      const { snapshots, code } = await watchFor(client, 300, "p-ok");
      expect(code).toBe(grpc.status.CANCELLED); // we cancelled it; the server would keep it open
      expect(snapshots.map((s) => s.version)).toEqual([3n]);
      expect(snapshots[0]!.connections[0]!.credential).toBe(SECRET);
      await callUnary(client, "ack", { proxyId: "p-ok", version: 3n });
      expect(cp.status.get("p-ok")).toMatchObject({ ackedVersion: 3n, lastError: null });
      await expect(callUnary(client, "ack", { proxyId: "bad id with spaces", version: 3n })).rejects.toMatchObject({
        code: grpc.status.INVALID_ARGUMENT,
      });
      const bad = await watchFor(client, 2000, "");
      expect(bad).toEqual({ snapshots: [], code: grpc.status.INVALID_ARGUMENT });
    } finally {
      client.close();
    }
  });

  test("a proxy that does not read gets only the newest snapshot once it resumes (HTTP/2 backpressure)", async () => {
    const client = makeGrpcClient(PolicyService, cp.server.address, grpc.credentials.createInsecure(), {
      interceptors: [bearerInterceptor(TOKEN)],
    });
    const big = (version: number) =>
      create(SnapshotSchema, { version: BigInt(version), assertionKey: "x".repeat(256 * 1024) }); // > the 64 KiB window
    try {
      const got: bigint[] = [];
      const call = client.watch({ proxyId: "slow", lastVersion: 0n });
      call.on("error", () => undefined);
      call.on("data", (s: Snapshot) => got.push(s.version));
      await new Promise((resolve) => call.once("data", resolve));
      call.pause(); // stop reading: flow control fills up, the server's write callback stalls
      const base = Number(cp.publisher.current()!.version);
      for (let i = 1; i <= 100; i++) {
        cp.publisher.publish(big(base + i));
        await new Promise((resolve) => setImmediate(resolve));
      }
      call.resume();
      const last = BigInt(base + 100);
      const deadline = Date.now() + 10_000;
      while (got.at(-1) !== last && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      call.cancel();
      expect(got.at(-1)).toBe(last);
      expect(got.length).toBeLessThan(20);
    } finally {
      client.close();
    }
  });

  test("logs never contain the token or snapshot secrets", () => {
    const all = cp.logs.join("\n");
    expect(all).toContain("grpc call refused");
    expect(all).not.toContain(TOKEN);
    expect(all).not.toContain("wrong-token-but-long-enough");
    expect(all).not.toContain(SECRET);
  });
});

describe("control-plane gRPC server: configuration", () => {
  test("plaintext on a non-loopback interface is refused", async () => {
    await expect(
      startGrpcServer({ port: 0, host: "0.0.0.0", proxyToken: TOKEN, services: [], log: () => undefined }),
    ).rejects.toThrow(/refusing plaintext/);
  });

  test("a short proxy token is refused", async () => {
    await expect(startGrpcServer({ port: 0, proxyToken: "short", services: [], log: () => undefined })).rejects.toThrow(
      /at least 16/,
    );
  });

  test("TLS env vars: none, half, full", () => {
    expect(grpcServerTlsFromEnv({})).toBeUndefined();
    expect(() => grpcServerTlsFromEnv({ AGENTGATE_GRPC_TLS_CERT_FILE: "/x" })).toThrow(/together/);
  });
});

// TLS and mTLS with certificates made by openssl for this run.
const haveOpenssl = (() => {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

(haveOpenssl ? describe : describe.skip)("control-plane gRPC server: TLS", () => {
  let dir: string;
  const pem = (name: string) => readFileSync(join(dir, name));
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "agentgate-tls-"));
    const run = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=test-ca");
    writeFileSync(join(dir, "server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
    for (const name of ["server", "client"]) {
      run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name}`);
      const ext = name === "server" ? ["-extfile", "server.ext"] : [];
      run("x509", "-req", "-in", `${name}.csr`, "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${name}.pem`, "-days", "1", ...ext);
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function firstSnapshotOver(cp: Cp, tls: TlsFiles): Promise<{ snapshots: Snapshot[]; code: number | undefined }> {
    const client = makeGrpcClient(PolicyService, cp.server.address, channelCredentials(cp.server.address, tls), {
      interceptors: [bearerInterceptor(TOKEN)],
    });
    try {
      return await watchFor(client, 500);
    } finally {
      client.close();
    }
  }

  test("TLS: a client trusting the CA gets snapshots", async () => {
    const cp = await startCp({ tls: { cert: pem("server.pem"), key: pem("server.key") } });
    try {
      const got = await firstSnapshotOver(cp, { ca: pem("ca.pem") });
      expect(got.snapshots.map((s) => s.version)).toEqual([3n]);
    } finally {
      await cp.server.stop(100);
    }
  });

  test("mTLS: a client without a certificate gets nothing; with one, snapshots", async () => {
    const cp = await startCp({ tls: { cert: pem("server.pem"), key: pem("server.key"), ca: pem("ca.pem") } });
    try {
      const refused = await firstSnapshotOver(cp, { ca: pem("ca.pem") });
      expect(refused.snapshots).toEqual([]);
      expect(refused.code).toBe(grpc.status.UNAVAILABLE);
      const got = await firstSnapshotOver(cp, { ca: pem("ca.pem"), cert: pem("client.pem"), key: pem("client.key") });
      expect(got.snapshots.map((s) => s.version)).toEqual([3n]);
    } finally {
      await cp.server.stop(100);
    }
  });
});
