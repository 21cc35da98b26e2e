/** The planted secrets of demo/langgraph/fixtures.ts are what they claim to be. */
import {
  ALL_PLANTED,
  findPlantedSecrets,
  LEAKY_MESSAGE_TEXT,
  LEAKY_RECORD,
  LEAKY_STREAM_CHUNKS,
  PLANTED,
  SPLIT_CARD,
} from "../../demo/langgraph/fixtures.js";

function luhnValid(number: string): boolean {
  const digits = number.replace(/\D/g, "").split("").reverse().map(Number);
  const sum = digits.reduce((acc, d, i) => acc + (i % 2 === 1 ? (d * 2 > 9 ? d * 2 - 9 : d * 2) : d), 0);
  return sum % 10 === 0;
}

function ibanValid(iban: string): boolean {
  const compact = iban.replace(/\s/g, "");
  const rearranged = compact.slice(4) + compact.slice(0, 4);
  const numeric = rearranged.replace(/[A-Z]/g, (c) => String(c.charCodeAt(0) - 55));
  return [...numeric].reduce((r, d) => (r * 10 + Number(d)) % 97, 0) === 1;
}

test("cards pass Luhn, IBANs pass mod-97, the AWS key is not AWS's example", () => {
  for (const card of PLANTED.creditCards) expect(luhnValid(card)).toBe(true);
  for (const iban of PLANTED.ibans) expect(ibanValid(iban)).toBe(true);
  for (const key of PLANTED.awsAccessKeyIds) expect(key).toMatch(/^AKIA[A-Z0-9]{16}$/);
  expect(PLANTED.awsAccessKeyIds.join()).not.toContain("EXAMPLE");
  expect(PLANTED.githubTokens[0]).toMatch(/^ghp_[A-Za-z0-9]{36}$/);
  expect(PLANTED.openaiKeys[0]).toMatch(/^sk-proj-/);
  expect(PLANTED.jwts[0].split(".")).toHaveLength(3);
  expect(PLANTED.privateKeys[0]).toMatch(/^-----BEGIN PRIVATE KEY-----\n[\s\S]+\n-----END PRIVATE KEY-----$/);
});

test("the leaky record holds every planted secret", () => {
  expect(findPlantedSecrets(LEAKY_RECORD)).toHaveLength(ALL_PLANTED.length);
});

test("the streamed message splits the card across three chunks", () => {
  expect(LEAKY_MESSAGE_TEXT).toContain(SPLIT_CARD);
  expect(LEAKY_STREAM_CHUNKS.filter((c) => /\d{4}/.test(c) && SPLIT_CARD.includes(c.trim()))).toHaveLength(3);
  expect(LEAKY_STREAM_CHUNKS.some((c) => c.includes(SPLIT_CARD))).toBe(false);
});

test("findPlantedSecrets sees reformatted values and ignores masked ones", () => {
  expect(findPlantedSecrets("pay with 4111-1111-1111-1111").map((f) => f.kind)).toEqual(["creditCards"]);
  expect(findPlantedSecrets("pay with **** **** **** 1111, mail a***@example.com")).toEqual([]);
  // A PEM block inside JSON is escaped; its body line still counts.
  expect(findPlantedSecrets(JSON.stringify({ k: PLANTED.privateKeys[0] })).map((f) => f.kind)).toEqual(["privateKeys"]);
});
