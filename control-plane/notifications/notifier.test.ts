 
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { withTestDatabases } from "../../test/helpers/databases.js";
import { startGraphqlHarness, type GraphqlHarness } from "../graphql/testing/harness.js";
import { requestApproval } from "../approvals/service.js";
import { startNotifier, type Notifier } from "./notifier.js";
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyWebhook } from "./webhook.js";

/**
 * Approval webhooks, on both databases, against a real HTTP receiver: the policy names the
 * hook, filing a request queues one delivery, it is signed (a receiver verifies it; a
 * tampered body fails), failures are retried with backoff then given up, nothing is sent
 * unsigned, two notifiers never both send one attempt, and GraphQL shows each delivery.
 */
const BOOTSTRAP = randomBytes(32).toString("hex");
const SECRET = randomBytes(32).toString("hex");

interface Received {
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

withTestDatabases((db) => {
  let api: GraphqlHarness;
  let receiver: Server;
  let hookUrl: string;
  const received: Received[] = [];
  let answers: number[] = []; // statuses to answer with, in order (then 200)
  let connectionId: string;
  const notifiers: Notifier[] = [];
  const prisma = () => api.store.prisma;
  // `secret: null` = no secret configured (an explicit undefined would take a default).
  const notifier = ({ secret = SECRET, maxAttempts = 3 }: { secret?: string | null; maxAttempts?: number } = {}) => {
    const n = startNotifier({ db: prisma(), secret: secret ?? undefined, consoleUrl: () => "https://console.example", maxAttempts, backoffMs: (f) => f * 60_000, pollMs: 3_600_000 });
    notifiers.push(n);
    return n;
  };
  const file = async (policy: string, subject = "alice") => {
    const policyId = (await prisma().policy.findUniqueOrThrow({ where: { name: policy } })).id;
    return (await requestApproval(prisma(), { proxyId: "p1", issuer: "https://idp.example", subject, email: "", connectionId, graph: `g-${randomBytes(4).toString("hex")}`, operation: "runs:wait", parametersJson: "{}", reason: "", policyId })).id;
  };
  const deliveries = (id: string) => prisma().approvalNotification.findMany({ where: { approvalRequestId: id } });

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        received.push({ body: Buffer.concat(chunks).toString("utf8"), headers: req.headers });
        res.writeHead(answers.shift() ?? 200).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", () => r()));
    hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    api = await startGraphqlHarness({ databaseUrl: db.url, bootstrapToken: BOOTSTRAP });
    const res = await api.gql(
      `mutation($y: String!) { applyPolicyFile(yaml: $y) { changes { action } } }`,
      {
        y: `
roles:
  - { name: runner }
  - { name: cp-approver }
connections: [{ name: lg, baseUrl: "https://lg.example" }]
policies:
  - { name: announced, role: runner, connection: lg, graphs: ["a*"], operations: ["runs:*"], approval: { required: true, approverRoles: [cp-approver], notifyUrl: "${hookUrl}" } }
  - { name: quiet, role: runner, connection: lg, graphs: ["q*"], operations: ["runs:*"], approval: { required: true, approverRoles: [cp-approver] } }
`,
      },
      BOOTSTRAP,
    );
    expect(res.errors).toBeUndefined();
    connectionId = (await prisma().connection.findUniqueOrThrow({ where: { name: "lg" } })).id;
  });
  afterAll(async () => {
    for (const n of notifiers) n.stop();
    await api?.stop();
    await new Promise((r) => receiver?.close(r));
  });
  beforeEach(() => {
    received.length = 0;
    answers = [];
  });

  test("a policy's webhook must be https (plain http only to loopback), without credentials", async () => {
    for (const url of ["http://hooks.example/x", "ftp://127.0.0.1/x", "https://user:pw@hooks.example/x", "not a url"]) {
      const res = await api.gql(`mutation($y: String!) { applyPolicyFile(yaml: $y, dryRun: true) { dryRun } }`, {
        y: `policies:\n  - { name: announced, role: runner, connection: lg, graphs: ["a*"], operations: ["runs:*"], approval: { required: true, approverRoles: [cp-approver], notifyUrl: "${url}" } }\n`,
      }, BOOTSTRAP);
      expect(JSON.stringify(res.errors)).toContain("approval.notifyUrl");
    }
    const shown = await api.gql<any>(`{ policies { edges { node { name approval { notifyUrl } } } } }`, {}, BOOTSTRAP);
    expect(shown.data!.policies.edges.map((e: any) => [e.node.name, e.node.approval.notifyUrl]).sort()).toEqual([["announced", hookUrl], ["quiet", ""]]);
  });

