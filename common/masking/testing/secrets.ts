/**
 * fast-check arbitraries for masking tests: secrets of the built-in classes with valid
 * checksums (no placeholders), harmless filler, and texts carrying one secret.
 */
import fc from "fast-check";
import { luhnValid } from "../checksums.js";
import { isPlaceholderBody } from "../placeholder.js";

const B62 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
export const from = (alphabet: string, minLength: number, maxLength: number) =>
  fc.string({ unit: fc.constantFrom(...alphabet), minLength, maxLength });
const digits = (n: number) => from("0123456789", n, n);

// ------------------------------------------------------------------ planted secrets

const card = fc
  .tuple(digits(14), fc.constantFrom("compact", "spaced", "dashed"))
  .map(([d, style]) => {
    const body = `4${d}`;
    const check = [..."0123456789"].find((c) => luhnValid(body + c))!;
    const n = body + check;
    return style === "compact" ? n : n.match(/.{4}/g)!.join(style === "spaced" ? " " : "-");
  });
const email = fc
  .tuple(from("abcdefghijklmnopqrstuvwxyz0123456789._", 1, 12), from("abcdefghijklmnopqrstuvwxyz", 2, 10), fc.constantFrom("com", "org", "io", "de"))
  .filter(([local]) => !local.startsWith(".") && !local.endsWith("."))
  .map(([l, d, t]) => `${l}@${d}.${t}`);
const awsKey = from("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16, 16).filter((b) => !isPlaceholderBody(b)).map((b) => `AKIA${b}`);
const githubToken = from(B62, 36, 36).filter((b) => !isPlaceholderBody(b)).map((b) => `ghp_${b}`);
const jwt = fc
  .tuple(from(B62, 1, 20), fc.nat(), from(`${B62}-_`, 20, 43))
  .map(([sub, n, sig]) => `eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.${Buffer.from(JSON.stringify({ sub, n })).toString("base64url")}.${sig}`);
const iban = digits(18).map((bban) => {
  // check digits: 98 - (BBAN + "DE00" as digits) mod 97
  const numeric = `${bban}131400`;
  let rem = 0;
  for (const c of numeric) rem = (rem * 10 + Number(c)) % 97;
  return `DE${String(98 - rem).padStart(2, "0")}${bban}`;
});
const phone = fc
  .tuple(fc.integer({ min: 200, max: 999 }), fc.integer({ min: 200, max: 999 }), digits(4))
  .map(([area, exchange, line]) => `+1 ${area} ${exchange} ${line}`);

/** One planted secret of any built-in class (generated, valid checksums, no placeholders). */
export const secret = fc.oneof(card, email, awsKey, githubToken, jwt, iban, phone);
export const filler = from("abcdefghij klmno,.!?-", 0, 20);
/** A string value carrying one secret between harmless words. */
export const planted = fc.tuple(filler, secret, filler).map(([a, s, b]) => ({ text: `${a} ${s} ${b}`, secret: s }));

