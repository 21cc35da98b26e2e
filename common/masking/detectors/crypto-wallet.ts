import type { Detector, Span } from "../types.js";
import { base58CheckValid, bech32Valid } from "../checksums.js";
import { isPlaceholderBody } from "../placeholder.js";
import { scan } from "./scan.js";

// Legacy base58 (26–35 chars; mainnet 1/3, testnet m/n/2), segwit bech32 (42–90 chars;
// mainnet bc, testnet tb, regtest bcrt; all lower or all upper case), Ethereum 0x + 40 hex.
const ADDRESS =
  /(?<![A-Za-z0-9])(?:([13mn2][1-9A-HJ-NP-Za-km-z]{25,34})|((?:bc|tb|bcrt)1[ac-hj-np-z02-9]{39,87}|(?:BC|TB|BCRT)1[AC-HJ-NP-Z02-9]{39,87})|0x([0-9a-fA-F]{40}))(?![A-Za-z0-9])/g;

function accept(m: RegExpExecArray): Span | null {
  const span = { start: m.index, end: m.index + m[0].length };
  if (m[1] !== undefined) return base58CheckValid(m[1]) ? span : null; // legacy P2PKH / P2SH
  if (m[2] !== undefined) return bech32Valid(m[2]) ? span : null; // segwit v0 / taproot
  return isPlaceholderBody(m[3]!) ? null : span; // Ethereum (EIP-55 needs keccak: not checked)
}

/** Bitcoin (base58check, bech32/bech32m) and Ethereum addresses. */
export const cryptoWallet: Detector = {
  name: "crypto_wallet",
  mayMatch: (_text, shape) => shape.alnumRun >= 26,
  find: (text) => scan(ADDRESS, text, accept),
};