  test("filing queues one signed, Slack-compatible announcement that links to the request's console page", async () => {
    const id = await file("announced", "<!channel>");
    expect(await deliveries(await file("quiet"))).toEqual([]);
    expect(await notifier().runOnce()).toBe(1);
    expect(received).toHaveLength(1);
    const { body, headers } = received[0]!;
    expect(verifyWebhook(SECRET, String(headers[TIMESTAMP_HEADER]), body, String(headers[SIGNATURE_HEADER]))).toBe(true);
    expect(verifyWebhook(SECRET, String(headers[TIMESTAMP_HEADER]), body.replace("runs:wait", "runs:xxxx"), String(headers[SIGNATURE_HEADER]))).toBe(false);
    expect(verifyWebhook("other-secret", String(headers[TIMESTAMP_HEADER]), body, String(headers[SIGNATURE_HEADER]))).toBe(false);
    const message = JSON.parse(body);
    const link = `https://console.example/console/approvals/${id}`;
    expect(message.text).toContain(link);
    expect(message.blocks[1].elements[0].url).toBe(link);
    expect(message.agentgate.approvalRequest).toMatchObject({ id, operation: "runs:wait", url: link });
    // A requester named like a Slack broadcast does not ping the channel.
    expect(message.text).not.toContain("<!channel>");
    expect(await deliveries(id)).toMatchObject([{ status: "delivered", attempts: 1, lastStatus: 200, lastError: null }]);
  });

  test("failures are retried with backoff, then given up; GraphQL shows each delivery", async () => {
    answers = [500, 503, 500];
    const id = await file("announced");
    const n = notifier({ maxAttempts: 3 });
    const t0 = new Date();
    await n.runOnce(t0);
    expect(await deliveries(id)).toMatchObject([{ status: "pending", attempts: 1, lastStatus: 500, lastError: "HTTP 500" }]);
    // Not due again before its backoff.
    expect(await n.runOnce(new Date(t0.getTime() + 1_000))).toBe(0);
    await n.runOnce(new Date(t0.getTime() + 61_000));
    expect(await deliveries(id)).toMatchObject([{ status: "pending", attempts: 2, lastStatus: 503 }]);
    await n.runOnce(new Date(t0.getTime() + 61_000 + 121_000));
    expect(await deliveries(id)).toMatchObject([{ status: "failed", attempts: 3, lastStatus: 500 }]);
    expect(received).toHaveLength(3);
    expect(await n.runOnce(new Date(t0.getTime() + 3_600_000))).toBe(0);

    const shown = await api.gql<any>(`query($id: ID!) { approvalRequest(id: $id) { notifications { status attempts lastStatus url } } }`, { id }, BOOTSTRAP);
    expect(shown.data!.approvalRequest.notifications).toEqual([{ status: "failed", attempts: 3, lastStatus: 500, url: hookUrl }]);
  });

  test("without a signing secret nothing is sent: the delivery fails visibly", async () => {
    const id = await file("announced");
    await notifier({ secret: null }).runOnce();
    expect(received).toHaveLength(0);
    expect(await deliveries(id)).toMatchObject([{ status: "failed", attempts: 1, lastError: expect.stringContaining("AGENTGATE_WEBHOOK_SECRET") }]);
  });

  test("two notifiers racing over the same rows send each attempt once", async () => {
    const ids = await Promise.all([file("announced"), file("announced"), file("announced")]);
    const now = new Date();
    await Promise.all([notifier().runOnce(now), notifier().runOnce(now), notifier().runOnce(now)]);
    expect(received).toHaveLength(3);
    for (const id of ids) expect(await deliveries(id)).toMatchObject([{ status: "delivered", attempts: 1 }]);
  });
});
