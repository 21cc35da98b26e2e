/**
 * The deployment descriptors (Dockerfile, .dockerignore, docker-compose.yml,
 * deploy/kubernetes/*.yaml) validated by parsing them: there is no Docker engine nor a
 * cluster here (DESIGN.md §8), so nothing in this file claims they run.
 *
 * What matters is checked structurally: strict YAML; health checks and probes everywhere;
 * start order (proxies wait for a healthy control plane); no literal secrets; hardened
 * containers; persistent state where the code keeps state; and drift: every environment
 * variable the files set must be one the code reads (scanned from the sources), every
 * entry file and copied path must exist.
 *
 * Variables the deployment needs but the code does not read yet are listed in
 * PENDING_ENV; the "known gaps" tests fail as soon as the code reads them, so the list,
 * deploy/README.md ("Blockers") and the files are updated together.
 */
import { describe, expect, it } from "@jest/globals";
import { execFile, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { parseAllDocuments } from "yaml";
import { parseDatabaseUrl } from "../../control-plane/store/database-url.js";

// Parsed YAML is untyped by nature: shapes are asserted by the tests, not assumed.
type Y = any;

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const K8S_DIR = "deploy/kubernetes";
const NAMESPACE = "agentgate";
const read = (rel: string): string => readFileSync(join(ROOT, rel), "utf8");
const exists = (rel: string): boolean => existsSync(join(ROOT, rel));
/** The source a `npm run build` output file is compiled from: dist/a/b.js ← a/b.ts (undefined when not a dist path). */
const sourceOfBuilt = (rel: string): string | undefined => /^dist\/(.+)\.js$/.exec(rel)?.[1]?.concat(".ts");
/** A compiled entry whose source exists (the image runs `node dist/...`, built by tsc in its build stage). */
const isBuiltEntry = (rel: string): boolean => {
  const source = sourceOfBuilt(rel);
  return source !== undefined && exists(source);
};

// ---------------------------------------------------------------------------------------
// Strict YAML
// ---------------------------------------------------------------------------------------

/** All documents of a YAML stream as plain JS; throws on any error or warning. */
function parseYamlStrict(text: string, name: string): Y[] {
  // merge: compose files use `<<: *anchor` (YAML 1.1 merge keys, supported by compose).
  const docs = parseAllDocuments(text, { merge: true, uniqueKeys: true, prettyErrors: true });
  const problems = docs.flatMap((d) => [...d.errors, ...d.warnings].map((e) => `${name}: ${e.message}`));
  if (problems.length > 0) throw new Error(problems.join("\n"));
  return docs.map((d) => d.toJS({ maxAliasCount: 100 })).filter((v) => v !== null && v !== undefined);
}
const loadYaml = (rel: string): Y[] => parseYamlStrict(read(rel), rel);

// ---------------------------------------------------------------------------------------
// What the code reads
// ---------------------------------------------------------------------------------------

/** Runtime sources: everything the two planes can load (tests, benches, test helpers excluded). */
function runtimeSources(): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const entry of readdirSync(join(ROOT, rel), { withFileTypes: true })) {
      const child = `${rel}/${entry.name}`;
      if (entry.isDirectory()) {
        if (!["node_modules", "testing", "generated", "gen"].includes(entry.name)) walk(child);
      } else if (/\.(ts|mjs)$/.test(entry.name) && !/\.(test|bench)\.ts$/.test(entry.name) && entry.name !== "test-helpers.ts") {
        out.push(child);
      }
    }
  };
  for (const dir of ["common", "control-plane", "data-plane", "proto"]) walk(dir);
  return out;
}

/**
 * Variables the runtime sources read, with the files that read them: `env["X"]`, `env.X`,
 * `process.env.X`, `process.env["X"]`, and a string literal that is exactly an
 * AGENTGATE_ name (passed to a helper, e.g. `port(env, "AGENTGATE_CP_GRPC_PORT", ...)`).
 */
