import { randomBytes } from "node:crypto";
import { createMaskerFactory } from "../../data-plane/policy/maskers.js";

/**
 * Pseudonyms follow the thread: the attacker here is an auditor (or a model) who must link a
 * thread's turns but must not link different threads or reverse a pseudonym without the key.
 */
const KEY = randomBytes(32);
const EMAIL = "alice.smith@example.com";
const tokenOf = (masked: unknown): string => /\[email:([0-9a-f]{8})\]/.exec(JSON.stringify(masked))?.[1] ?? "none";
// The default profile redacts e-mail; a pseudonym profile is what a policy would name.
const profiles = [{ id: "p", name: "p", rules: [{ kind: "detector", match: "email", style: "pseudonym", label: "" }] }] as never;
const ruleWith = (pseudonymScope: string) => ({ maskingProfileId: "p", pseudonymScope }) as never;
const rule = ruleWith("thread");

test("every turn of a thread gets the same pseudonym, on any proxy (same gateway key) and after restarts", () => {
  const proxyA = createMaskerFactory(profiles, KEY);
  const proxyB = createMaskerFactory(profiles, KEY);
  const turn1 = tokenOf(proxyA(rule, { threadId: "t-1" }).maskJson({ text: `mail ${EMAIL}` }));
  const turn2 = tokenOf(proxyB(rule, { threadId: "t-1" }).maskText(`again ${EMAIL}`));
  expect(turn1).toMatch(/^[0-9a-f]{8}$/);
  expect(turn2).toBe(turn1);
});

test("different threads, no thread, scope exchange, or another gateway key: unlinkable", () => {
  const masker = createMaskerFactory(profiles, KEY);
  const t1 = tokenOf(masker(rule, { threadId: "t-1" }).maskText(EMAIL));
  const t2 = tokenOf(masker(rule, { threadId: "t-2" }).maskText(EMAIL));
  const none1 = tokenOf(masker(rule, {}).maskText(EMAIL));
  const none2 = tokenOf(masker(rule).maskText(EMAIL));
  const perExchange = tokenOf(createMaskerFactory(profiles, KEY)(ruleWith("exchange"), { threadId: "t-1" }).maskText(EMAIL));
  const otherKey = tokenOf(createMaskerFactory(profiles, randomBytes(32))(rule, { threadId: "t-1" }).maskText(EMAIL));
  expect(new Set([t1, t2, none1, none2, perExchange, otherKey]).size).toBe(6);
});

test("scope identity links an identity's threads, not other identities'", () => {
  const masker = createMaskerFactory(profiles, KEY);
  const rule = ruleWith("identity");
  const a1 = tokenOf(masker(rule, { threadId: "t-1", identity: "alice" }).maskText(EMAIL));
  const a2 = tokenOf(masker(rule, { threadId: "t-2", identity: "alice" }).maskText(EMAIL));
  const b = tokenOf(masker(rule, { threadId: "t-1", identity: "bob" }).maskText(EMAIL));
  expect(a2).toBe(a1);
  expect(b).not.toBe(a1);
});
