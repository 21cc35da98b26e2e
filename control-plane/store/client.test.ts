import { withTestDatabases } from "../../test/helpers/databases.js";
import { openStore, type Store } from "./client.js";
import { storeSessions, type SessionInput } from "./sessions.js";
import { bumpSnapshotVersion, currentSnapshotVersion } from "./snapshot-version.js";
import { DbNull, isUniqueViolation } from "./types.js";

/** A session record as a proxy reports it (ids are UUIDv7-shaped strings). */
function session(n: number, overrides: Partial<SessionInput> = {}): SessionInput {
  return {
    id: `01900000-0000-7000-8000-${String(n).padStart(12, "0")}`,
    proxyId: "proxy-a",
    seq: BigInt(n),
    prevHash: `h${n - 1}`,
    hash: `h${n}`,
    startedAt: new Date(Date.UTC(2026, 10, 25, 12, 0, n)),
    durationMs: 12,
    requestId: `req-${n}`,
    issuer: "https://idp.example",
    subject: "alice",
    email: "alice@example.com",
    groups: ["developers"],
    operation: "runs:wait",
    graph: "echo",
    decision: n % 2 ? "allow" : "deny",
    reasons: n % 2 ? [] : ["no policy"],
    snapshotVersion: 7n,
    method: "POST",
    path: "/runs/wait",
    status: 200,
    requestJson: '{"input":{"text":"[REDACTED:email]"}}',
    events: [{ offsetMs: 5, event: "values", data: "{}" }],
    bytesIn: 2n ** 40n, // beyond 32 bits
    bytesOut: 10n,
    cost: 0.25,
    maskCounts: { email: 1 },
    ...overrides,
  };
}

/** Whether the promise rejects with Prisma's unique-constraint violation (P2002). */
async function failsUnique(promise: Promise<unknown>): Promise<boolean> {
  try {
    await promise;
    return false;
  } catch (error) {
    return isUniqueViolation(error);
  }
}