function envReadByCode(): Map<string, string[]> {
  const readers = new Map<string, string[]>();
  const patterns = [/\benv(?:\.([A-Z][A-Z0-9_]*)\b|\[\s*["'`]([A-Z][A-Z0-9_]*)["'`]\s*\])/g, /["'`](AGENTGATE_[A-Z0-9_]+)["'`]/g];
  for (const file of runtimeSources()) {
    const text = read(file);
    for (const pattern of patterns) {
      for (const m of text.matchAll(pattern)) {
        const name = (m[1] ?? m[2])!;
        readers.set(name, [...new Set([...(readers.get(name) ?? []), file])]);
      }
    }
  }
  return readers;
}
const READERS = envReadByCode();

/** Set in agentgate containers but read by Node itself, not by our code. */
const THIRD_PARTY_ENV = new Set(["NODE_ENV", "NODE_OPTIONS"]);

/**
 * Needed by the deployment, not read by the code yet (deploy/README.md, "Blockers").
 * Names follow the suggestions in data-plane/sync/watch-client.ts.
 */
const PENDING_ENV: Record<string, string> = {};

function unknownEnv(names: Iterable<string>): string[] {
  return [...names].filter((n) => !READERS.has(n) && !THIRD_PARTY_ENV.has(n) && !(n in PENDING_ENV));
}

// ---------------------------------------------------------------------------------------
// Secrets
// ---------------------------------------------------------------------------------------

const SECRETISH = /token|secret|password|key/i;
/** `..._FILE` variables hold paths to mounted secrets, not secrets. */
const isSecretName = (name: string): boolean => SECRETISH.test(name) && !/_FILE$/.test(name);
/** The whole value is one compose interpolation: ${NAME}, ${NAME:?msg}, ${NAME:-default}. */
const isInterpolation = (v: string): boolean => /^\$\{[A-Za-z_][A-Za-z0-9_]*(?:(?::?[?-])[^}]*)?\}$/.test(v);
/** Passwords embedded in URLs (user:password@host). */
const urlPassword = (v: string): string | undefined => /\/\/[^:/@\s]+:([^@\s]+)@/.exec(v)?.[1];

// ---------------------------------------------------------------------------------------
// Dockerfile and .dockerignore
// ---------------------------------------------------------------------------------------

interface Instruction {
  op: string;
  args: string;
  line: number;
}

/** Instructions with continuation lines joined; comments (and parser directives) dropped. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let buffer = "";
  let start = 0;
  text.split("\n").forEach((raw, i) => {
    const line = raw.trimEnd();
    if (/^\s*#/.test(line) || (buffer === "" && line.trim() === "")) return; // comments may sit inside a continuation
    if (buffer === "") start = i + 1;
    buffer += (buffer ? " " : "") + line.trim().replace(/\\$/, "").trim();
    if (!line.endsWith("\\")) {
      const m = /^(\S+)\s*(.*)$/.exec(buffer)!;
      out.push({ op: m[1]!.toUpperCase(), args: m[2]!, line: start });
      buffer = "";
    }
  });
  if (buffer !== "") throw new Error("Dockerfile ends inside a continuation line");
  return out;
}

interface Stage {
  image: string;
  name: string | undefined;
  instructions: Instruction[];
}

function dockerStages(instructions: Instruction[]): Stage[] {
  const globalArgs = new Map<string, string>();
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.op === "ARG" && stages.length === 0) {
      const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:=(.*))?$/.exec(ins.args.trim());
      if (m) globalArgs.set(m[1]!, m[2] ?? "");
    } else if (ins.op === "FROM") {
      const parts = ins.args.split(/\s+/).filter((p) => !p.startsWith("--"));
      const image = parts[0]!.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_s, n: string) => globalArgs.get(n) ?? "");
      const as = parts.findIndex((p) => p.toUpperCase() === "AS");
      stages.push({ image, name: as >= 0 ? parts[as + 1] : undefined, instructions: [] });
    } else {
      if (stages.length === 0) throw new Error(`${ins.op} before the first FROM (line ${ins.line})`);
      stages[stages.length - 1]!.instructions.push(ins);
    }
  }
  return stages;
}

/** JSON (exec) form of CMD/ENTRYPOINT/HEALTHCHECK CMD; undefined for shell form. */
function execForm(args: string): string[] | undefined {
  try {
    const v: unknown = JSON.parse(args);
    return Array.isArray(v) && v.every((x) => typeof x === "string") ? (v) : undefined;
  } catch {
    return undefined;
  }
}

/** COPY without --from: its context sources (flags and the destination removed). */
function copySources(ins: Instruction): string[] | undefined {
  if (ins.op !== "COPY" && ins.op !== "ADD") return undefined;
  const words = ins.args.split(/\s+/);
  if (words.some((w) => w.startsWith("--from="))) return undefined;
  const operands = words.filter((w) => !w.startsWith("--"));
  return operands.slice(0, -1);
}

/** Is `path` (relative to the context) inside one of the COPY `sources`? */
function coveredBy(path: string, sources: readonly string[]): boolean {
  return sources.some((s) => {
    const src = s.replace(/^\.\//, "").replace(/\/$/, "");
    return src === "." || path === src || path.startsWith(`${src}/`);
  });
}

/** A .dockerignore matcher: Docker's rules for the patterns used here (*, **, ?, !, last match wins, a matched directory excludes its content). */
function dockerIgnore(text: string): (path: string) => boolean {
  const rules = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => {
      const negate = l.startsWith("!");
      const pattern = normalize(l.replace(/^!/, "").replace(/^\/+/, "")).replace(/\/$/, "");
      let re = "";
      for (let i = 0; i < pattern.length; i++) {
        const c = pattern[i]!;
        if (c === "*" && pattern[i + 1] === "*") {
          i++;
          if (pattern[i + 1] === "/") {
            i++;
            re += "(?:.*/)?";
          } else re += ".*";
        } else if (c === "*") re += "[^/]*";
        else if (c === "?") re += "[^/]";
        else re += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
      }
      return { negate, re: new RegExp(`^${re}(?:/.*)?$`) };
    });
  return (path) => {
    let excluded = false;
    for (const r of rules) if (r.re.test(path)) excluded = !r.negate;
    return excluded;
  };
}

/** Relative imports of a source file, resolved to repository paths (".js" → ".ts" when that exists). */
function relativeImports(file: string): string[] {
  const text = read(file);
  const specs = [...text.matchAll(/(?:from\s+|import\s*\(\s*)["'](\.{1,2}\/[^"']+)["']/g)].map((m) => m[1]!);
  return specs.map((spec) => {
    const target = normalize(join(dirname(file), spec));
    const ts = target.replace(/\.js$/, ".ts");
    return exists(ts) ? ts : target;
  });
}

// ---------------------------------------------------------------------------------------
// Kubernetes helpers
// ---------------------------------------------------------------------------------------

const KNOWN_KINDS: Record<string, string> = {
  Namespace: "v1",
  ServiceAccount: "v1",
  Secret: "v1",
  ConfigMap: "v1",
  Service: "v1",
  Deployment: "apps/v1",
  StatefulSet: "apps/v1",
  PodDisruptionBudget: "policy/v1",
  NetworkPolicy: "networking.k8s.io/v1",
};

function k8sFiles(): string[] {
  return readdirSync(join(ROOT, K8S_DIR))
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => `${K8S_DIR}/${f}`);
}

interface K8sObject {
  file: string;
  doc: Y;
}

function k8sObjects(): K8sObject[] {
  return k8sFiles()
    .filter((f) => !f.endsWith("/kustomization.yaml"))
    .flatMap((file) => loadYaml(file).map((doc) => ({ file, doc })));
}

const labelsMatch = (selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean =>
  selector !== undefined && Object.entries(selector).every(([k, v]) => labels?.[k] === v);

/** The env of a container as the kubelet builds it: envFrom ConfigMaps, then env (values or sources). */
function containerEnv(container: Y, objects: K8sObject[]): Map<string, Y> {
  const env = new Map<string, Y>();
  for (const from of container.envFrom ?? []) {
    const name = from.configMapRef?.name;
    expect(name).toBeDefined(); // Secrets are referenced key by key (secretKeyRef), never wholesale
    const cm = objects.find((o) => o.doc.kind === "ConfigMap" && o.doc.metadata.name === name);
    if (!cm) throw new Error(`envFrom references missing ConfigMap ${name}`);
    for (const [k, v] of Object.entries(cm.doc.data ?? {})) env.set(k, { value: v });
  }
  for (const e of container.env ?? []) env.set(e.name, e);
  return env;
}

// =======================================================================================

describe("strict YAML loading", () => {
  it("rejects duplicate keys, syntax errors and warnings", () => {
    expect(() => parseYamlStrict("a: 1\na: 2\n", "dup")).toThrow();
    expect(() => parseYamlStrict("a: [1, 2\n", "syntax")).toThrow();
    expect(() => parseYamlStrict("%FOO bar\n---\na: 1\n", "unknown directive")).toThrow();
    expect(parseYamlStrict("x: &a {b: 1}\ny: {<<: *a, c: 2}\n", "merge")).toEqual([{ x: { b: 1 }, y: { b: 1, c: 2 } }]);
  });
});

describe("environment variables read by the code (the reference for drift checks)", () => {
  it("finds the variables of both config files, the gRPC TLS helper and the store", () => {
    const expected: Record<string, string> = {
      AGENTGATE_PROXY_TOKEN: "control-plane/config.ts",
      AGENTGATE_CP_GRPC_PORT: "control-plane/config.ts",
      AGENTGATE_CONTROL_PLANE: "data-plane/config.ts",
      AGENTGATE_DATA_DIR: "data-plane/config.ts",
      AGENTGATE_GRPC_TLS_CERT_FILE: "control-plane/grpc/server.ts",
      DATABASE_URL: "control-plane/store/client.ts",
    };
    for (const [name, file] of Object.entries(expected)) expect(READERS.get(name) ?? []).toContain(file);
  });
});

// ---------------------------------------------------------------------------------------

describe("Dockerfile", () => {
  const instructions = parseDockerfile(read("Dockerfile"));
  const stages = dockerStages(instructions);
  const build = stages[0]!;
  const final = stages[stages.length - 1]!;
  const finalOf = (op: string): Instruction[] => final.instructions.filter((i) => i.op === op);
  const ignored = dockerIgnore(read(".dockerignore"));

  it("is multi-stage on node:20-bookworm-slim", () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const s of stages) expect(s.image).toBe("node:20-bookworm-slim");
    expect(new Set(stages.map((s) => s.name)).size).toBe(stages.length);
  });

  it("builds native modules and the Prisma clients in the build stage only", () => {
    const runs = build.instructions.filter((i) => i.op === "RUN").map((i) => i.args);
    const apt = runs.find((r) => r.includes("apt-get install"));
    expect(apt).toBeDefined();
    for (const pkg of ["python3", "make", "g++"]) expect(apt!.split(/\s+/)).toContain(pkg);
    expect(runs.some((r) => /\bnpm ci\b/.test(r))).toBe(true);
    expect(final.instructions.some((i) => i.op === "RUN" && /apt-get install|npm (ci|install)/.test(i.args))).toBe(false);
  });

  it("copies what npm ci's postinstall needs before running it", () => {
    // package.json postinstall → node prisma/generate.mjs → prisma generate --config prisma/<folder>/prisma.config.ts
    const postinstall: string = JSON.parse(read("package.json")).scripts.postinstall;
    const script = /node\s+(\S+)/.exec(postinstall)?.[1];
    expect(script).toBeDefined();
    const npmCi = build.instructions.findIndex((i) => i.op === "RUN" && /\bnpm ci\b/.test(i.args));
    const before = build.instructions.slice(0, npmCi).flatMap((i) => copySources(i) ?? []);
    const configs = readdirSync(join(ROOT, "prisma"), { withFileTypes: true })
      .filter((d) => d.isDirectory() && exists(`prisma/${d.name}/prisma.config.ts`))
      .map((d) => `prisma/${d.name}/prisma.config.ts`);
    expect(configs.length).toBeGreaterThanOrEqual(2);
    // The configs and everything they import, transitively (cli-adapters.ts → database-url.ts ...).
    const needed = new Set<string>(["package.json", "package-lock.json", script!]);
    const queue = [...configs];
    while (queue.length > 0) {
      const file = queue.pop()!;
      if (needed.has(file)) continue;
      needed.add(file);
      queue.push(...relativeImports(file));
    }
    const missing = [...needed].filter((f) => !coveredBy(f, before));
    expect(missing).toEqual([]);
  });

  it("copies only paths that exist and are in the build context", () => {
    const sources = build.instructions.flatMap((i) => copySources(i) ?? []);
    expect(sources.length).toBeGreaterThan(0);
    for (const src of sources) {
      const rel = src.replace(/^\.\//, "").replace(/\/$/, "");
      expect(`${rel}: ${exists(rel)}`).toBe(`${rel}: true`);
      if (statSync(join(ROOT, rel)).isFile()) expect(`${rel} ignored: ${ignored(rel)}`).toBe(`${rel} ignored: false`);
    }
  });

  it("keeps secrets, dependencies and local state out of the build context", () => {
    for (const p of ["node_modules", "node_modules/x/y.js", ".agentgate/agentgate.db", ".git/config", ".env", "prisma/sqlite/generated/client.ts", "test/e2e/proxy.test.ts", "control-plane/config.test.ts"]) {
      expect(`${p} ignored: ${ignored(p)}`).toBe(`${p} ignored: true`);
    }
    for (const p of ["package.json", "package-lock.json", "prisma/generate.mjs", "prisma/sqlite/schema.prisma", "control-plane/main.ts", "data-plane/main.ts", "proto/gen/agentgate/v1/policy_pb.ts", "deploy/healthcheck.mjs"]) {
      expect(`${p} ignored: ${ignored(p)}`).toBe(`${p} ignored: false`);
    }
  });

  it("runs as a non-root user in the final stage", () => {
    const users = finalOf("USER");
    expect(users.length).toBeGreaterThan(0);
    const user = users[users.length - 1]!.args.split(":")[0]!;
    expect(["root", "0"]).not.toContain(user);
    // Numeric, so Kubernetes can verify runAsNonRoot; the manifests run as the same uid.
    expect(user).toMatch(/^[1-9][0-9]*$/);
    for (const o of k8sObjects().filter((x) => ["Deployment", "StatefulSet"].includes(x.doc.kind))) {
      expect(String(o.doc.spec.template.spec.securityContext.runAsUser)).toBe(user);
    }
  });

  it("has a HEALTHCHECK running a script that exists and is copied", () => {
    const hc = finalOf("HEALTHCHECK");
    expect(hc).toHaveLength(1);
    const cmd = /\bCMD\s+(.*)$/.exec(hc[0]!.args)?.[1];
    expect(cmd).toBeDefined();
    const argv = execForm(cmd!);
    expect(argv?.[0]).toBe("node");
    const script = argv!.find((a) => /\.m?js$/.test(a))!;
    expect(exists(script)).toBe(true);
    expect(coveredBy(script, build.instructions.flatMap((i) => copySources(i) ?? []))).toBe(true);
  });

  it("type-checks and compiles in the build stage, then keeps production dependencies only", () => {
    const runs = build.instructions.filter((i) => i.op === "RUN").map((i) => i.args);
    const buildRun = runs.findIndex((r) => /\bnpm run build\b/.test(r));
    expect(buildRun).toBeGreaterThanOrEqual(0);
    expect(runs[buildRun]).toMatch(/npm prune --omit=dev/);
    const scripts = JSON.parse(read("package.json")).scripts as Record<string, string>;
    expect(scripts["build"]).toBe("node scripts/build.mjs");
    // Everything the build reads is copied before it runs.
    const before = build.instructions.slice(0, build.instructions.findIndex((i) => i.op === "RUN" && /\bnpm run build\b/.test(i.args))).flatMap((i) => copySources(i) ?? []);
    for (const f of ["tsconfig.json", "tsconfig.build.json", "scripts/build.mjs", "control-plane/main.ts", "data-plane/main.ts", "proto/grpc-adapter.ts"]) {
      expect(`${f}: ${coveredBy(f, before)}`).toBe(`${f}: true`);
    }
    // The runtime stage takes the build output, not the sources or the compiler.
    const copied = final.instructions.filter((i) => i.op === "COPY").map((i) => i.args);
    expect(copied.some((a) => /--from=build\s+\/app\/dist\b/.test(a))).toBe(true);
    expect(copied.some((a) => /--from=build\s+\/app\s/.test(a))).toBe(false);
    const pkg = JSON.parse(read("package.json"));
    for (const devOnly of ["tsx", "prisma", "typescript"]) expect(pkg.dependencies[devOnly]).toBeUndefined();
  });

  it("starts a compiled entry with plain node, production mode, no baked-in secrets", () => {
    const entrypoint = execForm(finalOf("ENTRYPOINT").at(-1)!.args);
    const cmd = execForm(finalOf("CMD").at(-1)!.args);
    expect(entrypoint).toEqual(["node", "--enable-source-maps"]);
    expect(cmd).toEqual(["dist/control-plane/main.js"]);
    expect(isBuiltEntry(cmd![0]!)).toBe(true);
    expect(isBuiltEntry("dist/data-plane/main.js")).toBe(true);

    const env = new Map<string, string>();
    for (const ins of finalOf("ENV")) for (const m of ins.args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=(\S*)/g)) env.set(m[1]!, m[2]!);
    expect(env.get("NODE_ENV")).toBe("production");
    expect(unknownEnv(env.keys())).toEqual([]);
    for (const ins of instructions.filter((i) => i.op === "ENV" || i.op === "ARG")) {
      for (const m of ins.args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=/g)) expect(`${m[1]}: ${isSecretName(m[1]!)}`).toBe(`${m[1]}: false`);
    }
  });
});

