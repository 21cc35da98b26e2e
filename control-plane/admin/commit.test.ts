import { randomBytes } from "node:crypto";
import { withTestDatabases } from "../../test/helpers/databases.js";
import { principal } from "../auth/principal.js";
import { SecretBox } from "../secrets.js";
import { openStore, type Store } from "../store/client.js";
import { auditState } from "./change-log.js";
import { commitChange } from "./commit.js";
import type { AdminDeps } from "./deps.js";
import { createRole } from "./roles.js";

withTestDatabases((db) => {
  let store: Store;
  let refreshes = 0;
  let deps: AdminDeps;
  const state = async () => ({
    version: (await store.prisma.snapshotVersion.findUniqueOrThrow({ where: { id: 1 } })).version,
    audits: await store.prisma.adminAudit.count(),
    roles: await store.prisma.role.count(),
  });

  beforeAll(async () => {
    store = await openStore(db.url);
    deps = {
      db: store.prisma,
      secrets: SecretBox.fromBase64(randomBytes(32).toString("base64")),
      refreshSnapshot: async () => void refreshes++,
      allowHttpIssuers: "never",
    };
  });
  afterAll(() => store?.close());
  beforeEach(() => (refreshes = 0));

  test("a policy change bumps the version once, audits it with that version, then publishes", async () => {
    const before = await state();
    const result = await commitChange(deps, "tester", "policy", async (tx) => {
      const role = await tx.role.create({ data: { name: "committed" } });
      return { value: role.id, audit: [{ action: "role.create", target: `Role:${role.id}`, after: { name: "committed" } }] };
    });
    expect(result.snapshotVersion).toBe(before.version + 1n);
    expect(await state()).toEqual({ version: before.version + 1n, audits: before.audits + 1, roles: before.roles + 1 });
    expect(await store.prisma.adminAudit.findFirst({ where: { target: `Role:${result.value}` } })).toMatchObject({ actor: "tester", action: "role.create", before: null, snapshotVersion: result.snapshotVersion });
    expect(refreshes).toBe(1);
  });

  test("a failure anywhere in the work leaves nothing: no row, no version, no audit, no publish", async () => {
    const before = await state();
    await expect(
      commitChange(deps, "tester", "policy", async (tx) => {
        await tx.role.create({ data: { name: "half-written" } });
        throw new Error("validation failed after the first write");
      }),
    ).rejects.toThrow("validation failed");
    expect(await state()).toEqual(before);
    expect(refreshes).toBe(0);
  });

  test("admin-only changes are audited without a version; no-op changes record nothing", async () => {
    const before = await state();
    const admin = await commitChange(deps, "tester", "admin", async () => ({ value: 1, audit: [{ action: "apiToken.create", target: "ApiToken:x" }] }));
    expect(admin.snapshotVersion).toBeNull();
    const noop = await commitChange(deps, "tester", "policy", async () => ({ value: 2, audit: [] }));
    expect(noop.snapshotVersion).toBeNull();
    expect(await state()).toEqual({ ...before, audits: before.audits + 1 });
    expect(refreshes).toBe(0);
  });

  test("a duplicate that slips past the checks (a race) is CONFLICT, not a Prisma error", async () => {
    await expect(
      commitChange(deps, "tester", "policy", async (tx) => {
        await tx.role.create({ data: { name: "raced" } });
        await tx.role.create({ data: { name: "raced" } });
        return { value: null, audit: [] };
      }),
    ).rejects.toMatchObject({ code: "CONFLICT", message: "an object with this name already exists" });
  });

  test("a failed publish does not undo a committed write", async () => {
    const failing: AdminDeps = { ...deps, refreshSnapshot: () => Promise.reject(new Error("publisher down")) };
    const by = principal("bootstrap", "token:$bootstrap", ["write"]);
    const made = await createRole(failing, by, { name: "survives" });
    expect(made.value.name).toBe("survives");
    expect(await store.prisma.role.count({ where: { name: "survives" } })).toBe(1);
  });
});

describe("auditState", () => {
  test("stores plain JSON and redacts secret-looking string fields at any depth", () => {
    expect(
      auditState({
        at: new Date("2026-01-02T03:04:05Z"),
        version: 7n,
        credentialSet: true,
        credential: "set",
        credentialCiphertext: "v1.abc",
        nested: [{ password: "hunter2", apiKey: "k", clientSecret: "s", name: "ok" }],
      }),
    ).toEqual({
      at: "2026-01-02T03:04:05.000Z",
      version: "7",
      credentialSet: true,
      credential: "set",
      credentialCiphertext: "[redacted]",
      nested: [{ password: "[redacted]", apiKey: "[redacted]", clientSecret: "[redacted]", name: "ok" }],
    });
  });
});
