import { LITERAL } from "./text-shape.js";
import type { Detector, Span } from "../types.js";

const HEADER = /-----BEGIN (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----/g;
const FOOTER = /-----END (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----/g;
const KEY_MATERIAL = /[A-Za-z0-9+/=]/g;

/**
 * Finds each header, then the next END line, or the end of the text when the block is cut
 * off (the material must go either way). An empty or placeholder body ("anything") is
 * documentation, not a key.
 */
function findBlocks(text: string): Span[] {
  const out: Span[] = [];
  HEADER.lastIndex = 0;
  for (let h = HEADER.exec(text); h !== null; h = HEADER.exec(text)) {
    FOOTER.lastIndex = HEADER.lastIndex;
    const f = FOOTER.exec(text);
    const bodyEnd = f === null ? text.length : f.index;
    const end = f === null ? text.length : f.index + f[0].length;
    const material = text.slice(HEADER.lastIndex, bodyEnd).match(KEY_MATERIAL)?.length ?? 0;
    if (material >= 40) out.push({ start: h.index, end });
    HEADER.lastIndex = end;
  }
  return out;
}

/** Private key blocks (RSA, EC, DSA, OpenSSH, PKCS#8, encrypted, PGP): the whole block is masked. */
export const privateKey: Detector = {
  name: "private_key",
  streamEnd: /-----END (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----/,
  mayMatch: (_text, shape) => (shape.literals & LITERAL.privateKey) !== 0,
  mayEndAfter: (text) => text.includes("-----BEGIN "), // every block starts with its header
  find: findBlocks,
};
