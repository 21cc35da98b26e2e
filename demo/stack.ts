import { randomBytes } from "node:crypto";
import { freePort } from "./free-port.js";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startLangGraph, type LangGraphUpstream } from "../test/harness/upstream.js";
import { startCountingHop, type CountingHop } from "../test/harness/counting-hop.js";
import { startIssuer, type Issuer } from "./issuer.js";
import { startServiceProcess, type ServiceProcess } from "./service-process.js";
import { demoPolicyYaml, DEMO_USERS, type DemoPolicyInput } from "./demo-policy.js";
import { startOidcProvider, type OidcProvider } from "./oidc-provider.js";

/** Options of {@link startStack}. */
export interface StackOptions {
  /** Working folder for databases, keys, spools and policy files. */
  dataDir: string;
  /** DATABASE_URL of the control plane; default an SQLite file in dataDir. */
  databaseUrl?: string;
  /** Number of proxies (default 1). */
  proxies?: number;
  /** The bootstrap policy file; default the demo's. */
  policy?: (input: DemoPolicyInput) => string;
  /** Put a request-recording hop between the proxies and LangGraph (tests). */
  countingHop?: boolean;
  /** Fixed ports (npm start); 0 or absent = free ports. */
  ports?: { controlPlaneHttp?: number; controlPlaneGrpc?: number; proxy?: number; issuer?: number; oidcProvider?: number; upstream?: number };
  /** Run both planes from a `npm run build` output folder (plain node) instead of the sources (tsx). */
  buildDir?: string;
  /**
   * Also run the demo's OpenID provider (oidc-provider, browser sign-in for the demo users)
   * and configure the control plane's console to sign in with it.
   */
  oidcProvider?: boolean;
  /** Announce the demo policy's held runs to this webhook (with AGENTGATE_WEBHOOK_SECRET in `env`). */
  approvalWebhookUrl?: string;
  /** Keep the issuers' signing keys in dataDir, so their tokens survive a restart (npm start). */
  persistIssuerKeys?: boolean;
  /** Extra environment for the control plane and the proxies. */
  env?: Record<string, string>;
  onLog?: (component: string, line: string) => void;
}

