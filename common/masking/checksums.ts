import { createHash } from "node:crypto";

/** Validity checks used by detectors to drop look-alikes (cards, IBANs, wallet addresses). */

/** Luhn (mod 10) check over a string of ASCII digits. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/** ISO 13616 mod-97 check over a compact, upper-case IBAN. */
export function ibanMod97Valid(iban: string): boolean {
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let rem = 0;
  for (let i = 0; i < rearranged.length; i++) {
    const c = rearranged.charCodeAt(i);
    if (c >= 48 && c <= 57) rem = (rem * 10 + (c - 48)) % 97;
    else if (c >= 65 && c <= 90) rem = (rem * 100 + (c - 55)) % 97; // A=10 … Z=35: two digits
    else return false;
  }
  return rem === 1;
}

const B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
const B58_INDEX = new Map([...B58].map((c, i) => [c, i]));

/** Decodes base58 (Bitcoin alphabet) into bytes, or null on a foreign character. */
function base58Decode(s: string): Uint8Array | null {
  const bytes: number[] = [];
  for (const ch of s) {
    let carry = B58_INDEX.get(ch);
    if (carry === undefined) return null;
    for (let j = 0; j < bytes.length; j++) {
      carry += bytes[j]! * 58;
      bytes[j] = carry & 0xff;
      carry >>= 8;
    }
    while (carry > 0) {
      bytes.push(carry & 0xff);
      carry >>= 8;
    }
  }
  for (let i = 0; i < s.length && s[i] === "1"; i++) bytes.push(0); // leading zero bytes
  return Uint8Array.from(bytes.reverse());
}

/** Base58Check validity of a legacy Bitcoin address (version 0x00 or 0x05, 25 bytes). */
/** P2PKH / P2SH version bytes: mainnet 0x00 / 0x05, testnet 0x6f / 0xc4. */
const BASE58_VERSIONS = new Set([0x00, 0x05, 0x6f, 0xc4]);

export function base58CheckValid(address: string): boolean {
  const raw = base58Decode(address);
  if (raw === null || raw.length !== 25 || !BASE58_VERSIONS.has(raw[0]!)) return false;
  const payload = raw.subarray(0, 21);
  const first = createHash("sha256").update(payload).digest();
  const check = createHash("sha256").update(first).digest();
  for (let i = 0; i < 4; i++) if (check[i] !== raw[21 + i]) return false;
  return true;
}

const BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
const GEN = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

function polymod(values: number[]): number {
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= GEN[i]!;
  }
  return chk >>> 0;
}

/** BIP-173 / BIP-350 checksum validity of a segwit address (bech32 or bech32m). */
export function bech32Valid(address: string): boolean {
  const s = address.toLowerCase();
  const sep = s.lastIndexOf("1");
  if (sep < 1 || sep + 7 > s.length) return false;
  const values: number[] = [];
  for (let i = 0; i < sep; i++) values.push(s.charCodeAt(i) >> 5);
  values.push(0);
  for (let i = 0; i < sep; i++) values.push(s.charCodeAt(i) & 31);
  for (let i = sep + 1; i < s.length; i++) {
    const v = BECH32.indexOf(s[i]!);
    if (v < 0) return false;
    values.push(v);
  }
  const pm = polymod(values);
  return pm === 1 || pm === 0x2bc830a3;
}
