/**
 * Micro benchmark (not a test): cost of `verify` cold (signature checked by jose, keys already
 * cached) versus answered by the verified-token cache, plus the cheap rejection paths.
 * Run: `npx tsx common/identity/verifier.bench.ts` on an idle machine.
 */
import { jwtVerify } from "jose";
import { parseBearer } from "./bearer.js";
import { startTestIdp, makeTestKey, type TestKey } from "./testing/test-idp.js";
import { createVerifier } from "./verifier.js";

async function measure(label: string, n: number, op: (i: number) => Promise<unknown> | unknown): Promise<void> {
  for (let i = 0; i < Math.min(n, 200); i++) await op(i); // warm-up
  // Wall time and process CPU time (all threads: WebCrypto runs on the libuv pool); on a shared,
  // busy machine the CPU figure is the steadier one.
  const cpu0 = process.cpuUsage();
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await op(i);
  const wall = Number(process.hrtime.bigint() - start) / 1000 / n;
  const cpuUsed = process.cpuUsage(cpu0);
  const cpu = (cpuUsed.user + cpuUsed.system) / n;
  console.log(`${label.padEnd(50)} wall ${wall.toFixed(2).padStart(8)} µs/op  cpu ${cpu.toFixed(2).padStart(8)} µs/op  (n=${n})`);
}

async function main(): Promise<void> {
  const keys: TestKey[] = [await makeTestKey("RS256", "rs-1"), await makeTestKey("ES256", "es-1")];
  const idp = await startTestIdp({ keys });
  const providers = [{ id: "idp", issuer: idp.issuer, audiences: ["agentgate"], groupsClaim: "realm_access.roles" }];
  const claims = { realm_access: { roles: ["dev", "ops"] }, email: "alice@example.com" };
  const n = 3000;
  for (const key of keys) {
    const tokens = await Promise.all(Array.from({ length: n + 200 }, (_, i) => idp.sign({ ...claims, jti: String(i) }, { key })));
    // Baseline: jose alone with the key in hand (no JWKS lookup, no checks of ours).
    const alone = { issuer: idp.issuer, audience: "agentgate", algorithms: [key.alg], requiredClaims: ["exp", "sub"] };
    await measure(`${key.alg} jose jwtVerify alone (CryptoKey given)`, n, (i) => jwtVerify(tokens[i]!, key.publicKey, alone));
    // Cold: a verifier whose cache never hits (cache disabled), keys already fetched.
    const cold = createVerifier(providers, { allowHttp: "loopback", cache: false });
    await cold.warmUp();
    await measure(`${key.alg} cold (jose verify, JWKS cached)`, n, (i) => cold.verify(tokens[i]!));
    // Cached: the same token again and again.
    const cached = createVerifier(providers, { allowHttp: "loopback" });
    await cached.verify(tokens[0]!);
    await measure(`${key.alg} cached (sha256 + LRU hit)`, 200_000, () => cached.verify(tokens[0]!));
    // Cache enabled, distinct tokens: miss + verify + insert.
    const fill = createVerifier(providers, { allowHttp: "loopback" });
    await fill.warmUp();
    await measure(`${key.alg} first sight with cache (miss+verify+set)`, n, (i) => fill.verify(tokens[i]!));
  }
  const v = createVerifier(providers, { allowHttp: "loopback" });
  const unknownIssuer = await idp.sign({ iss: "https://evil.example" });
  await measure("reject: unknown issuer", 100_000, () => v.verify(unknownIssuer));
  const header = `Bearer ${await idp.sign(claims)}`;
  await measure("parseBearer", 500_000, () => parseBearer(header));
  await idp.close();
}

await main();