withTestDatabases((ctx) => {
  let store: Store;
  beforeAll(async () => {
    store = await openStore(ctx.url);
  });
  afterAll(async () => {
    await store?.close();
  });

  test("opens the right provider and migrates on open", () => {
    expect(store.provider).toBe(ctx.provider);
    expect(store.migration?.applied.length).toBeGreaterThan(0);
  });

  test("Identity: unique (issuer, subject), JSON groups, upsert on sight", async () => {
    const { prisma } = store;
    const seen = (groups: string[]) =>
      prisma.identity.upsert({
        where: { issuer_subject: { issuer: "https://idp.example", subject: "alice" } },
        create: { issuer: "https://idp.example", subject: "alice", email: "alice@example.com", groups, lastSeenAt: new Date() },
        update: { groups, lastSeenAt: new Date() },
      });
    const first = await seen(["developers"]);
    const second = await seen(["developers", "admins"]);
    expect(second.id).toBe(first.id);
    expect(second.groups).toEqual(["developers", "admins"]);
    expect(second.status).toBe("active");
    const dup = prisma.identity.create({ data: { issuer: "https://idp.example", subject: "alice", groups: [] } });
    expect(await failsUnique(dup)).toBe(true);
  });

  test("Policy with its relations and JSON fields; Restrict protects referenced rows", async () => {
    const { prisma } = store;
    const role = await prisma.role.create({ data: { name: "developer" } });
    const connection = await prisma.connection.create({
      data: { name: "local", baseUrl: "http://127.0.0.1:2024", credentialCiphertext: "v1:abc" },
    });
    const profile = await prisma.maskingProfile.create({
      data: { name: "default", rules: [{ kind: "key", match: "password", style: "redact", label: "secret" }] },
    });
    const limits = { requestsPerMinute: 60, costPerRun: { "*": 0.5 }, maxBodyBytes: 1_000_000 };
    await prisma.policy.create({
      data: {
        name: "devs-run-echo",
        roleId: role.id,
        connectionId: connection.id,
        graphs: ["echo", "support-*"],
        operations: ["runs:*", "threads:create"],
        maskingProfileId: profile.id,
        limits,
        denylist: [{ id: "d1", pattern: "DROP TABLE", path: "", message: "no" }],
        approval: { required: false },
      },
    });
    const policy = await prisma.policy.findUniqueOrThrow({
      where: { name: "devs-run-echo" },
      include: { role: true, connection: { omit: { credentialCiphertext: true } }, maskingProfile: true },
    });
    expect(policy.graphs).toEqual(["echo", "support-*"]);
    expect(policy.limits).toEqual(limits);
    expect(policy.maskRequests).toBe(true);
    expect(policy.role.name).toBe("developer");
    expect(policy.connection).not.toHaveProperty("credentialCiphertext");
    expect(policy.connection.credentialHeader).toBe("x-api-key");
    expect(policy.maskingProfile?.rules).toEqual([{ kind: "key", match: "password", style: "redact", label: "secret" }]);

    await prisma.roleBinding.create({ data: { roleId: role.id, issuer: "https://idp.example", group: "developers" } });
    await expect(prisma.connection.delete({ where: { id: connection.id } })).rejects.toThrow();
    await expect(prisma.role.delete({ where: { id: role.id } })).rejects.toThrow();
  });

  test("SnapshotVersion is bumped inside the writing transaction (and rolled back with it)", async () => {
    const { prisma } = store;
    const before = await currentSnapshotVersion(prisma);
    const after = await prisma.$transaction(async (tx) => {
      await tx.role.create({ data: { name: "auditor" } });
      return bumpSnapshotVersion(tx);
    });
    expect(after).toBe(before + 1n);
    const failing = prisma.$transaction(async (tx) => {
      await bumpSnapshotVersion(tx);
      await tx.role.create({ data: { name: "auditor" } }); // duplicate name → rollback
    });
    expect(await failsUnique(failing)).toBe(true);
    expect(await currentSnapshotVersion(prisma)).toBe(after);
    // Concurrent bumps never repeat a version.
    const versions = await Promise.all([1, 2, 3, 4, 5].map(() => prisma.$transaction((tx) => bumpSnapshotVersion(tx))));
    expect(new Set(versions).size).toBe(5);
    expect(await currentSnapshotVersion(prisma)).toBe(after + 5n);
  });

  test("AdminAudit / ApiToken / ProxyStatus / ApprovalRequest round-trip (nullable JSON, BigInt, dates)", async () => {
    const { prisma } = store;
    const audit = await prisma.adminAudit.create({
      data: { actor: "token:ci", action: "role.create", target: "Role:x", before: DbNull, after: { name: "x" }, snapshotVersion: 3n },
    });
    expect(audit.before).toBeNull();
    expect(audit.after).toEqual({ name: "x" });
    expect(audit.snapshotVersion).toBe(3n);

    const expiresAt = new Date("2030-01-01T00:00:00.123Z");
    await prisma.apiToken.create({
      data: { name: "ci", secretHash: "a".repeat(64), prefix: "agt_ab12", scopes: ["read"], createdBy: "admin", expiresAt },
    });
    expect((await prisma.apiToken.findUniqueOrThrow({ where: { secretHash: "a".repeat(64) } })).expiresAt).toEqual(expiresAt);

    await prisma.proxyStatus.upsert({
      where: { proxyId: "proxy-a" },
      create: { proxyId: "proxy-a", address: "127.0.0.1:8080", ackedVersion: 2n ** 53n + 1n, lastSeenAt: new Date() },
      update: {},
    });
    expect((await prisma.proxyStatus.findUniqueOrThrow({ where: { proxyId: "proxy-a" } })).ackedVersion).toBe(2n ** 53n + 1n);

    const approval = await prisma.approvalRequest.create({
      data: {
        requesterIssuer: "https://idp.example",
        requesterSubject: "alice",
        connectionId: "c1",
        graph: "echo",
        operation: "runs:wait",
        parameters: { input: { text: "[REDACTED]" } },
      },
    });
    expect(approval.status).toBe("pending");
    expect(await prisma.approvalRequest.count({ where: { status: "pending" } })).toBe(1);
  });

  test("Session: unique (proxyId, seq); filters on identity, graph, time, decision", async () => {
    const { prisma } = store;
    await prisma.session.createMany({ data: [session(1), session(2), session(3)] });
    expect(await failsUnique(prisma.session.create({ data: session(99, { seq: 2n }) }))).toBe(true);

    const row = await prisma.session.findUniqueOrThrow({ where: { id: session(1).id } });
    expect(row.bytesIn).toBe(2n ** 40n);
    expect(row.events).toEqual([{ offsetMs: 5, event: "values", data: "{}" }]);
    expect(row.responseJson).toBeNull();

    const found = await prisma.session.findMany({
      where: {
        issuer: "https://idp.example",
        subject: "alice",
        graph: "echo",
        decision: "allow",
        startedAt: { gte: new Date(Date.UTC(2026, 10, 25, 12, 0, 0)), lt: new Date(Date.UTC(2026, 10, 25, 12, 1, 0)) },
      },
      orderBy: [{ startedAt: "desc" }, { id: "desc" }],
    });
    expect(found.map((s) => s.seq)).toEqual([3n, 1n]);
  });

  test("idempotent insert by id: storeSessions (works on both); upsert also works", async () => {
    const { prisma } = store;
    const batch = [session(10), session(11), session(12)];
    // The provider's own path: createMany on SQLite, one raw INSERT … ON CONFLICT on PostgreSQL.
    expect(await storeSessions(prisma, batch, store.provider)).toEqual({ inserted: batch.map((s) => s.id), duplicates: [], conflicts: [] });
    // A resend with one new record and one chain fork (same proxyId+seq, other id).
    const again = await storeSessions(prisma, [session(11), session(13), session(14, { seq: 12n })], store.provider);
    expect(again).toEqual({ inserted: [session(13).id], duplicates: [session(11).id], conflicts: [session(14).id] });
    expect(await prisma.session.count({ where: { seq: { gte: 10n } } })).toBe(4);
    // Rows written either way read back identically through Prisma (dates, BigInt, JSON).
    const stored = await prisma.session.findUniqueOrThrow({ where: { id: session(13).id } });
    expect(stored).toMatchObject({ seq: session(13).seq, startedAt: session(13).startedAt, groups: session(13).groups, bytesOut: session(13).bytesOut });

    // upsert with an empty update is the per-row alternative that works on both.
    const s = session(20);
    await prisma.session.upsert({ where: { id: s.id }, create: s, update: {} });
    await prisma.session.upsert({ where: { id: s.id }, create: s, update: {} });
    expect(await prisma.session.count({ where: { id: s.id } })).toBe(1);
  });

  test("a batch is stored all or nothing: one bad row stores none of it; the retry stores each row once", async () => {
    const { prisma } = store;
    const ids = [40, 41, 42, 43].map((n) => session(n).id);
    const count = () => prisma.session.count({ where: { id: { in: ids } } });
    // Row 42 breaks a NOT NULL constraint, after rows 40 and 41 of the same statement.
    const poisoned = [session(40), session(41), session(42, { decision: null as unknown as string }), session(43)];
    await expect(storeSessions(prisma, poisoned, store.provider)).rejects.toThrow();
    expect(await count()).toBe(0);
    // The retry without the bad row stores the rest; a resend of everything adds nothing.
    const good = [session(40), session(41), session(43)];
    expect(await storeSessions(prisma, good, store.provider)).toEqual({ inserted: good.map((s) => s.id), duplicates: [], conflicts: [] });
    expect(await storeSessions(prisma, good, store.provider)).toEqual({ inserted: [], duplicates: good.map((s) => s.id), conflicts: [] });
    expect(await count()).toBe(3);
    // Every column reads back as written (the batch travels as one JSON parameter).
    const stored = await prisma.session.findUniqueOrThrow({ where: { id: session(41).id } });
    const { receivedAt: _receivedAt, ...columns } = stored;
    expect(columns).toEqual({ ...session(41), connectionId: null, assistantId: null, threadId: null, runId: null, responseJson: null, errorCode: null });
  });

  test("createMany({ skipDuplicates }) exists only on PostgreSQL", async () => {
    const { prisma } = store;
    const data = [session(30), session(30)];
    // Not part of the shared client type (types.ts): the cast is what callers would need.
    const attempt = prisma.session.createMany({ data, skipDuplicates: true } as Parameters<typeof prisma.session.createMany>[0]);
    if (ctx.provider === "postgresql") {
      expect((await attempt).count).toBe(1);
    } else {
      await expect(attempt).rejects.toThrow(/skipDuplicates/);
    }
  });
});