/** Everything the demo and the end-to-end tests run. */
export interface Stack {
  readonly upstream: LangGraphUpstream;
  readonly hop: CountingHop | undefined;
  readonly issuer: Issuer;
  /** The demo's OpenID provider (with `oidcProvider: true`). */
  readonly oidcProvider: OidcProvider | undefined;
  controlPlane: ServiceProcess;
  readonly proxies: ServiceProcess[];
  readonly proxyToken: string;
  readonly policyFile: string;
  /** GraphQL endpoint of the control plane. */
  graphqlUrl(): string;
  /** The web console's start page. */
  consoleUrl(): string;
  /** Base URL of proxy i. */
  proxyUrl(i?: number): string;
  /** Stops the control plane (SIGTERM or SIGKILL); proxies keep running. */
  stopControlPlane(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the control plane again on the same ports and database (with `env` changes, kept for later restarts). */
  startControlPlane(env?: Record<string, string>): Promise<void>;
  /** Restarts proxy i with the same id, port and data folder (after `kill -9` if asked). */
  restartProxy(i: number, signal?: NodeJS.Signals): Promise<void>;
  stop(): Promise<void>;
}

const CREDENTIAL_ENV = "AGENTGATE_UPSTREAM_DEMO_KEY";

/** Waits until a proxy enforces a snapshot (its /readyz answers 200). */
export async function waitForProxyReady(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${url}/readyz`).catch(() => undefined);
    if (res?.status === 200) return;
    if (Date.now() > deadline) throw new Error(`proxy ${url} has no policy snapshot after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Starts the whole system: the real LangGraph API server (with its own key), a dev OIDC
 * issuer, the control plane (bootstrapped with a policy file) and N proxies, each a real
 * process. Used by `npm start` and by every end-to-end test.
 */
export async function startStack(opts: StackOptions): Promise<Stack> {
  mkdirSync(opts.dataDir, { recursive: true });
  const upstreamKey = `lg-${randomBytes(18).toString("base64url")}`;
  const proxyToken = `pt-${randomBytes(24).toString("base64url")}`;
  const started: Array<{ stop(): Promise<void> }> = [];
  try {
    const upstream = await startLangGraph({ apiKey: upstreamKey, port: opts.ports?.upstream ?? 0 });
    started.push(upstream);
    const hop = opts.countingHop ? await startCountingHop(upstream.url) : undefined;
    if (hop) started.push(hop);
    const issuer = await startIssuer({
      port: opts.ports?.issuer ?? 0,
      ...(opts.persistIssuerKeys ? { keysFile: join(opts.dataDir, "issuer-keys.json") } : {}),
    });
    started.push(issuer);

    // The console's redirect URI names the control plane's port: fix it before either starts.
    const cpHttpPort = opts.oidcProvider && !opts.ports?.controlPlaneHttp ? await freePort() : opts.ports?.controlPlaneHttp ?? 0;
    const cpUrl = `http://127.0.0.1:${cpHttpPort}`;
    const oidcProvider = opts.oidcProvider
      ? await startOidcProvider({
          port: opts.ports?.oidcProvider ?? 0,
          users: DEMO_USERS,
          clients: [{ clientId: "agentgate-console", redirectUris: [`${cpUrl}/console/callback`], postLogoutRedirectUris: [`${cpUrl}/console/`] }],
          ...(opts.persistIssuerKeys ? { keysFile: join(opts.dataDir, "oidc-provider-keys.json") } : {}),
        })
      : undefined;
    if (oidcProvider) started.push(oidcProvider);

    const policyFile = join(opts.dataDir, "policy.yaml");
    writeFileSync(
      policyFile,
      (opts.policy ?? demoPolicyYaml)({
        issuerUrl: issuer.url,
        upstreamUrl: hop?.url ?? upstream.url,
        credentialEnv: CREDENTIAL_ENV,
        ...(oidcProvider ? { signInIssuerUrl: oidcProvider.url } : {}),
        ...(opts.approvalWebhookUrl ? { approvalWebhookUrl: opts.approvalWebhookUrl } : {}),
      }),
    );
    const log = (component: string) => (line: string) => opts.onLog?.(component, line);
    const cpEnv: Record<string, string> = {
      ...opts.env,
      AGENTGATE_COMPONENT: "control-plane",
      DATABASE_URL: opts.databaseUrl ?? `file:${join(opts.dataDir, "agentgate.db")}`,
      AGENTGATE_DATA_DIR: opts.dataDir,
      AGENTGATE_PROXY_TOKEN: proxyToken,
      AGENTGATE_BOOTSTRAP_FILE: policyFile,
      AGENTGATE_CP_HTTP_PORT: String(cpHttpPort),
      ...(oidcProvider ? { AGENTGATE_CONSOLE_ISSUER: oidcProvider.url, AGENTGATE_CONSOLE_RESOURCE: oidcProvider.resource } : {}),
      AGENTGATE_CP_GRPC_PORT: String(opts.ports?.controlPlaneGrpc ?? 0),
      AGENTGATE_SNAPSHOT_POLL_MS: "200",
      // The demo issuer is plain http on loopback; the policy file is validated like any write.
      AGENTGATE_ALLOW_HTTP_ISSUERS: "loopback",
      [CREDENTIAL_ENV]: upstreamKey,
    };
    const entry = (plane: "control-plane" | "data-plane") => (opts.buildDir ? join(opts.buildDir, plane, "main.js") : `${plane}/main.ts`);
    const controlPlane = await startServiceProcess(entry("control-plane"), cpEnv, { onLog: log("control-plane") });
    started.push(controlPlane);
    // Later restarts reuse the ports, so proxies find the control plane where it was.
    cpEnv["AGENTGATE_CP_HTTP_PORT"] = new URL(controlPlane.ready["httpUrl"]!).port;
    cpEnv["AGENTGATE_CP_GRPC_PORT"] = controlPlane.ready["grpcAddress"]!.split(":").pop()!;

    const proxyEnvs: Array<Record<string, string>> = [];
    const proxies: ServiceProcess[] = [];
    for (let i = 0; i < (opts.proxies ?? 1); i++) {
      const proxyId = `proxy-${i + 1}`;
      const env: Record<string, string> = {
        ...opts.env,
        AGENTGATE_COMPONENT: proxyId,
        AGENTGATE_PROXY_ID: proxyId,
        AGENTGATE_PROXY_TOKEN: proxyToken,
        AGENTGATE_CONTROL_PLANE: controlPlane.ready["grpcAddress"]!,
        AGENTGATE_PROXY_PORT: String(i === 0 ? opts.ports?.proxy ?? 0 : 0),
        AGENTGATE_DATA_DIR: join(opts.dataDir, proxyId),
        AGENTGATE_ALLOW_HTTP_ISSUERS: "loopback",
      };
      const proxy = await startServiceProcess(entry("data-plane"), env, { onLog: log(proxyId) });
      started.push(proxy);
      env["AGENTGATE_PROXY_PORT"] = new URL(proxy.ready["url"]!).port;
      await waitForProxyReady(proxy.ready["url"]!);
      proxyEnvs.push(env);
      proxies.push(proxy);
    }

    const stack: Stack = {
      upstream,
      hop,
      issuer,
      oidcProvider,
      controlPlane,
      proxies,
      proxyToken,
      policyFile,
      graphqlUrl: () => `${stack.controlPlane.ready["httpUrl"]}/graphql`,
      consoleUrl: () => `${stack.controlPlane.ready["httpUrl"]}/console/`,
      proxyUrl: (i = 0) => stack.proxies[i]!.ready["url"]!,
      async stopControlPlane(signal = "SIGTERM") {
        await stack.controlPlane.stop(signal);
      },
      async startControlPlane(env = {}) {
        Object.assign(cpEnv, env);
        stack.controlPlane = await startServiceProcess(entry("control-plane"), cpEnv, { onLog: log("control-plane") });
      },
      async restartProxy(i, signal = "SIGTERM") {
        await stack.proxies[i]!.stop(signal);
        stack.proxies[i] = await startServiceProcess(entry("data-plane"), proxyEnvs[i]!, { onLog: log(`proxy-${i + 1}`) });
      },
      async stop() {
        await Promise.allSettled(stack.proxies.map((p) => p.stop()));
        await stack.controlPlane.stop();
        for (const s of started.reverse()) await s.stop().catch(() => undefined);
      },
    };
    return stack;
  } catch (err) {
    for (const s of started.reverse()) await s.stop().catch(() => undefined);
    throw err;
  }
}