// ---------------------------------------------------------------------------------------

describe("docker-compose.yml", () => {
  const docs = loadYaml("docker-compose.yml");
  const compose = docs[0];
  const services: Record<string, Y> = compose?.services ?? {};
  const isAgentgate = (s: Y): boolean => s.build !== undefined || /agentgate/.test(String(s.image ?? ""));
  const envOf = (s: Y): Map<string, string> => {
    const raw = s.environment ?? {};
    const entries: Array<[string, string]> = Array.isArray(raw)
      ? raw.map((e: string) => [e.split("=")[0]!, e.slice(e.indexOf("=") + 1)] as [string, string])
      : Object.entries(raw).map(([k, v]) => [k, v === null ? "" : String(v)] as [string, string]);
    return new Map(entries);
  };
  const proxies = Object.entries(services).filter(([, s]) => isAgentgate(s) && envOf(s).get("AGENTGATE_COMPONENT") === "proxy");
  const cp = services["control-plane"];

  it("is one YAML document with the expected services", () => {
    expect(docs).toHaveLength(1);
    expect(Object.keys(services).sort()).toEqual(["control-plane", "postgres", "proxy-1", "proxy-2", "redis"]);
    expect(proxies.map(([n]) => n).sort()).toEqual(["proxy-1", "proxy-2"]);
    expect(services["postgres"].image).toMatch(/^postgres:15([.-]|$)/);
  });

  it("makes Redis optional (profile) and everything else start by default", () => {
    expect(services["redis"].profiles).toEqual(["redis"]);
    for (const [name, s] of Object.entries(services)) if (name !== "redis") expect(s.profiles).toBeUndefined();
    // Nothing may depend on an optional service, or a default `up` fails.
    for (const s of Object.values(services)) expect(Object.keys(s.depends_on ?? {})).not.toContain("redis");
  });

  it("gives every service a health check", () => {
    for (const [name, s] of Object.entries(services)) {
      const test: unknown = s.healthcheck?.test;
      expect(`${name}: ${Array.isArray(test) && ["CMD", "CMD-SHELL"].includes(test[0] as string)}`).toBe(`${name}: true`);
      expect(s.healthcheck.disable).not.toBe(true);
      const script = (test as string[]).find((a) => /\.m?js$/.test(a));
      if (script) expect(exists(script)).toBe(true);
    }
  });

  it("starts proxies after a healthy control plane, and the control plane after a healthy PostgreSQL", () => {
    expect(cp.depends_on).toEqual({ postgres: { condition: "service_healthy" } });
    for (const [, s] of proxies) expect(s.depends_on["control-plane"]).toEqual({ condition: "service_healthy" });
    for (const [, s] of Object.entries(services)) {
      for (const dep of Object.values<Y>(s.depends_on ?? {})) expect(dep.condition).toBe("service_healthy");
    }
  });

  it("runs existing entry files on the agentgate image", () => {
    const agentgate = Object.entries(services).filter(([, s]) => isAgentgate(s));
    expect(agentgate).toHaveLength(3);
    for (const [, s] of agentgate) {
      expect(s.command).toHaveLength(1);
      expect(isBuiltEntry(s.command[0])).toBe(true);
      expect(s.build?.dockerfile).toBe("Dockerfile");
    }
    expect(cp.command).toEqual(["dist/control-plane/main.js"]);
    for (const [, s] of proxies) expect(s.command).toEqual(["dist/data-plane/main.js"]);
  });

  it("hardens the agentgate containers (read-only root, writable /tmp, no capabilities)", () => {
    for (const [, s] of Object.entries(services).filter(([, x]) => isAgentgate(x))) {
      expect(s.read_only).toBe(true);
      expect((s.tmpfs as string[]).some((t) => t.split(":")[0] === "/tmp")).toBe(true);
      expect(s.cap_drop).toEqual(["ALL"]);
      expect(s.security_opt).toContain("no-new-privileges:true");
    }
  });

  it("keeps PostgreSQL data and each proxy's data dir (snapshot + spool) in named volumes", () => {
    const named = Object.keys(compose.volumes ?? {});
    const mounts = (s: Y): Array<[string, string]> => (s.volumes ?? []).map((v: string) => v.split(":").slice(0, 2) as [string, string]);
    expect(mounts(services["postgres"])).toContainEqual([expect.any(String), "/var/lib/postgresql/data"]);
    const proxyVolumes = new Set<string>();
    for (const [name, s] of proxies) {
      const dataDir = envOf(s).get("AGENTGATE_DATA_DIR");
      expect(dataDir).toBeDefined();
      const mount = mounts(s).find(([, target]) => target === dataDir);
      expect(`${name}: ${mount?.[0]}`).toMatch(new RegExp(`^${name}: [a-z0-9-]+$`));
      expect(named).toContain(mount![0]);
      proxyVolumes.add(mount![0]);
    }
    expect(proxyVolumes.size).toBe(proxies.length); // one volume per proxy: the spool is locked by one process
    for (const [, target] of mounts(services["postgres"])) expect(target).toBe("/var/lib/postgresql/data");
  });

  it("wires addresses, ids and ports consistently", () => {
    const cpEnv = envOf(cp);
    const ids = new Set<string>();
    for (const [name, s] of proxies) {
      const env = envOf(s);
      const [host, port] = env.get("AGENTGATE_CONTROL_PLANE")!.split(":");
      expect(host).toBe("control-plane");
      expect(port).toBe(cpEnv.get("AGENTGATE_CP_GRPC_PORT"));
      ids.add(env.get("AGENTGATE_PROXY_ID")!);
      expect(env.get("AGENTGATE_PROXY_HOST")).toBe("0.0.0.0");
      expect(env.get("AGENTGATE_ADVERTISED_ADDRESS")).toBe(`${name}:${env.get("AGENTGATE_PROXY_PORT")}`);
      expect((s.ports as string[]).map((p) => p.split(":").at(-1))).toEqual([env.get("AGENTGATE_PROXY_PORT")]);
    }
    expect(ids.size).toBe(proxies.length);
    expect(cpEnv.get("AGENTGATE_CP_HOST")).toBe("0.0.0.0");
    // gRPC (snapshots carry upstream credentials) is not published on the host.
    expect((cp.ports as string[]).map((p) => p.split(":").at(-1))).toEqual([cpEnv.get("AGENTGATE_CP_HTTP_PORT")]);
    expect((cp.ports as string[])[0]).toMatch(/^127\.0\.0\.1:/);
  });

  it("points the control plane at the compose PostgreSQL, as the store parses it", () => {
    const url = envOf(cp).get("DATABASE_URL")!;
    const target = parseDatabaseUrl(url.replace(/\$\{[^}]*\}/g, "pw"));
    expect(target.provider).toBe("postgresql");
    if (target.provider !== "postgresql") return;
    expect(target.poolConfig.host).toBe("postgres");
    expect(target.poolConfig.user).toBe(envOf(services["postgres"]).get("POSTGRES_USER"));
    expect(target.poolConfig.database).toBe(envOf(services["postgres"]).get("POSTGRES_DB"));
    expect(target.schema).toBe("agentgate");
  });

  it("has no literal secrets: secret-named variables and URL passwords are ${...} references", () => {
    for (const [name, s] of Object.entries(services)) {
      for (const [key, value] of envOf(s)) {
        if (isSecretName(key)) expect(`${name}.${key}: ${isInterpolation(value)}`).toBe(`${name}.${key}: true`);
        const pw = urlPassword(value);
        if (pw !== undefined) expect(`${name}.${key} password: ${isInterpolation(pw)}`).toBe(`${name}.${key} password: true`);
      }
    }
    // The required secrets fail fast when missing (`:?`) instead of starting with "".
    expect(envOf(cp).get("AGENTGATE_PROXY_TOKEN")).toMatch(/^\$\{AGENTGATE_PROXY_TOKEN:\?/);
    expect(envOf(cp).get("AGENTGATE_SECRET_KEY")).toMatch(/^\$\{AGENTGATE_SECRET_KEY:\?/);
  });

  it("sets only variables the code reads in the agentgate services", () => {
    for (const [name, s] of Object.entries(services).filter(([, x]) => isAgentgate(x))) {
      expect(`${name}: ${unknownEnv(envOf(s).keys()).join(", ")}`).toBe(`${name}: `);
    }
  });

  it("documents every ${VARIABLE} it interpolates in deploy/env.example, without values for secrets", () => {
    const text = read("docker-compose.yml");
    const used = new Set([...text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!));
    const example = new Map(
      read("deploy/env.example")
        .split("\n")
        .filter((l) => /^[A-Za-z_][A-Za-z0-9_]*=/.test(l))
        .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)] as [string, string]),
    );
    expect([...used].filter((v) => !example.has(v))).toEqual([]);
    expect([...example.keys()].filter((v) => !used.has(v))).toEqual([]);
    for (const [k, v] of example) if (isSecretName(k)) expect(`${k}=${v}`).toBe(`${k}=`);
  });

  const dockerCompose = spawnSync("docker", ["compose", "version"], { encoding: "utf8" }).status === 0;
  (dockerCompose ? it : it.skip)("passes `docker compose config` (docker CLI with the compose plugin present)", () => {
    const dir = mkdtempSync(join(tmpdir(), "agentgate-compose-"));
    try {
      const envFile = join(dir, "env");
      writeFileSync(envFile, "AGENTGATE_PROXY_TOKEN=0123456789abcdef0123456789abcdef\nAGENTGATE_SECRET_KEY=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\nPOSTGRES_PASSWORD=pw\n");
      for (const profile of [[], ["--profile", "redis"]]) {
        const r = spawnSync("docker", ["compose", "-f", join(ROOT, "docker-compose.yml"), "--env-file", envFile, ...profile, "config", "-q"], { encoding: "utf8" });
        expect(`${r.status} ${r.stderr}`).toBe("0 ");
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------------------------------

describe("Kubernetes manifests", () => {
  const objects = k8sObjects();
  const byKind = (kind: string): K8sObject[] => objects.filter((o) => o.doc.kind === kind);
  const workloads = objects.filter((o) => ["Deployment", "StatefulSet"].includes(o.doc.kind));
  const component = (name: string): K8sObject => {
    const w = workloads.find((o) => o.doc.spec.template.metadata.labels["app.kubernetes.io/component"] === name);
    if (!w) throw new Error(`no workload for ${name}`);
    return w;
  };
  const cp = component("control-plane");
  const proxy = component("proxy");
  const podSpec = (w: K8sObject): Y => w.doc.spec.template.spec;
  const containers = (w: K8sObject): Y[] => podSpec(w).containers;

  it("parses strictly; every object has a known kind/apiVersion, a name and the namespace", () => {
    expect(k8sFiles().length).toBeGreaterThanOrEqual(7);
    expect(objects.length).toBeGreaterThan(0);
    for (const { file, doc } of objects) {
      const where = `${file}: ${doc.kind}/${doc.metadata?.name}`;
      expect(`${where} ${doc.apiVersion}`).toBe(`${where} ${KNOWN_KINDS[doc.kind]}`);
      expect(doc.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      if (doc.kind === "Namespace") expect(doc.metadata.name).toBe(NAMESPACE);
      else expect(`${where} in ${doc.metadata.namespace}`).toBe(`${where} in ${NAMESPACE}`);
    }
    const names = objects.map((o) => `${o.doc.kind}/${o.doc.metadata.name}`);
    expect(new Set(names).size).toBe(names.length);
  });

  it("kustomization.yaml lists every manifest except the secrets template", () => {
    const [kustomization] = loadYaml(`${K8S_DIR}/kustomization.yaml`);
    expect(kustomization.kind).toBe("Kustomization");
    expect(kustomization.namespace).toBe(NAMESPACE);
    const listed: string[] = kustomization.resources;
    const expected = k8sFiles()
      .map((f) => f.slice(K8S_DIR.length + 1))
      .filter((f) => f !== "kustomization.yaml" && !f.includes(".template."));
    expect([...listed].sort()).toEqual(expected.sort());
    const image = containers(cp)[0].image.split(":")[0];
    expect(kustomization.images.map((i: Y) => i.name)).toContain(image);
  });

  it("runs the control plane with 2+ replicas and the proxies as a StatefulSet with per-pod volumes", () => {
    expect(cp.doc.kind).toBe("Deployment");
    expect(cp.doc.spec.replicas).toBeGreaterThanOrEqual(2);
    expect(proxy.doc.kind).toBe("StatefulSet");
    expect(proxy.doc.spec.replicas).toBeGreaterThanOrEqual(2);
    const headless = byKind("Service").find((s) => s.doc.metadata.name === proxy.doc.spec.serviceName);
    expect(headless?.doc.spec.clusterIP).toBe("None");
    // The proxy id is the pod name: stable across restarts, unique per replica.
    const env = containerEnv(containers(proxy)[0], objects);
    expect(env.get("AGENTGATE_PROXY_ID").valueFrom.fieldRef.fieldPath).toBe("metadata.name");
    // Its data dir (last good snapshot + spool) is a volumeClaimTemplate, not an emptyDir.
    const dataDir = env.get("AGENTGATE_DATA_DIR").value;
    const mount = containers(proxy)[0].volumeMounts.find((m: Y) => m.mountPath === dataDir);
    expect(mount).toBeDefined();
    expect(proxy.doc.spec.volumeClaimTemplates.map((t: Y) => t.metadata.name)).toContain(mount.name);
    expect(podSpec(proxy).volumes.map((v: Y) => v.name)).not.toContain(mount.name);
  });

  it("gives every container resources, probes on /healthz and /readyz, and a hardened securityContext", () => {
    for (const w of workloads) {
      const pod = podSpec(w);
      expect(pod.securityContext.runAsNonRoot).toBe(true);
      expect(pod.securityContext.seccompProfile.type).toBe("RuntimeDefault");
      expect(pod.automountServiceAccountToken).toBe(false);
      // Service links would inject e.g. AGENTGATE_PROXY_PORT=tcp://10.x.x.x:8080 (from the
      // Service "agentgate-proxy"), a variable the proxy reads as its listening port.
      expect(pod.enableServiceLinks).toBe(false);
      for (const c of pod.containers) {
        const where = `${w.doc.metadata.name}/${c.name}`;
        for (const kind of ["requests", "limits"]) for (const r of ["cpu", "memory"]) expect(`${where} ${kind}.${r}: ${c.resources?.[kind]?.[r] !== undefined}`).toBe(`${where} ${kind}.${r}: true`);
        expect(c.securityContext.runAsNonRoot).toBe(true);
        expect(c.securityContext.allowPrivilegeEscalation).toBe(false);
        expect(c.securityContext.readOnlyRootFilesystem).toBe(true);
        expect(c.securityContext.capabilities.drop).toEqual(["ALL"]);
        expect(c.securityContext.privileged).toBeUndefined();
        const ports = new Map<string | number, number>(c.ports.flatMap((p: Y) => [[p.name, p.containerPort], [p.containerPort, p.containerPort]]));
        expect(c.livenessProbe.httpGet.path).toBe("/healthz");
        expect(c.readinessProbe.httpGet.path).toBe("/readyz");
        for (const probe of [c.livenessProbe, c.readinessProbe, c.startupProbe].filter(Boolean)) expect(ports.has(probe.httpGet.port)).toBe(true);
      }
    }
  });

  it("mounts a writable volume wherever a read-only root filesystem needs writes", () => {
    for (const w of workloads) {
      const pod = podSpec(w);
      const volumes = new Set<string>([...(pod.volumes ?? []).map((v: Y) => v.name), ...(w.doc.spec.volumeClaimTemplates ?? []).map((t: Y) => t.metadata.name)]);
      for (const c of pod.containers) {
        for (const m of c.volumeMounts) expect(volumes.has(m.name)).toBe(true);
        const writable = c.volumeMounts.filter((m: Y) => m.readOnly !== true).map((m: Y) => m.mountPath);
        const env = containerEnv(c, objects);
        expect(writable).toContain("/tmp"); // the root filesystem is read-only
        expect(writable).toContain(env.get("AGENTGATE_DATA_DIR").value);
      }
      for (const v of pod.volumes ?? []) {
        if (v.secret?.defaultMode !== undefined) expect(v.secret.defaultMode).toBeLessThanOrEqual(0o777);
      }
    }
  });

  it("runs compiled entry files through the image's node entrypoint", () => {
    expect(containers(cp)[0].args).toEqual(["dist/control-plane/main.js"]);
    expect(containers(proxy)[0].args).toEqual(["dist/data-plane/main.js"]);
    for (const w of workloads) {
      for (const c of containers(w)) {
        expect(c.command).toBeUndefined();
        expect(isBuiltEntry(c.args[0])).toBe(true);
      }
    }
  });

  it("has Services whose selectors and target ports match a workload", () => {
    for (const s of byKind("Service")) {
      const targets = workloads.filter((w) => labelsMatch(s.doc.spec.selector, w.doc.spec.template.metadata.labels));
      expect(`${s.doc.metadata.name}: ${targets.length}`).toBe(`${s.doc.metadata.name}: 1`);
      const names = containers(targets[0]!).flatMap((c: Y) => c.ports.flatMap((p: Y) => [p.name, p.containerPort]));
      for (const p of s.doc.spec.ports) expect(names).toContain(p.targetPort);
    }
    const cpService = byKind("Service").find((s) => labelsMatch(s.doc.spec.selector, cp.doc.spec.template.metadata.labels))!;
    expect(cpService.doc.spec.ports.map((p: Y) => p.name).sort()).toEqual(["grpc", "http"]);
  });

  it("wires ports and the control-plane address consistently with the ConfigMaps", () => {
    const cpEnv = containerEnv(containers(cp)[0], objects);
    const cpPorts = Object.fromEntries(containers(cp)[0].ports.map((p: Y) => [p.name, String(p.containerPort)]));
    expect(cpEnv.get("AGENTGATE_CP_HTTP_PORT").value).toBe(cpPorts.http);
    expect(cpEnv.get("AGENTGATE_CP_GRPC_PORT").value).toBe(cpPorts.grpc);
    expect(cpEnv.get("AGENTGATE_CP_HOST").value).toBe("0.0.0.0");
    const proxyEnv = containerEnv(containers(proxy)[0], objects);
    expect(proxyEnv.get("AGENTGATE_PROXY_PORT").value).toBe(String(containers(proxy)[0].ports[0].containerPort));
    expect(proxyEnv.get("AGENTGATE_PROXY_HOST").value).toBe("0.0.0.0");
    const cpService = byKind("Service").find((s) => labelsMatch(s.doc.spec.selector, cp.doc.spec.template.metadata.labels))!;
    const grpcPort = cpService.doc.spec.ports.find((p: Y) => p.name === "grpc").port;
    expect(proxyEnv.get("AGENTGATE_CONTROL_PLANE").value).toBe(`${cpService.doc.metadata.name}.${NAMESPACE}.svc.cluster.local:${grpcPort}`);
    // $(VAR) expansion only sees variables defined earlier in `env`.
    for (const w of workloads) {
      for (const c of containers(w)) {
        const defined: string[] = [];
        for (const e of c.env ?? []) {
          for (const m of String(e.value ?? "").matchAll(/\$\(([A-Z0-9_]+)\)/g)) expect(defined).toContain(m[1]);
          defined.push(e.name);
        }
      }
    }
  });

  it("protects both workloads with a PodDisruptionBudget", () => {
    for (const w of workloads) {
      const pdbs = byKind("PodDisruptionBudget").filter((p) => labelsMatch(p.doc.spec.selector.matchLabels, w.doc.spec.template.metadata.labels));
      expect(`${w.doc.metadata.name}: ${pdbs.length}`).toBe(`${w.doc.metadata.name}: 1`);
    }
  });

  it("lets only proxy pods reach the control plane's gRPC port", () => {
    const cpLabels = cp.doc.spec.template.metadata.labels;
    const proxyLabels = proxy.doc.spec.template.metadata.labels;
    const policies = byKind("NetworkPolicy").filter((p) => labelsMatch(p.doc.spec.podSelector.matchLabels ?? {}, cpLabels));
    expect(policies.length).toBeGreaterThan(0); // control-plane pods are isolated
    const grpc = containers(cp)[0].ports.find((p: Y) => p.name === "grpc");
    let allowed = 0;
    for (const p of policies) {
      expect(p.doc.spec.policyTypes).toContain("Ingress");
      for (const rule of p.doc.spec.ingress ?? []) {
        const ports = rule.ports;
        const coversGrpc = ports === undefined || ports.some((x: Y) => x.port === grpc.name || x.port === grpc.containerPort);
        if (!coversGrpc) continue;
        // A rule that opens gRPC must name its peers: proxy pods of this namespace, nothing else.
        expect(Array.isArray(rule.from) && rule.from.length > 0).toBe(true);
        for (const peer of rule.from) {
          expect(peer.namespaceSelector).toBeUndefined();
          expect(peer.ipBlock).toBeUndefined();
          expect(labelsMatch(peer.podSelector.matchLabels, proxyLabels)).toBe(true);
          expect(labelsMatch(peer.podSelector.matchLabels, cpLabels)).toBe(false);
        }
        allowed++;
      }
    }
    expect(allowed).toBeGreaterThan(0);
  });

  it("has no literal secrets: secret-named variables come from secretKeyRef, templates hold placeholders", () => {
    for (const w of workloads) {
      for (const c of containers(w)) {
        for (const e of c.env ?? []) {
          if (isSecretName(e.name)) expect(`${e.name}: ${e.value === undefined && e.valueFrom?.secretKeyRef !== undefined}`).toBe(`${e.name}: true`);
          if (typeof e.value === "string" && urlPassword(e.value) !== undefined) throw new Error(`${e.name} has a password in its URL`);
        }
      }
    }
    for (const cm of byKind("ConfigMap")) {
      for (const [k, v] of Object.entries<string>(cm.doc.data ?? {})) {
        if (cm.file.includes(".template.")) continue;
        expect(`${k}: ${isSecretName(k)}`).toBe(`${k}: false`);
        expect(urlPassword(String(v))).toBeUndefined();
      }
    }
    const secrets = byKind("Secret");
    expect(secrets.length).toBeGreaterThan(0);
    for (const s of secrets) {
      expect(s.file).toContain(".template.");
      expect(s.doc.data).toBeUndefined();
      for (const v of Object.values(s.doc.stringData ?? {})) expect(v).toBe("CHANGE-ME");
    }
    // Every secretKeyRef points at a key of a Secret in the template.
    for (const w of workloads) {
      for (const c of containers(w)) {
        for (const e of c.env ?? []) {
          const ref = e.valueFrom?.secretKeyRef;
          if (!ref) continue;
          const s = secrets.find((x) => x.doc.metadata.name === ref.name);
          expect(Object.keys(s?.doc.stringData ?? {})).toContain(ref.key);
        }
      }
    }
  });

  it("sets only variables the code reads (env and envFrom ConfigMaps)", () => {
    for (const w of workloads) {
      for (const c of containers(w)) {
        expect(`${w.doc.metadata.name}: ${unknownEnv(containerEnv(c, objects).keys()).join(", ")}`).toBe(`${w.doc.metadata.name}: `);
      }
    }
  });
});

// ---------------------------------------------------------------------------------------

describe("no secret material in any deployment file", () => {
  it("contains no private keys, certificates or long random-looking strings", () => {
    const files = ["Dockerfile", ".dockerignore", "docker-compose.yml", "deploy/env.example", "deploy/README.md", "deploy/healthcheck.mjs", ...k8sFiles()];
    for (const f of files) {
      const text = read(f);
      expect(`${f}: ${/-----BEGIN [A-Z ]+-----/.test(text)}`).toBe(`${f}: false`);
      // Random-looking: long hex, or long base64 mixing digits, lower and upper case.
      const suspicious = (text.match(/\b[A-Fa-f0-9]{32,}\b|[A-Za-z0-9+/]{40,}={0,2}/g) ?? []).filter(
        (s) => /^[A-Fa-f0-9]+$/.test(s) || (/[0-9]/.test(s) && /[a-z]/.test(s) && /[A-Z]/.test(s)),
      );
      expect(`${f}: ${suspicious.join(",")}`).toBe(`${f}: `);
    }
  });
});

// ---------------------------------------------------------------------------------------

describe("deploy/healthcheck.mjs", () => {
  const run = promisify(execFile);
  async function exitCode(args: string[], env: Record<string, string>): Promise<number> {
    try {
      await run(process.execPath, [join(ROOT, "deploy/healthcheck.mjs"), ...args], { env: { PATH: process.env["PATH"] ?? "", ...env }, timeout: 15_000 });
      return 0;
    } catch (err) {
      return (err as { code?: number }).code ?? -1;
    }
  }

  it("probes the running plane's port and path, exit 0 on 2xx and 1 otherwise", async () => {
    const server = createServer((req, res) => {
      res.writeHead(req.url === "/healthz" ? 200 : 503).end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = String((server.address() as AddressInfo).port);
    try {
      expect(await exitCode([], { AGENTGATE_COMPONENT: "proxy", AGENTGATE_PROXY_PORT: port })).toBe(0);
      expect(await exitCode(["/readyz"], { AGENTGATE_COMPONENT: "proxy", AGENTGATE_PROXY_PORT: port })).toBe(1);
      expect(await exitCode([], { AGENTGATE_COMPONENT: "control-plane", AGENTGATE_CP_HTTP_PORT: port })).toBe(0);
      expect(await exitCode([`http://127.0.0.1:${port}/healthz`], {})).toBe(0);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    // Nothing listening any more.
    expect(await exitCode([], { AGENTGATE_COMPONENT: "proxy", AGENTGATE_PROXY_PORT: port })).toBe(1);
  });
});

// ---------------------------------------------------------------------------------------

